"""What installing trigrad costs an unrelated project's pytest session (trigrad's pytest11 plugin).

Run: ``python -m bench plugin_cost [--repeats R] [--quick]``. Prints a table and writes
bench/results/plugin_cost.json.

pytest loads every installed ``pytest11`` plugin, so trigrad's plugin is imported by each pytest
session in an environment where trigrad is installed, whether or not the project uses it. The
benchmark builds two fresh virtual environments in a temporary folder (removed afterwards) that
differ only by trigrad: both get hypothesis, pytest, numpy and sympy at the versions this
interpreter has (Hypothesis's own pytest plugin is loaded in both); one also gets a wheel of trigrad
built from this checkout (``pip wheel --no-deps``, installed ``--no-deps``). In a temporary
one-test project (``test_one.py``: ``assert 1 + 1 == 2``, no conftest, no ini file) it times
``python -m pytest -q -p no:cacheprovider``, wall clock including interpreter start-up, R times
per environment, interleaved (the order alternates each round, after one untimed warm-up each), and
reports the min and median of each and their differences. Goal (issue 13, part 3): at most 50 ms
more with trigrad installed, judged on the medians.

Also measured in the environment with trigrad: ``python -X importtime -c "import
trigrad.properties.plugin"`` (the plugin's cumulative import time, best of a few), once alone and
once after ``import pytest, hypothesis`` (what a pytest session with Hypothesis's plugin has
imported anyway: the plugin's own share), and whether ``sympy`` is in ``sys.modules`` after ``pytest.main`` runs the one-test
project in-process (no conftest involved).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import venv

from bench.common import table, write_results

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The goal of issue 13, part 3: installing trigrad adds at most this much to an unrelated session.
GOAL_SECONDS = 0.050
# What both environments get, pinned to this interpreter's versions so that they match each other.
SHARED = ("hypothesis", "pytest", "numpy", "sympy")
QUICK_REPEATS = 5
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
TEST_ONE = "def test_one():\n    assert 1 + 1 == 2\n"
SYMPY_PROBE = ("import sys, pytest\n"
               "rc = pytest.main(['-q', '-p', 'no:cacheprovider'])\n"
               "print('sympy loaded:', 'sympy' in sys.modules, 'rc:', int(rc))\n")
PLUGIN = "trigrad.properties.plugin"
# What a pytest session with Hypothesis's plugin has imported before trigrad's plugin.
PRELOADED = "import pytest, hypothesis"
ENVS = ("without trigrad", "with trigrad")


def clean_env() -> dict:
    """This process's environment without what would make the sessions differ from a user's: no
    PYTHONPATH (it could reach this checkout), no PYTEST_* or TRIGRAD_* settings."""
    return {k: v for k, v in os.environ.items()
            if k != "PYTHONPATH" and not k.startswith(("PYTEST_", "TRIGRAD_"))}


def _run(args, cwd) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=clean_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} exited {done.returncode}:\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


def make_envs(base: pathlib.Path) -> dict[str, pathlib.Path]:
    """The two virtual environments under ``base``: name -> its python."""
    requirements = [f"{name}=={importlib.metadata.version(name)}" for name in SHARED]
    wheels = base / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, ROOT], base)
    (wheel,) = wheels.glob("trigrad-*.whl")
    pythons = {}
    for name, folder in zip(ENVS, ("bare", "trigrad")):
        venv.create(base / folder, with_pip=True)
        pythons[name] = base / folder / "bin" / "python"
        _run([pythons[name], "-m", "pip", "install", "-q", *requirements], base)
        print(f"  {name}: {base / folder} ({', '.join(requirements)})", flush=True)
    _run([pythons["with trigrad"], "-m", "pip", "install", "-q", "--no-deps", wheel], base)
    return pythons


def session_seconds(python: pathlib.Path, project: pathlib.Path) -> float:
    """Wall seconds of one pytest session of the one-test project."""
    start = time.perf_counter()
    done = _run([python, *PYTEST], project)
    seconds = time.perf_counter() - start
    if "1 passed" not in done.stdout:
        raise RuntimeError(f"the one-test project did not pass one test:\n{done.stdout[-2000:]}")
    return seconds


def plugin_import_seconds(python: pathlib.Path, cwd: pathlib.Path, tries: int, before: str = "") -> float:
    """The plugin's cumulative import time from ``-X importtime`` (best of ``tries``), in seconds,
    after the statement ``before`` (whose imports are then not counted)."""
    best = float("inf")
    for _ in range(tries):
        done = _run([python, "-X", "importtime", "-c", "; ".join(filter(None, [before, f"import {PLUGIN}"]))], cwd)
        # "import time: self [us] | cumulative | name", the name indented by nesting depth
        cumulative = [int(parts[1]) for parts in (line.split("|") for line in done.stderr.splitlines())
                      if len(parts) == 3 and parts[2].strip() == PLUGIN]
        best = min(best, cumulative[0] / 1e6)
    return best


def sympy_in_session(python: pathlib.Path, project: pathlib.Path) -> bool:
    """Whether ``sympy`` is in ``sys.modules`` after ``pytest.main`` ran the one-test project."""
    done = _run([python, "-c", SYMPY_PROBE], project)
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("sympy loaded:")]
    if not line.endswith("rc: 0"):
        raise RuntimeError(f"pytest.main failed on the one-test project:\n{done.stdout[-2000:]}")
    return line.split()[2] == "True"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench plugin_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed sessions per environment (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPEATS} sessions per environment")
    args = parser.parse_args(argv)
    repeats = QUICK_REPEATS if args.quick else args.repeats
    if repeats < 1:
        parser.error(f"--repeats must be at least 1, not {repeats}")

    with tempfile.TemporaryDirectory(prefix="trigrad-plugin-cost-") as tmp:
        base = pathlib.Path(tmp)
        project = base / "unrelated"
        project.mkdir()
        (project / "test_one.py").write_text(TEST_ONE)
        try:
            pythons = make_envs(base)
        except RuntimeError as e:
            print(f"skipped: cannot build the two environments (package index reachable?):\n{e}")
            return
        seconds = {name: [] for name in ENVS}
        for name in ENVS:
            session_seconds(pythons[name], project)  # warm-up: file caches, the test's bytecode
        for r in range(repeats):
            for name in (ENVS if r % 2 == 0 else ENVS[::-1]):
                seconds[name].append(session_seconds(pythons[name], project))
        tries = min(repeats, 5)
        import_seconds = plugin_import_seconds(pythons["with trigrad"], project, tries)
        own_import_seconds = plugin_import_seconds(pythons["with trigrad"], project, tries, PRELOADED)
        sympy = {name: sympy_in_session(pythons[name], project) for name in ENVS}

    best = {name: min(s) for name, s in seconds.items()}
    median = {name: statistics.median(s) for name, s in seconds.items()}
    extra_min = best["with trigrad"] - best["without trigrad"]
    extra_median = median["with trigrad"] - median["without trigrad"]
    met = extra_median <= GOAL_SECONDS
    print(table(["environment", "min s", "median s", "sympy in session"],
                [*[[name, best[name], median[name], "yes" if sympy[name] else "no"] for name in ENVS],
                 ["difference", extra_min, extra_median, None]],
                title=f"python -m pytest -q on a one-test project, {repeats} sessions per environment "
                      f"(interleaved; both have Hypothesis's plugin)"))
    print(f"import {PLUGIN} (-X importtime, cumulative, best of {tries}): {1000 * import_seconds:.0f} ms alone, "
          f"{1000 * own_import_seconds:.0f} ms after {PRELOADED}")
    print(f"goal: at most {1000 * GOAL_SECONDS:.0f} ms more with trigrad installed (medians): "
          f"{1000 * extra_median:.0f} ms, {'met' if met else 'NOT met'}")
    write_results("plugin_cost", {
        "repeats": repeats, "goal_seconds": GOAL_SECONDS, "goal_met": met,
        "extra_seconds_median": extra_median, "extra_seconds_min": extra_min,
        "min_seconds": best, "median_seconds": median, "seconds": seconds,
        "plugin_import_seconds": import_seconds,
        "plugin_import_seconds_after_pytest_and_hypothesis": own_import_seconds, "sympy_in_session": sympy,
        "shared_packages": {name: importlib.metadata.version(name) for name in SHARED},
    })


if __name__ == "__main__":
    main()
