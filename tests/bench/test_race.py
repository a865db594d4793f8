"""Smoke tests of the race (bench/race.py, run by ``python -m bench throughput``): it runs on a few
compositions with whatever tools are installed, and says "not installed" for the others. Rates are
printed by the benchmark, never asserted here."""

import pytest

from bench import race
from trigrad.properties.backends import BackendError


def test_without_torch_or_jax_the_race_says_not_installed_and_still_runs_trigrad(monkeypatch):
    resolve = race.resolve

    def builtin_only(name):
        if name != "builtin":
            raise BackendError(f"backend {name!r} needs a library that is not installed")
        return resolve(name)

    monkeypatch.setattr(race, "resolve", builtin_only)
    results = race.run(2)
    text = race.report(results)
    builtin = results["tools"]["trigrad (builtin backend)"]
    assert sum(builtin["outcomes"].values()) == results["runnable"] > 0
    assert results["tools"][race.RIVAL] == {"checks": "numeric, rtol 1e-3", "missing": "torch not installed"}
    assert "jax not installed" in text and "torch not installed" in text
    assert results["goal"] == {"met": None, "ratio": None}
    assert "gradcheck + gradgradcheck: not measured (torch not installed)" in text
    assert "generation NOT included" in text


def test_every_installed_tool_checks_the_same_compositions():
    pytest.importorskip("torch")
    results = race.run(2)
    ran = {name: r for name, r in results["tools"].items() if "missing" not in r}
    assert {race.REFERENCE, race.RIVAL} <= set(ran)
    for r in ran.values():
        assert sum(r["outcomes"].values()) == results["runnable"]
    assert results["goal"]["ratio"] > 0
    assert "goal trigrad's full verification at least as fast as gradcheck + gradgradcheck: " in race.report(results)
