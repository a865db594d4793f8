"""The property suites: one Hypothesis test per property, parametrized by op (and a mixed row).

Run against the selected backend (``--autograd-backend``); cells the backend cannot run (an op it
lacks, forward mode it does not have, kinks of an op without one) are skipped with the reason.
``trigrad check`` runs the same cells outside pytest and prints them as a conformance table.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from properties import suite


def _property_test(prop):
    @pytest.mark.parametrize("op", suite.rows(None))
    @given(data=st.data())
    def test(backend, op, data):
        why = suite.status(backend, prop, op)
        if why:
            pytest.skip(why)
        suite.run_case(data, backend, prop, op)

    test.__name__ = test.__qualname__ = f"test_{prop}"
    test.__doc__ = suite.PROPERTIES[prop].doc
    return test


# test_value, test_vjp, test_vjp_numeric, ...: one test function per property in the catalogue.
for _prop in suite.PROPERTIES:
    globals()[f"test_{_prop}"] = _property_test(_prop)
