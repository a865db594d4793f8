"""The repository's own pytest run.

Options, Hypothesis profiles and the ``backend`` fixture come from trigrad's pytest plugin
(``properties/plugin.py``), which pip registers when the project is installed, so that an installed
copy behaves the same (``pytest --pyargs trigrad.properties``). The default backend is the built-in core;
``--autograd-backend`` or TRIGRAD_BACKEND picks another.
"""

import re

import pytest


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("trigrad"):
        raise pytest.UsageError("trigrad's pytest plugin is not loaded: install the project first "
                                "(python -m pip install -e .)")


# A property test of one row of the suites: path::test_<property>[<backend->op>]
_CELL = re.compile(r"^(?P<path>[^:]+)::test_(?P<prop>\w+)\[(?P<row>.+)\]$")
# Tests that share one expensive fixture of their process (a real Dask cluster): one worker runs them all
_ONE_PROCESS = "tests/cluster/"


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: without xdist there is nothing to schedule
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (``-n auto``), keep the fused cells of one row on one worker. A row's fused
    cells are judged in one run (``suite.run_row``) by the first of them a process reaches; xdist's
    plain load balancing deals consecutive tests to alternate workers, so every row would be run
    once on each. This is load balancing by scope, a scope being a row's fused cells or else one test."""
    from xdist.scheduler import LoadScopeScheduling

    from trigrad.properties import suite

    fused = {p for p in suite.PROPERTIES if suite.fusable(p)}

    class RowScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(_ONE_PROCESS):
                return _ONE_PROCESS
            m = _CELL.match(nodeid)
            return f"{m['path']}[{m['row']}]" if m and m["prop"] in fused else nodeid

    return RowScheduling(config, log)
