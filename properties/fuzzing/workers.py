"""Campaigns in several processes: one campaign per process, with seeds SEED, SEED + 1, ..., sharing
one example database; the first finding stops the others.

A worker process receives a ``Job`` (what to fuzz, named as on the command line, and the budget),
loads the target itself and sends its progress and outcome back as plain data. Each campaign runs its
checks supervised (``fuzzing.supervise``), so the code under test cannot kill a worker; a worker that
dies all the same (its module exits as it is imported, say) is an error of the run, never "no
finding". Workers die with the parent: the kernel kills them when it dies (``die_with_parent``), and
SIGTERM or SIGINT to the parent stops them before it exits.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue as queues
import signal
import time
from dataclasses import dataclass
from typing import Callable

from ..backends import Backend, resolve
from ..errors import UsageError
from .campaign import Outcome, open_database, progress_line, run
from .sandbox import DEFAULT_TIMEOUT
from .supervise import die_with_parent
from .target import Target, load_target

POLL_SECONDS = 1.0  # how often the parent looks for workers that died without a word
JOIN_SECONDS = 5.0  # how long the parent waits for each worker to exit at the end


@dataclass(frozen=True)
class Job:
    """One campaign, in the terms of the command line (picklable, so that a worker process can load
    the target itself): ``target`` is ``MODULE:NAME`` or ``path/to/file.py:NAME``; ``database`` a URL
    for ``open_database``."""

    target: str
    backend: str | None = None
    sympy: str | None = None
    like: str | None = None
    domain: tuple = ()
    twin: str | None = None  # an array twin (--twin)
    shape: tuple = ()  # its fixed shapes (--shape)
    params: tuple = ()  # the target's own parameters, (name, value) pairs
    ulps: float | None = None
    max_examples: int | None = None
    seconds: float | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    database: str | None = None
    supervised: bool = True
    memory: int | None = None  # the supervised worker's memory in bytes (None: supervise's default)

    def load(self, base: Backend | None = None) -> Target:
        """The target on ``base`` (default: the backend the job names)."""
        base = resolve(self.backend) if base is None else base
        return load_target(self.target, base, sympy=self.sympy, like=self.like, twin=self.twin, domain=list(self.domain),
                           shape=list(self.shape),
                           ulps=self.ulps, params=dict(self.params))

    def run(self, target: Target, base: Backend, seed: int, database, progress: Callable | None) -> Outcome:
        """The campaign with the job's budget and time limit."""
        return run(target, base, max_examples=self.max_examples, seconds=self.seconds, seed=seed,
                   database=database, timeout=self.timeout, progress=progress, supervised=self.supervised,
                   memory=self.memory)


def outcome_data(outcome: Outcome) -> dict:
    """A campaign's outcome as plain data (what a worker process sends back)."""
    return {"examples": outcome.examples, "seconds": outcome.seconds, "by_property": outcome.by_property,
            "combined_with": sorted(outcome.combined_with), "seed": outcome.seed, "report": outcome.text or None,
            "report_json": outcome.json}


def _nothing_found(seed: int, examples: int, seconds: float, **extra) -> dict:
    """The outcome of a worker that was stopped (or died) before it found anything."""
    return {"examples": examples, "seconds": seconds, "by_property": {}, "combined_with": [], "seed": seed,
            "report": None, "report_json": None, **extra}


def _worker(job: Job, seed: int, results):
    """One worker process: the campaign with its own seed; progress and outcome on ``results``."""
    die_with_parent()
    try:
        base = resolve(job.backend)
        target = job.load(base)
        outcome = job.run(target, base, seed, open_database(job.database),
                          lambda o: results.put(("progress", seed, o.examples, sorted(o.combined_with))))
        results.put(("done", seed, outcome_data(outcome)))
    except BaseException as e:  # noqa: BLE001 - told to the parent, which reports it
        results.put(("error", seed, f"{type(e).__name__}: {e}", isinstance(e, UsageError)))


class _Stopped(BaseException):
    """SIGTERM to the parent: the workers are stopped before it exits."""


def _stop(signum, frame):
    raise _Stopped(signum)


def run_workers(job: Job, workers: int, seed: int, show: Callable[[str], None]) -> list[dict]:
    """``workers`` processes with seeds seed, seed + 1, ...; the first finding stops the others.
    Their outcomes as ``outcome_data`` (a worker that died or failed has an ``error``); ``show`` gets
    the combined progress line. UsageError when a worker found the job itself wrong."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    seeds = [seed + k for k in range(workers)]
    procs = {s: ctx.Process(target=_worker, args=(job, s, results), daemon=True) for s in seeds}
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        for p in procs.values():
            p.start()
        return _collect(procs, results, workers, show)
    except _Stopped:
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        for p in procs.values():  # stopped, finished or failed: none outlives the run
            if p.is_alive():
                p.kill()
            with contextlib.suppress(AssertionError):  # never started
                p.join(timeout=JOIN_SECONDS)
        results.close()


def _collect(procs: dict, results, workers: int, show: Callable[[str], None]) -> list[dict]:
    """The workers' outcomes, as they come (see ``run_workers``)."""
    seeds = list(procs)
    start = time.perf_counter()
    counts, combined, done, suspects = {s: 0 for s in seeds}, set(), {}, set()
    while len(done) < len(procs):
        try:
            kind, s, *rest = results.get(timeout=POLL_SECONDS)
        except queues.Empty:
            # dead at two polls in a row: its last words, if any, would have arrived in between
            dead = {s for s, p in procs.items() if s not in done and not p.is_alive()}
            suspects, dead = dead, dead & suspects
            for s in dead:
                code = procs[s].exitcode
                how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
                done[s] = _nothing_found(s, counts[s], time.perf_counter() - start,
                                         error=f"worker with seed {s} {how} after {counts[s]} examples")
            continue
        if kind == "progress":
            counts[s], _ = rest[0], combined.update(rest[1])
            show(progress_line(sum(counts.values()), time.perf_counter() - start, len(combined), workers))
        elif kind == "error":
            text, usage = rest
            if usage:
                raise UsageError(f"worker with seed {s}: {text}")
            done[s] = _nothing_found(s, counts[s], time.perf_counter() - start,
                                     error=f"worker with seed {s} failed: {text}")
        else:
            done[s] = rest[0]
            if done[s]["report"]:  # found: the others stop
                for other, p in procs.items():
                    if other not in done:
                        p.terminate()
                        done[other] = _nothing_found(other, counts[other], time.perf_counter() - start)
    return list(done.values())


__all__ = ["Job", "run_workers", "outcome_data"]
