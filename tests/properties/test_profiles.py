"""The default Hypothesis profile: ``ci`` in CI, ``dev`` elsewhere, and ``CI=false`` is not CI."""

import pytest
from hypothesis import settings

from trigrad.properties import profiles


@pytest.fixture
def restore_profile():
    name = settings.get_current_profile_name()
    yield
    settings.load_profile(name)


@pytest.mark.parametrize("value, profile", [
    ("true", "ci"), ("1", "ci"), ("yes", "ci"), ("TRUE", "ci"), ("anything", "ci"),
    ("false", "dev"), ("False", "dev"), ("0", "dev"), ("no", "dev"), ("off", "dev"), ("", "dev"), (None, "dev"),
])
def test_the_default_profile_follows_the_ci_variable(value, profile, monkeypatch, restore_profile):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    profiles.load_default()
    assert settings.get_current_profile_name() == profile
