"""Paths a person names for trigrad to write (``--json``, ``--html``, ``--plot``, ``--database``),
checked before a run so that a run's results are never lost at its end for want of a place to go."""

from __future__ import annotations

import os
import tempfile

from .errors import UsageError


def writable_file(path: str, what: str):
    """A UsageError unless the file ``path`` can be written. It is opened for appending (nothing in
    it changes) and removed again if it did not exist."""
    if path == "" or os.path.isdir(path):
        raise UsageError(f"{what} needs a file name, not the folder {path or '.'!r}")
    existed = os.path.lexists(path)
    try:
        with open(path, "a"):
            pass
    except OSError as e:
        raise UsageError(f"cannot write {what} {path}: {e.strerror}") from None
    if not existed:
        os.remove(path)


def writable_folder(path: str, what: str):
    """A UsageError unless files can be made in the folder ``path``, or, when it does not exist yet,
    in the nearest folder above it (where it will be made)."""
    if path.strip() == "":
        raise UsageError(f"{what} needs a folder name, not {path!r}")
    existing = os.path.abspath(path)
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f"{what} {path} is not a folder" if existing == os.path.abspath(path) else
                         f"cannot make {what} {path}: {existing} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise UsageError(f"cannot write in {what} {path}: {e.strerror} ({existing})") from None


__all__ = ["writable_file", "writable_folder"]
