"""What every benchmark shares: where results go, the machine they were measured on, text tables.

Each benchmark module has ``main(argv)``: it parses its own options, prints a table and calls
``write_results(name, results)``, which adds the machine (cores, load average, versions) and writes
``bench/results/NAME.json``. Timings are machine-dependent; nothing in bench/ is asserted.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import pathlib
import platform
import sys
import time

import numpy as np

# trigrad's Hypothesis profiles (dev, ci, thorough), registered and the default loaded: without this
# import ``settings.get_profile("ci")`` is Hypothesis's own built-in "ci" profile (100 examples per
# cell), and the default profile has Hypothesis's 200 ms deadline.
from trigrad.properties import profiles  # noqa: F401

RESULTS_DIR = pathlib.Path(__file__).parent / "results"
# The clock of the per-example and per-core benchmarks: this process's CPU time. On a machine shared
# with other work, wall time counts the moments the process waits for a core; CPU time does not, and
# the work measured here is single-threaded and CPU-bound (no I/O, no sleeping).
cpu_seconds = time.process_time
# Where results go instead (``python -m bench --quick`` points it at a scratch folder, so that a smoke
# run does not overwrite the published numbers).
RESULTS_ENV = "TRIGRAD_BENCH_RESULTS"


def machine() -> dict:
    """The conditions of a measurement: cores, load average (other work on the machine), versions."""
    import hypothesis

    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "hypothesis": hypothesis.__version__,
        "platform": platform.platform(),
    }


def ci_profile():
    """trigrad's deterministic ``ci`` profile (30 derandomized examples per cell), as the suites use it."""
    import hypothesis

    return hypothesis.settings.get_profile("ci")


def results_path(name: str) -> pathlib.Path:
    """bench/results/NAME.json (or under $TRIGRAD_BENCH_RESULTS)."""
    return pathlib.Path(os.environ.get(RESULTS_ENV) or RESULTS_DIR) / f"{name}.json"


def write_results(name: str, results: dict, path: pathlib.Path | None = None) -> pathlib.Path:
    """Write ``results`` (plus the machine's conditions) as bench/results/NAME.json; returns the path."""
    path = path or results_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"benchmark": name, **results, "machine": machine()}, indent=2,
                               default=_jsonable) + "\n")
    print(f"wrote {path}  (load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{os.cpu_count()} cores)")
    return path


def _jsonable(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (set, frozenset, tuple)):
        return list(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def table(headers: list[str], rows: list[list], title: str = "") -> str:
    """A plain text table, numbers right-aligned; floats printed with 3 significant digits."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths))))
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def _cell(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        if v == 0 or 1e-3 <= abs(v) < 1e5:
            return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
        return f"{v:.2e}"
    return "-" if v is None else str(v)


def loglog_slope(by_size: dict) -> float:
    """The slope of log(time) against log(size): 1 is linear growth."""
    xs = np.log([float(n) for n in by_size])
    ys = np.log([float(by_size[n]) for n in by_size])
    return float(np.polyfit(xs, ys, 1)[0])


def timed_check(backend, prop: str, example, kwargs: dict) -> float | None:
    """CPU seconds one check of ``prop`` takes on one fixed example (inside a one-example Hypothesis
    test, where the checks' ``event`` and ``reject`` work); None when the example was rejected.
    Raises the check's ``Failure`` when it fails."""
    seconds, error = _check_once(backend, prop, example, kwargs)
    if error is None:
        return seconds
    if isinstance(error, AssertionError):  # the check's Failure (Hypothesis's Unsatisfiable is not one)
        raise error
    return None


def timed_outcome(backend, prop: str, example, kwargs: dict) -> tuple[float, str]:
    """As ``timed_check``, but the CPU seconds whatever the outcome, and the outcome: "passed",
    "failed" or "not judged" (rejected)."""
    seconds, error = _check_once(backend, prop, example, kwargs)
    return seconds, ("passed" if error is None else "failed" if isinstance(error, AssertionError) else "not judged")


def _check_once(backend, prop, example, kwargs):
    """(CPU seconds of the check's first run, the check's Failure or Hypothesis's Unsatisfiable or None).
    Hypothesis runs a failing example again to report it: the first run is the one timed."""
    import hypothesis
    from hypothesis import strategies as st

    from trigrad.properties import checks, suite

    spent = []

    @hypothesis.settings(max_examples=1, database=None, derandomize=True, deadline=None,
                         phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate))
    @hypothesis.given(st.just(None))
    def once(_):
        start = cpu_seconds()
        try:
            suite.PROPERTIES[prop].check(backend, example, **kwargs)
        finally:
            spent.append(cpu_seconds() - start)

    try:
        once()
    except hypothesis.errors.Unsatisfiable as e:
        return spent[0], e
    except checks.Failure as e:
        return spent[0], e
    return spent[0], None
