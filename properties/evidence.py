"""Known differences judged on evidence: the counterexample kept for an entry (``known.keep_example``,
``<name>.examples.json`` beside the known-differences file) is replayed before the entry is called
stale, so that a bug that shows only at rare inputs is not declared fixed by a run whose draws missed
them. ``trigrad check`` and the pytest plugin both ask ``still_fails``.

The files that ship with trigrad (``properties/known/<backend>.examples.json``) are written by

    python -m trigrad.properties.evidence BACKEND [BACKEND ...]   # e.g. torch torch[float32]

which runs each entry's cells of each named backend (at its precision) until one fails and keeps that
counterexample; entries that already have one are left as they are.
"""

from __future__ import annotations

import sys

import numpy as np

from trigrad.oracle.ir import Composition, values_from_json

from . import known, suite
from .example import Example

GATHER_EXAMPLES = 300  # examples per cell when looking for an entry's counterexample


def still_fails(backend, entry: known.Entry) -> bool:
    """Whether a counterexample kept for ``entry`` still fails on ``backend`` (False when none is kept,
    or none that this version can read)."""
    for d in known.stored_examples(backend, entry):
        try:
            example = Example(Composition.from_json(d["composition"]), values_from_json(d["inputs"]))
            vectors = {k: np.asarray(v, dtype=float) for k, v in d.get("vectors", {}).items()}
            prop = d["property"]
        except (KeyError, TypeError, ValueError):
            continue  # not a counterexample this version can read: no evidence
        if prop not in suite.PROPERTIES:
            continue
        kwargs = {k: v for k, v in vectors.items() if k == "cotangent"}
        tangents = {k.split(" ", 1)[1]: v for k, v in vectors.items() if k.startswith("tangent ")}
        if tangents:
            kwargs["tangents"] = tangents
        if suite.replay(backend, prop, example, kwargs) is not None:
            return True
    return False


def gather(backend, *, max_examples: int = GATHER_EXAMPLES, out=sys.stdout) -> dict:
    """A counterexample for each of ``backend``'s entries at its precision that has none kept yet:
    entry name -> [counterexample] (as ``known.keep_example`` keeps them)."""
    found = {}
    for entry in known.load(backend):
        if known.stored_examples(backend, entry):
            continue
        props = [entry.prop] if entry.prop else list(suite.PROPERTIES)
        for prop in props:
            cell = suite.run_cell(backend, prop, entry.op, max_examples=max_examples)
            if cell.status == "fail" and cell.report is not None and known.covering([entry], prop, cell.report):
                found[str(entry)] = [known.example_json(cell.report)]
                break
        print(f"{backend.name}: {entry}: {'kept ' + found[str(entry)][0]['formula'] if str(entry) in found else 'no counterexample found'}",
              file=out, flush=True)
    return found


def main(names) -> int:
    """Gather the counterexamples of each named backend into its ``<name>.examples.json``."""
    from .backends import resolve

    for name in names:
        backend = resolve(name)
        found = gather(backend)
        path = known.examples_path(backend)
        data = known.read_examples(path)
        data.update(found)
        known.write_examples(path, data)
        print(f"{name}: {len(found)} counterexamples added to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


__all__ = ["still_fails", "gather", "main", "GATHER_EXAMPLES"]
