"""The README's example adapter (docs/examples/micrograd_adapter.py) runs, and trigrad judges it."""

import pathlib

import pytest

from trigrad.properties import suite
from trigrad.properties.backends import BackendError, resolve
from trigrad.properties.cli import main

EXAMPLE = pathlib.Path(__file__).parents[2] / "docs" / "examples" / "micrograd_adapter.py"
NAME = f"{EXAMPLE}:Micrograd"


def test_the_example_adapter_conforms(capsys):
    assert main(["check", "--backend", NAME, "--ops", "sin,matmul,div,all ops", "--properties", "vjp,fanout,jvp",
                 "--profile", "ci", "--quiet"]) == 0
    rows = capsys.readouterr().out.split("\n")[2:6]
    assert rows[0].split() == ["sin", "pass", "pass", "unsup"]  # no forward mode: jvp unsupported
    assert rows[2].split() == ["div", "unsup", "unsup", "unsup"]  # an op it does not declare
    assert rows[3].split() == ["all", "ops", "pass", "pass", "unsup"]


def test_a_bug_in_the_example_is_found(monkeypatch):
    backend = resolve(NAME)
    module = __import__("sys").modules[type(backend).__module__]
    real = module.Value.unary
    # cos' written as +sin: a wrong rule in the user's library
    monkeypatch.setattr(module.Value, "unary", lambda self, f, df: real(
        self, f, (lambda a: __import__("math").sin(a)) if f is __import__("math").cos else df))
    cell = suite.run_cell(backend, "vjp", "cos", max_examples=30)
    assert cell.status == "fail" and cell.report.example.comp.formula().startswith("cos(")


def test_bad_adapter_names():
    with pytest.raises(BackendError, match="no file"):
        resolve("does/not/exist.py:Thing")
    with pytest.raises(BackendError, match="has no attribute 'Nope'"):
        resolve(f"{EXAMPLE}:Nope")
    with pytest.raises(BackendError, match="not a properties.backends.Backend"):
        resolve(f"{EXAMPLE}:Value")
