"""Minor items: the fuzz database key is normalized (a relative path to the module and a twin spelled
differently replay what was saved), and accuracy --range=-1e308:1e308 is bad usage instead of a run
that leaks numpy RuntimeWarnings."""

import os

from hypothesis.database import DirectoryBasedExampleDatabase

from trigrad.properties import fuzzing
from trigrad.properties.backends import resolve
from trigrad.properties.fuzzing.target import load_target

from trigrad_cli import CATALOGUE, one_line_usage_error, trigrad


def test_the_database_key_is_normalized_and_a_wide_range_is_bad_usage(tmp_path, monkeypatch):
    builtin = resolve("builtin")
    db = DirectoryBasedExampleDatabase(str(tmp_path / "db"))
    first = load_target(f"{CATALOGUE}:SinhOffBy1e7", builtin, sympy="sinh(x)")
    assert fuzzing.run(first, builtin, database=db, seed=11).report is not None
    folder, file = os.path.split(CATALOGUE)
    monkeypatch.chdir(folder)
    again = load_target(f"{os.curdir}/{file}:SinhOffBy1e7", builtin, sympy="sinh( x )")
    replayed = fuzzing.run(again, builtin, database=db, seed=12)  # another seed: only the database explains
    assert replayed.report is not None and replayed.found_after == 1

    proc = trigrad("accuracy", "--op", "sin", "--range=-1e308:1e308", "--points", "8")
    one_line_usage_error(proc, "--range '-1e308:1e308' is wider than a float can hold")
    assert "RuntimeWarning" not in proc.stderr
