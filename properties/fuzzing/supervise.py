"""Supervised execution: the checks run in a worker process, so that nothing the code under test does
can take trigrad down or make it lie.

``Supervised(backend)`` is the backend as the rest of trigrad sees it; its ``run_check`` sends each
example to a long-lived worker, forked from this process on first use (so it has the backend, the
fuzzed function and its spec entry already loaded), which runs the whole check (backend, oracles,
verdict) and sends back the outcome: passed, rejected (with its events), or a failure's report.
Before the code under test runs, the worker writes which call it is entering into memory shared with
the parent, so that the parent can name the call when the worker goes wrong:

- an exception, ``SystemExit`` or ``KeyboardInterrupt`` raised by the code (the worker ignores the
  terminal's Ctrl-C, so one raised there is the code's own), or a value of the wrong type: a finding,
  reported by the check as usual;
- the worker dying (``os._exit``, a segfault or abort in C, the kernel's OOM killer): a finding that
  names the example, the call and how it died, with the Python stack the worker's ``faulthandler``
  dumped; the next example gets a fresh worker;
- the code still inside one call ``timeout + grace`` seconds after it entered it (a loop in C that
  never returns to the interpreter, a handler that swallows the timeout over and over): the parent
  dumps the worker's stack, kills it, and reports the hang;
- memory: the worker may allocate ``memory`` bytes beyond its size at start (its address space is
  limited), so that exhausting it is a ``MemoryError`` (or a crash) in the worker, not in trigrad or
  the machine.

Each finding is raised in the parent as a ``Failure`` of the example, inside the Hypothesis test, so
Hypothesis shrinks it, saves it in the example database and replays it first next time.

The worker is forked where it can be: a fork costs milliseconds and needs nothing to be importable by
name. A backend that cannot be forked (``Backend.fork_safe`` False: JAX, MLX) gets a spawned worker
instead, a fresh interpreter that makes the backend again from its ``recipe`` (``serve_spawned``): it
costs an import of trigrad and the library (about a second of CPU for JAX) at each start, and serves
the same way. The parent itself never runs the code under test while a worker serves it.
"""

from __future__ import annotations

import contextlib
import faulthandler
import functools
import math
import mmap
import os
import pickle
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from multiprocessing.connection import Connection, Pipe

import hypothesis
from hypothesis.errors import InvalidArgument

from trigrad.oracle.symbolic import Oracle

from .. import checks
from ..backends import Backend
from ..backends import _trial_import
from ..backends._trial_import import die_with_parent
from ..backends._trial_import import died as describe_status  # how a worker ended, from its wait status
from ..errors import UsageError
from ..piece import interruption_point
from ..report import Failure, Report
from .sandbox import (CLOCK, DEFAULT_TIMEOUT, MAX_TIMEOUT, WORKER_CODE_EXITS, ExampleTimeout, UserCodeError, check_timeout,
                      code_error)

# Seconds the parent waits beyond the time limit before it kills a worker stuck in one call: the
# worker's own timer fires at the limit and needs a moment to unwind through the user's code.
MIN_GRACE = 0.5
GRACE_FRACTION = 0.5  # ... or this fraction of the limit, when that is longer
POLL_SECONDS = 0.05  # how often the parent looks at the worker while it runs an example
DUMP_SECONDS = 0.2  # how long the parent waits for a stuck worker's stack dump before killing it
SPAWN_SECONDS = 120.0  # how long a spawned worker may take to import and make its backend
# What the worker may allocate beyond its size when it starts, by default: half the machine's memory.
# A check needs a few hundred MB at most; code that exhausts the rest fails in the worker alone.
MEMORY_FRACTION = 0.5
LABEL_BYTES = 240  # the running call's name, as the shared memory holds it
_HEADER = struct.Struct("dq")  # the time the running call began (0.0: none), the number of calls begun


