"""The ``trigrad`` command.

    trigrad check [--backend NAME] [--seconds N] [--json FILE] [--profile NAME]
                  [--ops OP,...] [--properties NAME,...]
    trigrad fuzz MODULE:NAME (--sympy EXPR | --like OP) [--domain VAR=LO:HI ...] [--backend NAME]
                 [--seconds N | --max-examples N] [--seed N] [--workers N] [--database URL]

Runs the property suites against a backend and prints a conformance table (rows: ops, plus a row
of compositions mixing all of them; columns: properties; cells: pass, FAIL, unsupported, n/a, or
not reached) followed by every minimal counterexample. Exit status: 0 when nothing failed, 1 when
something did, 2 on bad usage (with a one-line message).

    trigrad accuracy [--backend NAME ...] [--op OP ...] [--range LO:HI] [--points N] [--json FILE] [--plot DIR]
    trigrad report --from FILE... --html OUT.html

``accuracy`` measures derivatives in ULPs against exact across each op's domain
(``properties.accuracy``); ``report`` builds one HTML page from the JSON of both
(``properties.html_report``).

Without --seconds every cell runs the Hypothesis profile's budget of examples (profile ``dev`` by
default, ``ci`` when the CI environment variable is set). With --seconds the cells run in rounds
of growing size until the time is spent; cells the time did not reach are reported as such.

``trigrad fuzz`` is described in ``properties/fuzzing.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from hypothesis import settings
from hypothesis.errors import InvalidArgument

from . import accuracy, fuzzing, html_report, known, profiles, suite
from .backends import BackendError, resolve
from .minimize import Deadline

FIRST_ROUND = 5  # examples per cell in the first round of a timed run; each round doubles it
PROGRESS_LINES = 25  # without a terminal, a progress line every this many cells
COMMANDS = {"accuracy": accuracy.command, "report": html_report.command, "fuzz": fuzzing.command}
STATUS_MARK = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "not reached": "-", "known": "known"}


class UsageError(Exception):
    """Bad usage: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but bad usage is one line (and exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser():
    p = _Parser(prog="trigrad", description="Check autograd gradients three ways.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
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
    c.add_argument("--quiet", action="store_true", help="no progress line")
    fuzzing.add_parser(sub)
    accuracy.add_parser(sub)
    html_report.add_parser(sub)
    return p


def _fail_usage(message: str):
    print(f"trigrad: error: {message}", file=sys.stderr)
    return 2


def _selection(value, known, what):
    if value is None:
        return list(known)
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise UsageError(f"unknown {what} {', '.join(map(repr, unknown))}; expected some of: {', '.join(known)}")
    return chosen


def check(args) -> int:
    try:
        backend = resolve(args.backend)
        rows = _selection(args.ops, suite.rows(backend), "op")
        props = _selection(args.properties, list(suite.PROPERTIES), "property")
        if args.profile:
            settings.load_profile(args.profile)
        else:
            profiles.load_default()
        if args.seconds is not None and not args.seconds > 0:
            raise UsageError(f"--seconds must be positive, got {args.seconds}")
    except (BackendError, UsageError) as e:
        return _fail_usage(str(e))
    except InvalidArgument as e:  # an unknown profile
        return _fail_usage(str(e))

    profile = settings._current_profile
    cells = {(p, r): suite.Cell(p, r) for r in rows for p in props}
    start = time.perf_counter()
    progress = _Progress(len(cells), quiet=args.quiet)
    if args.seconds is None:
        for cell in cells.values():
            suite.run_cell(backend, cell.prop, cell.op, max_examples=settings.default.max_examples, cell=cell)
            progress.update(cell)
    else:
        deadline = Deadline(args.seconds)
        size = FIRST_ROUND
        while not deadline.passed:
            todo = [c for c in cells.values() if c.status in ("not reached", "pass")]
            if not todo:
                break
            for cell in todo:
                if deadline.passed:
                    break
                suite.run_cell(backend, cell.prop, cell.op, max_examples=size, cell=cell)
                progress.update(cell)
            size *= 2
    progress.done()
    elapsed = time.perf_counter() - start

    entries = known.load(backend)
    for c in cells.values():
        entry = known.covering(entries, c.prop, c.report) if c.status == "fail" else None
        if entry is not None:
            c.status, c.error = "known", f"known difference {entry}: {entry.reason}"
    stale = known.stale(entries, {(c.prop, c.op): _outcome(c.status) for c in cells.values()}, suite.PROPERTIES)

    print(f"trigrad check: {backend.describe()}, profile {profile}, {elapsed:.1f} s")
    print(table(rows, props, cells))
    failed = [c for c in cells.values() if c.status in ("fail", "error")]
    examples = sum(c.examples for c in cells.values())
    print(f"\n{examples} examples, {sum(c.status == 'pass' for c in cells.values())} cells passed, "
          f"{len(failed)} failed, {sum(c.status.startswith('unsupported') for c in cells.values())} unsupported, "
          f"{sum(c.status == 'not reached' for c in cells.values())} not reached")
    for c in failed:
        print(f"\n--- {c.prop} / {c.op} ---")
        print(c.report.text() if c.report else f"trigrad error: {c.error}")
    for c in cells.values():
        if c.status == "known":
            print(f"\n--- {c.prop} / {c.op}: {c.error} ---")
            print(c.report.text())
    for e in stale:
        print(f"\nstale known difference: {e} (line {e.line} of {known.path_for(backend)}) no longer fails")
    if args.json:
        data = {"backend": backend.describe(), "profile": profile, "seconds": elapsed, "examples": examples,
                "properties": props, "rows": rows,
                "stale_known_differences": [str(e) for e in stale],
                "cells": [{"property": c.prop, "op": c.op, "status": c.status, "examples": c.examples,
                           "seconds": c.seconds, "error": c.error or None,
                           "report": c.report.to_json() if c.report else None} for c in cells.values()]}
        with open(args.json, "w") as f:
            json.dump(data, f, indent=2)
    return 1 if failed or stale else 0  # a stale entry fails the run, as it does in pytest


def _outcome(status: str) -> str:
    """A cell's status as known.stale reads it."""
    return status if status in ("pass", "known") else "fail" if status in ("fail", "error") else "skip"


def table(rows, props, cells) -> str:
    """The conformance table as text."""
    width = max(len(r) for r in rows) + 2
    cols = [max(len(p), 5) for p in props]
    out = [" " * width + " ".join(p.ljust(w) for p, w in zip(props, cols))]
    for r in rows:
        marks = []
        for p, w in zip(props, cols):
            s = cells[(p, r)].status
            mark = STATUS_MARK.get(s) or ("unsup" if s.startswith("unsupported") else "n/a" if s.startswith("n/a") else s)
            marks.append(mark.ljust(w))
        out.append(r.ljust(width) + " ".join(marks))
    return "\n".join(out)


class _Progress:
    """Progress on stderr: cells done, examples, examples per second, failures. Rewritten in place on
    a terminal; in a log, one line per PROGRESS_LINES cells run (a timed run runs each cell once per
    round)."""

    def __init__(self, total, quiet):
        self.total, self.quiet = total, quiet
        self.cells, self.start, self.updates = {}, time.perf_counter(), 0
        self.tty = sys.stderr.isatty()

    def update(self, cell):
        self.cells[(cell.prop, cell.op)] = cell
        self.updates += 1  # not len(self.cells): a timed run revisits every cell each round
        if self.quiet or not (self.tty or self.updates % PROGRESS_LINES == 0):
            return
        examples = sum(c.examples for c in self.cells.values())
        failing = sum(c.status in ("fail", "error") for c in self.cells.values())
        seconds = time.perf_counter() - self.start
        line = (f"{len(self.cells)}/{self.total} cells, {examples} examples ({examples / max(seconds, 1e-9):.0f}/s), "
                f"{failing} failing, {seconds:.0f} s  [{cell.prop} / {cell.op}]")
        print(f"\r{line:<100}" if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def done(self):
        if self.tty and not self.quiet:
            print(file=sys.stderr)


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args)
    if args.command in COMMANDS:
        return COMMANDS[args.command](args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
