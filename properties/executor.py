"""Where independent pieces of work run: in this process, or in a pool of local processes (``--jobs``).

``trigrad check`` runs rows of the conformance table and ``trigrad accuracy`` runs sweeps; each piece
depends on nothing but its own arguments, so the results are the same whatever runs them and in
whatever order they finish (under a derandomized profile, the same examples are drawn). The commands
see only the small ``Executor`` interface: ``map`` takes a function and its argument tuples and yields
``(index, result)`` as pieces finish. Two implementations: ``InProcess`` (one job) and ``Pool``
(Python's ``ProcessPoolExecutor``; trigrad writes no process pool of its own), so that a distributed
engine can be put behind the same interface.

The pool starts its workers with ``spawn`` (never ``fork``: torch and JAX run threads that a fork
would copy half-way) and runs ``initializer(*initargs)`` in each: the place to load a Hypothesis
profile or resolve a backend by name. Functions and arguments must be picklable, so they are
module-level functions of plain data.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Iterable, Iterator, Protocol


def default_jobs() -> int:
    """The number of cores this process may run on (``--jobs``' default)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return os.cpu_count() or 1


class Executor(Protocol):
    """Runs ``fn(*args)`` for each tuple of ``items``; yields ``(index, result)`` as each finishes."""

    def map(self, fn: Callable, items: Iterable[tuple]) -> Iterator[tuple[int, object]]: ...

    def close(self): ...


class InProcess:
    """One job: each piece in this process, in order."""

    def __init__(self, initializer: Callable | None = None, initargs: tuple = ()):
        if initializer is not None:
            initializer(*initargs)

    def map(self, fn, items):
        for i, args in enumerate(items):
            yield i, fn(*args)

    def close(self):
        pass


class Pool:
    """``jobs`` worker processes (``ProcessPoolExecutor``, spawned); results as they finish."""

    def __init__(self, jobs: int, initializer: Callable | None = None, initargs: tuple = ()):
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=initializer, initargs=initargs)

    def map(self, fn, items):
        futures = {self._pool.submit(fn, *args): i for i, args in enumerate(items)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in sorted(done, key=futures.get):
                yield futures[f], f.result()

    def close(self):
        self._pool.shutdown(cancel_futures=True)


def executor(jobs: int | None, initializer: Callable | None = None, initargs: tuple = ()) -> Executor:
    """An Executor for ``jobs`` parallel jobs (None: ``default_jobs()``); one job runs in this process."""
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1:
        return InProcess(initializer, initargs)
    return Pool(jobs, initializer, initargs)


__all__ = ["Executor", "InProcess", "Pool", "executor", "default_jobs"]
