"""Accuracy of the numeric oracle and cost of the symbolic oracle.

Run: ``python -m bench.oracle [--quick]``. Prints three tables and writes bench/results/oracle.json.

1. Numeric accuracy on the fixed benchmark set of bench/numeric_cases.py (309 directional
   derivatives with exact answers from mpmath): median / p99 relative error and evaluations per
   estimate for trigrad's Richardson path and complex step, the textbook eps=1e-4 central
   difference, and numdifftools when installed.
2. Numeric accuracy on a fixed set of compositions drawn by properties.strategies (Hypothesis,
   derandomized), measured against the symbolic oracle's exact <v, J u>.
3. Symbolic oracle cost (one Oracle built, one VJP) against DAG size, 5 to 80 nodes, for a chain
   without sharing and a DAG where every node feeds the next two; and the 40-squarings case that
   would expand to 2**40 terms.

Nothing here is asserted; tests/oracle/ asserts the accuracy targets.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import statistics
import time

import numpy as np

from bench.numeric_cases import BENCHMARK_SEED, accuracy_table, format_table
from oracle import numeric
from oracle.ir import Composition, Input, Node
from oracle.symbolic import Oracle

RESULTS = pathlib.Path(__file__).parent / "results" / "oracle.json"
SIZES = (5, 10, 20, 40, 80)
REPEATS = 5  # best of, for timings
COMPOSITIONS = 300  # drawn for table 2


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


def oracle_ms(comp: Composition, values) -> float:
    best = math.inf
    Oracle(comp, values).vjp(1.0)  # compile the local programs once (cached afterwards)
    for _ in range(REPEATS):
        t = time.perf_counter()
        Oracle(comp, values).vjp(1.0)
        best = min(best, time.perf_counter() - t)
    return 1e3 * best


def symbolic_costs():
    x = {"x0": np.array([0.3, -0.7, 1.1])}
    rows = {"no sharing": {}, "sharing": {}}
    for n in SIZES:
        rows["no sharing"][n] = oracle_ms(chain(n), x)
        rows["sharing"][n] = oracle_ms(shared(n), x)
    swell = oracle_ms(squarings(), {"x0": np.array(1.0 + 2.0**-40)})
    return rows, swell


def loglog_slope(by_size: dict) -> float:
    xs = np.log([float(n) for n in by_size])
    ys = np.log([by_size[n] for n in by_size])
    return float(np.polyfit(xs, ys, 1)[0])


def drawn_compositions(n: int):
    """A fixed sample of examples from the project's own strategy (derandomized Hypothesis)."""
    from hypothesis import HealthCheck, given, settings

    from properties.strategies import compositions, cotangents

    out = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(compositions(), cotangents(()))
    def collect(example, _):
        out.append(example)

    collect()
    return out[:n]


def composition_accuracy(n: int):
    """Numeric <v, J u> on drawn compositions (numpy reference forwards) against the symbolic oracle."""
    rng = np.random.default_rng(BENCHMARK_SEED)
    errors, evals, exceeded = [], [], 0
    for ex in drawn_compositions(n):
        comp, values = ex.comp, ex.values
        names = [i.name for i in comp.inputs]
        v = rng.uniform(-1, 1, comp.output_shape)
        us = [rng.uniform(-1, 1, values[k].shape) for k in names]
        o = Oracle(comp, values)
        exact = o.projection(v, dict(zip(names, us)))
        if exact.unsure():
            continue

        def f(arrays):
            with np.errstate(all="ignore"):
                return comp.evaluate_numpy(dict(zip(names, arrays)))

        est = numeric.directional(f, [values[k] for k in names], us, v,
                                  max_step=o.safe_step(dict(zip(names, us))))
        # relative to the size of the terms (the exact value can cancel to ~0)
        scale = max(abs(float(exact.value)), float(exact.scale) * 2.0**-53 * 1e3, 1e-300)
        err = abs(est.value - float(exact.value))
        errors.append(err / scale)
        evals.append(est.evaluations)
        exceeded += err > est.error
    q = np.quantile(errors, [0.5, 0.9, 0.99])
    return {"cases": len(errors), "median": float(q[0]), "p90": float(q[1]), "p99": float(q[2]),
            "max": float(np.max(errors)), "mean_evaluations": statistics.fmean(evals),
            "max_evaluations": int(max(evals)), "error_exceeded": exceeded}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.oracle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer compositions for table 2")
    args = parser.parse_args(argv)

    table = accuracy_table(BENCHMARK_SEED)
    print("1. numeric oracle on the fixed benchmark set (relative error; evaluations per estimate)")
    print(format_table(table))
    comp = composition_accuracy(60 if args.quick else COMPOSITIONS)
    print(f"\n2. numeric oracle on {comp['cases']} drawn compositions, against the symbolic oracle")
    print(f"   median {comp['median']:.2e}  p90 {comp['p90']:.2e}  p99 {comp['p99']:.2e}  max {comp['max']:.2e}  "
          f"evaluations {comp['mean_evaluations']:.2f} (max {comp['max_evaluations']})  "
          f"error estimate exceeded {comp['error_exceeded']}/{comp['cases']}")
    rows, swell = symbolic_costs()
    print("\n3. symbolic oracle: milliseconds for one Oracle and one VJP (3-element input, best of 5)")
    print(f"   {'nodes':>6} " + " ".join(f"{n:>8}" for n in SIZES) + "   log-log slope")
    for name, by in rows.items():
        print(f"   {name:>10} " + " ".join(f"{by[n]:8.2f}" for n in SIZES) + f"   {loglog_slope(by):.2f}")
    print(f"   40 shared squarings (2**40 terms if expanded): {swell:.2f} ms")

    ours = table["richardson"]
    results = {
        "numeric_median_rel_err": ours["median"],
        "numeric_p99_rel_err": ours["p99"],
        "numeric_evals_per_estimate": ours["mean_evaluations"],
        "numeric_by_method": table,
        "numeric_on_compositions": comp,
        "symbolic_ms_by_nodes": {str(n): rows["sharing"][n] for n in SIZES},
        "symbolic_ms_by_nodes_no_sharing": {str(n): rows["no sharing"][n] for n in SIZES},
        "symbolic_loglog_slope": {k: loglog_slope(v) for k, v in rows.items()},
        "symbolic_ms_forty_squarings": swell,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
