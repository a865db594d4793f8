"""The property suites: one test per property, parametrized by op (and a mixed row); each runs the
cell's edge case and then its Hypothesis test (``properties.suite``).

Run against the selected backend (``--autograd-backend``); cells the backend cannot run (an op it
lacks, forward mode it does not have, kinks of an op without one) are skipped with the reason.
``trigrad check`` runs the same cells outside pytest and prints them as a conformance table.

The cells of a row that run fused (``suite.fusable``) are run together, as ``trigrad check`` runs
them (``suite.run_row``), by the first of them that a process reaches; the others read their
outcome from that run.
"""

import pytest
from hypothesis import settings

from trigrad.properties import suite
from trigrad.properties.report import Failure

# (backend, row, profile) -> the row's fused cells, run once per process
_ROWS: dict = {}


def _fused_cell(backend, prop, op):
    key = (id(backend), op, settings.get_current_profile_name(), settings.default.max_examples)
    if key not in _ROWS:
        fused = [p for p in suite.PROPERTIES if suite.fusable(p)]
        _ROWS[key] = (backend, suite.run_row(backend, op, fused))  # the backend kept: its id stays its own
    return _ROWS[key][1][prop]


def _property_test(prop):
    @pytest.mark.parametrize("op", suite.rows(None))
    def test(backend, op):
        why = suite.status(backend, prop, op)
        if why:
            pytest.skip(why)
        if suite.fusable(prop):
            cell = _fused_cell(backend, prop, op)
            if cell.status == "fail":
                raise Failure(cell.report)
            if cell.status != "pass":
                pytest.fail(f"{prop} / {op}: {cell.status}: {cell.error}", pytrace=False)
            return
        suite.run_edge_case(backend, prop, op)  # the op's edge points, deterministically
        drawn, _ = suite.cell_test(backend, prop, op)  # then Hypothesis's examples, as trigrad check draws them
        drawn()

    test.__name__ = test.__qualname__ = f"test_{prop}"
    test.__doc__ = suite.PROPERTIES[prop].doc
    test.trigrad_property = prop  # the plugin applies the backend's known differences to these tests
    return test


# test_value, test_vjp, test_vjp_numeric, ...: one test function per property in the catalogue.
for _prop in suite.PROPERTIES:
    globals()[f"test_{_prop}"] = _property_test(_prop)
