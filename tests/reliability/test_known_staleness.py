"""A known difference is judged stale on evidence: its kept counterexample is replayed, and still
failing means not stale (an entry for a bug that shows only at rare inputs, like tinygrad's sin for
abs(x) >= 30, was declared stale, failing the run, when no drawn input reached the bad range), by
``trigrad check`` and by the pytest plugin (two pytest sessions in subprocesses, 2 to 4 s each on an
idle machine)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from trigrad.oracle.ir import Composition, Input, Node
from trigrad.properties import evidence, known, suite
from trigrad.properties.backends import BackendError, resolve
from trigrad.properties.cli import main
from trigrad.properties.example import Example

from cli_targets import SinWrongAbove30
from trigrad_cli import HERE, TARGETS


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


def test_the_pytest_plugin_replays_the_kept_counterexample_before_it_calls_an_entry_stale(tmp_path):
    path = tmp_path / "rare.txt"
    path.write_text("vjp[sin]  # wrong sign for abs(x) >= 30, which the draws do not reach\n")
    env = dict(os.environ, TRIGRAD_TEST_KNOWN=str(path))
    env.pop("TRIGRAD_BACKEND", None)
    rare = SinWrongAbove30()
    (entry,) = known.load_path(str(path))
    example = Example(Composition([Input("x0")], [Node("sin", ("x0",))]), {"x0": np.array(40.0)})
    known.write_examples(str(tmp_path / "rare.examples.json"), {
        str(entry): [known.example_json(suite.replay(rare, "vjp", example, {"cotangent": np.array(1.0)}))]})

    def suites(adapter):  # the sin / vjp cell under the quick profile (quick_profile.py): a few examples
        r = subprocess.run([sys.executable, "-m", "pytest", "-p", "quick_profile", "-p", "no:cacheprovider",
                            "--hypothesis-profile=quick", "--pyargs", "trigrad.properties", "-rxsf",
                            f"--autograd-backend={TARGETS}:{adapter}", "-k", "test_vjp and sin and not sinh and "
                            "not arcsin and not numeric"], cwd=HERE, env=env, capture_output=True, text=True,
                           timeout=120)
        return r.returncode, r.stdout + r.stderr

    status, out = suites("SinWrongAbove30")
    assert status == 0 and "1 xfailed" in out and "still fails: not stale" in out, out
    status, out = suites("SinFixed")  # the bug fixed: the kept counterexample passes, and the entry is stale
    assert status == 1 and "stale known difference: vjp[sin]" in out, out


# paddle before tensorflow: paddle cannot be imported after tensorflow in one process
@pytest.mark.parametrize("name", ["torch", "jax", "dezero", "hips", "mygrad", "tinygrad", "chainer", "paddle",
                                  "tensorflow", "mlx"])
def test_the_shipped_counterexamples_name_real_entries_and_still_fail(name):
    """The evidence that ships for the built-in backends (properties/known/<name>.examples.json,
    written by ``python -m trigrad.properties.evidence``) is evidence: each kept counterexample belongs
    to an entry of the backend's file and still fails (one replay each; skipped without the library)."""
    try:
        b = resolve(name)
    except BackendError as e:
        pytest.skip(str(e))
    kept = known.read_examples(known.examples_path(b))
    entries = {str(e): e for e in known.load_path(known.path_for(b))}
    assert kept and set(kept) <= set(entries), sorted(set(kept) - set(entries))
    for key in kept:
        if entries[key].dtype in (None, known.dtype_name(b)):
            assert evidence.still_fails(b, entries[key]), key
