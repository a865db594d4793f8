"""Failure reports for people: the composition, the exact inputs, the three numbers, the verdict and
why, a reproducer snippet for the backend, and the DOT graph.

    trigrad: vjp failed on builtin 0.1.0 (float64)
      composition  a = x0 * x0; sin(a) + a
      inputs       x0 = 0.7  (0x1.6666666666666p-1)
      cotangent    1.0
      check        VJP wrt x0: autograd 0.81, exact 1.2352660020541701, numeric 1.2352660020541703,
                   allowed error 3.3e-16
      verdict      fail: autograd is off by ... numeric agrees with exact (autograd wrong), within its
                   error bar ± 8.9e-16
      reproduce    (python, with the backend only)
        ...
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from trigrad.oracle.compare import Judgement
from trigrad.oracle.ir import Composition, Const, param_sources, values_to_json

from .example import Example
from .minimize import MINIMIZE_SECONDS, minimize


class Failure(AssertionError):
    """A check found a real discrepancy; ``failure.report`` is its data, ``str(failure)`` its text.

    Where a failure is handled, once Hypothesis has shrunk the example (a cell of the suites, a fuzz
    campaign), ``minimize()`` makes the report smaller still by trigrad's structural pass."""

    def __init__(self, report: "Report"):
        super().__init__(report.prop)
        self.report = report

    def minimize(self, seconds: float = MINIMIZE_SECONDS):
        """Replace the report by the smallest one the structural pass finds in ``seconds``
        (``Report.minimized``)."""
        self.report = self.report.minimized(seconds)

    def __str__(self):
        return self.report.text()  # made when shown, not when raised: Hypothesis raises many while shrinking


@dataclass
class Report:
    """Everything a person needs to see and reproduce one failure."""

    prop: str
    backend: object
    example: Example
    judgement: Judgement | None
    detail: str = ""
    vectors: dict = field(default_factory=dict)  # "cotangent" / "tangent x0" -> ndarray
    # example -> the report of the same check failing on it, or None (set by suite.run_case)
    recheck: Callable | None = field(default=None, repr=False, compare=False)
    minimal: bool = field(default=False, repr=False, compare=False)  # the result of ``minimized``

    def minimized(self, seconds: float = MINIMIZE_SECONDS) -> "Report":
        """This failure on the smallest composition the structural pass finds in ``seconds``
        (properties.minimize); a report that is already its result is returned as it is."""
        if self.recheck is None or self.minimal:
            return self
        smallest = minimize(self.example, self._same_failure, seconds=seconds)
        report = self.recheck(smallest) if smallest is not self.example else None
        return dataclasses.replace(report or self, minimal=True)

    def _same_failure(self, example: Example) -> bool:
        """Whether the check fails on ``example`` in the same way: judged wrong, or raising, as this
        report is (a backend that raises on some inputs must not turn a wrong gradient into a raise)."""
        report = self.recheck(example)
        return report is not None and (report.judgement is None) == (self.judgement is None)

    # --- text ---------------------------------------------------------------------------------------
    def text(self) -> str:
        comp = self.example.comp
        lines = [f"trigrad: {self.prop} failed on {self.backend.describe()}",
                 _row("composition", comp.formula())]
        for i, name in enumerate(self.example.values):
            lines.append(_row("inputs" if i == 0 else "", f"{name} = {format_array(self.example.values[name])}"))
        for label, v in self.vectors.items():
            lines.append(_row(label, format_array(v)))
        if self.judgement is not None:
            lines.append(_row("check", str(self.judgement).split(" (")[0]))
            lines.append(_row("verdict", f"{self.judgement.verdict.value}: {self.judgement.reason}"))
        if self.detail:
            lines.append(_row("detail", self.detail))
        lines.append("  reproduce (Python, with the backend alone):")
        lines.append(textwrap.indent(self.reproducer(), "    "))
        lines.append("  graph (DOT):")
        lines.append(textwrap.indent(comp.to_dot(), "    "))
        return "\n".join(lines)

    def to_json(self) -> dict:
        j = self.judgement
        return {
            "property": self.prop,
            "backend": self.backend.describe(),
            "formula": self.example.comp.formula(),
            "composition": self.example.comp.to_json(),
            "inputs": values_to_json(self.example.values),
            "inputs_hex": {k: _hex(v) for k, v in self.example.values.items()},
            "vectors": {k: np.asarray(v, dtype=float).tolist() for k, v in self.vectors.items()},
            "verdict": None if j is None else j.verdict.value,
            "reason": self.detail if j is None else j.reason,
            "what": None if j is None else j.what,
            "index": None if j is None or j.index is None else list(j.index),
            "autograd": None if j is None else j.autograd,
            "exact": None if j is None else j.exact,
            "numeric": None if j is None else j.numeric,
            "allowed_error": None if j is None else j.bound,
            "reproducer": self.reproducer(),
            "dot": self.example.comp.to_dot(),
        }

    # --- reproducer ------------------------------------------------------------------------------
    def reproducer(self) -> str:
        """A snippet that rebuilds the composition with the backend's own API and prints the value
        and the gradient of sum(cotangent * output) for the inputs that were checked (for a
        second-order failure, the derivative of that gradient along the tangents)."""
        b, comp = self.backend, self.example.comp
        out = [b.preamble, ""]
        for name, v in self.example.values.items():
            out.append(f"{name} = {b.leaf_source(array_source(v))}")
        body = [f"{lhs} = {rhs}" for lhs, rhs in node_lines(comp, b)]
        ct = self.vectors.get("cotangent")
        ct_src = array_source(ct if ct is not None else np.ones(comp.output_shape))
        names = list(self.example.values)
        tangents = [self.vectors.get(f"tangent {n}") for n in names]
        if self.prop == "hvp" and all(t is not None for t in tangents):
            out.append(b.hvp_source("y", names, ct_src, [array_source(t) for t in tangents], body))
        else:
            out.append(b.vjp_source("y", names, ct_src, body))
        if self.judgement is not None and self.judgement.exact is not None:
            j = self.judgement
            where = "" if not j.index else "[" + ", ".join(map(str, j.index)) + "]"
            out.append(f"# exact {j.what}{where}: {j.exact!r}")
        return "\n".join(out)


