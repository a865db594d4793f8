"""``trigrad check`` interrupted (a real SIGINT) while a row shrinks a failure: the run ends where it
is, prints the table of what ran, the failure as far as it was shrunk (saying so), writes --json
(``"interrupted": true``) and exits 1; a second Ctrl-C is not needed and nothing is left running.
cli_targets.SlowWrongAboveOne negates gradients where an input exceeds 1 and takes 0.2 s a gradient,
so shrinking lasts long enough to be interrupted. With one job the row runs in the command's process;
with two, in a pool process, and the signal goes to the command alone (``kill -INT``), which passes it
on (from a terminal every process of the group gets it; each takes the first only)."""

import json
import time

import pytest

from trigrad_cli import alive, interrupted_when


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigint_while_a_row_shrinks_reports_what_ran_and_the_failure_so_far(tmp_path, jobs):
    out_json = tmp_path / "o.json"
    status, out, children = interrupted_when(
        "found a failure, shrinking it", "check", "--backend", "cli_targets.py:SlowWrongAboveOne", "--ops", "sin,cos,exp",
        "--properties", "vjp,value", "--profile", "ci", "-j", jobs, "--json", out_json)
    assert status == 1, out
    assert "interrupted (Ctrl-C): " in out and "Traceback" not in out, out
    assert "(interrupted while shrinking: the smallest failure found so far, not fully shrunk) ---" in out, out
    assert "verdict      fail: autograd is off" in out, out
    doc = json.loads(out_json.read_text())
    assert doc["interrupted"] is True
    statuses = {(c["property"], c["op"]): c["status"] for c in doc["cells"]}
    assert "fail" in statuses.values() and "not reached" in statuses.values(), statuses
    shrinking = [c for c in doc["cells"] if c["error"] and "interrupted while shrinking" in c["error"]]
    assert shrinking and all(c["status"] == "fail" and c["report"]["inputs"] for c in shrinking), shrinking
    deadline = time.monotonic() + 10  # the pool's processes and supervised workers end with the run
    while any(alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in children)
