"""Draws that do not depend on which modules happen to be imported.

Hypothesis (since 6.131) mixes numbers found in the source of every imported non-library module into
about 5% of its draws ("local constants"). The pool grows as modules are imported, so a derandomized
run draws different examples depending on what else the process has loaded: in pytest, on which test
files a worker collected; under xdist, on how the tests were scheduled. That would make the ``ci``
profile (derandomized, so that every run judges the same examples and known differences are judged
the same way each time) depend on the environment. trigrad's cells and samples draw with an empty
pool instead; other Hypothesis tests in the process are untouched.

This uses a private part of Hypothesis (``internal.conjecture.providers``); when it is not there (a
version before local constants, or a later refactoring), generation is left as it is, and
``tests/properties/test_strategies.py`` shows whether draws still depend on imports.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def import_independent_draws():
    """Within the block, Hypothesis draws no constants from the source of imported modules."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants

        real = providers._get_local_constants
        cache = providers.CONSTANTS_CACHE.cache
    except (ImportError, AttributeError):  # pragma: no cover - another Hypothesis
        yield
        return
    empty = Constants()
    providers._get_local_constants = lambda: empty
    cache.clear()  # entries computed with the real pool
    try:
        yield
    finally:
        providers._get_local_constants = real
        cache.clear()  # entries computed with the empty pool


__all__ = ["import_independent_draws"]
