"""``trigrad check``: run the property suites against a backend and print the conformance table.

Rows: ops, plus a row of compositions mixing all of them; columns: properties; cells: pass, FAIL,
unsupported, n/a, or not reached; then the findings grouped by cause (``properties.findings``: the op
that is wrong, the cells it fails, whether its reproducer shows it in a fresh interpreter), then every
minimal counterexample. Exit status: 0 when nothing
failed, 1 when something did (a stale known difference included), 2 on bad usage. The backend runs
in a supervised worker (``fuzzing.supervise``): its exits, crashes and hangs are failures of the
example that was running.

Without --seconds every cell runs the Hypothesis profile's budget of examples (profile ``dev`` by
default, ``ci`` when the CI environment variable is set). With --seconds the rows run in rounds
of growing size until the time is spent, and no example starts after it (a run overruns by one
example at most); cells the time did not reach are counted in the summary, and make the exit status
1 under the ci profile or with --require-all (a gate that ran nothing must not pass). A row's
cells run as the pytest suites run them (``suite.run_row``): fused where they can be, so that each
drawn composition is judged by every selected property with one exact evaluation. Rows run in
parallel, in ``--jobs`` processes (default: one per core; ``properties.executor``), or as tasks on a
Dask cluster with ``--scheduler`` (``properties.cluster``); under the ci profile the results do not
depend on how many, nor where. A row whose process died (a crash that supervision did not catch) has
its cells in error, with how it died.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading
import time

from hypothesis import settings

from .. import evidence, findings, known, suite
from ..cluster import add_scheduler_option, make_executor, scheduler_address
from ..errors import UsageError
from ..executor import Died, clear_interrupt, default_jobs
from ..fuzzing.supervise import NO_EXAMPLE_IN_PROCESS, can_supervise, supervised, supervision_options
from ..minimize import Deadline
from .common import Progress, backend, fail_usage, load_profile, output_file, positive

FIRST_ROUND = 5  # examples per cell in the first round of a timed run; each round doubles it
PROGRESS_LINES = 25  # without a terminal, a progress line every this many cells


def add_parser(sub):
    """``trigrad check`` on the ``trigrad`` command's subparsers."""
    c = sub.add_parser("check", help="run the property suites against a backend and print the conformance table",
                       description="Run the property suites against a backend and print the conformance table.")
    c.add_argument("--backend", default=None, metavar="NAME",
                   help="builtin (default), torch, jax, dezero, or module:object for your own adapter")
    c.add_argument("--seconds", type=float, default=None, metavar="N", help="time budget (default: the profile's)")
    c.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    c.add_argument("--profile", default=None, metavar="NAME", help="Hypothesis profile: dev, ci or thorough")
    c.add_argument("--ops", default=None, metavar="OP,...", help="only these rows (op names, or 'all ops')")
    c.add_argument("--properties", default=None, metavar="NAME,...",
                   help=f"only these columns: {', '.join(suite.PROPERTIES)}")
    c.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help=f"rows run in parallel in N processes (default: the number of cores, here {default_jobs()})")
    add_scheduler_option(c)
    c.add_argument("--require-all", action="store_true",
                   help="fail (exit 1) when --seconds did not reach every cell (always so under the ci profile)")
    c.add_argument("--quiet", action="store_true", help="no progress line")
    c.add_argument("--no-reproduce", action="store_true",
                   help="do not run each finding's reproducer in a fresh interpreter")
    supervision_options(c)
    return c


def _selection(value, choices, what):
    if value is None:
        return list(choices)
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in choices]
    if unknown:
        raise UsageError(f"unknown {what} {', '.join(map(repr, unknown))}; expected some of: {', '.join(choices)}")
    return chosen


