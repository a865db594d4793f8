"""trigrad's pytest plugin (entry point ``pytest11: trigrad``).

Options live here rather than in a conftest so that an installed copy works anywhere:
``pytest --pyargs trigrad.properties --autograd-backend=torch``.

- ``--autograd-backend=NAME`` (or the environment variable TRIGRAD_BACKEND): builtin, torch, jax,
  dezero, or ``package.module:object`` for your own adapter. Unknown names stop the run with a
  one-line message listing what is valid.
- the backend runs in a supervised worker (``properties.fuzzing.supervise``), as ``trigrad check``
  runs it: its exits, crashes and hangs fail the cell that was running. ``--autograd-timeout S``,
  ``--autograd-memory MB`` and ``--autograd-in-process`` (or the ini settings ``autograd_timeout``,
  ``autograd_memory``, ``autograd_in_process``) are trigrad check's ``--timeout``, ``--memory`` and
  ``--in-process``. A backend that is not fork-safe (JAX) runs in process.
- Hypothesis profiles: ``dev`` (the default), ``ci`` (deterministic: derandomized, no example
  database, no deadline; chosen automatically when the CI environment variable is set) and
  ``thorough`` (a large budget, database on). Select one with ``--hypothesis-profile=NAME``. Outside
  CI the example database is on, so a failure found once is replayed first next time.

The plugin is loaded by every pytest session in an environment where trigrad is installed, most of
them not about trigrad: loading it imports pytest, Hypothesis (loaded by Hypothesis's own plugin
anyway) and three small modules of trigrad. The backend, the known differences and the suites (with
numpy, sympy and mpmath) are imported once trigrad is used: when a backend is named (then at once,
so that a bad name stops the run before it starts), or when trigrad's tests are collected or run.
"""

from __future__ import annotations

import argparse
import importlib
import os

import pytest
from hypothesis import settings

from . import profiles  # noqa: F401  (registers dev, ci and thorough, and loads the default)
from .environment import BACKEND as BACKEND_ENV_VAR


SUITE_MODULE = "trigrad.properties.test_properties"
HERE = os.path.dirname(os.path.abspath(__file__))
SUITE_FILE = os.path.join(HERE, "test_properties.py")
BACKEND_KEY = pytest.StashKey[object]()  # the session's backend, once resolved


class _SuiteModule(pytest.Module):
    """The property suites, imported under their one name, ``trigrad.properties.test_properties``.

    Wherever pytest finds the file (the repository's ``properties/`` folder, or
    ``site-packages/trigrad/properties/`` from ``pytest --pyargs trigrad.properties``), its path-based
    import would call it ``properties.test_properties``: ``trigrad`` is a namespace package, which
    pytest sees only with ``consider_namespace_packages``, an ini option of the user's project, not of
    this plugin. ``Module._getobj`` is the method through which pytest's Module imports its file
    (pytest 7 to 9); this one imports by name instead. The folder itself is collected as a plain
    ``pytest.Dir`` (below), since a ``pytest.Package`` would import its ``__init__.py`` by path too.
    """

    def _getobj(self):
        module = importlib.import_module(SUITE_MODULE)
        self.config.pluginmanager.consider_module(module)  # as pytest does for a module it imports
        return module


def pytest_collect_directory(path, parent):
    if os.path.abspath(path) == HERE:
        return pytest.Dir.from_parent(parent, path=path)
    return None


def pytest_pycollect_makemodule(module_path, parent):
    if os.path.abspath(module_path) == SUITE_FILE:
        return _SuiteModule.from_parent(parent, path=module_path)
    return None


