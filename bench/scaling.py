"""Scaling over cores: examples per second with 1, 2, ... pytest-xdist workers on a fixed workload.

Run: ``python -m bench scaling [--workers 1,2] [--properties value,vjp,...] [--quick]``. Prints a
table and writes bench/results/scaling.json.

The workload is the property suites on the built-in backend under the deterministic ``ci`` profile
(``pytest properties/test_properties.py --hypothesis-profile=ci -n N``), restricted to the chosen
properties (default: all). Derandomized, it draws the same examples whatever the number of
workers; their count comes from one in-process run of the same cells (``properties.suite``, no
pytest; its time, with the symbolic oracle's compiles cold, is recorded but not compared). Wall time includes pytest's start-up and
collection in every worker, as a user sees it. Efficiency against linear is
rate_n / (n * rate_1). The default worker counts are 1, 2, ... up to the machine's cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


from bench.common import ci_profile, table, write_results
from trigrad.properties import suite
from trigrad.properties.backends.builtin import Builtin

QUICK_PROPERTIES = ("value", "vjp")


def count_examples(props) -> tuple[int, float]:
    """(examples, seconds) of the workload's cells run in this process."""
    backend = Builtin()
    profile = ci_profile()
    total, start = 0, time.perf_counter()
    for prop in props:
        for op in suite.rows(backend):
            total += suite.run_cell(backend, prop, op, profile=profile).examples
    return total, time.perf_counter() - start


def pytest_seconds(props, workers: int) -> float:
    cmd = [sys.executable, "-m", "pytest", *(f"properties/test_properties.py::test_{p}" for p in props), "-q",
           "-p", "no:cacheprovider", "--hypothesis-profile=ci", "-n", str(workers)]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"the workload failed with {workers} workers:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench scaling", description=__doc__.split("\n\n")[0])
    cores = os.cpu_count() or 1
    parser.add_argument("--workers", default=",".join(str(n) for n in range(1, max(cores, 2) + 1)),
                        help="comma-separated worker counts (default %(default)s)")
    parser.add_argument("--properties", default=",".join(p for p in suite.PROPERTIES),
                        help="the properties whose cells make the workload (default: all)")
    parser.add_argument("--quick", action="store_true", help=f"properties {','.join(QUICK_PROPERTIES)} only")
    args = parser.parse_args(argv)
    props = QUICK_PROPERTIES if args.quick else tuple(args.properties.split(","))
    unknown = set(props) - set(suite.PROPERTIES)
    if unknown:
        parser.error(f"unknown properties {sorted(unknown)}; expected some of {', '.join(suite.PROPERTIES)}")
    try:
        import xdist  # noqa: F401
    except ImportError:
        print("skipped: pytest-xdist is not installed (pip install -e '.[dev]')")
        return

    examples, in_process = count_examples(props)
    rows = {}
    for n in (int(w) for w in args.workers.split(",")):
        seconds = pytest_seconds(props, n)
        rows[n] = {"seconds": seconds, "per_second": examples / seconds}
        print(f"  {n} worker(s): {seconds:.1f} s", flush=True)
    base = rows[min(rows)]["per_second"] / min(rows)
    for n, r in rows.items():
        r["efficiency"] = r["per_second"] / (n * base)
    print(table(["workers", "seconds", "examples/s", "efficiency vs linear"],
                [[n, r["seconds"], r["per_second"], f"{100 * r['efficiency']:.0f}%"] for n, r in rows.items()],
                title=f"{examples} examples ({', '.join(props)} on every op; built-in backend, ci profile), "
                      f"{cores} cores"))
    write_results("scaling", {
        "examples": examples, "properties": list(props),
        "efficiency_by_workers": {str(n): r["efficiency"] for n, r in rows.items()},
        "per_second_by_workers": {str(n): r["per_second"] for n, r in rows.items()},
        "seconds_by_workers": {str(n): r["seconds"] for n, r in rows.items()},
        "counting_run_seconds": in_process,
    })


if __name__ == "__main__":
    main()