def command(args) -> int:
    """Run ``trigrad check``: 0 when nothing failed, 1 when something did, 2 on bad usage."""
    try:
        b = backend(args.backend)
        rows = _selection(args.ops, suite.rows(b), "op")
        props = _selection(args.properties, list(suite.PROPERTIES), "property")
        load_profile(args.profile)
        positive(args.seconds, "--seconds")
        positive(args.jobs, "--jobs")
        supervised(b, args)  # a bad --timeout or --memory is bad usage before anything runs
        output_file(args.json, "--json")
        scheduler = scheduler_address(args.scheduler)
    except UsageError as e:
        return fail_usage(e)

    profile = settings.get_current_profile_name()
    cells = {(p, r): suite.Cell(p, r, status=suite.status(b, p, r) or "not reached") for r in rows for p in props}
    start = time.perf_counter()
    progress = CellProgress(len(cells), quiet=args.quiet)
    try:
        pool = make_executor(scheduler, min(args.jobs or default_jobs(), len(rows)), _start_worker,
                             (args.backend, profile, (args.timeout, args.memory, args.in_process)))
    except UsageError as e:
        return fail_usage(e)
    if scheduler is not None and not args.quiet:
        print(f"trigrad check: rows run on {pool.describe()}", file=sys.stderr, flush=True)
    interrupted = False
    try:
        with _CtrlC(pool):
            if args.seconds is None:
                interrupted = _run_rows(pool, b, rows, props, cells, settings.default.max_examples, progress,
                                        in_process=args.in_process)
            else:
                deadline = Deadline(args.seconds)
                size = FIRST_ROUND
                while not deadline.passed and not interrupted:
                    todo = [r for r in rows if any(cells[(p, r)].status in ("not reached", "pass") for p in props)]
                    if not todo:
                        break
                    interrupted = _run_rows(pool, b, todo, props, cells, size, progress, deadline, args.in_process)
                    size *= 2
    except KeyboardInterrupt:  # between rows (one job), or a second Ctrl-C: what ran so far is reported
        interrupted = True
        pool.kill()
    finally:
        pool.close()
    progress.done()
    if "backend" in _WORKER:  # the rows ran in this process (one job): its supervised worker is done
        _WORKER.pop("backend").close()
    elapsed = time.perf_counter() - start

    entries = known.load(b)
    for c in cells.values():
        entry = known.covering(entries, c.prop, c.report) if c.status == "fail" else None
        if entry is not None:
            c.status, c.error = "known", f"known difference {entry}: {entry.reason}"
            known.keep_example(b, entry, c.report)  # the evidence a later run replays
    # what runs the backend's code after the rows (kept counterexamples, each node of a finding alone)
    # runs it as the rows did: in a supervised worker unless --in-process
    judge = supervised(b, args)
    stale, kept = [], []
    if not interrupted:  # an interrupted run has not run what would show an entry stale
        stale = known.stale(entries, {(c.prop, c.op): _outcome(c.status) for c in cells.values()}, suite.PROPERTIES)
        kept = [e for e in stale if evidence.still_fails(judge, e)]  # judged on evidence, not on this run's draws
        stale = [e for e in stale if e not in kept]

    print(f"trigrad check: {b.describe()}, profile {profile}, {elapsed:.1f} s")
    print(table(rows, props, cells))
    failed = [c for c in cells.values() if c.status in ("fail", "error")]
    examples = sum(c.examples for c in cells.values())
    not_reached = sum(c.status == "not reached" for c in cells.values())
    print(f"\n{examples} examples, {sum(c.status == 'pass' for c in cells.values())} cells passed, "
          f"{len(failed)} failed, {sum(c.status.startswith('unsupported') for c in cells.values())} unsupported, "
          f"{not_reached} not reached")
    incomplete = not_reached > 0 and (args.require_all or profile == "ci")
    if incomplete:
        within = f" in --seconds {args.seconds:g}" if args.seconds is not None else ""
        print(f"{not_reached} of {len(cells)} cells not reached{within}: "
              f"{'--require-all' if args.require_all else 'the ci profile'} needs every cell run (exit status 1)")
    if interrupted:
        print(f"interrupted (Ctrl-C): {not_reached} of {len(cells)} cells not reached; a failure that was being "
              f"shrunk is shown as far as it was shrunk (exit status {1 if failed else INTERRUPTED_STATUS})")
    try:
        found = findings.group(judge, [(c.prop, c.op, c.report) for c in failed if c.report],
                               verify_reproducers=not (args.no_reproduce or interrupted))
    finally:
        judge.close()
    if found:
        print(f"\n{len(found)} findings by cause:")
    for f in found:
        print(f.text())
    for c in failed:
        print(f"\n--- {c.prop} / {c.op}{f' ({c.error})' if c.error == suite.INTERRUPTED else ''} ---")
        print(c.report.text() if c.report else f"trigrad error: {c.error}")
    for c in cells.values():
        if c.status == "known":
            print(f"\n--- {c.prop} / {c.op}: {c.error} ---")
            print(c.report.text())
    for e in kept:
        print(f"\nknown difference {e}: its cells passed, but its kept counterexample "
              f"({known.examples_path(b)}) still fails: not stale")
    for e in stale:
        print(f"\nstale known difference: {e} (line {e.line} of {known.path_for(b)}) no longer fails")
    if args.json:
        data = {"backend": b.describe(), "profile": profile, "seconds": elapsed, "examples": examples,
                "properties": props, "rows": rows,
                "interrupted": interrupted,
                "stale_known_differences": [str(e) for e in stale],
                "findings": [f.to_json() for f in found],
                "cells": [{"property": c.prop, "op": c.op, "status": c.status, "examples": c.examples,
                           "seconds": c.seconds, "error": c.error or None,
                           "report": c.report.to_json() if c.report else None} for c in cells.values()]}
        with open(args.json, "w") as f:
            json.dump(data, f, indent=2)
    if interrupted and not failed:
        return INTERRUPTED_STATUS
    return 1 if failed or stale or incomplete else 0  # a stale entry fails the run, as it does in pytest


