"""Known differences: failures a backend is known to have, each explained, in the style of
array-api-tests' xfails files.

One file per backend, ``properties/known/<backend>.txt`` (or the adapter's ``known_differences``
path). One entry per line::

    hvp[pow]   # reason, and an upstream issue where there is one (https://github.com/...)
    kink[max]  # ...
    softmax    # every property of the op
    softplus @float64  # only at that precision (an error float32 cannot see)

An entry names a property and an op (or just an op, for all properties). A failure is known when its
property matches and its minimal counterexample involves the entry's op, whichever row of the table
found it (a bug in pow can surface in the mixed row, or in a row whose op the shrinking removed).
So that one known bug does not mask the rest of the table, the property's other cells (and the
``all ops`` row) leave the entry's op out of their compositions; its own cell keeps drawing it and
must keep failing. An entry whose cells pass is stale (see ``stale``): ``trigrad check`` lists it
and pytest reports it, both failing the run, so the file stays honest. A bug that shows only at rare
inputs can pass a run whose draws missed them, so ``trigrad check`` and the pytest plugin keep the first
counterexample of each entry beside an adapter's own file (``keep_example``, ``<name>.examples.json``;
the built-in backends' ship with trigrad) and, before they call an entry stale, replay the kept ones
(``properties.evidence``): still failing means not stale.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass

import numpy as np

from trigrad.oracle import spec
from trigrad.oracle.program_cache import write_json

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known")
_ENTRY = re.compile(r"^(?:(?P<prop>\w+)\[(?P<op>\w+)\]|(?P<only>\w+))(?:\s*@(?P<dtype>\w+))?\s*(?:#\s*(?P<reason>.*))?$")


_DTYPES = ("float64", "float32", "float16", "bfloat16")


@dataclass(frozen=True)
class Entry:
    prop: str | None  # None: every property
    op: str
    reason: str
    line: int
    dtype: str | None = None  # None: every precision

    def __str__(self):
        name = f"{self.prop}[{self.op}]" if self.prop else self.op
        return f"{name}@{self.dtype}" if self.dtype else name


def path_for(backend) -> str:
    explicit = getattr(backend, "known_differences", None)
    if explicit:
        return explicit
    return os.path.join(HERE, backend.name.split("[")[0] + ".txt")


def load(backend) -> list[Entry]:
    """The backend's known differences at its precision (none when it has no file)."""
    return load_path(path_for(backend), dtype_name(backend))


def dtype_name(backend) -> str:
    return str(getattr(np.dtype(getattr(backend, "dtype", np.float64)), "name", "float64"))


def load_path(path: str, dtype: str | None = None) -> list[Entry]:
    """The entries of a known-differences file (none when there is no file); with ``dtype``, only
    those that apply at that precision."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return []
    return [e for e in _parse(path, stat.st_mtime_ns, stat.st_size) if dtype is None or e.dtype in (None, dtype)]


@functools.lru_cache(maxsize=64)
def _parse(path: str, mtime_ns: int, size: int) -> tuple[Entry, ...]:
    """The entries of ``path``, parsed once per version of the file (every drawn example asks)."""
    entries = []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = _ENTRY.match(line)
            if not m:
                raise ValueError(f"{path}:{n}: expected 'property[op]  # reason' or 'op  # reason', got {line!r}")
            prop, op = (m["prop"], m["op"]) if m["prop"] else (None, m["only"])
            if op not in spec.OPS:
                raise ValueError(f"{path}:{n}: unknown op {op!r}")
            if not m["reason"]:
                raise ValueError(f"{path}:{n}: every known difference needs a reason after '#'")
            if m["dtype"] and m["dtype"] not in _DTYPES:
                raise ValueError(f"{path}:{n}: unknown precision @{m['dtype']}; expected one of {', '.join(_DTYPES)}")
            entries.append(Entry(prop, op, m["reason"].strip(), n, m["dtype"]))
    return tuple(entries)


def covering(entries: list[Entry], prop: str, report) -> Entry | None:
    """The entry that explains a failure of ``prop`` with this report, if any."""
    ops = {n.op for n in report.example.comp.nodes} if report is not None else set()
    for e in entries:
        if (e.prop in (None, prop)) and e.op in ops:
            return e
    return None


def masked_ops(entries: list[Entry], prop: str, row: str) -> set[str]:
    """The ops that cell (prop, row) leaves out of its compositions: known to fail ``prop``
    elsewhere, so that they do not hide what the cell is about."""
    return {e.op for e in entries if e.prop in (None, prop) and e.op != row}


def own_cell(entries: list[Entry], prop: str, row: str) -> Entry | None:
    """The entry that says cell (prop, row) itself fails."""
    for e in entries:
        if e.op == row and e.prop in (None, prop):
            return e
    return None


def examples_path(backend) -> str:
    """Where the counterexamples of the backend's entries are kept: beside its known-differences file,
    ``<name>.examples.json``."""
    return os.path.splitext(path_for(backend))[0] + ".examples.json"


def read_examples(path: str) -> dict:
    """The kept counterexamples in ``path`` (entry name -> list of report JSON); {} when there are none
    or the file cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_examples(path: str, data: dict) -> bool:
    """Write kept counterexamples to ``path`` in one step (a temporary file renamed over it, so that two
    processes writing at once leave one whole file); False when it cannot be written."""
    return write_json(path, data, indent=1, sort_keys=True)


def example_json(report) -> dict:
    """What is kept of a failure's report: its property, formula, composition, inputs and vectors."""
    j = report.to_json()
    return {k: j[k] for k in ("property", "formula", "composition", "inputs", "vectors")}


def stored_examples(backend, entry: Entry) -> list[dict]:
    """The counterexamples kept for ``entry`` (report JSON: property, composition, inputs, vectors)."""
    found = read_examples(examples_path(backend)).get(str(entry), [])
    return [d for d in found if isinstance(d, dict)] if isinstance(found, list) else []


def keep_example(backend, entry: Entry, report) -> bool:
    """Keep ``report``'s counterexample as the evidence for ``entry`` when it has none yet (so that
    staleness is judged on it: ``trigrad check`` and the pytest plugin replay it before they call the
    entry stale, ``properties.evidence``). Only beside an adapter's own file (its
    ``known_differences``): the files that ship with trigrad are not written by a run (their examples
    are kept in the repository, written by ``python -m trigrad.properties.evidence``). False when
    nothing was written."""
    if not getattr(backend, "known_differences", None):
        return False
    path = examples_path(backend)
    data = read_examples(path)
    if data.get(str(entry)):
        return False
    data[str(entry)] = [example_json(report)]
    return write_examples(path, data)


def stale(entries: list[Entry], outcomes: dict, properties) -> list[Entry]:
    """The entries that no longer fail, from the ``outcomes`` of the cells that ran: (property,
    op) -> "pass", "known", "fail" or "skip" (not run: unsupported or n/a).

    ``property[op]`` is stale when its cell passed. A whole-op entry is stale when its row ran under
    every one of ``properties`` and none of them failed; when only part of the row ran (a selection
    of properties) it is not judged, since the failing property may be one that did not run.
    """
    out = []
    for e in entries:
        if e.prop is not None:
            if outcomes.get((e.prop, e.op)) == "pass":
                out.append(e)
            continue
        row = [outcomes.get((p, e.op)) for p in properties]
        if None not in row and "pass" in row and not {"known", "fail"} & set(row):
            out.append(e)
    return out
