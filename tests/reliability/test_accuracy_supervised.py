"""``trigrad accuracy`` runs the backend supervised, as ``trigrad check`` does: a backend that exits
(os._exit, or sys.exit) or hangs (in C, past the time limit) while a sweep is measured leaves that sweep
unmeasured, saying which call ended how, the other sweeps and backends are measured, and the exit
status is 1. Through the real command
(about 2 s each on an idle machine; 8 points per sweep, one op)."""

from trigrad_cli import HERE, trigrad


def test_an_exit_in_the_backend_leaves_its_sweep_unmeasured_and_fails_the_run():
    proc = trigrad("accuracy", "--backend", "targets.py:OsExitInVjp", "--backend", "builtin", "--op", "sin",
                   "--points", "8", "-j", "1", cwd=HERE)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "the backend failed: builtin.vjp exited with status 3 in the supervised worker" in out, out
    assert "1 sweeps not measured because the backend died, exited or hung" in out and "Traceback" not in out, out
    assert "builtin 0.1.0 (float64): 1 of 1 ops within 4 ulps" in out, out  # the correct backend, measured


def test_a_hang_in_c_is_stopped_at_the_time_limit():
    proc = trigrad("accuracy", "--backend", "targets.py:CLoopInVjp", "--op", "sin", "--points", "8", "-j", "1",
                   "--timeout", "0.3", "--first-order", cwd=HERE)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "the backend failed: builtin.vjp did not return within 0.8 s" in out, out
