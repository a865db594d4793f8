"""Known-differences files: parsed strictly, explain the failures they name (and only those), and
report entries that no longer fail, in pytest and in ``trigrad check``."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import settings

from trigrad.properties import known, suite
from trigrad.properties.backends import resolve
from trigrad.properties.cli import main

# A backend with one planted bug (sin' = -cos) that reads its known differences from $KNOWN_FILE.
ADAPTER = textwrap.dedent("""
    import os

    from trigrad.autograd import functions
    from trigrad.properties.backends.builtin import Builtin


    class WrongSin(functions.Sin):
        def backward(self, gy):
            x, = self.inputs
            return -gy * functions.cos(x)


    class Planted(Builtin):
        name = "planted"
        known_differences = os.environ["KNOWN_FILE"]

        def op(self, name):
            return (lambda x: WrongSin()(x)) if name == "sin" else super().op(name)
""")


CI = settings.get_profile("ci")  # derandomized: these cells must come out the same every run

# sin's value is right, so an entry for it is stale; its VJP is wrong, so that entry explains a failure
STALE = "vjp[sin]  # planted\nvalue[sin]  # forward is right: stale\n"


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """(known-differences file, backend name) for the planted backend."""
    (tmp_path / "planted_adapter.py").write_text(ADAPTER)
    path = tmp_path / "planted.txt"
    monkeypatch.setenv("KNOWN_FILE", str(path))
    return path, f"{tmp_path / 'planted_adapter.py'}:Planted"


def test_entries_are_parsed_with_their_lines(tmp_path):
    path = tmp_path / "lib.txt"
    path.write_text("# a comment\n\nhvp[pow]   # x**y at y == 0 (https://example.org/1)\nmax  # ties\n")
    backend = type("B", (), {"name": "lib", "known_differences": str(path)})()
    entries = known.load(backend)
    assert [(str(e), e.reason, e.line) for e in entries] == [
        ("hvp[pow]", "x**y at y == 0 (https://example.org/1)", 3), ("max", "ties", 4)]


def test_an_entry_can_hold_at_one_precision_only(tmp_path):
    """softplus's linear branch above 20 is off by 1e-11: a difference in float64, invisible in float32."""
    path = tmp_path / "lib.txt"
    path.write_text("softplus @float64  # linear above 20\nhvp[pow]  # both precisions\n")
    at = {d: type("B", (), {"name": "lib", "known_differences": str(path), "dtype": np.dtype(d)})()
          for d in ("float64", "float32")}
    assert [str(e) for e in known.load(at["float64"])] == ["softplus@float64", "hvp[pow]"]
    assert [str(e) for e in known.load(at["float32"])] == ["hvp[pow]"]
    path.write_text("softplus @float65  # typo\n")
    with pytest.raises(ValueError, match="unknown precision @float65"):
        known.load(at["float64"])


@pytest.mark.parametrize("line, message", [
    ("hvp[pow]", "every known difference needs a reason"),
    ("hvp[powr]  # typo", "unknown op 'powr'"),
    ("hvp pow  # two words", "expected 'property\\[op\\]"),
])
def test_bad_entries_name_the_file_and_line(tmp_path, line, message):
    path = tmp_path / "lib.txt"
    path.write_text(f"# header\n{line}\n")
    backend = type("B", (), {"name": "lib", "known_differences": str(path)})()
    with pytest.raises(ValueError, match=f"lib.txt:2: {message}"):
        known.load(backend)


def test_a_backend_without_a_file_has_no_entries():
    assert known.load(type("B", (), {"name": "no-such-backend"})()) == []


def test_an_entry_explains_failures_whose_minimal_example_uses_its_op(planted):
    path, name = planted
    path.write_text("vjp[sin]  # planted\n")
    backend = resolve(name)
    cell = suite.run_cell(backend, "vjp", "sin", max_examples=100, profile=CI)
    assert cell.status == "fail" and "sin" in cell.report.example.comp.formula()
    entries = known.load(backend)
    assert str(known.covering(entries, "vjp", cell.report)) == "vjp[sin]"
    assert known.covering(entries, "hvp", cell.report) is None  # another property is not covered
    assert known.own_cell(entries, "vjp", "sin") is not None and known.own_cell(entries, "vjp", "cos") is None


def test_other_cells_leave_a_known_op_out_so_it_does_not_mask_them(planted):
    path, name = planted
    path.write_text("")
    backend = resolve(name)
    # Without the entry the wrong sin shows up in other rows too (compositions mix every op) ...
    before = [suite.run_cell(backend, "vjp", row, max_examples=300, profile=CI).status for row in ("cos", suite.ALL_OPS)]
    assert before == ["fail", "fail"]
    # ... with it those rows judge the other ops, and only sin's own cell fails.
    path.write_text("vjp[sin]  # planted\n")
    after = [suite.run_cell(backend, "vjp", row, max_examples=100, profile=CI).status for row in ("cos", suite.ALL_OPS, "sin")]
    assert after == ["pass", "pass", "fail"]
    assert known.masked_ops(known.load(backend), "vjp", "cos") == {"sin"}
    assert known.masked_ops(known.load(backend), "vjp", "sin") == set()
    assert known.masked_ops(known.load(backend), "hvp", "cos") == set()


def test_check_marks_known_cells_and_reports_stale_entries(planted, capsys):
    path, name = planted
    path.write_text(STALE)
    args = ["check", "--backend", name, "--ops", "sin", "--properties", "value,vjp", "--profile", "ci", "--quiet"]
    code = main(args)
    out = capsys.readouterr().out
    assert code == 1, out  # a stale entry fails the run, as it does in pytest
    assert out.splitlines()[2].split() == ["sin", "pass", "known"], out
    assert "known difference vjp[sin]: planted" in out
    assert "stale known difference: value[sin] (line 2 of" in out

    path.write_text("vjp[sin]  # planted\n")
    assert main(args) == 0


def test_pytest_turns_known_failures_into_xfails_and_stale_entries_into_failures(planted, tmp_path):
    path, name = planted
    path.write_text(STALE)
    env = dict(os.environ, KNOWN_FILE=str(path))
    env.pop("TRIGRAD_BACKEND", None)
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "trigrad.properties",
                        "-rxXf", "-k", "(test_value or test_vjp) and sin and not (numeric or sinh or arcsin)", f"--autograd-backend={name}",
                        "--hypothesis-profile=ci"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "1 failed" in out and "1 xfailed" in out, out
    assert "known difference vjp[sin]: planted" in out
    assert "stale known difference: value[sin] (line 2 of" in out
