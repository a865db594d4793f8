"""Draws that do not depend on which modules happen to be imported.

Hypothesis (since 6.131) mixes numbers found in the source of every imported non-library module into
about 5% of its draws ("local constants"). The pool grows as modules are imported, so a derandomized
run draws different examples depending on what else the process has loaded: in pytest, on which test
files a worker collected; under xdist, on how the tests were scheduled. That would make the ``ci``
profile (derandomized, so that every run judges the same examples and known differences are judged
the same way each time) depend on the environment. trigrad's cells and samples draw with an empty
pool instead; other Hypothesis tests in the process are untouched.

This needs a private part of Hypothesis, kept with the others in ``properties._hypothesis_compat``;
``tests/properties/test_hypothesis_compat.py`` fails when a release changes it, and
``tests/properties/test_strategies.py`` shows that draws do not depend on imports.
"""

from __future__ import annotations

import contextlib

from ._hypothesis_compat import no_local_constants


@contextlib.contextmanager
def import_independent_draws():
    """Within the block, Hypothesis draws no constants from the source of imported modules."""
    with no_local_constants():
        yield


__all__ = ["import_independent_draws"]
