"""A fuzz run interrupted (a real SIGINT) while Hypothesis shrinks its failure reports the smallest
failure found so far, says it is not fully shrunk, writes it to --json (``fully_shrunk: false``) and
exits 1; it says whether the example database holds it (it looks). targets.SlowWrongSinh (twice the derivative)
takes 0.2 s a backward, so shrinking (Hypothesis's, the structural pass or the diagnosis; about 4 s on
an idle machine) lasts long enough to be interrupted. The test sends the signal when the run's
progress line says it found a failure and is shrinking it (the line is shown at once then), not after
a counted number of examples or a file appearing: which draw fails first changes with the op table,
and Hypothesis writes the database when it pleases."""

import json
import os

from trigrad_cli import interrupted_when


def test_sigint_while_shrinking_keeps_the_smallest_failure_so_far(tmp_path):
    out_json, db = tmp_path / "o.json", tmp_path / "db"
    status, out, _ = interrupted_when("found a failure, shrinking it", "fuzz", "targets.py:SlowWrongSinh", "--sympy",
                                      "sinh(x)", "--seed", "0", "--database", db, "--json", out_json)
    assert status == 1, out
    assert "interrupted while shrinking: the smallest failure found so far, not fully shrunk" in out, out
    assert "SlowWrongSinh" in out and "Traceback" not in out, out
    finding = json.loads(out_json.read_text())["finding"]
    assert finding["fully_shrunk"] is False and "SlowWrongSinh" in finding["formula"] and finding["inputs"]
    # the report never claims a saved failure that the database does not hold (Hypothesis may not
    # have written it yet this early; it may write it as the run ends, after the report was made)
    claim = "; the example database holds it, and the next run replays it first" in out
    assert claim or "not in an example database yet (rerun with its --seed" in out, out
    assert not claim or any(files for _, _, files in os.walk(db)), out
