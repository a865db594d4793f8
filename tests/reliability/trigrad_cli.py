"""Running the real ``trigrad`` command in a subprocess, as a person would, for the reliability tests
(exit status, stdout and stderr are what they are about)."""

import os
import selectors
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(HERE, "cli_targets.py")
CATALOGUE = os.path.join(ROOT, "tests", "properties", "fuzz_catalogue.py")  # correct and planted functions
LIMIT_SECONDS = 120  # far above what any of these runs takes: a run this long is a hang


def trigrad(*argv, cwd=None, env=None, timeout=LIMIT_SECONDS) -> subprocess.CompletedProcess:
    """``trigrad ARGV...`` in a subprocess (in ``cwd``, default the repository root), its output as text."""
    environ = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "trigrad.properties", *map(str, argv)], capture_output=True,
                          text=True, cwd=cwd or ROOT, env=environ, timeout=timeout)


def one_line_usage_error(proc: subprocess.CompletedProcess, says: str):
    """Assert that ``proc`` failed as bad usage: exit status 2, one line on stderr saying ``says``,
    no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert says in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout



def descendants(pid: int) -> set[int]:
    """The pids of ``pid``'s descendants (from /proc: Linux)."""
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            continue
        found.update(kids)
        todo += kids
    return found


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (exists and is not a zombie; from /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def interrupted_when(says: str, *argv, cwd=HERE) -> tuple[int, str, set[int]]:
    """Run ``trigrad ARGV...`` and send it SIGINT, as Ctrl-C would, once a line of its output contains
    ``says``: (exit status, output, the pids of its descendants at that moment)."""
    proc = subprocess.Popen([sys.executable, "-m", "trigrad.properties", *map(str, argv)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            # Ctrl-C as in a terminal: a test run started in the background of a
                            # non-interactive shell (as CI scripts are) ignores SIGINT, and a child
                            # would inherit that and never see the signal
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + LIMIT_SECONDS
            while not any(says in line for line in seen):
                assert proc.poll() is None and time.monotonic() < deadline, "".join(seen)
                if sel.select(timeout=0.1):
                    seen.append(proc.stdout.readline())
        children = descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=LIMIT_SECONDS)
    finally:
        proc.kill()
    return proc.returncode, "".join(seen) + out, children
