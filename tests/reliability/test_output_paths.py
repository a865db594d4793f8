"""Output paths (--json, --html, --plot) are checked before the run: a folder, a missing folder or a
file that cannot be written is bad usage (exit status 2, one line) at once, not a traceback after the
whole run has been spent."""

from trigrad.properties.cli import main

from trigrad_cli import CATALOGUE, one_line_usage_error, trigrad

# Each command with a budget that would take minutes if the run started: exit 2 must come first.
COMMANDS = {
    "check": ["check", "--ops", "sin"],
    "fuzz": ["fuzz", f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--max-examples", "100000", "--database", "none"],
    "accuracy": ["accuracy", "--op", "sin", "--points", "100000"],
}


def test_output_paths_are_checked_before_the_run(tmp_path, capsys):
    # the real command, as the probe ran it
    one_line_usage_error(trigrad("check", "--ops", "sin", "--json", "/nonexistent/dir/a.json", timeout=60),
                         "cannot write --json /nonexistent/dir/a.json: No such file or directory")

    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    bad = [(["--json", tmp_path / "folder"], "--json needs a file name, not the folder"),
           (["--json", tmp_path / "missing" / "a.json"], "No such file or directory"),
           (["--json", "/proc/version"], "cannot write --json /proc/version")]
    for argv, says in [(COMMANDS[c] + a, s) for c in COMMANDS for a, s in bad] + [
            (COMMANDS["accuracy"] + ["--plot", tmp_path / "file" / "plots"], "is not a folder"),
            (COMMANDS["accuracy"] + ["--plot", tmp_path / "file"], "--plot"),
            (["report", "--from", tmp_path / "file", "--html", tmp_path / "folder"], "--html needs a file name"),
            (["report", "--from", tmp_path / "file", "--html", tmp_path / "no" / "r.html"], "No such file")]:
        assert main([str(a) for a in argv]) == 2, argv
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]  # the checks leave nothing behind

    out = tmp_path / "out.json"  # a good path is written
    assert main(["fuzz", f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--max-examples", "3", "--database", "none",
                 "--quiet", "--json", str(out)]) == 0
    assert out.read_text().startswith("{")