def default_memory() -> int | None:
    """What a worker may allocate by default: MEMORY_FRACTION of the machine's memory (None if unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * MEMORY_FRACTION)
    except (ValueError, OSError, AttributeError):
        return None


def memory_bytes(mb: float | None, what: str = "--memory") -> int | None:
    """``mb`` megabytes (2**20 bytes) as bytes, None for None; UsageError unless a positive number."""
    if mb is None:
        return None
    if not isinstance(mb, (int, float)) or not math.isfinite(mb) or not 0 < mb <= 2**40:
        raise UsageError(f"{what} must be a positive number of MB, got {mb!r}")
    return int(mb * 2**20)


def _address_space() -> int:
    """This process's address space now, in bytes (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _Watch:
    """What the worker is running, in memory shared with the parent: when the innermost call of the
    code under test began, how many calls began, and its label."""

    def __init__(self, path: str | None = None):
        size = _HEADER.size + LABEL_BYTES
        if path is None:  # anonymous: shared with a worker forked from this process
            self.memory = mmap.mmap(-1, size)
        else:  # a file that a spawned worker maps too
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size < size:
                    os.ftruncate(fd, size)
                self.memory = mmap.mmap(fd, size)
            finally:
                os.close(fd)
        self.running = []  # worker side: (label, when it began) of the calls entered
        self.calls = 0

    def enter(self, label: str):
        self.running.append((label, time.monotonic()))
        self.calls += 1
        self._write(*self.running[-1])

    def leave(self):
        self.running.pop()
        self._write(*(self.running[-1] if self.running else ("", 0.0)))

    def _write(self, label: str, began: float):
        self.memory[_HEADER.size:] = label.encode("utf-8", "replace")[:LABEL_BYTES].ljust(LABEL_BYTES, b"\0")
        _HEADER.pack_into(self.memory, 0, began, self.calls)

    def read(self) -> tuple[float, str]:
        """(when the running call began or 0.0, its label)."""
        began, _ = _HEADER.unpack_from(self.memory, 0)
        label = bytes(self.memory[_HEADER.size:]).rstrip(b"\0").decode("utf-8", "replace")
        return began, label

    def clear(self):
        _HEADER.pack_into(self.memory, 0, 0.0, 0)
        self.memory[_HEADER.size:] = b"\0" * LABEL_BYTES


def _timed(label: str, method):
    """``method`` run as code under test: timed by ``CLOCK``, named ``label``, its SystemExit and
    KeyboardInterrupt a UserCodeError; other exceptions pass as they are (an adapter's Unsupported,
    or what the check reports as "the backend raised")."""

    @functools.wraps(method)
    def call(*args, **kwargs):
        with CLOCK.running(label):
            try:
                return method(*args, **kwargs)
            except WORKER_CODE_EXITS as e:
                raise code_error(label, e) from e

    return call


class _Clocked(Backend):
    """The worker's view of a backend: every method of the adapter protocol runs as code under test
    (``_timed``)."""

    def __init__(self, inner: Backend):
        self.inner = inner
        for attr in ("name", "version", "ops", "dtype", "complex_ops", "constant_args", "known_differences",
                     "preamble"):
            setattr(self, attr, getattr(inner, attr, getattr(Backend, attr)))
        label = inner.name
        for method in ("asarray", "tonumpy", "vjp", "jvp", "hvp", "forward"):
            setattr(self, method, _timed(f"{label}.{method}", getattr(inner, method)))

    def op(self, name):
        # untimed: ops run inside vjp, jvp, hvp and forward, which are (a wrapper per op call would
        # cost a few microseconds each, hundreds of times per example)
        return self.inner.op(name)

    def capable(self, what):
        return self.inner.capable(what)

    def supports(self, op):
        return self.inner.supports(op)

    def __getattr__(self, attr):
        return getattr(self.__dict__["inner"], attr)


