"""``trigrad matrix``: the op x library conformance table from one check run per library.

    trigrad matrix --backend A --backend B ... [--from CHECK.json ...] [--json M.json] [--html M.html]
                   [--markdown M.md] [--seconds N] [--profile NAME] [--ops OP,...] [--properties NAME,...] [--no-reproduce]
                   [--scheduler ADDRESS]

Each ``--backend`` is run as ``trigrad check`` runs it (the same options, findings grouped by cause and
their reproducers run); ``--from`` adds check runs already written by ``trigrad check --json``. A
library that cannot be loaded (not installed) is reported and left out. The table (``properties.matrix``)
has one cell per op and library: pass, FAIL with the failing properties, known, unsup, or - (not
reached); then each library's findings by cause. Exit status: 0 when nothing failed, 1 when something
did, 2 on bad usage (or when no library could be run). With ``--scheduler`` each library's rows are
tasks on that Dask cluster (``properties.cluster``), one library after another.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile

from .. import html_report, matrix
from ..cluster import add_scheduler_option
from ..errors import UsageError
from . import check
from .common import USAGE, Parser, fail_usage

# The options passed through to each library's check run.
CHECK_OPTIONS = ("seconds", "profile", "ops", "properties", "scheduler")


def add_parser(sub):
    """``trigrad matrix`` on the ``trigrad`` command's subparsers."""
    m = sub.add_parser("matrix", help="the op x library table from a check run per library",
                       description="Run trigrad check for each library and print the op x library table.")
    m.add_argument("--backend", action="append", default=[], metavar="NAME",
                   help="a library to check (repeat for each): builtin, torch, jax, dezero or module:object")
    m.add_argument("--from", dest="sources", nargs="+", default=[], metavar="FILE",
                   help="check runs already made (trigrad check --json)")
    m.add_argument("--json", default=None, metavar="FILE", help="write the matrix and every check run as JSON")
    m.add_argument("--html", default=None, metavar="FILE", help="write the matrix and the report as one HTML page")
    m.add_argument("--markdown", default=None, metavar="FILE", help="write the matrix as a Markdown page")
    m.add_argument("--seconds", type=float, default=None, metavar="N", help="time budget per library (default: the profile's)")
    m.add_argument("--profile", default=None, metavar="NAME", help="Hypothesis profile: dev, ci or thorough")
    m.add_argument("--ops", default=None, metavar="OP,...", help="only these rows (op names, or 'all ops')")
    m.add_argument("--properties", default=None, metavar="NAME,...", help="only these properties")
    m.add_argument("--no-reproduce", action="store_true",
                   help="do not run each finding's reproducer in a fresh interpreter")
    add_scheduler_option(m)
    return m


def _check_args(name: str, args, json_path: str):
    """The arguments of ``trigrad check`` for library ``name`` (check's own parser, so that every
    option it has gets its default)."""
    p = Parser(prog="trigrad")
    check.add_parser(p.add_subparsers(dest="command", parser_class=Parser))
    argv = ["check", "--backend", name, "--json", json_path, "--quiet"]
    for option in CHECK_OPTIONS:
        value = getattr(args, option)
        if value is not None:
            argv += [f"--{option}", str(value)]
    if args.no_reproduce:
        argv.append("--no-reproduce")
    return p.parse_args(argv)


def run_check(name: str, args) -> tuple[dict | None, str]:
    """Run ``trigrad check`` for one library: (its JSON document, or None when the library could not
    be run, and the check's first line or its error)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "check.json")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = check.command(_check_args(name, args, path))
        if status == USAGE or not os.path.exists(path):
            return None, (err.getvalue().strip() or out.getvalue().strip()).replace("trigrad: error: ", "")
        with open(path) as f:
            return json.load(f), out.getvalue().split("\n")[0]


def command(args) -> int:
    """Run ``trigrad matrix``: 0 when nothing failed, 1 when something did, 2 on bad usage."""
    if not args.backend and not args.sources:
        return fail_usage("name at least one library (--backend NAME) or check run (--from FILE)")
    try:
        docs, runs = html_report.load(args.sources) if args.sources else ([], [])
    except UsageError as e:
        return fail_usage(e)
    if runs:
        return fail_usage("--from takes the JSON of trigrad check runs, not of trigrad accuracy")
    for name in args.backend:
        doc, line = run_check(name, args)
        if doc is None:
            print(f"trigrad matrix: {name} left out: {line}", file=sys.stderr)
            continue
        print(line)
        docs.append(doc)
    if not docs:
        return fail_usage("no library could be run")
    m = matrix.build(docs)
    print()
    print(matrix.text(m))
    found = matrix.findings_text(m)
    if found:
        print("\nfindings by cause:")
        print(found)
    try:
        if args.json:
            with open(args.json, "w") as f:
                json.dump({**m, "checks": docs}, f, indent=2)
        if args.html:
            with open(args.html, "w") as f:
                f.write(html_report.render(docs, []))
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(matrix.markdown(m, docs))
    except OSError as e:
        return fail_usage(f"cannot write {e.filename}: {e.strerror}")
    failed = any(c["status"] in ("fail", "error") for d in docs for c in d["cells"])
    stale = any(d.get("stale_known_differences") for d in docs)
    return 1 if failed or stale else 0


__all__ = ["add_parser", "command", "run_check"]
