"""A backend that cannot run in a forked process (``Backend.fork_safe = False``: JAX, MLX) is
supervised all the same, in a fresh interpreter that makes the backend again from its ``recipe``
(``resolve`` gives every backend one): an exit, a crash or a loop in C of the code under test is a
finding of the example that was running, as in a forked worker. The backends are the built-in core
declared unforkable (tests/reliability/targets.py), so that each test costs a second or two, not a
JAX import per worker."""

import os
import re

import pytest

from trigrad.properties import suite
from trigrad.properties.backends import resolve
from trigrad.properties.fuzzing.supervise import Supervised, WorkerLost, can_supervise, supervised

import targets
from test_rows import TARGETS, TIMEOUT, trigrad


def unforkable(name: str):
    return resolve(f"{TARGETS}:{name}")


def cell(backend, prop="vjp", op="sin", n=10):
    with Supervised(backend, timeout=float(TIMEOUT)) as supervised_backend:
        return suite.run_cell(supervised_backend, prop, op, max_examples=n), supervised_backend


def test_a_resolved_backend_has_a_recipe_that_makes_it_again():
    backend = unforkable("Unforkable")
    again = backend.recipe()
    assert type(again).__name__ == "Unforkable" and again is not backend
    assert can_supervise(backend)
    backend.recipe = None  # unforkable and no recipe: runs in process, as before
    assert not can_supervise(backend)


def test_the_worker_of_an_unforkable_backend_is_spawned_not_forked(monkeypatch):
    # the vjp exits in any process that sees PARENT_ONLY set: the cell passes only if its worker is a
    # fresh interpreter, not a fork of this one
    monkeypatch.setitem(targets.PARENT_ONLY, "set", True)
    c, _ = cell(unforkable("Unforkable"), n=3)
    assert c.status == "pass" and c.examples == 3, (c.status, c.error)


@pytest.mark.parametrize("name, says", [
    ("UnforkableSegfaultInVjp", "unforkable.vjp died of a segmentation fault (SIGSEGV)"),
    ("UnforkableCLoopInVjp", f"unforkable.vjp did not return within {float(TIMEOUT) + 0.5:g} s"),
])
def test_a_crash_or_a_loop_in_c_in_a_spawned_worker_names_the_call(name, says):
    # one call, no shrinking: the worker's end as the parent sees it
    with Supervised(unforkable(name), timeout=float(TIMEOUT)) as backend:
        with pytest.raises(WorkerLost, match=re.escape(says)):
            backend.run_task(targets.sin_vjp)
        assert backend.supervisor.worker.pid is None  # gone, and reaped


def test_a_backend_that_cannot_be_made_again_is_an_error_not_a_finding(monkeypatch):
    monkeypatch.setitem(targets.PARENT_ONLY, "set", True)
    c, _ = cell(unforkable("UnforkableNotTwice"), n=3)
    assert c.status == "error", (c.status, c.report and c.report.detail)
    assert "could not make the backend unforkable again" in c.error
    assert "RuntimeError: this library runs in one process only" in c.error


def test_the_spawned_worker_leaves_nothing_behind():
    backend = Supervised(unforkable("Unforkable"), timeout=float(TIMEOUT))
    c = suite.run_cell(backend, "vjp", "sin", max_examples=3)
    worker = backend.supervisor.worker
    pid, folder = worker.pid, worker.folder
    assert c.status == "pass" and pid is not None and os.path.isdir(folder)
    backend.close()
    assert not os.path.exists(folder)
    with pytest.raises(ChildProcessError):  # reaped
        os.waitpid(pid, os.WNOHANG)


def test_in_process_is_still_asked_for_with_in_process():
    import argparse

    backend = unforkable("Unforkable")
    options = argparse.Namespace(timeout=float(TIMEOUT), memory=None, in_process=True)
    assert supervised(backend, options) is backend
    options.in_process = False
    with supervised(backend, options) as s:
        assert isinstance(s, Supervised) and s.supervisor.worker.recipe is not None


def test_fuzzing_on_an_unforkable_backend_finds_an_exit_with_its_example():
    # through the command line: the spawned worker makes the fuzzed backend again from the job
    # (backend, function and twin by name)
    status, out = trigrad("fuzz", f"{TARGETS}:BackwardOsExit", "--backend", f"{TARGETS}:UnforkableCore",
                          "--sympy", "sinh(x)", "--max-examples", "30", "--seed", "0", "--database", "none",
                          "--timeout", TIMEOUT)
    assert status == 1, out
    assert "BackwardOsExit.backward exited with status 3 in the supervised worker" in out
    assert "inputs       x0 = " in out and "reproduce" in out
