"""Compiled local-derivative programs kept on disk, so that each is compiled once per machine, not once
per process.

Compiling an op's exact derivatives (sympy differentiation, then ``lambdify``) costs milliseconds to
seconds per (op, params, shapes, constants) and was a third of the CPU time of ``trigrad check``: every
process compiled the same programs again (the parallel jobs of one run, the supervised workers, each
pytest-xdist worker, every later run). A program is Python source text plus the indices it returns,
so it is kept as JSON under

    $TRIGRAD_CACHE, else $XDG_CACHE_HOME/trigrad/programs, else ~/.cache/trigrad/programs

(``TRIGRAD_CACHE=none`` turns it off). Each file is named by a digest of the program's key and of
``fingerprint()``: the source of the modules that decide what a program is (the spec table with its
twins, the oracle that differentiates them, the IR that applies them) and the versions of sympy and
mpmath. Any change to those is a new fingerprint, so a stale program is never read; old files are
left behind (delete the folder to reclaim them). Only the built-in ops are kept: a function being
fuzzed (``spec.registered``) is compiled in each process. A file that cannot be read or does not
match is ignored and rewritten; a folder that cannot be written is not an error.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os

import mpmath
import sympy

FORMAT = "trigrad.program/1"
OFF = ("", "none", "off", "0")


def folder() -> str | None:
    """Where programs are kept, or None when the cache is off."""
    explicit = os.environ.get("TRIGRAD_CACHE")
    if explicit is not None:
        return None if explicit.strip().lower() in OFF else explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "trigrad", "programs")


@functools.lru_cache(maxsize=1)
def fingerprint() -> str:
    """A digest of everything that decides a compiled program's text."""
    here = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256(f"{FORMAT} sympy {sympy.__version__} mpmath {mpmath.__version__}".encode())
    for name in ("spec.py", "symbolic.py", "ir.py", "program_cache.py"):
        with open(os.path.join(here, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def _path(key: tuple) -> str | None:
    where = folder()
    if where is None:
        return None
    digest = hashlib.sha256(f"{fingerprint()}\n{key!r}".encode()).hexdigest()[:40]
    return os.path.join(where, f"{digest}.json")


def load(key: tuple) -> dict | None:
    """The record kept for ``key`` (as ``store`` wrote it), or None."""
    path = _path(key)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("key") != repr(key) \
            or record.get("fingerprint") != fingerprint():
        return None
    return record


def store(key: tuple, record: dict) -> bool:
    """Keep ``record`` (JSON-able) for ``key``, in one step (a temporary file renamed over the name, so
    that processes writing the same program at once leave one whole file); False when not written."""
    path = _path(key)
    if path is None:
        return False
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError:
        return False
    return write_json(path, dict(record, format=FORMAT, key=repr(key), fingerprint=fingerprint()))


def write_json(path: str, data, **dump) -> bool:
    """Write ``data`` as JSON to ``path`` in one step: a temporary file renamed over it, so that two
    processes writing at once leave one whole file; False when it cannot be written (``dump``: options
    for ``json.dump``)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, **dump)
            f.write("\n")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True


__all__ = ["folder", "fingerprint", "load", "store", "write_json"]
