"""A fuzz run interrupted (a real SIGINT) while Hypothesis shrinks its failure reports the smallest
failure found so far, says it is not fully shrunk, writes it to --json (``fully_shrunk: false``) and
exits 1; the example database holds it for the next run. targets.SlowWrongSinh (twice the derivative)
takes 0.2 s a backward, so the signal, sent once the first failure was found, lands in shrinking
(Hypothesis's, the structural pass or the diagnosis; about 4 s on an idle machine). The test knows the
first failure was found when Hypothesis has saved it in the example database (it saves each failing
example as it meets it), not by counting examples: which draw fails first changes with the op table."""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_SECONDS = 120  # a run that lasts this long is itself a failure


def test_sigint_while_shrinking_keeps_the_smallest_failure_so_far(tmp_path):
    out_json, db = tmp_path / "o.json", tmp_path / "db"
    proc = subprocess.Popen([sys.executable, "-m", "trigrad.properties", "fuzz", "targets.py:SlowWrongSinh",
                             "--sympy", "sinh(x)", "--seed", "0", "--quiet", "--database", str(db),
                             "--json", str(out_json)],
                            cwd=HERE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + RUN_SECONDS
        while not any(files for _, _, files in os.walk(db)):  # no failure saved yet
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=RUN_SECONDS)
    finally:
        proc.kill()
    assert proc.returncode == 1, out
    assert "interrupted while shrinking: the smallest failure found so far, not fully shrunk" in out, out
    assert "the example database holds it" in out and "SlowWrongSinh" in out and "Traceback" not in out, out
    finding = json.loads(out_json.read_text())["finding"]
    assert finding["fully_shrunk"] is False and "SlowWrongSinh" in finding["formula"] and finding["inputs"]
    assert any(files for _, _, files in os.walk(db))  # Hypothesis saved the failing examples
