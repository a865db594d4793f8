"""What properties/_hypothesis_compat.py relies on in Hypothesis is there and has its effect.

A Hypothesis release that renames or stops reading one of these private parts fails here, naming
it, instead of making trigrad draw different examples or lose saved failures without a word.
"""

import importlib
import pathlib
import re
import sys
from importlib.metadata import version

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from trigrad.properties import _hypothesis_compat as compat

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Hypothesis's private names: its internal package, the _hypothesis_internal_* attributes, private settings
PRIVATE = re.compile(r"hypothesis\.internal|_hypothesis_internal_\w+|\b_current_profile\b|_get_local_constants|CONSTANTS_CACHE")
DRAWS = 20  # examples per run when comparing what two runs drew
MARKER = 8675309.25  # a float constant no other module of the process holds


class Recording(ExampleDatabase):
    """An example database that keeps what it is asked (the keys it saves under and fetches)."""

    def __init__(self):
        super().__init__()
        self.data, self.fetched = {}, []

    def save(self, key, value):
        self.data.setdefault(key, set()).add(value)

    def fetch(self, key):
        self.fetched.append(key)
        yield from list(self.data.get(key, ()))

    def delete(self, key, value):
        self.data.get(key, set()).discard(value)

    def move(self, src, dest, value):
        self.delete(src, value)
        self.save(dest, value)


def _generated_test(database=None, derandomize=True, fail=False):
    """A @given test as trigrad makes them, in a loop (every one has the same source); what it drew;
    its settings."""
    drawn = []
    chosen = settings(database=database, derandomize=derandomize, max_examples=DRAWS,
                      phases=[Phase.reuse, Phase.generate], suppress_health_check=list(HealthCheck))

    @chosen
    @given(st.integers(-10**9, 10**9))
    def test(x):
        drawn.append(x)
        assert not fail

    return test, drawn, chosen


def test_the_installed_hypothesis_is_in_the_supported_range():
    pyproject = (ROOT / "pyproject.toml").read_text()
    requirement = Requirement(re.search(r'^\s*"(hypothesis[^"\[]*)",', pyproject, re.MULTILINE).group(1))
    assert requirement.specifier.contains(version("hypothesis")), (version("hypothesis"), str(requirement))
    stated = re.search(r"``hypothesis([^`]+)``", compat.__doc__).group(1)
    assert SpecifierSet(stated) == requirement.specifier, "the compat module states the range pyproject.toml declares"


def test_a_digest_gives_a_generated_test_its_own_derandomized_draws():
    same_a, drawn_a, _ = _generated_test()
    again_a, drawn_again, _ = _generated_test()
    other, drawn_other, _ = _generated_test()
    plain, drawn_plain, _ = _generated_test()
    plain_twin, drawn_plain_twin, _ = _generated_test()
    compat.set_test_digest(same_a, b"cell a")
    compat.set_test_digest(again_a, b"cell a")
    compat.set_test_digest(other, b"cell b")
    for test in (same_a, again_a, other, plain, plain_twin):
        test()
    assert drawn_plain == drawn_plain_twin  # why it is needed: tests made by one function draw alike
    assert drawn_a == drawn_again, "one digest, one derandomized seed"
    assert drawn_a != drawn_other, ("Hypothesis no longer mixes _hypothesis_internal_add_digest into the "
                                    "derandomized seed: every cell of trigrad check would draw the same examples")


def test_a_digest_gives_a_generated_test_its_own_database_key():
    keys = []
    for digest in (b"cell a", b"cell b"):
        db = Recording()
        test, _, _ = _generated_test(database=db, derandomize=False, fail=True)
        compat.set_test_digest(test, digest)
        with pytest.raises(AssertionError):
            test()
        assert db.data, "a failure is saved"
        keys.append(set(db.data) | set(db.fetched))
    assert not keys[0] & keys[1], ("Hypothesis no longer mixes _hypothesis_internal_add_digest into the example "
                                   "database key: trigrad's cells would replay each other's failures")


def test_seeded_keeps_the_database_and_seeds_generation():
    plain_db, kept_db = Recording(), Recording()
    plain, _, _ = _generated_test(database=plain_db, derandomize=False, fail=True)
    with pytest.raises(AssertionError):
        seed(1)(plain)()
    assert not plain_db.data and not plain_db.fetched  # why it is needed: @seed turns the database off
    kept, _, chosen = _generated_test(database=kept_db, derandomize=False, fail=True)
    kept = compat.seeded(kept, 1, chosen)
    with pytest.raises(AssertionError):
        kept()
    assert kept_db.data, ("Hypothesis no longer reads _hypothesis_internal_use_settings set after @seed: "
                          "trigrad fuzz --seed would lose the failures it saved")
    runs = {}
    for s in (1, 1, 2):
        test, drawn, chosen = _generated_test(derandomize=False)
        compat.seeded(test, s, chosen)()
        runs.setdefault(s, []).append(drawn)
    assert runs[1][0] == runs[1][1] and runs[1][0] != runs[2][0], "the seed decides what is drawn"


def test_local_constants_can_be_switched_off(tmp_path, monkeypatch):
    from hypothesis.internal.conjecture import providers

    (tmp_path / "trigrad_compat_marker.py").write_text(f"MARKER = {MARKER!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("trigrad_compat_marker")
    try:
        # what the provider that draws reads: its pool of local constants
        assert MARKER in providers.HypothesisProvider(None)._local_constants, (
            "Hypothesis no longer collects local constants through providers._get_local_constants")
        with compat.no_local_constants():
            pool = providers.HypothesisProvider(None)._local_constants
            assert len(pool) == 0, "no_local_constants did not empty the pool"
            assert len(providers.CONSTANTS_CACHE.cache) == 0
        assert MARKER in providers.HypothesisProvider(None)._local_constants, "the pool is back after the block"
    finally:
        del sys.modules["trigrad_compat_marker"]


def test_no_other_module_uses_hypothesis_internals():
    """Every private part of Hypothesis trigrad relies on is in properties/_hypothesis_compat.py."""
    here = pathlib.Path(__file__).resolve()
    found = []
    for folder in ("properties", "bench", "tests", "docs"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "_hypothesis_compat.py" or path.resolve() == here:
                continue
            found += [f"{path.relative_to(ROOT)}: {m.group()}" for m in PRIVATE.finditer(path.read_text())]
    assert not found, "\n".join(found)