def _single_threaded():
    """After the fork: a library's thread pool started in the parent does not exist in the worker, and
    a parallel region would wait for it forever (PyTorch's OpenMP pool: a torch op the parent ran
    before the fork hangs the worker's next one). The worker computes on one thread."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


class _Rejected(Exception):
    """hypothesis.reject() in the worker, where there is no Hypothesis test to reject."""


def _reject():
    raise _Rejected()


class Worker:
    """One worker process serving checks of ``backend`` (see the module's docstring): forked from this
    process, or, for a backend that cannot be forked, a fresh interpreter that makes the backend again
    with ``recipe`` (``spawn``)."""

    def __init__(self, backend: Backend, timeout: float | None, memory: int | None, recipe=None):
        self.backend, self.timeout, self.memory = backend, timeout, memory
        self.recipe = recipe
        self.pid = None
        self.folder = self.watch = self.dump = None  # made on first start

    def _files(self):
        """What the worker shares with the parent: the running call (``_Watch``) and the file its
        faulthandler writes its stack to; anonymous for a forked worker, files in a folder of their own
        that a spawned worker opens by name."""
        if self.recipe is None:
            self.watch, self.dump = _Watch(), tempfile.TemporaryFile()
        else:
            self.folder = tempfile.mkdtemp(prefix="trigrad-worker-")
            self._open_folder()

    def _open_folder(self):
        """The watch and the dump as files in ``folder``, which parent and spawned worker both open."""
        self.watch = _Watch(os.path.join(self.folder, "watch"))
        self.dump = open(os.path.join(self.folder, "faulthandler.out"), "a+b")  # noqa: SIM115 - closed by stop

    def start(self):
        if self.watch is None:
            self._files()
        self.dump.seek(0)
        self.dump.truncate()
        self.watch.clear()
        sys.stdout.flush()
        sys.stderr.flush()
        if self.recipe is not None:
            return self._spawn()
        parent, child = Pipe()
        with warnings.catch_warnings():  # JAX warns of any fork; the worker computes on one thread
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                parent.close()
                self._serve(child)
            except BaseException:  # noqa: BLE001 - the worker never returns into the parent's code
                code = 70
            finally:
                os._exit(code)
        child.close()
        self.pid, self.conn = pid, parent

    def _spawn(self):
        """Start the worker as a fresh interpreter (``serve_spawned``), connected by a socket pair; wait
        until it has made the backend. RuntimeError when it cannot."""
        ours, theirs = socket.socketpair()
        code = f"from {__name__} import serve_spawned; serve_spawned({theirs.fileno()})"
        with ours, theirs:
            self.popen = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),))
            self.pid, self.conn = self.popen.pid, Connection(os.dup(ours.fileno()))
        self.conn.send(list(sys.path))  # the parent's imports resolve the same way there
        self.conn.send((self.recipe, self.timeout, self.memory, self.folder))
        deadline = time.monotonic() + SPAWN_SECONDS
        while not self.conn.poll(POLL_SECONDS):
            if self.status(block=False) is not None or time.monotonic() > deadline:
                status = self.kill(dump=False) if self.pid is not None else self.last_status
                raise RuntimeError(f"the supervised worker for {self.backend.name} {describe_status(status)} "
                                   f"before it had made the backend (within {SPAWN_SECONDS:g} s)")
        ready, detail = self.conn.recv()
        if not ready:
            self.kill(dump=False)
            raise RuntimeError(f"the supervised worker could not make the backend {self.backend.name} again: {detail}")

    def _serve(self, conn):
        die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        faulthandler.enable(file=self.dump, all_threads=False)
        faulthandler.register(signal.SIGUSR1, file=self.dump, all_threads=False)
        if self.memory:
            limit = _address_space() + self.memory
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        if self.recipe is None:  # forked: the parent's thread pools are not here
            _single_threaded()
        events = []
        checks.event, checks.reject = events.append, _reject  # this process is the worker's alone
        CLOCK.watch, CLOCK.exits = self.watch, WORKER_CODE_EXITS
        backend = _Clocked(self.backend)
        judged = (None, None, None)  # the last example (as sent), itself, and its shared exact evaluation
        while True:
            try:
                check, sent, kwargs = conn.recv()
            except EOFError:  # the parent is done with this worker
                return
            if callable(check):  # a task (Supervisor.run_task): check(backend, *args), its result sent back
                try:
                    with CLOCK.limit(self.timeout):
                        reply, exhausted = ("result", check(backend, *pickle.loads(sent))), False
                except BaseException as e:  # noqa: BLE001 - told to the parent, which reports it
                    reply, exhausted = ("raised", f"{type(e).__name__}: {e}"), _exhausted(e)
                conn.send((reply, exhausted))
                if exhausted:
                    return
                continue
            if sent != judged[0]:
                # a fused row judges one example by several properties in turn: they share one
                # exact evaluation here, as they do in the parent when unsupervised (suite.run_row)
                example = pickle.loads(sent)
                judged = (sent, example, functools.cache(lambda ex=example: Oracle(ex.comp, ex.values)))
            _, example, oracle = judged
            events.clear()
            exhausted = False
            try:
                with CLOCK.limit(self.timeout):
                    getattr(checks, check)(backend, example, oracle=oracle, **kwargs)
                reply = ("ok", list(events))
            except _Rejected:
                reply = ("reject", list(events))
            except Failure as f:
                r = f.report
                reply = ("failure", list(events), r.judgement, r.detail, r.vectors, r.example)
                exhausted = _exhausted(f)
            except BaseException as e:  # noqa: BLE001 - told to the parent, which reports it
                # memory exhausted anywhere in the worker: the code under test's doing (trigrad's own
                # work needs little), reported as its finding
                by_user = isinstance(e, (UserCodeError, ExampleTimeout)) or _exhausted(e)
                reply = ("raised", list(events), _portable(e), by_user,
                         f"{e}\n{getattr(e, 'trigrad_traceback', '')}".rstrip(),
                         "".join(traceback.format_exception(type(e), e, e.__traceback__)))
                exhausted = _exhausted(e)
            conn.send((reply, exhausted))
            if exhausted:  # its heap may be in any state: the next example gets a fresh worker
                return

    def alive(self) -> bool:
        return self.pid is not None and self.status(block=False) is None

    def status(self, block: bool):
        """None while the worker runs, else its wait status (and it is reaped)."""
        try:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            status, pid = 0, self.pid
        if pid == 0:
            return None
        self.pid = None
        self.conn.close()
        self.last_status = status
        if self.recipe is not None:  # reaped here: the Popen need not wait for it
            self.popen.returncode = os.waitstatus_to_exitcode(status)
        return status

    def kill(self, dump: bool):
        """Kill the worker (after a stack dump, if asked); its wait status."""
        if self.pid is None:
            return self.last_status
        if dump:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGUSR1)
            time.sleep(DUMP_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        return self.status(block=True)

    def stop(self):
        if self.pid is not None:
            self.conn.close()  # the worker sees EOF and exits
            with contextlib.suppress(ChildProcessError):
                deadline = time.monotonic() + 1.0
                while time.monotonic() < deadline and self.status(block=False) is None:
                    time.sleep(0.01)
            if self.pid is not None:
                self.kill(dump=False)
        if self.dump is not None:
            self.dump.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def stack(self) -> str:
        """The Python stack the worker's faulthandler dumped, if any, down to the worker's loop (the
        frames below it are the parent's, from before the fork)."""
        self.dump.flush()
        self.dump.seek(0)
        lines = []
        for line in self.dump.read().decode("utf-8", "replace").strip().splitlines():
            if line.strip().startswith("Extension modules:") or (" in _serve" in line and __file__ in line):
                break
            lines.append(line)
        return "\n".join(line for line in lines if line.strip()).strip()


def serve_spawned(fd: int):
    """The main of a spawned worker (``Worker._spawn``): connected by the socket ``fd``, it takes the
    parent's import path, makes the backend with its recipe, says whether it could, and serves."""
    conn = Connection(fd)
    die_with_parent()
    code = 0
    try:
        sys.path[:] = conn.recv()
        recipe, timeout, memory, folder = conn.recv()
        _trial_import.TRIALS = False  # what the recipe imports, the parent imported already
        try:
            backend = recipe()
        except BaseException as e:  # noqa: BLE001 - told to the parent, which reports it
            conn.send((False, f"{type(e).__name__}: {e}"))
            return
        conn.send((True, None))
        worker = Worker(backend, timeout, memory)
        worker.recipe, worker.folder = recipe, folder
        worker._open_folder()
        worker._serve(conn)
    except BaseException:  # noqa: BLE001 - the worker never returns into the interpreter's exit
        code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _exhausted(e: BaseException | None) -> bool:
    """Whether ``e``, or an exception it was raised from or while handling, is a MemoryError."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, MemoryError):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def _portable(e: BaseException):
    """``e`` if it survives pickling (so the parent raises the same exception), else None."""
    try:
        return pickle.loads(pickle.dumps(e))
    except Exception:  # noqa: BLE001 - any exception that cannot travel is described by text
        return None


def _vectors(kwargs: dict) -> dict:
    """The cotangent and tangents of a case, as a report shows them."""
    vectors = {}
    if "cotangent" in kwargs:
        vectors["cotangent"] = kwargs["cotangent"]
    vectors.update({f"tangent {n}": t for n, t in kwargs.get("tangents", {}).items()})
    return vectors


def user_failure(backend, prop, example, kwargs, e) -> Failure:
    """A Failure for the code under test raising or hanging where no check caught it (in a forward
    the numeric oracle differentiates, say)."""
    detail = f"{e}\n{getattr(e, 'trigrad_traceback', '')}".rstrip()
    return Failure(Report(prop, backend, example, None, detail, _vectors(kwargs)))


class WorkerLost(Exception):
    """A task's worker died, or a call in it hung (``Supervisor.run_task``); the message names the call."""


class Supervisor:
    """Runs checks of ``backend`` in a worker process (see the module's docstring); ``timeout`` is the
    time limit of one call of the code under test, ``memory`` what the worker may allocate, in bytes (default ``default_memory()``)."""

    def __init__(self, backend: Backend, *, timeout: float | None = DEFAULT_TIMEOUT, memory: int | None = None):
        self.backend, self.timeout = backend, timeout
        self.memory = default_memory() if memory is None else memory
        if not can_supervise(backend):
            raise ValueError(f"{backend.name} cannot be forked and has no recipe to make it again")
        recipe = None if forks_safely(backend) else backend.recipe
        self.worker = Worker(backend, timeout, self.memory or None, recipe)
        self.starts = 0  # workers started: one, plus one after each that died or was killed
        # the example last sent and its pickle: a fused row sends one example once per property
        # (holding it keeps its id from being reused by another)
        self.sent = (None, b"")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.worker.stop()

    def limit(self) -> float | None:
        """Seconds one call may run before the parent kills the worker."""
        if not self.timeout:
            return None
        return self.timeout + max(MIN_GRACE, GRACE_FRACTION * self.timeout)

    def run_check(self, parent: Backend, prop: str, check, example, kwargs: dict):
        """``check(backend, example, **kwargs)`` in the worker; its outcome as if run here (a
        Failure reported on ``parent``, the backend the rest of trigrad sees)."""
        if self.sent[0] is not example:
            self.sent = (example, pickle.dumps(example))
        reply = self._send((check.__name__, self.sent[1], kwargs))
        if isinstance(reply, tuple):
            return self._settle(parent, prop, example, kwargs, reply)
        why, cause = self._lost(reply)
        raise Failure(Report(prop, parent, example, None, why, _vectors(kwargs))) from cause

    def run_task(self, task, *args):
        """``task(backend, *args)`` in the worker (``task`` a module-level function, ``args`` what
        pickles); its result. WorkerLost when the worker died or a call hung, naming the call; what
        ``task`` raised (the code under test's exit included) is a RuntimeError with its text."""
        reply = self._send((task, pickle.dumps(args), {}))
        if isinstance(reply, tuple):
            kind, value = reply
            if kind == "raised":
                raise RuntimeError(value)
            return value
        raise WorkerLost(self._lost(reply)[0])

    def _send(self, message):
        """Send ``message`` to the worker (started if need be) and wait: its reply, or as ``_wait``."""
        w = self.worker
        if not w.alive():
            self.starts += 1
            w.start()
        try:
            w.conn.send(message)
            return self._wait()
        except (BrokenPipeError, EOFError, ConnectionResetError):
            return None
        except BaseException:  # Ctrl-C while the worker runs: its reply would answer the next message
            w.kill(dump=False)
            raise

    def _lost(self, reply) -> tuple[str, BaseException | None]:
        """Why the worker gave no reply (``_wait``'s None: it died; a label: that call hung), with the
        stack it dumped; and the exception to chain (ExampleTimeout for a hang)."""
        w = self.worker
        if reply is None:  # died
            began, label = w.watch.read()
            status = w.status(block=True) if w.pid is not None else w.last_status
            why = (f"{label or 'the check'} {describe_status(status)} in the supervised worker; "
                   f"{'it was running the code under test' if began else 'outside the code under test'}")
            cause = None
        else:  # stuck: reply is the label
            why = (f"{reply} did not return within {self.limit():g} s (time limit {self.timeout:g} s, "
                   f"not interruptible or the timeout was caught); the supervised worker was killed")
            cause = ExampleTimeout(why)
        stack = w.stack()
        return why + (f"\nits stack:\n{stack}" if stack else ""), cause

    def _wait(self):
        """The worker's reply; None when it died; the running call's label when it is stuck."""
        w, limit = self.worker, self.limit()
        while True:
            interruption_point()  # Ctrl-C noted while the worker runs (trigrad check): stop waiting
            if w.conn.poll(POLL_SECONDS):
                reply, retiring = w.conn.recv()
                if retiring:  # it exits after this reply: gone before the next example is sent
                    w.status(block=True)
                return reply
            began, label = w.watch.read()
            if limit is not None and began and time.monotonic() - began > limit:
                w.kill(dump=True)
                return label
            if w.status(block=False) is not None:
                return None

    def _settle(self, parent, prop, example, kwargs, reply):
        kind, events, *rest = reply
        with contextlib.suppress(InvalidArgument):  # outside a test (a report being minimized): no events
            for e in events:
                hypothesis.event(e)
        if kind == "ok":
            return
        if kind == "reject":
            hypothesis.reject()
        if kind == "failure":
            judgement, detail, vectors, worker_example = rest
            raise Failure(Report(prop, parent, worker_example, judgement, detail, vectors))
        exc, by_user, text, tb = rest
        if by_user:
            f = user_failure(parent, prop, example, kwargs, exc if exc is not None else UserCodeError(text))
            raise f from (exc if isinstance(exc, ExampleTimeout) else None)
        if isinstance(exc, Exception):  # trigrad's own error, or an adapter's Unsupported: as in process
            raise exc
        raise RuntimeError(f"the supervised worker's check raised:\n{tb}")


class Supervised(Backend):
    """``backend`` whose checks run in a supervised worker (``Supervisor``); everything else is the
    backend's own. Use as a context manager, or call ``close()``, to stop the worker."""

    def __init__(self, backend: Backend, *, timeout: float | None = DEFAULT_TIMEOUT, memory: int | None = None):
        self.inner = backend
        self.supervisor = Supervisor(backend, timeout=timeout, memory=memory)
        for attr in ("name", "version", "ops", "dtype", "complex_ops", "constant_args", "known_differences",
                     "preamble"):
            setattr(self, attr, getattr(backend, attr, getattr(Backend, attr)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.supervisor.close()

    def run_check(self, prop, check, example, kwargs, oracle=None):
        # the parent's oracle stays here: the worker evaluates its own, once per example (_serve)
        return self.supervisor.run_check(self, prop, check, example, kwargs)

    def run_task(self, task, *args):
        """``task(backend, *args)`` in the supervised worker (``Supervisor.run_task``)."""
        return self.supervisor.run_task(task, *args)

    def asarray(self, x):
        return self.inner.asarray(x)

    def tonumpy(self, v):
        return self.inner.tonumpy(v)

    def op(self, name):
        return self.inner.op(name)

    def vjp(self, fn, xs, cotangent):
        return self.inner.vjp(fn, xs, cotangent)

    def jvp(self, fn, xs, tangents):
        return self.inner.jvp(fn, xs, tangents)

    def hvp(self, fn, xs, cotangent, tangents):
        return self.inner.hvp(fn, xs, cotangent, tangents)

    def capable(self, what):
        return self.inner.capable(what)

    def supports(self, op):
        return self.inner.supports(op)

    def source(self, name):
        return self.inner.source(name)

    def leaf_source(self, array):
        return self.inner.leaf_source(array)

    def vjp_source(self, *args):
        return self.inner.vjp_source(*args)

    def hvp_source(self, *args):
        return self.inner.hvp_source(*args)

    def describe(self):
        return self.inner.describe()

    def __getattr__(self, attr):
        return getattr(self.__dict__["inner"], attr)


# What a run says of a process that died running code under test unsupervised (--in-process).
NO_EXAMPLE_IN_PROCESS = ("no example is known: the code under test ran in that process (--in-process); "
                         "without --in-process a crash of the code under test is a finding with its example")


def supervision_options(parser):
    """``--timeout``, ``--memory`` and ``--in-process`` on a command's ``parser`` (fuzz, check, accuracy)."""
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"seconds one call of the code under test may take before it counts as a hang "
                             f"(default {DEFAULT_TIMEOUT:g}, at most {MAX_TIMEOUT:g})")
    parser.add_argument("--memory", type=float, default=None, metavar="MB",
                        help="memory the code under test may allocate, in MB (default: half the machine's)")
    parser.add_argument("--in-process", action="store_true",
                        help="run the code under test in this process, not in a supervised worker (an exit, a "
                             "crash or a loop in C then stops the run instead of being a finding)")


def supervised(backend: Backend, args) -> Backend:
    """``backend`` as the command line asks (``supervision_options``): ``Supervised``, or itself with
    ``--in-process`` (or when it can be neither forked nor made again); UsageError for a bad time
    limit or memory."""
    timeout, memory = check_timeout(args.timeout, "--timeout"), memory_bytes(args.memory)
    if args.in_process or not can_supervise(backend):
        return backend
    return Supervised(backend, timeout=timeout, memory=memory)


def forks_safely(backend) -> bool:
    """Whether ``backend`` can run in a forked worker (``Backend.fork_safe``; True for an adapter
    that does not say)."""
    return getattr(backend, "fork_safe", True)


def can_supervise(backend) -> bool:
    """Whether ``backend`` can run in a supervised worker: forked, or spawned and made again from its
    ``recipe``."""
    return forks_safely(backend) or getattr(backend, "recipe", None) is not None


__all__ = ["Supervised", "Supervisor", "WorkerLost", "Worker", "user_failure", "describe_status", "die_with_parent", "default_memory",
           "memory_bytes", "supervision_options", "NO_EXAMPLE_IN_PROCESS", "supervised", "forks_safely", "can_supervise", "serve_spawned",
           "MIN_GRACE", "GRACE_FRACTION", "MEMORY_FRACTION"]
