"""A known difference is judged stale on evidence: its kept counterexample is replayed, and still
failing means not stale (an entry for a bug that shows only at rare inputs, like tinygrad's sin for
abs(x) >= 30, was declared stale, failing the run, when no drawn input reached the bad range)."""

import json

import numpy as np

from trigrad.oracle.ir import Composition, Input, Node
from trigrad.properties import known, suite
from trigrad.properties.cli import main
from trigrad.properties.example import Example

from cli_targets import SinWrongAbove30
from trigrad_cli import TARGETS


def test_an_entry_whose_kept_counterexample_still_fails_is_not_stale(tmp_path, monkeypatch, capsys):
    path = tmp_path / "rare.txt"
    path.write_text("vjp[sin]  # wrong sign for abs(x) >= 30, which the draws do not reach\n")
    monkeypatch.setenv("TRIGRAD_TEST_KNOWN", str(path))
    rare = SinWrongAbove30()
    entry, = known.load(rare)
    # the evidence, as a run that saw the failure keeps it
    example = Example(Composition([Input("x0")], [Node("sin", ("x0",))]), {"x0": np.array(40.0)})
    report = suite.replay(rare, "vjp", example, {"cotangent": np.array(1.0)})
    assert report is not None and known.keep_example(rare, entry, report)
    assert not known.keep_example(rare, entry, report)  # the first one is kept
    assert json.loads((tmp_path / "rare.examples.json").read_text())["vjp[sin]"][0]["inputs"] == {"x0": 40.0}

    check = ["check", "--ops", "sin", "--properties", "vjp", "--profile", "ci", "--quiet"]
    assert main(check + ["--backend", f"{TARGETS}:SinWrongAbove30"]) == 0
    out = capsys.readouterr().out
    assert "sin  pass" in out and "its kept counterexample" in out and "still fails: not stale" in out
    assert "stale known difference" not in out

    # the bug fixed: the kept counterexample passes, and the entry is stale
    assert main(check + ["--backend", f"{TARGETS}:SinFixed"]) == 1
    assert "stale known difference: vjp[sin]" in capsys.readouterr().out
