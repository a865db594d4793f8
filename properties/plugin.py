"""trigrad's pytest plugin (entry point ``pytest11: trigrad``).

Options live here rather than in a conftest so that an installed copy works anywhere:
``pytest --pyargs trigrad.properties --autograd-backend=torch``.

- ``--autograd-backend=NAME`` (or the environment variable TRIGRAD_BACKEND): builtin, torch, jax,
  dezero, or ``package.module:object`` for your own adapter. Unknown names stop the run with a
  one-line message listing what is valid.
- Hypothesis profiles: ``dev`` (the default), ``ci`` (deterministic: derandomized, no example
  database, no deadline; chosen automatically when the CI environment variable is set) and
  ``thorough`` (a large budget, database on). Select one with ``--hypothesis-profile=NAME``. Outside
  CI the example database is on, so a failure found once is replayed first next time.
"""

from __future__ import annotations

import importlib
import os

import pytest
from hypothesis import settings

from . import known
from .backends import ENV_VAR, BackendError, resolve

from . import profiles  # noqa: F401  (registers dev, ci and thorough, and loads the default)


SUITE_MODULE = "trigrad.properties.test_properties"
HERE = os.path.dirname(os.path.abspath(__file__))
SUITE_FILE = os.path.join(HERE, "test_properties.py")


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
        help=f"backend to judge: builtin, torch, jax, dezero or module:object (default: ${ENV_VAR} or builtin)",
    )


def pytest_configure(config):
    config.pluginmanager.register(_StaleEntries(), "trigrad-stale-entries")
    try:
        config._trigrad_backend = resolve(config.getoption("--autograd-backend"))
    except BackendError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_report_header(config):
    backend = getattr(config, "_trigrad_backend", None)
    if backend is not None:
        where = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        return f"trigrad: backend {backend.describe()}, hypothesis profile {settings.get_current_profile_name()}, from {where}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Known differences (properties/known.py): a failure they explain becomes an xfail with the
    reason; a cell whose own entry says it fails but that passed is a failure (a stale entry).
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
    path, dtype, op = known.path_for(backend), known.dtype_name(backend), cell.params["op"]
    entries = known.load(backend)  # parsed once per file version (known._parse)
    result = "skip" if report.skipped else "pass" if report.passed else "fail"
    if report.failed and call.excinfo is not None:
        failure = call.excinfo.value
        str(failure)  # the message minimizes the counterexample: attribute the smallest one
        entry = known.covering(entries, prop, getattr(failure, "report", None))
        if entry is not None:
            report.outcome, result = "skipped", "known"
            report.wasxfail = f"known difference {entry}: {entry.reason}"
    elif report.passed:
        entry = known.own_cell(entries, prop, op)
        if entry is not None and entry.prop is not None:
            report.outcome = "failed"
            report.longrepr = f"stale known difference: {entry} (line {entry.line} of {path}) no longer fails; remove it"
    # user_properties travel from xdist workers to the controller with the report
    report.user_properties.append(("trigrad_cell", (path, dtype, prop, op, result)))


class _StaleEntries:
    """Whole-op entries (``softmax  # ...``) whose row ran under every property and passed
    throughout: listed after the run, which then fails. (A ``property[op]`` entry is judged on its
    own cell, above.)"""

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
            from . import suite  # here, not at import: it brings sympy, which pytest's start need not wait for

            entries = [e for e in known.load_path(path, dtype) if e.prop is None]
            self.found += [(path, e) for e in known.stale(entries, outcomes, suite.PROPERTIES)]
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
    return request.config._trigrad_backend
