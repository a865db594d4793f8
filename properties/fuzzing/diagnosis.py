"""How far off a finding is, in words a user acts on.

Beside the relative error a finding states its error in ULPs of the backend's float format (the
unit ``--ulps`` counts in), and whether it looks like a *wrong rule* or *lost accuracy*: the minimal
composition is checked again at ORDINARY_POINTS random arguments of its domain. A rule that is
wrong is off at most of them (a wrong sign, a missing term, a factor 1 + 1e-7); a rule that is right
but evaluated by a formula that loses digits ((x - sin(x))' as 1 - cos(x) near 0) is off only near
where it cancels, and right at ordinary arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigrad.oracle import spec
from trigrad.oracle.ir import Const

from ..example import Example, is_valid
from ..report import Report

ORDINARY_POINTS = 12  # random arguments at which a finding is checked again
DRAW_TRIES = 10  # draws per point that may fall outside the domain before it is given up
# At least this fraction of the ordinary points failing reads as a wrong rule; none or a few as lost
# accuracy near the counterexample.
WRONG_RULE_FRACTION = 0.5
# Properties whose failures are numbers off (the others: purity, determinism, shapes, crashes).
NUMERIC = ("value", "vjp", "vjp_numeric", "jvp", "adjoint", "hvp", "fanout", "kink")


@dataclass
class Diagnosis:
    """A finding's error in ULPs and relative terms, and what the recheck at ordinary points says."""

    ulps: float | None  # |autograd - exact| in ULPs of the format at exact (None: exact is 0 or unknown)
    relative: float | None
    allowed_ulps: float | None  # the function's rounding allowance (--ulps; None: per node of an array twin)
    dtype: str
    failing: int  # ordinary points where the check fails again
    tried: int

    @property
    def kind(self) -> str:
        if self.tried and self.failing >= WRONG_RULE_FRACTION * self.tried:
            return "wrong rule"
        return "lost accuracy" if self.tried else "undecided"

    def lines(self) -> list[tuple[str, str]]:
        rows = []
        if self.ulps is not None:
            allowed = "" if self.allowed_ulps is None else f"; the function is allowed {self.allowed_ulps:g} ulps (--ulps)"
            rows.append(("how far off", f"{self.ulps:.3g} ulps of {self.dtype} (relative {self.relative:.3g}){allowed}"))
        if self.kind == "wrong rule":
            rows.append(("diagnosis", f"wrong rule: the same check fails at {self.failing} of {self.tried} "
                                      f"ordinary arguments too"))
        elif self.kind == "lost accuracy":
            rows.append(("diagnosis", f"lost accuracy: the rule holds at {self.tried - self.failing} of {self.tried} "
                                      f"ordinary arguments; its formula loses digits near these inputs "
                                      f"(rewrite it, or raise --ulps if the loss is inherent)"))
        return rows

    def to_json(self) -> dict:
        return {"ulps": self.ulps, "relative": self.relative, "allowed_ulps": self.allowed_ulps, "dtype": self.dtype,
                "kind": self.kind, "failing": self.failing, "tried": self.tried}


def diagnose(report: Report, op: spec.Op, dtype, recheck=None, seed: int = 0) -> Diagnosis | None:
    """The finding ``report`` (a number off, on the fuzzed op ``op``) in ULPs of ``dtype``, checked
    again (``recheck``, default the report's) at ORDINARY_POINTS points; None for findings that are
    not a number off."""
    j = report.judgement
    recheck = recheck or report.recheck
    if j is None or report.prop not in NUMERIC or recheck is None:
        return None
    ulps = relative = None
    if j.autograd is not None and j.exact is not None and np.isfinite(j.autograd) and j.exact != 0:
        off = abs(j.autograd - j.exact)
        ulps = float(off / np.spacing(np.abs(np.asarray(j.exact, dtype=dtype))))
        relative = float(off / abs(j.exact))
    rng = np.random.default_rng(seed)
    intervals = _intervals(report.example)
    failing = tried = 0
    for _ in range(ORDINARY_POINTS):
        for _ in range(DRAW_TRIES):
            values = {i.name: rng.uniform(iv.lo, iv.hi, size=i.shape) for i, iv in zip(report.example.comp.inputs,
                                                                                         intervals)}
            example = Example(report.example.comp, values)
            if is_valid(example):
                tried += 1
                failing += recheck(example) is not None
                break
    return Diagnosis(ulps, relative, None if callable(op.ulps) else float(op.ulps), np.dtype(dtype).name, failing, tried)


def _intervals(example: Example) -> list[spec.Interval]:
    """Where each input of the composition is drawn: its first consumer's interval for that argument."""
    out = []
    for i in example.comp.inputs:
        iv = spec.Interval(-1.0, 1.0)
        for node in example.comp.nodes:
            if i.name in node.args:
                iv = spec.get(node.op).draw[[a if not isinstance(a, Const) else None for a in node.args].index(i.name)]
                break
        out.append(iv)
    return out


__all__ = ["Diagnosis", "diagnose", "ORDINARY_POINTS", "WRONG_RULE_FRACTION", "NUMERIC"]