# The exit status of a run interrupted by Ctrl-C with nothing failed (the shell's, for SIGINT).
INTERRUPTED_STATUS = 130


class _CtrlC:
    """Ctrl-C (SIGINT) while the rows run: the first ends the run where it is, keeping what ran and a
    failure being shrunk as far as it was shrunk (``Executor.interrupt``: the running rows stop at
    their next example and return their cells); a second one stops at once. Only in the main thread (where Python delivers signals)."""

    def __init__(self, pool):
        self.pool, self.seen, self.before = pool, False, None

    def __enter__(self):
        clear_interrupt()
        if threading.current_thread() is threading.main_thread():
            self.before = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self.before is not None:
            signal.signal(signal.SIGINT, self.before)

    def _handle(self, signum, frame):
        if self.seen:
            raise KeyboardInterrupt
        self.seen = True
        self.pool.interrupt()


# The backend and profile of a worker process (set by _start_worker).
_WORKER: dict = {}


def _start_worker(backend_name, profile, supervision):
    """A job's backend, supervised as the command line asks (``supervision``: --timeout, --memory,
    --in-process)."""
    timeout, memory, in_process = supervision
    options = argparse.Namespace(timeout=timeout, memory=memory, in_process=in_process)
    if "backend" in _WORKER:  # a worker of a cluster, started again for another run: one checker at a time
        _WORKER.pop("backend").close()
    _WORKER["backend"] = supervised(backend(backend_name), options)
    load_profile(profile)


def _row_task(row, max_examples, state, deadline):
    """Run one row (``suite.run_row``) in a worker, from its cells' ``state`` (property -> status,
    examples, seconds); the cells, their reports without what does not cross processes (the
    backend, put back by the caller, and the recheck function, used up by minimizing)."""
    cells = {p: suite.Cell(p, row, status=st, examples=n, seconds=t) for p, (st, n, t) in state.items()}
    try:
        suite.run_row(_WORKER["backend"], row, list(state), max_examples=max_examples, cells=cells, deadline=deadline)
        interrupted = False
    except KeyboardInterrupt:  # Ctrl-C: the cells so far (a failure being shrunk, as far as it was)
        interrupted = True
    for c in cells.values():
        if c.report is not None:
            c.report = dataclasses.replace(c.report, backend=None, recheck=None)
    return cells, interrupted


