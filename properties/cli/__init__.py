"""The ``trigrad`` command.

    trigrad check [--backend NAME] [--seconds N] [--require-all] [--json FILE] [--profile NAME]
                  [--ops OP,...] [--properties NAME,...]
    trigrad fuzz MODULE:NAME (--sympy EXPR | --like OP) [--domain VAR=LO:HI ...] [--backend NAME]
                 [--seconds N | --max-examples N] [--seed N] [--workers N] [--database URL]
    trigrad accuracy [--backend NAME ...] [--op OP ...] [--range LO:HI] [--points N] [--json FILE] [--plot DIR]
    trigrad report --from FILE... --html OUT.html
    trigrad matrix --backend NAME [--backend NAME ...] [--from FILE...] [--json FILE] [--html FILE]
    trigrad adapter-template NAME | --ops-table

One module per subcommand (``check``, ``fuzz``, ``accuracy``, ``report``, ``matrix``, ``adapter_template``), each with ``add_parser``
and ``command``; what they share is in ``common``. The tools they run (``properties.suite``,
``properties.fuzzing``, ``properties.accuracy``, ``properties.html_report``) never import the
command. Exit status: 0 on success, 1 when something failed or was found, 2 on bad usage (with a
one-line message).
"""

from __future__ import annotations

from . import accuracy, adapter_template, check, fuzz, matrix, report
from .common import USAGE, Parser

COMMANDS = {"check": check, "fuzz": fuzz, "accuracy": accuracy, "report": report, "matrix": matrix,
            "adapter-template": adapter_template}  # in the order of --help


def parser() -> Parser:
    """The command line parser, with a subparser per command."""
    p = Parser(prog="trigrad", description="Check autograd gradients three ways.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return p


def main(argv=None) -> int:
    """Run the ``trigrad`` command with ``argv`` (default: the process's arguments); its exit status."""
    p = parser()
    args = p.parse_args(argv)
    if args.command in COMMANDS:
        return COMMANDS[args.command].command(args)
    p.print_help()
    return USAGE


__all__ = ["main", "parser", "COMMANDS"]