def pytest_addoption(parser):
    group = parser.getgroup("trigrad", "trigrad: gradient checking")
    group.addoption(
        "--autograd-backend", default=None, metavar="NAME",
        help=f"backend to judge: builtin, torch, jax, dezero or module:object (default: ${BACKEND_ENV_VAR} or builtin)",
    )
    # trigrad check's --timeout, --memory and --in-process (properties.fuzzing.supervise), each also an ini setting
    group.addoption("--autograd-timeout", type=float, default=None, metavar="S",
                    help="seconds one call of the backend may take before it counts as a hang (ini autograd_timeout; "
                         "default: trigrad check's --timeout)")
    group.addoption("--autograd-memory", type=float, default=None, metavar="MB",
                    help="memory the backend may allocate in its supervised worker, in MB (ini autograd_memory; "
                         "default: half the machine's)")
    group.addoption("--autograd-in-process", action="store_true", default=None,
                    help="run the backend in pytest's process, not in a supervised worker (ini autograd_in_process)")
    parser.addini("autograd_timeout", "seconds one call of the backend may take (--autograd-timeout)", default=None)
    parser.addini("autograd_memory", "MB the backend's supervised worker may allocate (--autograd-memory)", default=None)
    parser.addini("autograd_in_process", "run the backend unsupervised (--autograd-in-process)", type="bool",
                  default=False)


def pytest_configure(config):
    config.pluginmanager.register(_StaleEntries(), "trigrad-stale-entries")
    name = config.getoption("--autograd-backend") or os.environ.get(BACKEND_ENV_VAR)
    if name:  # named: resolved now, so that a bad name is a usage error before anything runs
        _backend(config, name)


def _backend(config, name: str | None = None):
    """The session's backend: the one named, else $TRIGRAD_BACKEND, else builtin (resolved once), in a
    supervised worker as ``trigrad check`` runs it (``properties.fuzzing.supervise``) unless
    --autograd-in-process says otherwise."""
    if BACKEND_KEY not in config.stash:
        # deferred: numpy and sympy, once a backend is wanted
        from .backends import BackendError, resolve
        from .errors import UsageError
        from .fuzzing.sandbox import DEFAULT_TIMEOUT
        from .fuzzing.supervise import supervised

        try:
            backend = resolve(name)
            config.stash[BACKEND_KEY] = supervised(backend, _supervision(config, DEFAULT_TIMEOUT))
        except (BackendError, UsageError) as e:
            raise pytest.UsageError(str(e)) from None
    return config.stash[BACKEND_KEY]


def _supervision(config, default_timeout: float) -> argparse.Namespace:
    """--autograd-timeout, --autograd-memory and --autograd-in-process (or their ini settings), as
    ``supervise.supervised`` reads trigrad check's options."""

    def number(option, ini, default):
        value = config.getoption(option)
        if value is None:
            text = config.getini(ini)
            try:
                value = float(text) if text not in (None, "") else default
            except ValueError:
                raise pytest.UsageError(f"ini setting {ini} must be a number, got {text!r}") from None
        return value

    in_process = config.getoption("--autograd-in-process")
    return argparse.Namespace(timeout=number("--autograd-timeout", "autograd_timeout", default_timeout),
                              memory=number("--autograd-memory", "autograd_memory", None),
                              in_process=bool(config.getini("autograd_in_process") if in_process is None else in_process))


def pytest_unconfigure(config):
    if BACKEND_KEY in config.stash:
        config.stash[BACKEND_KEY].close()  # a supervised backend's worker


def _header(config) -> str:
    where = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    b = _backend(config)
    how = "in process" if getattr(b, "supervisor", None) is None else f"supervised (time limit {b.supervisor.timeout:g} s)"
    return (f"trigrad: backend {b.describe()}, {how}, hypothesis profile "
            f"{settings.get_current_profile_name()}, from {where}")


def _is_property_test(item) -> bool:
    return getattr(getattr(item, "function", None), "trigrad_property", None) is not None


def pytest_report_header(config):
    if BACKEND_KEY in config.stash:  # a backend was named
        return _header(config)
    return None


