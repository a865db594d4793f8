"""The private parts of Hypothesis that trigrad relies on, all in this module.

Each is used for something Hypothesis's public API does not offer, and each says why and since which
Hypothesis release it is there. trigrad supports ``hypothesis>=6.139,<7`` (pyproject.toml): 6.139.0
added ``settings.get_current_profile_name()``, the newest public API trigrad calls, and every part
used here is older. ``tests/properties/test_hypothesis_compat.py`` checks each part and its effect,
so a Hypothesis release that changes one fails that test by name rather than silently drawing
different examples.

Everything else trigrad does with Hypothesis goes through its public API.
"""

from __future__ import annotations

import contextlib

import hypothesis

try:
    # Local constants (6.131.1): Hypothesis mixes numbers from the source of every imported local
    # module into about 5% of its draws. ``_get_local_constants`` (6.131.6) computes that pool;
    # ``CONSTANTS_CACHE`` (6.131.1) caches draws computed from it; ``Constants`` (6.131.1) is the
    # pool's type.
    from hypothesis.internal.conjecture import providers as _providers
    from hypothesis.internal.constants_ast import Constants as _Constants

    _LOCAL_CONSTANTS = callable(_providers._get_local_constants) and hasattr(_providers.CONSTANTS_CACHE, "cache")
except (ImportError, AttributeError):  # pragma: no cover - a release outside the supported range
    _LOCAL_CONSTANTS = False


def set_test_digest(test, key: bytes):
    """Give ``test`` (a ``@given`` test made in a loop) its own example database key and
    derandomized seed, from ``key``.

    Hypothesis derives both from a digest of the test function's source, which tests made by one
    function share, so every trigrad cell would replay the others' failures and, derandomized, draw
    the same examples. The digest mixes in the inner test's ``_hypothesis_internal_add_digest``
    (since 3.84.0; Hypothesis's own pytest plugin sets it to tell parametrized cases apart);
    ``test.hypothesis.inner_test`` is public (3.64.0).
    """
    test.hypothesis.inner_test._hypothesis_internal_add_digest = key


def seeded(test, seed: int, settings: hypothesis.settings):
    """``test`` with its random generation seeded by ``seed`` and the example database of ``settings``
    still on: failures saved by earlier runs come first, as in an unseeded run.

    ``hypothesis.seed`` (public) also turns the database off, since it is meant to reproduce one run
    (4.0.0); a fuzz campaign's seed only keeps the generation of parallel workers apart. ``seed``
    stores the settings a test runs with in ``_hypothesis_internal_use_settings`` (1.19.0), read
    when the test is called; this puts back the settings with their database.
    """
    test = hypothesis.seed(seed)(test)
    test._hypothesis_internal_use_settings = settings
    return test


@contextlib.contextmanager
def no_local_constants():
    """Within the block, Hypothesis draws no constants from the source of imported modules (see
    ``properties.determinism`` for why). Outside the supported range, where the internals may be
    gone, generation is left as it is."""
    if not _LOCAL_CONSTANTS:  # pragma: no cover - a release outside the supported range
        yield
        return
    real, empty = _providers._get_local_constants, _Constants()
    _providers._get_local_constants = lambda: empty
    _providers.CONSTANTS_CACHE.cache.clear()  # entries computed with the real pool
    try:
        yield
    finally:
        _providers._get_local_constants = real
        _providers.CONSTANTS_CACHE.cache.clear()  # entries computed with the empty pool


__all__ = ["set_test_digest", "seeded", "no_local_constants"]
