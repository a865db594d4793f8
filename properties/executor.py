"""Where independent pieces of work run: in this process, in a pool of local processes (``--jobs``,
``--workers``), or on a Dask cluster (``--scheduler``, ``properties.cluster``).

``trigrad check`` runs rows of the conformance table, ``trigrad accuracy`` sweeps and ``trigrad fuzz``
shards (campaigns with seeds SEED, SEED + 1, ...); each piece depends on nothing but its own
arguments, so the results are the same whatever runs them and in whatever order they finish (under a
derandomized profile, the same examples are drawn). The commands see only the small ``Executor``
interface: ``map`` takes a function and its argument tuples and yields ``(index, result)`` as pieces
finish; what a piece sends with ``report`` while it runs goes to ``map``'s ``progress`` handler; after
``stop`` pieces not yet started are dropped and running ones see ``stop_requested()`` (a fuzz shard
looks at it between examples); ``interrupt`` (Ctrl-C) also has the running pieces raise KeyboardInterrupt
at their next ``interruption_point`` (a check's row then returns its cells so far). A piece whose process died (a crash the supervised worker did not
catch, a module that exits as it is imported) yields a ``Died`` with how it died instead of a result.
Three implementations: ``InProcess`` (one job), ``Pool`` (Python's ``ProcessPoolExecutor``) and
``properties.cluster.Dask`` (Dask's distributed scheduler): trigrad writes no process pool and no
scheduler of its own.

The pool starts its workers with ``spawn`` (never ``fork``: torch and JAX run threads that a fork
would copy half-way) and runs ``initializer(*initargs)`` in each: the place to load a Hypothesis
profile or resolve a backend by name. Its workers die with the parent (``die_with_parent``).
Functions and arguments must be picklable, so they are module-level functions of plain data.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Protocol

from .backends._trial_import import die_with_parent
from .piece import (Channel, clear_interrupt, interruption_point, note_interrupt, report,  # noqa: F401 - re-exported
                    stop_requested, use_channel)
from . import piece as _piece

POLL_SECONDS = 0.2  # how often map passes on the pieces' progress while none finishes
REAP_SECONDS = 5.0  # how long a pool waits to learn the exit code of a process that died


def default_jobs() -> int:
    """The number of cores this process may run on (``--jobs``' default)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Died:
    """The result of a piece whose process died while it ran: ``how`` says how (``"exited with status
    5"``, ``"was killed by SIGKILL"``, ``"killed its worker 4 times"``)."""

    how: str


class Executor(Protocol):
    """Runs ``fn(*args)`` for each tuple of ``items``; yields ``(index, result)`` as each finishes (a
    ``Died`` for a piece whose process died); passes what pieces ``report`` to ``progress``."""

    def map(self, fn: Callable, items: Iterable[tuple], progress: Callable | None = None) -> Iterator[tuple[int, object]]: ...

    def stop(self): ...

    def interrupt(self): ...

    def close(self): ...

    def kill(self): ...


class _Direct:
    """The channel of a piece run in this process."""

    def __init__(self, progress: Callable | None):
        self.progress, self.stop = progress, False

    def send(self, message):
        if self.progress is not None:
            self.progress(message)

    def stopped(self) -> bool:
        return self.stop


class InProcess:
    """One job: each piece in this process, in order."""

    def __init__(self, initializer: Callable | None = None, initargs: tuple = ()):
        if initializer is not None:
            initializer(*initargs)
        self._channel = _Direct(None)

    def map(self, fn, items, progress=None):
        self._channel.progress = progress
        use_channel(self._channel)
        try:
            for i, args in enumerate(items):
                if self._channel.stop:
                    return
                yield i, fn(*args)
        finally:
            use_channel(None)

    def stop(self):
        self._channel.stop = True

    def interrupt(self):
        """Ctrl-C: no piece starts after this one, which stops at its next ``interruption_point``."""
        self.stop()
        note_interrupt()

    def close(self):
        pass

    def kill(self):
        pass


class _Queued:
    """The channel of a piece in a pool process: a queue to the parent and an event it sets."""

    def __init__(self, messages, stop):
        self.messages, self.stop = messages, stop

    def send(self, message):
        self.messages.put(("report", message))

    def stopped(self) -> bool:
        return self.stop.is_set()


class _KeepingContext(multiprocessing.context.SpawnContext):
    """The spawn context, keeping the processes it makes, so that a pool can say how one died."""

    def __init__(self):
        super().__init__()
        self.made = []

    def Process(self, *args, **kwargs):  # noqa: N802 - the name ProcessPoolExecutor calls
        p = multiprocessing.context.SpawnProcess(*args, **kwargs)
        self.made.append(p)
        return p


def _pool_start(parent, messages, stop, initializer, initargs):
    die_with_parent()
    if os.getppid() != parent:  # the parent died while this process started
        os._exit(1)
    use_channel(_Queued(messages, stop))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # between pieces a Ctrl-C would kill the process
    if initializer is not None:
        initializer(*initargs)


def _pool_piece(i, fn, args):
    _piece._CHANNEL.messages.put(("started", i, os.getpid()))
    clear_interrupt()
    signal.signal(signal.SIGINT, note_interrupt)
    try:
        return fn(*args)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def how_it_ended(exitcode: int | None) -> str:
    """A process's exit code in words."""
    if exitcode is None:
        return "died"
    if exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    return f"exited with status {exitcode}"


class Pool:
    """``jobs`` worker processes (``ProcessPoolExecutor``, spawned); results as they finish."""

    def __init__(self, jobs: int, initializer: Callable | None = None, initargs: tuple = ()):
        self._context = _KeepingContext()
        # a SimpleQueue writes at once (a Queue's thread would lose what a dying process last put)
        self._messages, self._stop = self._context.SimpleQueue(), self._context.Event()
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=self._context, initializer=_pool_start,
                                         initargs=(os.getpid(), self._messages, self._stop, initializer, initargs))
        self._futures = set()

    def map(self, fn, items, progress=None):
        futures = {self._pool.submit(_pool_piece, i, fn, args): i for i, args in enumerate(items)}
        self._futures |= set(futures)
        pids, pending = {}, set(futures)
        while pending:
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            self._pass_on(pids, progress)
            for f in sorted(done, key=futures.get):
                if f.cancelled():
                    continue
                try:
                    result = f.result()
                except BrokenProcessPool:
                    self._pass_on(pids, progress)
                    result = Died(self._how(pids.get(futures[f])))
                yield futures[f], result

    def _pass_on(self, pids, progress):
        while not self._messages.empty():
            kind, *rest = self._messages.get()
            if kind == "started":
                pids[rest[0]] = rest[1]
            elif progress is not None:
                progress(rest[0])

    def _how(self, pid) -> str:
        for p in self._context.made:
            if p.pid == pid:
                # the pool's own thread may be reaping it: its exit code appears once that is done
                deadline = time.monotonic() + REAP_SECONDS
                while p.exitcode is None and time.monotonic() < deadline:
                    time.sleep(0.01)
                return how_it_ended(p.exitcode)
        return "never started: a process of the pool died"

    def stop(self):
        self._stop.set()
        for f in self._futures:
            f.cancel()

    def interrupt(self):
        """Ctrl-C: pieces not started are dropped, running ones get SIGINT and stop at their next
        ``interruption_point`` (from a terminal they have it already)."""
        self.stop()
        for p in self._context.made:
            if p.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGINT)

    def close(self):
        """Stop, and wait for the running pieces (a fuzz shard ends at its next example)."""
        self.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._messages.close()

    def kill(self):
        """End every worker process now (on an error or a signal in the parent)."""
        for p in self._context.made:
            if p.is_alive():
                p.kill()
        self.close()


def executor(jobs: int | None, initializer: Callable | None = None, initargs: tuple = ()) -> Executor:
    """An Executor for ``jobs`` parallel jobs (None: ``default_jobs()``); one job runs in this process."""
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1:
        return InProcess(initializer, initargs)
    return Pool(jobs, initializer, initargs)


__all__ = ["Executor", "InProcess", "Pool", "Died", "executor", "default_jobs", "report", "stop_requested",
           "use_channel", "how_it_ended", "note_interrupt", "interruption_point", "clear_interrupt"]
