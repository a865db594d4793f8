"""``trigrad report``: one self-contained HTML page from the JSON of ``trigrad check`` and
``trigrad accuracy`` runs (``properties.html_report``).

    trigrad report --from FILE... --html OUT.html
"""

from __future__ import annotations

import math
import sys

from .. import html_report
from ..errors import UsageError
from ..plots import has_matplotlib
from .common import fail_usage, output_file

KIB = 1024


def add_parser(sub):
    """``trigrad report`` on the ``trigrad`` command's subparsers."""
    r = sub.add_parser("report", help="one self-contained HTML page from the JSON of check and accuracy runs",
                       description="Build one self-contained HTML page from the JSON of trigrad check and "
                                   "trigrad accuracy runs.")
    r.add_argument("--from", dest="sources", nargs="+", required=True, metavar="FILE",
                   help="JSON files written by trigrad check --json and trigrad accuracy --json")
    r.add_argument("--html", required=True, metavar="OUT.html", help="the page to write")
    return r


def command(args) -> int:
    """Run ``trigrad report``: 0 when the page was written, 2 on bad usage."""
    try:
        output_file(args.html, "--html")
        checks, runs = html_report.load(args.sources)
    except UsageError as e:
        return fail_usage(e)
    page = html_report.render(checks, runs, sources=args.sources)
    try:
        with open(args.html, "w") as f:
            f.write(page)
    except OSError as e:
        return fail_usage(f"cannot write {args.html}: {e.strerror}")
    if not has_matplotlib():
        print("trigrad report: no plots (pip install 'trigrad[plot]' for them)", file=sys.stderr)
    print(f"trigrad report: {args.html} ({len(checks)} check runs, {len(runs)} accuracy runs, "
          f"{math.ceil(len(page) / KIB)} KiB)")
    return 0


__all__ = ["add_parser", "command"]
