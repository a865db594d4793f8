"""Verified compositions per second on the built-in backend, by DAG size, and where the time goes.

Run: ``python -m bench throughput [--examples N] [--property NAME] [--quick]``. Prints a table and
writes bench/results/throughput.json.

Times are this process's CPU seconds (``bench.common.cpu_seconds``): examples per second per core,
unaffected by other work on the machine. For each size (``max_nodes`` 5, 10, 20, 40 of ``properties.strategies.compositions``, all ops, one
process) a derandomized Hypothesis test draws N examples with a cotangent and tangents and judges each
by the suite's own check of ``--property`` (default ``vjp_numeric``, the property that uses all three
answers on every example: the backend's VJP, the exact <v, J u> from the symbolic oracle, the numeric
one from differences of the backend's forward). The time is split, exclusively, between

- generation: drawing the example and its vectors (inside Hypothesis's draws);
- backend: the backend's ``vjp`` / ``jvp`` / ``hvp``;
- symbolic: building the ``Oracle`` and its queries (value, VJP, projection, safe step, ...);
- compile: the symbolic oracle compiling an op's exact local derivatives (sympy), once per op,
  params and shape for the life of the process (a one-off cost, so also reported apart);
- numeric: ``oracle.numeric`` estimates (which evaluate the backend's forward);
- other: the rest (Hypothesis's engine, verdicts, the checks' own code).

``per_second_by_nodes`` leaves the one-off compiles out (a long run amortises them); the rate with
them is reported beside it. The same test with a body that only draws gives the bare generation
rate; ``overhead_vs_generation`` is the full run's seconds per example (without compiles) over the
bare run's (the issue's goal: at most 2).
Rejected examples (oracle unsure, a point too close to a kink) are counted but not verified.
Before each size, a warm-up run on other examples fills the symbolic oracle's cache of compiled
local derivatives (per op and shape), which a suite run fills in its first cells.

Then the race (``bench/race.py``, ``--race N`` compositions, 0 to skip): trigrad's full verification
(value, VJP, JVP, adjoint, HVP) against ``torch.autograd.gradcheck`` + ``gradgradcheck`` and JAX's
``check_grads`` on the same compositions; a tool that is not installed gets a row that says so.
"""

from __future__ import annotations

import argparse
import collections

import hypothesis
import numpy as np
from hypothesis import strategies as st

from bench import race
from bench.common import ci_profile, cpu_seconds, table, write_results
from trigrad.oracle import symbolic
from trigrad.properties import checks, suite
from trigrad.properties._hypothesis_compat import set_test_digest
from trigrad.properties.backends.builtin import Builtin

SIZES = (5, 10, 20, 40)
EXAMPLES = 300  # judged examples per size
QUICK_EXAMPLES = 40
GOAL_RATE = 300  # verified compositions per second at <= GOAL_NODES nodes
GOAL_NODES = 12
GOAL_OVERHEAD = 2.0
CATEGORIES = ("generation", "backend", "symbolic", "compile", "numeric")


class Split:
    """Exclusive time per category: a timed call inside another counts only for its own category."""

    def __init__(self):
        self.seconds = collections.defaultdict(float)
        self._nested = []

    def wrap(self, category, fn):
        def timed(*args, **kwargs):
            start = cpu_seconds()
            self._nested.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = cpu_seconds() - start
                self.seconds[category] += elapsed - self._nested.pop()
                if self._nested:
                    self._nested[-1] += elapsed

        return timed


class _TimedNumeric:
    """``oracle.numeric`` as the checks see it, with its estimators timed."""

    def __init__(self, split, module):
        self._module = module
        self.directional = split.wrap("numeric", module.directional)
        self.second_directional = split.wrap("numeric", module.second_directional)

    def __getattr__(self, name):
        return getattr(self._module, name)


