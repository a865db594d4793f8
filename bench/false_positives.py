"""False positives: FAIL verdicts in long runs against correct backends (the goal is none).

Run: ``python -m bench false_positives [--examples N] [--backends builtin,torch,jax] [--seconds S]``.
Prints a table and writes bench/results/false_positives.json.

For each backend (default: builtin, and torch and jax when installed) every cell of the conformance
table (op x property) runs in rounds of ROUND examples with fresh random seeds (Hypothesis, not
derandomized, no example database) until N examples (default 100,000) have been judged or S seconds
have passed. A cell that fails is reported with its minimal counterexample and counted once per
round. Failures that the backend's known-differences file explains (real bugs of that library, e.g.
PyTorch's second derivative of x ** y at y == 0) are counted apart as ``known``, and the cells of
those entries are not run: they fail by design. Everything else is a false positive: a verdict of
trigrad against a correct implementation.
"""

from __future__ import annotations

import argparse
import json
import time

import hypothesis

from bench.common import ci_profile, results_path, table, write_results
from trigrad.properties import known, suite
from trigrad.properties.backends import BackendError, resolve

EXAMPLES = 100_000
ROUND = 30  # examples per cell per round
DEFAULT_BACKENDS = ("builtin", "torch", "jax")


def cells(backend):
    """The runnable cells, minus those whose own known-differences entry says they fail."""
    entries = known.load(backend)
    out = []
    for op in suite.rows(backend):
        for prop in suite.PROPERTIES:
            if suite.status(backend, prop, op) is None and known.own_cell(entries, prop, op) is None:
                out.append((prop, op))
    return out


def run_backend(name: str, examples: int, seconds: float | None) -> dict:
    backend = resolve(name)
    entries = known.load(backend)
    profile = hypothesis.settings(ci_profile(), derandomize=False, database=None)
    todo = cells(backend)
    total, rounds, failures, known_failures, errors = 0, 0, [], [], []
    start = time.perf_counter()
    while total < examples and (seconds is None or time.perf_counter() - start < seconds):
        rounds += 1
        for prop, op in todo:
            cell = suite.run_cell(backend, prop, op, max_examples=ROUND, profile=profile)
            total += cell.examples
            if cell.status == "fail":
                entry = known.covering(entries, prop, cell.report)
                record = {"cell": f"{prop}[{op}]", "text": cell.report.text()}
                if entry is not None:
                    known_failures.append({**record, "entry": str(entry)})
                else:
                    failures.append(record)
                    print(f"FAIL {name} {prop}[{op}]:\n{cell.report.text()}", flush=True)
            elif cell.status == "error":
                errors.append({"cell": f"{prop}[{op}]", "error": cell.error})
                print(f"ERROR {name} {prop}[{op}]: {cell.error}", flush=True)
            if total >= examples or (seconds is not None and time.perf_counter() - start >= seconds):
                break
        print(f"  {name}: round {rounds}, {total} examples, {len(failures)} failures, "
              f"{time.perf_counter() - start:.0f} s", flush=True)
    elapsed = time.perf_counter() - start
    return {"backend": backend.describe(), "examples": total, "seconds": elapsed, "rounds": rounds,
            "cells": len(todo), "failures": len(failures), "known": len(known_failures), "errors": len(errors),
            "per_second": total / elapsed, "failure_reports": failures, "known_reports": known_failures,
            "error_reports": errors, "reached_target": total >= examples}


def previous_results() -> dict:
    path = results_path("false_positives")
    return json.loads(path.read_text()) if path.exists() else {}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench false_positives", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=EXAMPLES, help="examples per backend (default %(default)s)")
    parser.add_argument("--backends", default=",".join(DEFAULT_BACKENDS),
                        help="comma-separated backends (default %(default)s; missing libraries are skipped)")
    parser.add_argument("--seconds", type=float, default=None, help="stop each backend after this long")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other backends' results already in bench/results/false_positives.json")
    args = parser.parse_args(argv)

    results, skipped = {}, {}
    for name in args.backends.split(","):
        try:
            resolve(name)
        except BackendError as e:
            skipped[name] = str(e)
            print(f"skipped {name}: {e}")
            continue
        results[name] = run_backend(name, args.examples, args.seconds)
    if args.merge:
        earlier = previous_results()
        results = {**{k: v for k, v in earlier.get("by_backend", {}).items() if k not in results}, **results}
    print(table(["backend", "examples", "FAIL", "known", "errors", "seconds", "examples/s", "target reached"],
                [[r["backend"], r["examples"], r["failures"], r["known"], r["errors"], r["seconds"], r["per_second"],
                  "yes" if r["reached_target"] else "no"] for r in results.values()],
                title=f"FAIL verdicts against correct backends (target {args.examples} examples each)"))
    write_results("false_positives", {
        "examples_target": args.examples,
        "failures_by_backend": {k: r["failures"] for k, r in results.items()},
        "examples_by_backend": {k: r["examples"] for k, r in results.items()},
        "by_backend": results, "skipped": skipped,
    })


if __name__ == "__main__":
    main()
