"""One point to judge: a composition and the values of its inputs.

The strategies draw ``Example``s, the checks judge them, the structural pass makes failing ones
smaller and the reports print them; ``is_valid`` is the rule all of them share: every op of the
composition sees arguments inside its domain, away from kinks and poles by the spec's margins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trigrad.oracle import spec
from trigrad.oracle.ir import Composition, Const


@dataclass(frozen=True)
class Example:
    """A composition and the values of its inputs (float64 arrays): one point to judge."""

    comp: Composition
    values: dict = field(compare=False)

    def __repr__(self):
        vals = ", ".join(f"{k}={_short(v)}" for k, v in self.values.items())
        return f"Example({self.comp.formula()!r}, {vals})"


def _short(v):
    v = np.asarray(v)
    return repr(float(v)) if v.ndim == 0 else f"array({v.tolist()!r})"


def out_shape(op: spec.Op, shapes: list, params: dict) -> tuple | None:
    """The op's output shape for arguments of these shapes (params complete), or None when its shape
    rule rejects them or the output would be empty."""
    try:
        out = op.out_shape(shapes, params)
    except ValueError:
        return None
    return None if 0 in out else out


def op_value(op: spec.Op, arrays: list, params: dict, const: tuple):
    """op's float64 value at these arguments if they fit (shapes, domain with margins, a finite
    output below MAX_MAGNITUDE), else None."""
    full = spec.check_params(op, params)
    shape = out_shape(op, [np.shape(a) for a in arrays], full)
    if shape is None or not op.accepts(arrays, full, const):
        return None
    with np.errstate(all="ignore"):
        out = np.asarray(op.numpy(*arrays, **full), dtype=float)
    if out.shape != shape or not np.all(np.abs(out) < spec.MAX_MAGNITUDE):
        return None
    return out


def is_valid(example: Example) -> bool:
    """Whether every op of the example sees arguments inside its domain (what compositions() draws)."""
    comp = example.comp
    env = {k: np.asarray(v, dtype=float) for k, v in example.values.items()}
    for k, node in enumerate(comp.nodes):
        arrays = [np.asarray(a.value) if isinstance(a, Const) else env[a] for a in node.args]
        out = op_value(spec.get(node.op), arrays, node.params, tuple(isinstance(a, Const) for a in node.args))
        if out is None:
            return False
        env[f"n{k}"] = out
    return True


__all__ = ["Example", "is_valid", "op_value", "out_shape"]
