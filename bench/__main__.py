"""Run trigrad's benchmarks: ``python -m bench`` (all, in order) or ``python -m bench NAME [options]``.

Each benchmark prints a table and writes bench/results/NAME.json; ``python -m bench NAME --help``
lists its options. ``python -m bench --quick`` runs every benchmark with a small budget (a smoke
run: the numbers are not the published ones, and go to bench/results/quick/ instead); so does
``python -m bench NAME --quick`` for one.
"""

from __future__ import annotations

import importlib
import os
import sys
import time

from bench.common import RESULTS_DIR, RESULTS_ENV

# name -> (module, what it measures); in the order ``python -m bench`` runs them (fast ones first).
BENCHMARKS = {
    "core": ("bench.core", "per-op forward and backward cost of the core against DeZero and PyTorch"),
    "accuracy": ("bench.accuracy", "the numeric oracle against exact, beside fixed-step differences and numdifftools"),
    "growth": ("bench.growth", "cost per example against DAG size, with and without sharing"),
    "oracle": ("bench.oracle", "the exact oracle's cost per node: ball arithmetic (Arb) against mpmath"),
    "throughput": ("bench.throughput", "verified compositions per second by DAG size, and where the time goes"),
    "race_split": ("bench.race_split", "where a composition's time goes in the race: trigrad's checks split by part"),
    "detection": ("bench.detection", "planted bugs found, against DeZero-style and gradcheck-style per-op tests"),
    "hessian_floor": ("bench.hessian_floor", "how much the floor on second derivatives widens HVP bounds"),
    "plugin_cost": ("bench.plugin_cost", "what installing trigrad adds to an unrelated project's pytest session"),
    "supervise": ("bench.supervise", "examples per second with the checks in a supervised worker and in process"),
    "scaling": ("bench.scaling", "examples per second with 1, 2, ... pytest-xdist workers"),
    "cluster": ("bench.cluster", "trigrad check on a Dask cluster of 1 and 2 workers; the scheduler's overhead per task"),
    "false_positives": ("bench.false_positives", "FAIL verdicts in long runs against correct backends"),
    "mutation": ("bench.mutation", "mutmut over autograd/ with the ci suite: score and surviving mutants"),
    "custom_catalogue": ("bench.custom_catalogue", "custom torch/JAX gradients: planted bugs found, controls at 2,000 examples"),
    "matrix": ("bench.matrix", "the published op x library matrix (docs/matrix.md): one check run per library"),
}

# What ``--quick`` passes to each benchmark.
QUICK = {
    "core": ["--ops", "200", "--repeats", "3"],
    "accuracy": ["--quick"],
    "growth": ["--quick"],
    "oracle": ["--quick"],
    "throughput": ["--quick"],
    "race_split": ["--quick"],
    "detection": ["--quick"],
    "hessian_floor": ["--examples", "30"],
    "plugin_cost": ["--quick"],
    "supervise": ["--quick"],
    "scaling": ["--quick"],
    "cluster": ["--quick"],
    "false_positives": ["--examples", "300"],
    "mutation": ["--seconds", "60"],
    "custom_catalogue": ["--quick"],
    "matrix": ["--quick"],
}


def usage() -> str:
    lines = [__doc__.strip(), "", "benchmarks:"]
    lines += [f"  {name:16} {what}" for name, (_, what) in BENCHMARKS.items()]
    return "\n".join(lines)


def run(name: str, argv: list[str]) -> None:
    module = importlib.import_module(BENCHMARKS[name][0])
    print(f"=== {name}: {BENCHMARKS[name][1]}", flush=True)
    start = time.perf_counter()
    module.main(argv)
    print(f"=== {name} took {time.perf_counter() - start:.0f} s\n", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv and not argv[0].startswith("-"):
        name = argv[0]
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; expected one of {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        if "--quick" in argv[1:]:  # a smoke run's numbers never replace the published ones
            os.environ[RESULTS_ENV] = str(RESULTS_DIR / "quick")
        run(name, argv[1:])
        return 0
    if argv not in ([], ["--quick"]):
        print(f"python -m bench takes a benchmark name or --quick, not {' '.join(argv)}\n\n{usage()}", file=sys.stderr)
        return 2
    if argv:
        os.environ[RESULTS_ENV] = str(RESULTS_DIR / "quick")
    for name in BENCHMARKS:
        run(name, QUICK[name] if argv else [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
