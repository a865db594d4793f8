"""Shared fixtures for the tests of properties/: planting a bug into the built-in core."""

import pytest

from trigrad.properties.planted import mutated


def plant(monkeypatch, owner, name, old, new):
    """Replace ``old`` by ``new`` in the source of ``owner.name`` and install the result for the test
    (a one-line mutation of the core, like a mutation-testing tool's; properties/planted.py)."""
    monkeypatch.setattr(owner, name, mutated(owner, name, [(old, new)]))


@pytest.fixture
def planted(monkeypatch):
    """``planted(owner, name, old, new)`` plants a bug for the duration of the test."""
    return lambda owner, name, old, new: plant(monkeypatch, owner, name, old, new)


@pytest.fixture
def sin_sign_bug(planted):
    """sin's backward with the wrong sign."""
    from trigrad.autograd import functions

    planted(functions.Sin, "backward", "return gy * cos(x)", "return -gy * cos(x)")
