"""``trigrad check``: the conformance table, counterexamples, JSON and exit statuses."""

import json
import pathlib
import subprocess
import sys

import pytest

from trigrad.properties.cli import main

FEW = ["--ops", "sin,abs,all ops", "--properties", "value,vjp,kink", "--profile", "ci", "--quiet", "-j", "1"]


def test_a_passing_run_prints_the_table_and_exits_0(capsys, tmp_path):
    out_file = tmp_path / "check.json"
    assert main(["check", *FEW, "--json", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "trigrad check: builtin" in out and "profile ci" in out
    header, *rows = out.split("\n")[1:5]
    assert header.split() == ["value", "vjp", "kink"]
    assert rows[0].split() == ["sin", "pass", "pass", "n/a"]
    assert rows[1].split() == ["abs", "pass", "pass", "pass"]
    assert rows[2].split() == ["all", "ops", "pass", "pass", "n/a"]
    data = json.loads(out_file.read_text())
    assert data["backend"].startswith("builtin") and data["profile"] == "ci"
    cells = {(c["property"], c["op"]): c for c in data["cells"]}
    assert cells[("vjp", "sin")]["status"] == "pass" and cells[("vjp", "sin")]["examples"] > 0
    assert cells[("kink", "sin")]["status"].startswith("n/a")


def test_a_failure_prints_the_counterexample_and_exits_1(capsys, tmp_path, sin_sign_bug):
    out_file = tmp_path / "check.json"
    assert main(["check", "--ops", "sin", "--properties", "value,vjp", "--profile", "ci", "--quiet",
                 "--json", str(out_file)]) == 1
    out = capsys.readouterr().out
    assert out.split("\n")[2].split() == ["sin", "pass", "FAIL"]
    assert "--- vjp / sin ---" in out and "trigrad: vjp failed on builtin" in out and "reproduce" in out
    cell = next(c for c in json.loads(out_file.read_text())["cells"] if c["status"] == "fail")
    assert cell["report"]["formula"].startswith("sin(") and cell["report"]["verdict"] == "fail"


@pytest.mark.parametrize("args,message", [
    (["--backend", "tourch"], "unknown backend 'tourch'; expected builtin, torch, jax, dezero, hips, mygrad, tinygrad, chainer, tensorflow, paddle or mlx"),
    (["--ops", "sine"], "unknown op 'sine'"),
    (["--properties", "vjp,speed"], "unknown property 'speed'"),
    (["--seconds", "0"], "--seconds must be positive"),
    (["--jobs", "0"], "--jobs must be positive"),
    (["--profile", "fast"], "fast"),
])
def test_bad_usage_is_one_line_and_exits_2(capsys, args, message):
    assert main(["check", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_unknown_flags_exit_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["check", "--bogus"])
    assert e.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_time_budget_reports_cells_not_reached(capsys):
    # dev: a timed look, exit 0; under ci (or with --require-all) unreached cells fail the run
    # (tests/reliability/test_time_budget.py)
    assert main(["check", "--seconds", "2", "--profile", "dev", "--quiet", "-j", "1"]) == 0
    out = capsys.readouterr().out
    counts = out.split("\n\n")[-1] if "---" not in out else out
    assert "not reached" in out and " 0 not reached" not in counts, out[-400:]


# An adapter whose gradients are twice the right ones, in a file: worker processes import it by name
# (a bug planted in this process would not reach them).
DOUBLED = """
from trigrad.properties.backends.builtin import Builtin


class Doubled(Builtin):
    name = "doubled"

    def vjp(self, fn, xs, cotangent):
        value, grads = super().vjp(fn, xs, cotangent)
        return value, [2 * g for g in grads]
"""


def test_results_do_not_depend_on_the_number_of_jobs(tmp_path):
    """Under ci, rows run in two worker processes give the JSON of rows run in this one (but the
    seconds), failures and their reports included."""
    (tmp_path / "doubled.py").write_text(DOUBLED)
    runs = []
    for jobs in ("1", "2"):
        out_file = tmp_path / f"check-{jobs}.json"
        assert main(["check", "--backend", f"{tmp_path / 'doubled.py'}:Doubled", "--ops", "sin,exp", "--properties",
                     "value,vjp", "--profile", "ci", "--quiet", "-j", jobs, "--json", str(out_file)]) == 1
        cells = json.loads(out_file.read_text())["cells"]
        runs.append([{k: v for k, v in c.items() if k != "seconds"} for c in cells])
    assert runs[0] == runs[1]
    assert [(c["property"], c["op"], c["status"]) for c in runs[0]] == [
        ("value", "sin", "pass"), ("vjp", "sin", "fail"), ("value", "exp", "pass"), ("vjp", "exp", "fail")]


def test_the_console_script_and_python_dash_m(tmp_path):
    script = pathlib.Path(sys.executable).parent / "trigrad"  # installed beside this Python by pip
    for cmd in ([str(script)], [sys.executable, "-m", "trigrad.properties"]):
        r = subprocess.run(cmd + ["check", "--ops", "sin", "--properties", "value", "--quiet"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "sin" in r.stdout and "pass" in r.stdout


def test_progress_keeps_coming_when_a_timed_run_revisits_cells(monkeypatch, capsys):
    """In a log (not a terminal) a line comes every PROGRESS_LINES cells run; a timed run runs every
    cell once per round, so lines must keep coming after each cell has been seen once. (Driven
    directly, not by a timed run, so that it does not depend on the machine's speed.)"""
    from trigrad.properties import suite
    from trigrad.properties.cli import check

    monkeypatch.setattr(check, "PROGRESS_LINES", 2)
    progress = check.CellProgress(3, quiet=False)
    progress.printer.tty = False
    cells = [suite.Cell("value", op, status="pass", examples=5) for op in ("sin", "cos", "exp")]
    for _ in range(3):  # three rounds over three cells: nine cells run
        for cell in cells:
            progress.update(cell)
    lines = [x for x in capsys.readouterr().err.splitlines() if " cells, " in x]
    assert len(lines) == 4, lines  # after the 2nd, 4th, 6th and 8th
