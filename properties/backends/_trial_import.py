"""A user's module is imported in a forked child first, so that one which ends the process as it loads
(``os._exit``, a crash in C, ``os.abort``) is bad usage with a message, not trigrad exiting with the
module's status and nothing said.

The child imports the module and tells the parent through a pipe that it came back, whether the import
succeeded or raised: an exception (``SystemExit`` included) is the parent's to report, when it imports
the module itself after the trial. Only a child that ended without saying so is reported here, with how
it ended and the last lines it printed. The trial costs a fork and a second import of the module (what
the module imports that trigrad has not is imported twice: a second or so for torch); a module with
side effects at import has them twice. A child not back within ``TRIAL_SECONDS`` (an import that waits
on something a forked process does not have, such as a thread pool of the parent) is killed and the
module imported as before, with no verdict.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import tempfile
import threading
import time
import warnings

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
TRIAL_SECONDS = 60.0  # how long a trial import may take before the parent gives up on it
OUTPUT_LINES = 5  # the last lines the module printed, shown with the message
_CAME_BACK = b"k"


def die_with_parent(sig: int = signal.SIGKILL):
    """Have the kernel send ``sig`` to this process when its parent dies (Linux prctl
    PR_SET_PDEATHSIG); elsewhere a thread polls the parent's pid and exits when it changes."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="trigrad-parent-watch").start()


def died(status: int) -> str:
    """How a process ended, from its wait status: "exited with status 3", "died of a segmentation fault
    (SIGSEGV)"."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        what = {"SIGSEGV": "a segmentation fault", "SIGABRT": "an abort", "SIGBUS": "a bus error",
                "SIGFPE": "a floating-point exception", "SIGILL": "an illegal instruction",
                "SIGKILL": "SIGKILL (the out-of-memory killer, or killed from outside)"}.get(name, name)
        return f"died of {what} ({name})"
    return f"exited with status {os.WEXITSTATUS(status)}"


# False in a process whose parent has already imported what it will import (a spawned supervised
# worker): no trial there.
TRIALS = True


def trial(load, *, seconds: float = TRIAL_SECONDS) -> tuple[str, str] | None:
    """Run ``load()`` in a forked child: None when it came back (returned or raised), else how the child
    ended (``died``) and the last lines it printed (joined by " | "). Where there is no fork, None."""
    if not hasattr(os, "fork") or not TRIALS:
        return None
    read, write = os.pipe()
    output = tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    with warnings.catch_warnings():  # JAX warns of any fork; the child only imports
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: import, say so, leave without running the parent's exit handlers
        try:
            die_with_parent()  # an import stuck in the child (a lock a thread of the parent held) dies with it
            os.close(read)
            os.dup2(output.fileno(), 1)
            os.dup2(output.fileno(), 2)
            with contextlib.suppress(BaseException):
                load()
            os.write(write, _CAME_BACK)
        finally:
            os._exit(0)
    os.close(write)
    try:
        said, status = _wait(pid, read, seconds)
        if said or status is None:
            return None
        output.seek(0)
        printed = output.read().decode("utf-8", "replace").strip().splitlines()[-OUTPUT_LINES:]
        return died(status), " | ".join(printed)
    finally:
        os.close(read)
        output.close()


def _wait(pid: int, read: int, seconds: float) -> tuple[bool, int | None]:
    """(whether the child said it came back, its wait status; None when it was killed at the time limit)."""
    deadline = time.monotonic() + seconds
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            os.set_blocking(read, False)
            try:
                said = os.read(read, 1) == _CAME_BACK
            except BlockingIOError:
                said = False
            return said, status
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return False, None
        time.sleep(0.005)