def _run_rows(pool, b, rows, props, cells, max_examples, progress, deadline=None, in_process=False):
    """Run ``rows`` on the executor ``pool`` and record their cells as they finish (in a timed run,
    until the deadline passes)."""
    # a Deadline crosses to the worker processes as it is: perf_counter is the system's monotonic clock
    tasks = [(r, max_examples, {p: (cells[(p, r)].status, cells[(p, r)].examples, cells[(p, r)].seconds)
                                       for p in props if cells[(p, r)].status in ("not reached", "pass")}, deadline)
             for r in rows]
    unsupervised = "" if can_supervise(b) and not in_process else f"; {NO_EXAMPLE_IN_PROCESS}"
    interrupted = False
    for i, done in pool.map(_row_task, tasks, progress.message):
        if isinstance(done, Died):  # a crash no supervision caught (--in-process, or a worker of a cluster lost)
            done = {p: suite.Cell(p, rows[i], status="error",
                                  error=f"the process running row {rows[i]} {done.how}{unsupervised}")
                    for p in tasks[i][2]}
        else:
            done, stopped = done
            interrupted |= stopped
        for p, cell in done.items():
            if cell.report is not None:
                cell.report = dataclasses.replace(cell.report, backend=b)
            cells[(p, rows[i])] = cell
            progress.update(cell)
        if interrupted:
            pool.interrupt()  # the other rows end where they are (one job: none starts)
        elif deadline is not None and deadline.passed:
            break
    return interrupted


def _outcome(status: str) -> str:
    """A cell's status as known.stale reads it."""
    return status if status in ("pass", "known") else "fail" if status in ("fail", "error") else "skip"


def table(rows, props, cells) -> str:
    """The conformance table as text."""
    width = max(len(r) for r in rows) + 2
    cols = [max(len(p), 5) for p in props]
    out = [" " * width + " ".join(p.ljust(w) for p, w in zip(props, cols))]
    for r in rows:
        out.append(r.ljust(width) + " ".join(suite.mark(cells[(p, r)].status).ljust(w) for p, w in zip(props, cols)))
    return "\n".join(out)


class CellProgress:
    """Progress of a check: cells done, examples, examples per second, failures. A line per
    PROGRESS_LINES cells run in a log (a timed run runs each cell once per round)."""

    def __init__(self, total: int, *, quiet: bool):
        self.total = total
        self.cells, self.start = {}, time.perf_counter()
        self.printer = Progress(quiet=quiet, every=PROGRESS_LINES)

    def update(self, cell: suite.Cell):
        """``cell`` has run (again)."""
        self.cells[(cell.prop, cell.op)] = cell  # a timed run revisits every cell each round
        self.printer.show(lambda: self._line(cell))

    def message(self, message):
        """What a running row says (``suite.fused_test``): ("shrinking", property, op) when it found a
        failure and shrinks it (a line of its own: shrinking can take a while)."""
        if message[0] == "shrinking":
            self.printer.show(lambda: f"{message[1]} / {message[2]}: found a failure, shrinking it", force=True)

    def _line(self, cell) -> str:
        examples = sum(c.examples for c in self.cells.values())
        failing = sum(c.status in ("fail", "error") for c in self.cells.values())
        seconds = time.perf_counter() - self.start
        return (f"{len(self.cells)}/{self.total} cells, {examples} examples ({examples / max(seconds, 1e-9):.0f}/s), "
                f"{failing} failing, {seconds:.0f} s  [{cell.prop} / {cell.op}]")

    def done(self):
        """End the line on a terminal."""
        self.printer.done()


__all__ = ["add_parser", "command", "table", "CellProgress", "FIRST_ROUND", "PROGRESS_LINES"]
