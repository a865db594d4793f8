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


@pytest.fixture(scope="session")
def backend(request):
    """The backend selected with --autograd-backend (or $TRIGRAD_BACKEND; default builtin)."""
    return request.config._trigrad_backend
