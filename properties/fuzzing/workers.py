"""Campaigns as shards: one campaign per seed SEED, SEED + 1, ..., sharing one example database; the
first finding stops the others (unless ``keep_going``).

The shards are pieces of an ``Executor`` (``properties.executor``): in this process (one shard), in
local processes (``--workers N``) or on a Dask cluster (``--scheduler``, ``properties.cluster``),
one code path. A shard receives a ``Job`` (what to fuzz, named as on the command line, and the budget),
loads the target itself and sends its progress and outcome back as plain data. Each campaign runs its
checks supervised (``fuzzing.supervise``), so the code under test cannot kill a worker; a worker that
dies all the same (its module exits as it is imported, say) is an error of the run, never "no
finding". Local workers die with the parent: the kernel kills them when it dies (``die_with_parent``).
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass
from typing import Callable

from trigrad.oracle import spec

from ..backends import Backend, resolve
from ..errors import UsageError
from ..executor import Died, Executor, report, stop_requested
from .campaign import Outcome, open_database, progress_line, run
from .sandbox import DEFAULT_TIMEOUT
from .supervise import NO_EXAMPLE_IN_PROCESS
from .target import FuzzBackend, Target, load_target


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
                   memory=self.memory, recipe=functools.partial(fuzzed_again, self))


_REGISTERED = contextlib.ExitStack()  # the fuzzed ops of a spawned worker, in the table for its life


def fuzzed_again(job: Job) -> FuzzBackend:
    """The fuzzed backend of ``job``, made in a fresh interpreter (a spawned supervised worker, for a
    backend that cannot be forked), with the fuzzed function's ops in the table."""
    base = resolve(job.backend)
    target = job.load(base)
    for op in target.ops:
        _REGISTERED.enter_context(spec.registered(op))
    return FuzzBackend(base, target)


def outcome_data(outcome: Outcome) -> dict:
    """A campaign's outcome as plain data (what a worker process sends back)."""
    return {"examples": outcome.examples, "seconds": outcome.seconds, "by_property": outcome.by_property,
            "combined_with": sorted(outcome.combined_with), "seed": outcome.seed, "report": outcome.text or None,
            "report_json": outcome.json}


def _nothing_found(seed: int, examples: int, seconds: float, **extra) -> dict:
    """The outcome of a worker that was stopped (or died) before it found anything."""
    return {"examples": examples, "seconds": seconds, "by_property": {}, "combined_with": [], "seed": seed,
            "report": None, "report_json": None, **extra}


class _ShardStopped(BaseException):
    """The executor was asked to stop (another shard found something): the campaign ends at its next
    example (a BaseException, so that Hypothesis does not take it for a failure)."""


def shard(job: Job, seed: int) -> dict:
    """One shard of a campaign (an executor's piece: in this process, a pool process or on a Dask
    worker): the campaign with its own seed, its progress sent with ``executor.report``; its outcome
    as ``outcome_data``, or with ``usage`` (the job itself is wrong) or ``error`` (the run failed)."""
    counted = {"examples": 0, "seconds": 0.0}

    def progress(o: Outcome):
        counted.update(examples=o.examples, seconds=o.seconds)
        report((seed, o.examples, sorted(o.combined_with), o.found_after is not None))
        if stop_requested():
            raise _ShardStopped()

    try:
        base = resolve(job.backend)
        target = job.load(base)
        return outcome_data(job.run(target, base, seed, open_database(job.database), progress))
    except _ShardStopped:
        return _nothing_found(seed, counted["examples"], counted["seconds"])
    except UsageError as e:
        return _nothing_found(seed, 0, 0.0, usage=str(e))
    except Exception as e:  # noqa: BLE001 - told to the command, which reports it
        return _nothing_found(seed, counted["examples"], counted["seconds"],
                              error=f"worker with seed {seed} failed: {type(e).__name__}: {e}")


def run_shards(job: Job, pool: Executor, seeds: list[int], show: Callable[[str], None], *,
               keep_going: bool = False) -> list[dict]:
    """The shards with ``seeds`` on the executor ``pool``; the first finding stops the others unless
    ``keep_going``. Their outcomes as ``outcome_data`` (a shard whose process died or that failed has
    an ``error``); ``show`` gets the combined progress line. UsageError when a shard found the job
    itself wrong."""
    start = time.perf_counter()
    counts, combined, done, found = {s: 0 for s in seeds}, set(), {}, set()

    def progress(message):
        s, examples, ops, failed = message
        counts[s] = examples
        combined.update(ops)
        if failed:
            found.add(s)
        show(progress_line(sum(counts.values()), time.perf_counter() - start, len(combined), len(seeds), bool(found)))

    for i, result in pool.map(shard, [(job, s) for s in seeds], progress):
        s = seeds[i]
        if isinstance(result, Died):
            unsupervised = "" if job.supervised else f"; {NO_EXAMPLE_IN_PROCESS}"
            result = _nothing_found(s, counts[s], time.perf_counter() - start,
                                    error=f"worker with seed {s} {result.how} after {counts[s]} examples{unsupervised}")
        elif result.get("usage"):
            raise UsageError(result["usage"] if len(seeds) == 1 else f"worker with seed {s}: {result['usage']}")
        done[s] = result
        if result["report"] and not keep_going:  # found: the others stop
            pool.stop()
    return [done.get(s) or _nothing_found(s, counts[s], time.perf_counter() - start) for s in seeds]


__all__ = ["Job", "run_shards", "shard", "outcome_data"]
