"""What supervised execution costs: examples per second with the checks in a supervised worker process
(``properties.fuzzing.supervise``, the default of ``trigrad check`` and ``trigrad fuzz``) and in this
process (``--in-process``), on the built-in core and on PyTorch (when installed).

Run: ``python -m bench supervise [--examples N] [--repeats R] [--quick]``. Prints a table and writes
bench/results/supervise.json.

Workloads, each a derandomized Hypothesis run (the same examples both ways, no database):

- ``check vjp / all ops`` and ``check determinism / all ops``: the mixed row of ``trigrad check`` for
  the vjp property (a backward and the exact oracle per example) and determinism (two backwards, no
  oracle: the cheapest examples, where supervision's share is largest), N examples
  (``suite.run_cell``);
- ``fuzz Sinh`` (built-in core only): a campaign of the README's Sinh, N examples over all properties.

Each workload runs R times each way, interleaved (in process, supervised, in process, ...), after one
untimed warm-up each way (sympy's and the oracles' caches, the first fork); the table gives the median
examples per second, and the supervised run's cost per example in milliseconds (1 / rate supervised
- 1 / rate in process, medians). Supervision sends each example to the worker and its outcome back
(two pickles through a pipe), times each call of the code under test into shared memory, and forks a
worker once per run.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import statistics
import time

import hypothesis

from trigrad.properties import fuzzing, suite
from trigrad.properties.backends import BackendError, resolve
from trigrad.properties.fuzzing.supervise import Supervised

from bench.common import table, write_results

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = 200  # examples per timed run
REPEATS = 5  # timed runs each way
QUICK_EXAMPLES, QUICK_REPEATS = 40, 2
BACKENDS = ("builtin", "torch")


def _profile():
    return hypothesis.settings(hypothesis.settings.default, derandomize=True, database=None, deadline=None,
                               suppress_health_check=list(hypothesis.HealthCheck))


def _sinh():
    """The README's Sinh (docs/examples/test_sinh.py)."""
    spec = importlib.util.spec_from_file_location("sinh_example", ROOT / "docs" / "examples" / "test_sinh.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Sinh


def cell_run(backend, prop, examples, supervised):
    """(examples, seconds) of the mixed row's cell for ``prop``."""
    b = Supervised(backend) if supervised else backend
    try:
        start = time.perf_counter()
        cell = suite.run_cell(b, prop, suite.ALL_OPS, max_examples=examples, profile=_profile())
        seconds = time.perf_counter() - start
    finally:
        b.close()
    if cell.status not in ("pass", "known"):
        raise RuntimeError(f"{prop} / all ops on {backend.name}, {'supervised' if supervised else 'in process'}: "
                           f"{cell.status} {cell.error}\n{cell.report.text() if cell.report else ''}")
    return cell.examples, seconds


def fuzz_run(backend, examples, supervised):
    """(examples, seconds) of a campaign of Sinh."""
    target = fuzzing.make_target(_sinh(), backend, sympy="sinh(x)")
    start = time.perf_counter()
    outcome = fuzzing.run(target, backend, max_examples=examples, database=None, derandomize=True,
                          supervised=supervised)
    seconds = time.perf_counter() - start
    if outcome.report is not None:
        raise RuntimeError(f"Sinh on {backend.name}: {outcome.text}")
    return outcome.examples, seconds


def measure(run, examples, repeats):
    """Median examples per second, in process and supervised, interleaved after a warm-up each."""
    rates = {False: [], True: []}
    for supervised in (False, True):
        run(max(examples // 4, 5), supervised)
    for k in range(repeats):
        for supervised in ((False, True) if k % 2 == 0 else (True, False)):
            n, seconds = run(examples, supervised)
            rates[supervised].append(n / seconds)
    return statistics.median(rates[False]), statistics.median(rates[True])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench supervise", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=EXAMPLES)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EXAMPLES} examples, {QUICK_REPEATS} repeats")
    args = parser.parse_args(argv)
    examples, repeats = (QUICK_EXAMPLES, QUICK_REPEATS) if args.quick else (args.examples, args.repeats)
    rows, results = [], []
    for name in BACKENDS:
        try:
            backend = resolve(name)
        except BackendError as e:
            print(f"{name}: skipped ({e})")
            continue
        workloads = {f"check {p} / all ops": (lambda p: lambda n, s: cell_run(backend, p, n, s))(p)
                     for p in ("vjp", "determinism")}
        if name == "builtin":
            workloads["fuzz Sinh"] = lambda n, s: fuzz_run(backend, n, s)
        for what, run in workloads.items():
            inproc, sup = measure(run, examples, repeats)
            cost_ms = (1 / sup - 1 / inproc) * 1000
            rows.append([name, what, inproc, sup, sup / inproc, cost_ms])
            results.append({"backend": backend.describe(), "workload": what, "in_process_per_s": inproc,
                            "supervised_per_s": sup, "ratio": sup / inproc, "cost_ms_per_example": cost_ms})
            print(table(["backend", "workload", "in process /s", "supervised /s", "ratio", "cost ms/example"],
                        [rows[-1]]), flush=True)
    print(table(["backend", "workload", "in process /s", "supervised /s", "ratio", "cost ms/example"], rows,
                title=f"supervised execution: median of {repeats} runs of {examples} examples each way"))
    write_results("supervise", {"examples": examples, "repeats": repeats, "rows": results})


if __name__ == "__main__":
    main()
