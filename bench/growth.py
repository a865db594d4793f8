"""Cost against DAG size: one verified example, and the symbolic oracle alone, 5 to 80 nodes.

Run: ``python -m bench growth [--quick]``. Prints two tables and writes bench/results/growth.json.

Two families of compositions on a 3-element input, built directly (not drawn, so that every size
has exactly n nodes):

- no sharing: a chain x -> sin -> tanh -> cos -> sin ... (each value used once);
- sharing: every node feeds the next two, n_k = f(n_{k-1}, n_{k-2}) cycling sin, mul, add, so that a
  tree expansion of the output has ~phi**n terms;

and 40 shared squarings (2**40 terms if expanded).

1. Milliseconds per verified example on the built-in backend by the suite's own checks
   (``properties.checks``): ``vjp`` (backend VJP against the exact one), ``vjp_numeric`` (against
   numeric differences of the forward, and exact), ``hvp`` (second order against exact). Best CPU
   time of REPEATS after a warm-up run (the symbolic oracle compiles each op's local derivatives once per
   shape; that one-off cost is not per example).
2. The symbolic oracle alone: one Oracle built and one VJP.

The log-log slope of time against size says how cost grows: 1 is linear; expression swell would
show as a slope far above 1 (and the shared family would take seconds).
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from bench.common import cpu_seconds, loglog_slope, table, timed_check, write_results
from trigrad.oracle.ir import Composition, Input, Node
from trigrad.oracle.symbolic import Oracle

SIZES = (5, 10, 20, 40, 80)
QUICK_SIZES = (5, 10, 20, 40)
REPEATS = 9  # best of, for timings (CPU time: see bench.common.cpu_seconds)
PROPERTIES = ("vjp", "vjp_numeric", "hvp")
X = np.array([0.3, -0.7, 1.1])


def chain(n: int) -> Composition:
    """x -> sin -> tanh -> cos -> sin ...: n nodes, each used once."""
    ops = ("sin", "tanh", "cos")
    nodes = [Node(ops[0], ("x0",))] + [Node(ops[k % 3], (f"n{k - 1}",)) for k in range(1, n)]
    return Composition([Input("x0", (3,))], nodes)


def shared(n: int) -> Composition:
    """Every node feeds the next two: n_k = f(n_{k-1}, n_{k-2}) alternating mul, add, sin(mul)."""
    nodes = [Node("sin", ("x0",)), Node("mul", ("n0", "x0"))]
    while len(nodes) < n:
        k = len(nodes)
        a, b = f"n{k - 1}", f"n{k - 2}"
        nodes.append(Node("sin", (a,)) if k % 3 == 0 else Node("mul" if k % 3 == 1 else "add", (a, b)))
    return Composition([Input("x0", (3,))], nodes[:n])


def squarings(n: int = 40) -> Composition:
    nodes = [Node("mul", ("x0", "x0"))] + [Node("mul", (f"n{k}", f"n{k}")) for k in range(n - 1)]
    return Composition([Input("x0")], nodes)


FAMILIES = {"no sharing": chain, "sharing": shared}


def best_ms(fn, repeats: int = REPEATS) -> float:
    fn()  # warm-up: compiles the local programs once (cached afterwards)
    best = math.inf
    for _ in range(repeats):
        t = cpu_seconds()
        fn()
        best = min(best, cpu_seconds() - t)
    return 1e3 * best


def example_ms(prop: str, comp: Composition) -> float:
    """Best milliseconds of one check of ``prop`` on ``comp`` at X (cotangent and tangents ones)."""
    from trigrad.properties.backends.builtin import Builtin
    from trigrad.properties.example import Example

    backend, example = Builtin(), Example(comp, {"x0": X})
    kwargs = {}
    if "cotangent" in _vectors(prop):
        kwargs["cotangent"] = np.ones(comp.output_shape)
    if "tangents" in _vectors(prop):
        kwargs["tangents"] = {"x0": np.ones(X.shape)}
    times = [timed_check(backend, prop, example, kwargs) for _ in range(REPEATS + 1)][1:]
    if any(t is None for t in times):
        return math.nan
    return 1e3 * min(times)


def _vectors(prop):
    from trigrad.properties import suite

    return suite.PROPERTIES[prop].vectors


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench growth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes up to {QUICK_SIZES[-1]} only")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES

    per_example = {f"{prop}, {family}": {n: example_ms(prop, build(n)) for n in sizes}
                   for prop in PROPERTIES for family, build in FAMILIES.items()}
    symbolic = {family: {n: best_ms(lambda c=build(n): Oracle(c, {"x0": X}).vjp(1.0)) for n in sizes}
                for family, build in FAMILIES.items()}
    swell = best_ms(lambda: Oracle(squarings(), {"x0": np.array(1.0 + 2.0**-40)}).vjp(1.0))
    slopes = {k: loglog_slope(v) for k, v in per_example.items()}
    symbolic_slopes = {k: loglog_slope(v) for k, v in symbolic.items()}

    headers = ["nodes"] + [str(n) for n in sizes] + ["log-log slope"]
    print(table(headers, [[k] + [v[n] for n in sizes] + [slopes[k]] for k, v in per_example.items()],
                title=f"1. CPU milliseconds per verified example (built-in backend, 3-element input, best of {REPEATS})"))
    print()
    print(table(headers, [[k] + [v[n] for n in sizes] + [symbolic_slopes[k]] for k, v in symbolic.items()],
                title="2. symbolic oracle alone: milliseconds for one Oracle and one VJP"))
    print(f"40 shared squarings (2**40 terms if expanded): {swell:.2f} ms for one Oracle and one VJP")
    write_results("growth", {
        "loglog_slope": max(slopes.values()),
        "loglog_slope_by_check": slopes,
        "ms_per_example_by_nodes": {k: {str(n): t for n, t in v.items()} for k, v in per_example.items()},
        "symbolic_ms_by_nodes": {k: {str(n): t for n, t in v.items()} for k, v in symbolic.items()},
        "symbolic_loglog_slope": symbolic_slopes,
        "symbolic_ms_forty_squarings": swell,
    })


if __name__ == "__main__":
    main()
