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
import selectors
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_SECONDS = 120  # a run that lasts this long is itself a failure


def test_sigint_while_shrinking_keeps_the_smallest_failure_so_far(tmp_path):
    out_json, db = tmp_path / "o.json", tmp_path / "db"
    proc = subprocess.Popen([sys.executable, "-m", "trigrad.properties", "fuzz", "targets.py:SlowWrongSinh",
                             "--sympy", "sinh(x)", "--seed", "0", "--database", str(db), "--json", str(out_json)],
                            cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            # Ctrl-C as in a terminal: a test run started in the background of a
                            # non-interactive shell (as CI scripts are) ignores SIGINT, and a child
                            # would inherit that and never see the signal
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + RUN_SECONDS
            while not any("found a failure, shrinking it" in line for line in seen):
                assert proc.poll() is None and time.monotonic() < deadline, "".join(seen)
                if sel.select(timeout=0.1):
                    seen.append(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=RUN_SECONDS)
    finally:
        proc.kill()
    out = "".join(seen) + out
    assert proc.returncode == 1, out
    assert "interrupted while shrinking: the smallest failure found so far, not fully shrunk" in out, out
    assert "SlowWrongSinh" in out and "Traceback" not in out, out
    finding = json.loads(out_json.read_text())["finding"]
    assert finding["fully_shrunk"] is False and "SlowWrongSinh" in finding["formula"] and finding["inputs"]
    # the report never claims a saved failure that the database does not hold (Hypothesis may not
    # have written it yet this early; it may write it as the run ends, after the report was made)
    claim = "; the example database holds it, and the next run replays it first" in out
    assert claim or "not in an example database yet (rerun with its --seed" in out, out
    assert not claim or any(files for _, _, files in os.walk(db)), out
