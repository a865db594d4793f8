"""Known differences: failures a backend is known to have, each explained, in the style of
array-api-tests' xfails files.

One file per backend, ``properties/known/<backend>.txt`` (or the adapter's ``known_differences``
path). One entry per line::

    hvp[pow]   # reason, and an upstream issue where there is one (https://github.com/...)
    kink[max]  # ...
    softmax    # every property of the op

An entry names a property and an op (or just an op, for all properties). A failure is known when its
property matches and its minimal counterexample involves the entry's op, whichever row of the table
found it (a bug in pow can surface in the mixed row, or in a row whose op the shrinking removed).
An entry whose own cell passes is stale: pytest fails it and ``trigrad check`` lists it, so the file
stays honest.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from oracle import spec

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known")
_ENTRY = re.compile(r"^(?:(?P<prop>\w+)\[(?P<op>\w+)\]|(?P<only>\w+))\s*(?:#\s*(?P<reason>.*))?$")


@dataclass(frozen=True)
class Entry:
    prop: str | None  # None: every property
    op: str
    reason: str
    line: int

    def __str__(self):
        return f"{self.prop}[{self.op}]" if self.prop else self.op


def path_for(backend) -> str:
    explicit = getattr(backend, "known_differences", None)
    if explicit:
        return explicit
    return os.path.join(HERE, backend.name.split("[")[0] + ".txt")


def load(backend) -> list[Entry]:
    """The backend's known differences (none when it has no file)."""
    path = path_for(backend)
    if not os.path.exists(path):
        return []
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
            entries.append(Entry(prop, op, m["reason"].strip(), n))
    return entries


def covering(entries: list[Entry], prop: str, report) -> Entry | None:
    """The entry that explains a failure of ``prop`` with this report, if any."""
    ops = {n.op for n in report.example.comp.nodes} if report is not None else set()
    for e in entries:
        if (e.prop in (None, prop)) and e.op in ops:
            return e
    return None


def own_cell(entries: list[Entry], prop: str, row: str) -> Entry | None:
    """The entry that says cell (prop, row) itself fails (for stale detection)."""
    for e in entries:
        if e.op == row and e.prop in (None, prop):
            return e
    return None
