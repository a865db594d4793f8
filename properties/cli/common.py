"""What the subcommands share: one-line usage errors (exit status 2), the backend and profile named on
the command line, output paths checked before a run, and one progress line on stderr."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from hypothesis import settings
from hypothesis.errors import InvalidArgument

from .. import profiles
from ..backends import Backend, BackendError, resolve
from ..errors import UsageError
from ..paths import writable_file, writable_folder

USAGE = 2  # exit status on bad usage
PROGRESS_WIDTH = 100  # a progress line is padded to this width, so that a shorter one hides a longer


class Parser(argparse.ArgumentParser):
    """argparse, but bad usage is one line (and exit status 2)."""

    def error(self, message):
        self.exit(USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def fail_usage(error: Exception | str, command: str = "trigrad") -> int:
    """Print a usage error as one line on stderr; the exit status for it."""
    print(f"{command}: error: {error}", file=sys.stderr)
    return USAGE


def backend(name: str | None) -> Backend:
    """The backend a command line names (default: $TRIGRAD_BACKEND, else builtin); a name that cannot
    be resolved is a UsageError."""
    try:
        return resolve(name)
    except BackendError as e:
        raise UsageError(str(e)) from None


def load_profile(name: str | None):
    """Load the Hypothesis profile ``name`` (default: ci under CI, else dev); an unknown name is a
    UsageError."""
    if not name:
        profiles.load_default()
        return
    try:
        settings.load_profile(name)
    except InvalidArgument as e:
        raise UsageError(str(e)) from None


def positive(value: float | None, option: str):
    """A UsageError unless ``value`` (when given) is positive."""
    if value is not None and not value > 0:
        raise UsageError(f"{option} must be positive, got {value}")


def output_file(path: str | None, option: str):
    """A UsageError unless the file ``path`` (when given) can be written (``paths.writable_file``)."""
    if path is not None:
        writable_file(path, option)


def output_folder(path: str | None, option: str):
    """A UsageError unless files can be written in the folder ``path`` (when given; it is made when
    the files are written: ``paths.writable_folder``)."""
    if path is not None:
        writable_folder(path, option)


class Progress:
    """One status line on stderr: rewritten in place on a terminal; in a log (not a terminal), every
    ``every``-th line only, each on its own line. Silent when ``quiet``."""

    def __init__(self, *, quiet: bool = False, every: int = 1):
        self.quiet, self.every = quiet, every
        self.tty = sys.stderr.isatty()
        self.lines = 0

    def show(self, line: str | Callable[[], str], *, force: bool = False):
        """Show ``line`` (or what the callable returns, computed only when it is shown); ``force``: in
        a log too, whatever ``every`` says."""
        self.lines += 1
        if self.quiet or not (self.tty or force or self.lines % self.every == 0):
            return
        text = line() if callable(line) else line
        print(f"\r{text:<{PROGRESS_WIDTH}}" if self.tty else text, end="" if self.tty else "\n", file=sys.stderr,
              flush=True)

    def done(self):
        """End the line on a terminal."""
        if self.tty and not self.quiet:
            print(file=sys.stderr)


__all__ = ["Parser", "UsageError", "fail_usage", "backend", "load_profile", "positive", "output_file", "output_folder",
           "Progress", "USAGE"]
