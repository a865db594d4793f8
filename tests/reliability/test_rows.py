"""The code under test cannot take trigrad down or make it lie: each misbehaviour of tests/reliability/
targets.py becomes a finding of the example that was running, the report naming the call. Where a row
is about exit status and output, through the real command line (a few seconds each, most of it the
command's start); elsewhere a supervised campaign or cell in this process (small budgets and time
limits)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from trigrad.properties import fuzzing, suite
from trigrad.properties.backends import resolve
from trigrad.properties.fuzzing.supervise import Supervised, WorkerLost

import targets
from trigrad_cli import alive, descendants

BUILTIN = resolve("builtin")

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = os.path.join(HERE, "targets.py")
TIMEOUT = "0.3"  # the time limit of one call in these tests: a hang costs it plus supervise.MIN_GRACE
MEMORY_MB = "200"  # what the code under test may allocate in the memory test
RUN_SECONDS = 120  # a command that runs longer than this is itself a failure (it would hang CI)


def trigrad(*argv, cwd=HERE, **kw):
    """Run the trigrad command; (exit status, stdout + stderr)."""
    out = subprocess.run([sys.executable, "-m", "trigrad.properties", *argv], capture_output=True, text=True,
                         cwd=cwd, timeout=RUN_SECONDS, **kw)
    return out.returncode, out.stdout + out.stderr


def fuzz(name, *extra, json_path=None):
    argv = ["fuzz", f"{TARGETS}:{name}", "--sympy", "sinh(x)", "--max-examples", "60", "--seed", "0",
            "--database", "none", "--quiet", "--timeout", TIMEOUT, *extra]
    if json_path is not None:
        argv += ["--json", str(json_path)]
    return trigrad(*argv)


def check(adapter, *extra):
    return trigrad("check", "--backend", f"{TARGETS}:{adapter}", "--ops", "sin", "--properties", "vjp",
                   "--seconds", "5", "--quiet", "--timeout", TIMEOUT, *extra)


def campaign(name, memory=None, timeout=float(TIMEOUT)):
    """A supervised campaign of targets.``name`` in this process (no command to start): its outcome."""
    target = fuzzing.make_target(getattr(targets, name), BUILTIN, sympy="sinh(x)", where=f"{TARGETS}:{name}")
    return fuzzing.run(target, BUILTIN, max_examples=60, database=None, derandomize=True, timeout=timeout,
                       memory=memory)


def cell(adapter):
    """The sin / vjp cell of ``trigrad check`` on targets.``adapter``, supervised, in this process."""
    with Supervised(getattr(targets, adapter)(), timeout=float(TIMEOUT)) as backend:
        return suite.run_cell(backend, "vjp", "sin", max_examples=10)


# row 1: exits of every kind, in a fuzzed backward and in an adapter's vjp
def test_sys_exit_in_a_backward_is_a_finding_with_exit_status_1_and_json(tmp_path):
    status, out = fuzz("BackwardSysExit0", json_path=tmp_path / "o.json")
    assert status == 1, out
    says = "BackwardSysExit0.backward raised SystemExit: 0"
    assert says in out
    finding = json.loads((tmp_path / "o.json").read_text())["finding"]
    assert "BackwardSysExit0" in finding["formula"] and finding["inputs"] and says in finding["reason"]


@pytest.mark.parametrize("name, says", [
    ("BackwardOsExit", "BackwardOsExit.backward exited with status 3 in the supervised worker"),
    ("BackwardSegfault", "BackwardSegfault.backward died of a segmentation fault (SIGSEGV)"),
    ("BackwardAbort", "BackwardAbort.backward died of an abort (SIGABRT)"),
    ("BackwardKeyboardInterrupt", "BackwardKeyboardInterrupt.backward raised KeyboardInterrupt"),
])
def test_an_exit_or_crash_in_fuzzed_code_is_a_finding_with_its_example(name, says):
    outcome = campaign(name)
    assert outcome.json is not None, outcome.summary()
    assert says in outcome.json["reason"] and name in outcome.json["formula"] and outcome.json["inputs"]
    if name == "BackwardSegfault":  # faulthandler's dump: the user's frames
        assert "in string_at" in outcome.text and "in backward" in outcome.text


@pytest.mark.parametrize("adapter, says", [
    ("SysExit0InVjp", "builtin.vjp raised SystemExit: 0"),
    ("OsExitInVjp", "builtin.vjp exited with status 3"),
    ("KeyboardInterruptInVjp", "builtin.vjp raised KeyboardInterrupt"),
    ("SegfaultInVjp", "builtin.vjp died of a segmentation fault"),
])
def test_an_exit_in_an_adapter_fails_its_cell(adapter, says):
    c = cell(adapter)
    assert c.status == "fail" and says in c.report.detail, (c.status, c.error)


def test_a_module_that_exits_as_it_is_imported_is_bad_usage():
    for argv in (["fuzz", "exits_at_import.py:Sinh", "--sympy", "sinh(x)"],
                 ["check", "--backend", "exits_at_import.py:Sinh", "--ops", "sin"]):
        status, out = trigrad(*argv)
        assert status == 2 and "exits_at_import.py" in out and "SystemExit" in out, out


# row 5: hangs that the timer signal alone does not stop
@pytest.mark.parametrize("name, says", [
    ("BackwardCLoop", "BackwardCLoop.backward did not return within 0.8 s (time limit 0.3 s"),
    ("BackwardSwallowsForever", "BackwardSwallowsForever.backward did not return within 0.8 s"),
    ("BackwardSwallowsTimeout", "BackwardSwallowsTimeout.backward did not return within 0.3 s (and caught the timeout)"),
])
def test_a_hang_that_ignores_or_swallows_the_timeout_is_a_finding(name, says):
    outcome = campaign(name)
    assert outcome.json is not None and says in outcome.json["reason"], outcome.summary()


def test_check_has_a_time_limit_per_call():
    status, out = check("HangsInVjp")
    assert status == 1, out
    assert "builtin.vjp did not return within 0.3 s" in out
    # a loop in C: one call (shrinking a cell whose every call loops costs 0.8 s a step)
    with Supervised(targets.CLoopInVjp(), timeout=float(TIMEOUT)) as backend:
        with pytest.raises(WorkerLost, match="builtin.vjp did not return within 0.8 s .* the supervised worker was killed"):
            backend.run_task(targets.sin_vjp)


# item 1: memory
def test_memory_exhaustion_is_a_finding():
    # filling the blocks takes time on a loaded machine: a time limit far above it, so that the memory
    # limit, not the clock, is what stops the call
    outcome = campaign("BackwardEatsMemory", memory=int(MEMORY_MB) * 2**20, timeout=30.0)
    assert outcome.json is not None and "BackwardEatsMemory.backward raised MemoryError" in outcome.json["reason"]


# row 6 and item 7: values of the wrong type
@pytest.mark.parametrize("name, says", [
    ("BackwardReturnsString", "the backend's vjp returned a value of type ndarray (array('the gradient'"),
    ("ForwardReturnsString", "returned a value of type ndarray (array('sinh'"),
    ("BackwardReturnsNone", "autograd is off"),  # None is a zero gradient in the core: wrong here
])
def test_a_value_of_the_wrong_type_is_a_finding(name, says):
    outcome = campaign(name)
    assert outcome.json is not None and says in outcome.json["reason"], outcome.summary()


def test_a_string_from_a_backward_is_exit_status_1_not_a_traceback():
    status, out = fuzz("BackwardReturnsString")
    assert status == 1 and "Traceback" not in out and "the backend's vjp returned" in out, out


@pytest.mark.parametrize("adapter, status, says", [
    ("VjpReturnsString", "fail", "the backend's vjp returned a value of type str ('a gradient') for the gradient wrt"),
    ("VjpReturnsTooFew", "fail", "for the gradients, not a list of 1 (one per input)"),
    ("VjpReturnsList", "pass", ""),  # nested lists of numbers are arrays
])
def test_an_adapter_returning_the_wrong_type_fails_its_cell(adapter, status, says):
    c = cell(adapter)
    assert c.status == status and says in (c.report.detail if c.report else ""), (c.status, c.error)


# row 2: worker processes
def test_a_crash_or_a_wrong_type_in_a_worker_process_is_a_finding():
    status, out = fuzz("BackwardOsExit", "--workers", "2")
    assert status == 1, out
    assert "exited with status 3" in out and "no finding" not in out
    # the wrong type is a finding of the campaign in the worker, as in one process (not bad usage)
    assert campaign("BackwardReturnsString").json is not None


def test_a_worker_process_that_dies_is_an_error_not_no_finding(tmp_path):
    status, out = trigrad("fuzz", "dies_in_worker.py:Sinh", "--sympy", "sinh(x)", "--workers", "2", "--seconds", "20",
                          "--database", "none", "--quiet", "--json", str(tmp_path / "o.json"))
    assert status == 1, out
    assert "worker with seed" in out and "exited with status 5" in out and "no finding" not in out
    assert len(json.loads((tmp_path / "o.json").read_text())["errors"]) == 2


# row 7: no orphans
@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_do_not_outlive_their_parent(sig):
    proc = subprocess.Popen([sys.executable, "-m", "trigrad.properties", "fuzz", f"{TARGETS}:Sinh", "--sympy", "sinh(x)",
                             "--workers", "2", "--seconds", "60", "--database", "none", "--quiet"], cwd=HERE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + RUN_SECONDS
        while len(descendants(proc.pid)) < 4 and time.monotonic() < deadline:  # 2 workers, their checkers, ...
            time.sleep(0.2)
        family = descendants(proc.pid)
        assert len(family) >= 4, family
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in family if alive(p)]
    finally:
        proc.kill()