def _instrument(split: Split, backend):
    """Time the backend's derivatives, the symbolic oracle and the numeric oracle as the checks call
    them; returns a function that undoes it."""
    saved = checks.Oracle, checks.numeric, symbolic._compile
    queries = ("value", "vjp", "jvp", "hvp", "projection", "safe_step")

    def oracle(*args, **kwargs):
        o = saved[0](*args, **kwargs)
        for q in queries:
            setattr(o, q, split.wrap("symbolic", getattr(o, q)))
        return o

    checks.Oracle = split.wrap("symbolic", oracle)
    checks.numeric = _TimedNumeric(split, saved[1])
    symbolic._compile = split.wrap("compile", saved[2])
    for method in ("vjp", "jvp", "hvp"):
        setattr(backend, method, split.wrap("backend", getattr(backend, method)))

    def undo():
        checks.Oracle, checks.numeric, symbolic._compile = saved
        for method in ("vjp", "jvp", "hvp"):
            delattr(backend, method)

    return undo


def _draw(data, backend, prop, max_nodes):
    """The suite's own draw for the mixed row (``suite.draw_case``), with compositions of up to
    ``max_nodes`` nodes."""
    return suite.draw_case(data, backend, prop, suite.ALL_OPS, max_nodes=max_nodes)


def measure(prop: str, max_nodes: int, examples: int, check: bool, seed: str = "") -> dict:
    """One derandomized run of ``examples`` examples; with ``check`` False the body only draws.
    ``seed`` picks other examples (for a warm-up run)."""
    backend = Builtin()
    split = Split()
    draw = split.wrap("generation", _draw)
    counts = collections.Counter()
    nodes, body_seconds = [], []

    @hypothesis.settings(ci_profile(), max_examples=examples)
    @hypothesis.given(st.data())
    def test(data):
        start, compiled = cpu_seconds(), split.seconds["compile"]
        example, kwargs = draw(data, backend, prop, max_nodes)
        counts["drawn"] += 1
        if check:
            counts["rejected"] += 1  # undone below when the check returns
            suite.PROPERTIES[prop].check(backend, example, **kwargs)
            counts["rejected"] -= 1
            counts["verified"] += 1
        nodes.append(len(example.comp.nodes))
        body_seconds.append(cpu_seconds() - start - (split.seconds["compile"] - compiled))

    set_test_digest(test, f"throughput:{prop}:{max_nodes}{seed}".encode())
    undo = _instrument(split, backend) if check else (lambda: None)
    start = cpu_seconds()
    try:
        test()
    finally:
        undo()
    total = cpu_seconds() - start
    per_example = total / max(counts["verified" if check else "drawn"], 1)
    out = {"examples": counts["verified"] if check else counts["drawn"], "drawn": counts["drawn"],
           "rejected": counts["rejected"], "seconds": total, "per_second": 1 / per_example,
           "mean_nodes": float(np.mean(nodes)) if nodes else 0.0, "nodes": nodes, "body_seconds": body_seconds}
    if check:
        shares = {c: split.seconds[c] / total for c in CATEGORIES}
        shares["other"] = 1 - sum(shares.values())
        out["time_share"] = shares
        out["per_second_without_compiles"] = out["examples"] / max(total - split.seconds["compile"], 1e-9)
    return out


BINS = ((1, 5), (6, 10), (11, 20), (21, 40), (41, 80))


