"""``trigrad adapter-template``: the source of a new adapter, ready to run and to fill in
(``properties.adapter_template``).

    trigrad adapter-template NAME > my_adapter.py
    trigrad adapter-template --ops-table
"""

from __future__ import annotations

from .. import adapter_template
from .common import fail_usage


def add_parser(sub):
    """``trigrad adapter-template`` on the ``trigrad`` command's subparsers."""
    a = sub.add_parser("adapter-template", help="print a new adapter (one row per spec op) to start from",
                       description="Print the source of a new adapter class: it runs as printed (against "
                                   "trigrad's own core) and has one row per spec op to fill in for your "
                                   "library.")
    a.add_argument("name", nargs="?", metavar="NAME", help="the adapter's class name, e.g. MyLib")
    a.add_argument("--ops-table", action="store_true",
                   help="print the spec ops with their params instead (the README's table)")
    return a


def command(args) -> int:
    """Run ``trigrad adapter-template``: 0 when printed, 2 on bad usage."""
    if args.ops_table:
        print(adapter_template.ops_table())
        return 0
    if not args.name:
        return fail_usage(ValueError("give the adapter's class name (trigrad adapter-template MyLib), or --ops-table"))
    try:
        print(adapter_template.template(args.name), end="")
    except ValueError as e:
        return fail_usage(e)
    return 0