def pytest_report_collectionfinish(config, start_path, items):
    """The header line, in a session whose backend was not named, once trigrad's tests are collected
    (then the backend is needed anyway; in other sessions it is never loaded)."""
    if BACKEND_KEY not in config.stash and any(_is_property_test(item) for item in items):
        return _header(config)
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Known differences (properties/known.py): a failure they explain becomes an xfail with the
    reason (and its counterexample is kept beside an adapter's own file, ``known.keep_example``); a
    cell whose own entry says it fails but that passed is a failure (a stale entry), unless the
    entry's kept counterexample still fails (``properties.evidence``: then an xfail saying so).
    Applies to the property tests (``properties/test_properties.py``, wherever they are collected)
    and the backend they ran against. Each cell's outcome is recorded on its report, so that
    whole-op entries can be judged once the session has seen their row (``_StaleEntries``)."""
    outcome = yield
    report = outcome.get_result()
    prop = getattr(getattr(item, "function", None), "trigrad_property", None)
    cell = getattr(item, "callspec", None)
    backend = getattr(item, "funcargs", {}).get("backend")
    if call.when != "call" or prop is None or cell is None or backend is None:
        return
    from . import evidence, known  # deferred: only trigrad's tests need them (and have imported them already)

    path, dtype, op = known.path_for(backend), known.dtype_name(backend), cell.params["op"]
    entries = known.load(backend)  # parsed once per file version (known._parse)
    result = "skip" if report.skipped else "pass" if report.passed else "fail"
    if report.failed and call.excinfo is not None:
        # the cell's test minimized its counterexample: the smallest one is attributed
        failure = getattr(call.excinfo.value, "report", None)
        entry = known.covering(entries, prop, failure)
        if entry is not None:
            report.outcome, result = "skipped", "known"
            report.wasxfail = f"known difference {entry}: {entry.reason}"
            known.keep_example(backend, entry, failure)  # the evidence a later run replays
    elif report.passed and hasattr(report, "wasxfail"):
        # marked an expected failure by the test suite and passed (xpass): no evidence either way
        result = "known"
    elif report.passed:
        entry = known.own_cell(entries, prop, op)
        if entry is not None and entry.prop is not None:
            if evidence.still_fails(backend, entry):  # judged on evidence, not on this run's draws
                report.outcome, result = "skipped", "known"
                report.wasxfail = (f"known difference {entry}: its cell passed, but its kept counterexample "
                                   f"({known.examples_path(backend)}) still fails: not stale")
            else:
                report.outcome = "failed"
                report.longrepr = f"stale known difference: {entry} (line {entry.line} of {path}) no longer fails; remove it"
    # user_properties travel from xdist workers to the controller with the report
    report.user_properties.append(("trigrad_cell", (path, dtype, prop, op, result)))


class _StaleEntries:
    """Whole-op entries (``softmax  # ...``) whose row ran under every property and passed
    throughout, and whose kept counterexample (``properties.evidence``), if any, passes too: listed
    after the run, which then fails. (A ``property[op]`` entry is judged on its own cell, above.)"""

    def __init__(self):
        self.outcomes = {}  # (known-differences path, precision) -> {(property, op): outcome}
        self.found = []

    def pytest_runtest_logreport(self, report):
        for key, value in report.user_properties:
            if key == "trigrad_cell":
                path, dtype, prop, op, result = value
                self.outcomes.setdefault((path, dtype), {})[(prop, op)] = result

    def pytest_sessionfinish(self, session):
        if hasattr(session.config, "workerinput"):  # an xdist worker: the controller judges
            return
        for (path, dtype), outcomes in self.outcomes.items():
            from . import evidence, known, suite  # deferred: only sessions that ran trigrad's tests get here

            entries = [e for e in known.load_path(path, dtype) if e.prop is None]
            stale = known.stale(entries, outcomes, suite.PROPERTIES)
            if stale:  # judged on evidence: an entry whose kept counterexample still fails is not stale
                b = _backend(session.config)
                stale = [e for e in stale if known.path_for(b) != path or not evidence.still_fails(b, e)]
            self.found += [(path, e) for e in stale]
        if self.found and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        if self.found:
            terminalreporter.section("stale known differences")
            for path, e in self.found:
                terminalreporter.line(f"stale known difference: {e} (line {e.line} of {path}) no longer fails; remove it")


@pytest.fixture(scope="session")
def backend(request):
    """The backend selected with --autograd-backend (or $TRIGRAD_BACKEND; default builtin)."""
    return _backend(request.config)
