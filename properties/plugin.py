"""trigrad's pytest plugin (entry point ``pytest11: trigrad``).

Options live here rather than in a conftest so that an installed copy works anywhere:
``pytest --pyargs properties --autograd-backend=torch``.

- ``--autograd-backend=NAME`` (or the environment variable TRIGRAD_BACKEND): builtin, torch, jax,
  dezero, or ``package.module:object`` for your own adapter. Unknown names stop the run with a
  one-line message listing what is valid.
- Hypothesis profiles: ``dev`` (the default), ``ci`` (deterministic: derandomized, no example
  database, no deadline; chosen automatically when the CI environment variable is set) and
  ``thorough`` (a large budget, database on). Select one with ``--hypothesis-profile=NAME``. Outside
  CI the example database is on, so a failure found once is replayed first next time.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from . import known
from .backends import ENV_VAR, BackendError, resolve

from . import profiles  # noqa: F401  (registers dev, ci and thorough, and loads the default)


def pytest_addoption(parser):
    group = parser.getgroup("trigrad", "trigrad: gradient checking")
    group.addoption(
        "--autograd-backend", default=None, metavar="NAME",
        help=f"backend to judge: builtin, torch, jax, dezero or module:object (default: ${ENV_VAR} or builtin)",
    )


def pytest_configure(config):
    try:
        config._trigrad_backend = resolve(config.getoption("--autograd-backend"))
    except BackendError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_report_header(config):
    backend = getattr(config, "_trigrad_backend", None)
    if backend is not None:
        where = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        return f"trigrad: backend {backend.describe()}, hypothesis profile {settings._current_profile}, from {where}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Known differences (properties/known.py): a failure they explain becomes an xfail with the
    reason; a cell they say fails but that passed is an error (a stale entry)."""
    outcome = yield
    report = outcome.get_result()
    cell = getattr(item, "callspec", None)
    if call.when != "call" or cell is None or not item.nodeid.split("::")[0].endswith("test_properties.py"):
        return
    prop = item.originalname[len("test_"):]
    entries = _entries(item.config)
    if report.failed and call.excinfo is not None:
        failure = call.excinfo.value
        str(failure)  # the message minimizes the counterexample: attribute the smallest one
        entry = known.covering(entries, prop, getattr(failure, "report", None))
        if entry is not None:
            report.outcome = "skipped"
            report.wasxfail = f"known difference {entry}: {entry.reason}"
    elif report.passed:
        entry = known.own_cell(entries, prop, cell.params["op"])
        if entry is not None:
            report.outcome = "failed"
            report.longrepr = (f"stale known difference: {entry} (line {entry.line} of "
                               f"{known.path_for(item.config._trigrad_backend)}) no longer fails; remove it")


def _entries(config):
    if not hasattr(config, "_trigrad_known"):
        config._trigrad_known = known.load(config._trigrad_backend)
    return config._trigrad_known


@pytest.fixture(scope="session")
def backend(request):
    """The backend selected with --autograd-backend (or $TRIGRAD_BACKEND; default builtin)."""
    return request.config._trigrad_backend
