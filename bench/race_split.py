"""Where a composition's time goes in the race: trigrad's side split between its parts.

Run: ``python -m bench race_split [--compositions N] [--backend NAME] [--quick]``. Prints a table and
writes bench/results/race_split.json.

The race's compositions (``bench.race.draw``: the same seeded draw, ``compositions(max_nodes=12)``) are
checked by trigrad's full verification (``bench.race.trigrad_checker``: value, VJP, JVP, adjoint, HVP,
one shared oracle) on one backend (default torch, builtin when torch is missing). CPU timers around
the parts (the oracle's exact passes, its error model, its bookkeeping, each backend call, the
verdicts, the checks' own setup) split the time inside the checks exclusively: a part's time excludes
the parts it calls. No profiler runs: cProfile triples the time of this Python-heavy code and weighs
its many small calls more than they cost; the timers' own cost (two clock reads per timed call, about
150 calls per composition) lands in the calling part, mostly the checks' own code. One warm-up pass (compiled derivatives, the backend's
caches), then the best of REPEATS passes.
"""

from __future__ import annotations

import argparse
import collections
import warnings

from bench import race
from bench.common import cpu_seconds, table, write_results
from trigrad.oracle import numeric, symbolic
from trigrad.properties import checks

COMPOSITIONS = race.COMPOSITIONS
QUICK_COMPOSITIONS = 10
REPEATS = 3

# (owner, attribute, part): what each timer is around
PARTS = (
    (symbolic.Oracle, "_forward", "exact: forward pass and local derivatives"),
    (symbolic.Oracle, "_adjoint_pass", "exact: adjoints"),
    (symbolic.Oracle, "_tangent_pass", "exact: tangents"),
    (symbolic.Oracle, "_second", "exact: second order"),
    (symbolic._ErrorModel, "__init__", "error model: construction"),
    (symbolic._ErrorModel, "vjp", "error model: VJP bound"),
    (symbolic._ErrorModel, "jvp", "error model: JVP bound"),
    (symbolic._ErrorModel, "hvp", "error model: HVP bound"),
    (symbolic.Oracle, "__init__", "oracle bookkeeping: construction"),
    (symbolic.Oracle, "_answer", "oracle bookkeeping: settling, results"),
    (symbolic.Oracle, "safe_step", "oracle: safe step (numeric)"),
    (numeric, "directional", "numeric estimates"),
    (numeric, "second_directional", "numeric estimates"),
    (checks, "judge", "verdicts"),
    (checks, "judge_value", "verdicts"),
    (checks._Run, "__init__", "checks: setup"),
)


class _Clock:
    """Exclusive CPU seconds per part while active (a part's time excludes the timed parts it calls)."""

    def __init__(self):
        self.seconds = collections.Counter()
        self._stack, self._saved = [], []

    def __enter__(self):
        for owner, attr, part in PARTS:
            self._patch(owner, attr, lambda *a, _part=part, **k: _part)
        self._patch(checks._Run, "call", lambda self_, prop, what, *a, **k:
                    f"backend: {prop} ({getattr(what, '__name__', 'forward').strip('<>')})")
        return self

    def __exit__(self, *exc):
        for owner, attr, fn in reversed(self._saved):
            setattr(owner, attr, fn)

    def _patch(self, owner, attr, label):
        fn = getattr(owner, attr)
        self._saved.append((owner, attr, fn))

        def timed(*args, **kwargs):
            part = label(*args, **kwargs)
            self._stack.append(part)
            start = cpu_seconds()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = cpu_seconds() - start
                self._stack.pop()
                self.seconds[part] += spent
                if self._stack:
                    self.seconds[self._stack[-1]] -= spent

        setattr(owner, attr, timed)


def run(n: int, backend_name: str | None) -> dict:
    backends = race._backends()
    name = backend_name or ("torch" if not isinstance(backends.get("torch"), str) else "builtin")
    backend = backends[name] if name in backends else race.resolve(name)
    cases, _ = race.draw(n)
    runnable = [c for c in cases if all(backend.supports(node.op) for node in c.example.comp.nodes)]
    check = race.trigrad_checker(backend)
    best = None
    with race._one_torch_thread(backends), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        race._pass(check, runnable)  # warm-up
        for _ in range(REPEATS):
            with _Clock() as clock:
                seconds, _, outcomes = race._pass(check, runnable)
            if best is None or seconds < best[0]:
                best = (seconds, dict(clock.seconds), outcomes)
    seconds, parts, outcomes = best
    parts["checks: their own code"] = seconds - sum(parts.values())
    return {"backend": f"{name} {backend.version}", "compositions": len(runnable), "seconds": seconds,
            "per_second": len(runnable) / max(seconds, 1e-9), "outcomes": dict(collections.Counter(outcomes)),
            "ms_per_composition": {p: 1e3 * s / len(runnable) for p, s in parts.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench race_split", description=__doc__.split("\n\n")[0])
    parser.add_argument("--compositions", type=int, default=COMPOSITIONS, help="default %(default)s")
    parser.add_argument("--backend", default=None, help="default torch (builtin without torch)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_COMPOSITIONS} compositions")
    args = parser.parse_args(argv)
    r = run(QUICK_COMPOSITIONS if args.quick else args.compositions, args.backend)
    total = 1e3 * r["seconds"] / r["compositions"]
    rows = [[part, ms, f"{100 * ms / total:.1f}%"]
            for part, ms in sorted(r["ms_per_composition"].items(), key=lambda kv: -kv[1])]
    rows.append(["total", total, f"{r['per_second']:.1f} compositions/s"])
    print(table(["part", "ms per composition", "share"], rows,
                title=f"the race's trigrad side on {r['backend']}: {r['compositions']} compositions, CPU time "
                      f"inside the checks, exclusive, best of {REPEATS} warm passes"))
    write_results("race_split", r)


if __name__ == "__main__":
    main()