def binned(runs) -> dict:
    """Mean seconds per example inside the test body, by the example's actual number of nodes."""
    out = {}
    for lo, hi in BINS:
        ts = [t for r in runs for n, t in zip(r["nodes"], r["body_seconds"]) if lo <= n <= hi]
        if ts:
            out[f"{lo}-{hi}"] = {"examples": len(ts), "seconds": float(np.mean(ts))}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=EXAMPLES, help="judged examples per size (default %(default)s)")
    parser.add_argument("--property", default="vjp_numeric", choices=[p for p in suite.PROPERTIES if p != "kink"],
                        help="the check each example gets (default %(default)s)")
    parser.add_argument("--race", type=int, default=None, metavar="N",
                        help=f"compositions in the race against gradcheck and check_grads (default "
                             f"{race.COMPOSITIONS}, {race.QUICK_COMPOSITIONS} with --quick; 0 skips it)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_EXAMPLES} examples per size, {race.QUICK_COMPOSITIONS} compositions in the race")
    args = parser.parse_args(argv)
    examples = QUICK_EXAMPLES if args.quick else args.examples
    racers = args.race if args.race is not None else race.QUICK_COMPOSITIONS if args.quick else race.COMPOSITIONS

    rows = {}
    for n in SIZES:
        # the symbolic oracle compiles each op's local derivatives once per shape: a warm-up run on
        # other examples fills that cache, as the first minutes of a suite run do
        measure(args.property, n, examples, check=True, seed=":warm-up")
        full = measure(args.property, n, examples, check=True)
        bare = measure(args.property, n, examples, check=False)
        full["bare_generation_per_second"] = bare["per_second"]
        full["overhead_vs_generation"] = bare["per_second"] / full["per_second_without_compiles"]
        rows[n] = full
    print(table(
        ["max nodes", "mean nodes", "verified/s", "without compiles", "rejected", "generation", "backend", "symbolic",
         "compile", "numeric", "other", "bare generation/s", "overhead vs generation"],
        [[n, r["mean_nodes"], r["per_second"], r["per_second_without_compiles"], f"{r['rejected']}/{r['drawn']}"]
         + [f"{100 * r['time_share'][c]:.0f}%" for c in CATEGORIES + ("other",)]
         + [r["bare_generation_per_second"], f"{r['overhead_vs_generation']:.2f}x"] for n, r in rows.items()],
        title=f"property {args.property}, built-in backend, one process, {examples} judged examples per size"))
    by_size = binned(rows.values())
    print()
    print(table(["nodes (drawn)", "examples", "ms per example (draw + check)", "per second"],
                [[k, b["examples"], 1e3 * b["seconds"], 1 / b["seconds"]] for k, b in by_size.items()],
                title="the same examples by their actual number of op nodes (time inside the test body, "
                      "without Hypothesis's engine and one-off compiles)"))
    small = [r for n, r in rows.items() if n <= GOAL_NODES]
    rate_met = all(r["per_second_without_compiles"] >= GOAL_RATE for r in small)
    overhead_met = all(r["overhead_vs_generation"] <= GOAL_OVERHEAD for r in small)
    print(f"goal >= {GOAL_RATE}/s at <= {GOAL_NODES} nodes: {'met' if rate_met else 'not met'}; "
          f"overhead <= {GOAL_OVERHEAD}x bare generation: {'met' if overhead_met else 'not met'}")
    raced = race.run(racers) if racers > 0 else None
    if raced:
        print()
        print(race.report(raced))
    write_results("throughput", {
        "property": args.property, "examples_per_size": examples, "backend": "builtin",
        "per_second_by_nodes": {str(n): r["per_second_without_compiles"] for n, r in rows.items()},
        "per_second_by_nodes_with_compiles": {str(n): r["per_second"] for n, r in rows.items()},
        "overhead_vs_generation": {str(n): r["overhead_vs_generation"] for n, r in rows.items()},
        "bare_generation_per_second_by_nodes": {str(n): r["bare_generation_per_second"] for n, r in rows.items()},
        "time_share_by_nodes": {str(n): r["time_share"] for n, r in rows.items()},
        "by_nodes": {str(n): {k: v for k, v in r.items() if k not in ("nodes", "body_seconds")}
                     for n, r in rows.items()},
        "body_per_second_by_drawn_nodes": {k: 1 / b["seconds"] for k, b in by_size.items()},
        "goal_rate_met": rate_met, "goal_overhead_met": overhead_met,
        "race": raced,
    })


if __name__ == "__main__":
    main()
