"""The pytest suites (``pytest --autograd-backend``) run the backend supervised, as ``trigrad check``
does: an exit or a crash of the backend, or a call that never returns, fails the cell that was running,
with its example, and the session goes on (the next cell runs, the exit status is 1). The time limit
comes from ``--autograd-timeout`` or the ini setting ``autograd_timeout``. Each test runs pytest in a
subprocess on tests/reliability/targets.py's adapters, one or two cells under the ``quick`` profile
(quick_profile.py: a few examples, no shrinking; 2 to 4 s each on an idle machine, most of it pytest's
start)."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SIN = "sin and not sinh and not arcsin and not numeric"  # the sin row alone
RUN_SECONDS = 120  # a session that runs longer than this is itself a failure


def suites(adapter, select, *extra):
    """pytest on trigrad's suites against targets.``adapter``: (exit status, output)."""
    env = dict(os.environ)
    env.pop("TRIGRAD_BACKEND", None)
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "quick_profile", "-p", "no:cacheprovider",
                        "--hypothesis-profile=quick", "--pyargs", "trigrad.properties", "-rf",
                        f"--autograd-backend=targets.py:{adapter}", "-k", select, *extra],
                       cwd=HERE, env=env, capture_output=True, text=True, timeout=RUN_SECONDS)
    return r.returncode, r.stdout + r.stderr


def test_an_exit_in_the_backend_fails_its_cell_and_the_session_goes_on():
    status, out = suites("OsExitInVjp", f"(test_vjp or test_value) and {SIN}", "--autograd-timeout=0.3")
    assert status == 1 and "1 failed, 1 passed" in out, out
    assert "builtin.vjp exited with status 3 in the supervised worker" in out and "composition" in out, out
    assert "supervised (time limit 0.3 s)" in out, out  # the header says how the backend runs


def test_a_call_that_never_returns_fails_its_cell_at_the_ini_time_limit():
    status, out = suites("HangsInVjp", f"test_fanout and {SIN}", "-o", "autograd_timeout=0.3")
    assert status == 1 and "1 failed" in out, out
    assert "builtin.vjp did not return within 0.3 s" in out and "supervised (time limit 0.3 s)" in out, out


def test_a_time_limit_that_is_not_a_number_of_seconds_is_a_usage_error():
    status, out = suites("OsExitInVjp", SIN, "--autograd-timeout=inf")
    assert status == 4 and "must be a number of seconds" in out, out  # pytest's usage error