def node_lines(comp: Composition, backend) -> list[tuple[str, str]]:
    """One assignment per live node, in order, with the backend's spelling of each op."""
    live = sorted(comp.live())
    names = {f"n{k}": ("y" if f"n{k}" == comp.output else f"n{k}") for k in live}
    lines = []
    for k in live:
        node = comp.nodes[k]
        args = [repr(a.value) if isinstance(a, Const) else names.get(a, a) for a in node.args]
        params = param_sources(node.op, comp.params(k))
        lines.append((names[f"n{k}"], backend.source(node.op).format(*args, **params)))
    return lines


def array_source(v) -> str:
    """Python source for a float64 array that round-trips exactly (via float.hex)."""
    v = np.asarray(v, dtype=float)
    if v.ndim == 0:
        return f"np.array(float.fromhex({float(v).hex()!r}))"
    flat = ", ".join(f"float.fromhex({float(x).hex()!r})" for x in v.ravel())
    return f"np.array([{flat}]).reshape({v.shape})"


def format_array(v) -> str:
    """Values for reading (repr, which round-trips) with their exact hex form."""
    v = np.asarray(v, dtype=float)
    if v.ndim == 0:
        return f"{float(v)!r}  ({float(v).hex()})"
    return f"shape {v.shape}: {v.tolist()!r}  (hex: {_hex(v)})"


def _hex(v):
    v = np.asarray(v, dtype=float)
    return float(v).hex() if v.ndim == 0 else np.vectorize(lambda x: float(x).hex(), otypes=[object])(v).tolist()


def _row(label, text):
    pad = " " * 15
    body = str(text).replace("\n", "\n" + pad)
    return f"  {label:<12} {body}"


def dumps(reports) -> str:
    return json.dumps([r.to_json() for r in reports], indent=2)


__all__ = ["Failure", "Report", "array_source", "format_array", "node_lines"]
