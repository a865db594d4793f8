"""The exact oracle's cost per node: ball arithmetic (python-flint's Arb) against mpmath at two precisions.

Run: ``python -m bench oracle [--examples N] [--max-nodes N] [--quick]``. Prints a table and writes
bench/results/oracle.json.

The suite's own draw for the mixed row (``suite.draw_case``, property ``hvp``: a cotangent and
tangents), derandomized, gives N compositions of up to ``--max-nodes`` nodes over every op. Each is
answered completely by ``oracle.symbolic.Oracle`` in each arithmetic: construction (the forward pass
and every node's local derivatives), ``value``, ``vjp``, ``jvp`` and ``hvp``, as one fused row asks
of one Oracle. mpmath runs at ``symbolic.PRECISIONS`` (50 and 100 digits, more for tiny inputs),
the way the oracle ran before ball arithmetic; Arb starts at ``START_BITS`` and doubles the bits of a
pass until its enclosures settle (Ziv's strategy). A warm-up pass fills the cache of compiled local
derivatives first (a one-off cost per op and shape, not per node). Times are this process's CPU
seconds (``bench.common.cpu_seconds``), the best of REPEATS passes over the same compositions.

The table gives, per arithmetic: milliseconds per composition, microseconds per node, split between
the exact passes (everything but the error model) and the error model (``symbolic._ErrorModel``, the
float64 bounds, the same work in both), results not judged (``unsure``), and for Arb the bits the
passes needed; then how often the two arithmetics
report the same float64 (they differ only where mpmath's 100 digits round differently from the
proven correctly rounded value, or where a result is unsure).
"""

from __future__ import annotations

import argparse
import collections

import hypothesis
import numpy as np
from hypothesis import strategies as st

from bench.common import ci_profile, cpu_seconds, table, write_results
from trigrad.oracle import ball, symbolic
from trigrad.properties import suite
from trigrad.properties._hypothesis_compat import set_test_digest
from trigrad.properties.backends.builtin import Builtin

EXAMPLES = 300
QUICK_EXAMPLES = 40
MAX_NODES = 12
REPEATS = 3  # best of, per arithmetic


def draw(examples: int, max_nodes: int) -> list:
    """``examples`` derandomized (example, kwargs) pairs of the mixed row's hvp draw."""
    out, backend = [], Builtin()

    @hypothesis.settings(ci_profile(), max_examples=examples)
    @hypothesis.given(st.data())
    def test(data):
        out.append(suite.draw_case(data, backend, "hvp", suite.ALL_OPS, max_nodes=max_nodes))

    set_test_digest(test, f"oracle:{max_nodes}".encode())
    test()
    return out[:examples]


def answer(example, kwargs, precisions) -> list:
    """Every answer a fused row asks of one Oracle, as Exact results in a fixed order."""
    o = symbolic.Oracle(example.comp, example.values, precisions=precisions)
    ct, tan = kwargs["cotangent"], kwargs["tangents"]
    results = [o.value(), *o.vjp(ct).values(), o.jvp(tan), *o.hvp(ct, tan).values()]
    return results, getattr(o, "bits", None)


class _ErrorModelClock:
    """CPU seconds inside the error model (``symbolic._ErrorModel``: construction and its bounds for
    VJP, JVP and HVP), the part of the oracle that runs in float64 whatever the arithmetic."""

    METHODS = ("__init__", "vjp", "jvp", "hvp")

    def __init__(self):
        self.seconds, self._depth, self._saved = 0.0, 0, {}

    def __enter__(self):
        for name in self.METHODS:
            self._saved[name] = getattr(symbolic._ErrorModel, name)
            setattr(symbolic._ErrorModel, name, self._timed(self._saved[name]))
        return self

    def __exit__(self, *exc):
        for name, fn in self._saved.items():
            setattr(symbolic._ErrorModel, name, fn)

    def _timed(self, fn):
        def timed(*args, **kwargs):
            self._depth += 1
            start = cpu_seconds()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth -= 1
                if not self._depth:  # hvp calls vjp and jvp: count the outermost call only
                    self.seconds += cpu_seconds() - start

        return timed


def run(cases, precisions) -> dict:
    """Time every case REPEATS times in one arithmetic (best pass), after a warm-up pass."""
    for example, kwargs in cases:  # warm-up: compiles
        answer(example, kwargs, precisions)
    best, results, model = None, None, None
    for _ in range(REPEATS):
        with _ErrorModelClock() as clock:
            start = cpu_seconds()
            results = [answer(example, kwargs, precisions) for example, kwargs in cases]
            elapsed = cpu_seconds() - start
        if best is None or elapsed < best:
            best, model = elapsed, clock.seconds
    nodes = sum(len(example.comp.nodes) for example, _ in cases)
    unsure = sum(1 for rs, _ in results for r in rs if r.unsure())
    return {"seconds": best, "ms_per_composition": 1e3 * best / len(cases), "us_per_node": 1e6 * best / nodes,
            "exact_us_per_node": 1e6 * (best - model) / nodes, "error_model_us_per_node": 1e6 * model / nodes,
            "nodes": nodes, "results": sum(len(rs) for rs, _ in results), "unsure": unsure,
            "bits": dict(collections.Counter(b for _, b in results if b is not None)), "_results": results}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench oracle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=EXAMPLES, help="compositions (default %(default)s)")
    parser.add_argument("--max-nodes", type=int, default=MAX_NODES, help="drawn nodes at most (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EXAMPLES} compositions")
    args = parser.parse_args(argv)
    cases = draw(QUICK_EXAMPLES if args.quick else args.examples, args.max_nodes)
    runs = {"mpmath": run(cases, symbolic.PRECISIONS)}
    if ball.AVAILABLE:
        runs["arb"] = run(cases, None)
    rows = [[name, r["ms_per_composition"], r["us_per_node"], r["exact_us_per_node"], r["error_model_us_per_node"],
             f"{r['unsure']}/{r['results']}", ", ".join(f"{b}: {n}" for b, n in sorted(r["bits"].items())) or "-"]
            for name, r in runs.items()]
    if "arb" not in runs:
        rows.append(["arb", "not installed", "", "", "", "", ""])
    mean_nodes = runs["mpmath"]["nodes"] / len(cases)
    print(table(["arithmetic", "ms per composition", "us per node", "exact passes", "error model", "unsure",
                 "bits (compositions)"], rows,
                title=f"{len(cases)} compositions (mean {mean_nodes:.1f} nodes, up to {args.max_nodes} drawn), "
                      f"value + VJP + JVP + HVP each, CPU time, best of {REPEATS}"))
    out = {"examples": len(cases), "max_nodes": args.max_nodes, "mean_nodes": mean_nodes, "repeats": REPEATS}
    if "arb" in runs:
        same = differ = 0
        for (mp, _), (bl, _) in zip(runs["mpmath"]["_results"], runs["arb"]["_results"]):
            for a, b in zip(mp, bl):
                if a.unsure() or b.unsure():
                    continue
                eq = np.asarray(a.value == b.value).sum()
                same += int(eq)
                differ += int(np.asarray(a.value).size - eq)
        speedup = runs["mpmath"]["seconds"] / runs["arb"]["seconds"]
        exact = runs["mpmath"]["exact_us_per_node"] / runs["arb"]["exact_us_per_node"]
        print(f"arb is {speedup:.1f}x mpmath's speed ({exact:.1f}x on the exact passes alone); judged entries "
              f"with the same float64 in both: {same}, different: {differ}")
        out.update(speedup=speedup, exact_speedup=exact, same_float64=same, different_float64=differ)
    out["arithmetics"] = {name: {k: v for k, v in r.items() if not k.startswith("_")} for name, r in runs.items()}
    write_results("oracle", out)


if __name__ == "__main__":
    main()
