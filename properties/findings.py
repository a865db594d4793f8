"""Findings: failing cells grouped by cause, the wrong op named, and each reproducer run.

One cause fills many cells: an exception in one op's VJP fails every cell whose compositions reach
that op, and a wrong first derivative fails the op's ``vjp``, ``jvp`` and ``hvp`` cells alike. So each
failing cell's shrunk counterexample is taken apart: every op node of it is checked alone, at the
values it sees there, against exact (its value, then its first derivative, then its second where the
cell is second order; or the cell's own property for purity, determinism and shapes). The first node
that fails alone is the op that is wrong, and its one-node failure the finding's counterexample.
Cells with the same wrong op and the same error pattern (the exception with its numbers taken out, or
which quantity is wrong) are one finding, listing the cells it affects. A counterexample in which no
op fails alone (a gradient overwritten where a value feeds two consumers) is a finding of the
composition, grouped by its own pattern.

Each finding's reproducer is then run in a fresh interpreter (``verify``): it must print the wrong
number the check saw (the element of the gradient, second-order result or value that failed), or
raise the exception the check saw. A reproducer that does not is trigrad's own error, and reported so.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np

from trigrad.oracle.ir import Composition, Const, Input, Node

from .backends import Backend
from .example import Example
from .report import Failure, Report
from .suite import PROPERTIES, status

# What a cell's property checks in the nodes of its counterexample, in order: the forward first (a
# wrong forward makes every derivative wrong), then the derivatives the property depends on.
LOCAL_CHECKS = {
    "value": ("value",),
    "vjp": ("value", "vjp"),
    "fanout": ("value", "vjp"),
    "vjp_numeric": ("value", "vjp"),
    "jvp": ("value", "jvp"),
    "adjoint": ("value", "vjp", "jvp"),
    "hvp": ("value", "vjp", "hvp"),
    "kink": ("kink",),
}
# What a judgement's ``what`` (its first words) says is wrong: one wrong first derivative fails VJPs and
# JVPs alike, and is one cause.
ORDER = {"VJP": "first derivative", "JVP": "first derivative", "<VJP, u>": "first derivative",
         "adjoint identity": "first derivative", "HVP": "second derivative", "value": "value"}
# The label a reproducer prints before each result (properties.backends: vjp_source, hvp_source), by
# the first word of the judgement's ``what``.
PRINTED = {"VJP": "gradient wrt {}:", "HVP": "second order wrt {}:", "value": "value:"}
# A fresh interpreter may import a large library: seconds before a reproducer run is given up.
REPRODUCER_TIMEOUT = 300.0
# Numbers in a message (decimal, with exponent, or hex floats) become one placeholder in a pattern.
_NUMBER = re.compile(r"[-+]?(?:0x[0-9a-f]+(?:\.[0-9a-f]*)?p[-+]?\d+|(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|nan|inf)",
                     re.IGNORECASE)
PATTERN_CHARS = 160  # patterns longer than this are cut (a message listing arrays)
_MARK = "@@trigrad-printed@@"  # separates a reproducer's own output from what the runner records


def pattern(report: Report) -> str:
    """The error pattern of a failure: which quantity is wrong (``fail: wrong second derivative``, with
    ``(not finite)`` when the result is NaN or infinite), or the exception or problem it reports with
    its numbers replaced by ``#``."""
    j = report.judgement
    if j is not None:
        what = (j.what or "result").split(" wrt ")[0].split("[")[0]
        finite = j.autograd is None or bool(np.isfinite(j.autograd))
        return f"{j.verdict.value}: wrong {ORDER.get(what, what)}" + ("" if finite else " (not finite)")
    text = report.detail.strip().splitlines()[0] if report.detail.strip() else report.prop
    text = _NUMBER.sub("#", text)
    return text if len(text) <= PATTERN_CHARS else text[:PATTERN_CHARS - 3] + "..."


@dataclass(frozen=True)
class Culprit:
    """The op whose node fails alone: its name, the node (``n3``), the local property that fails and
    that one-node failure's report."""

    op: str
    node: str
    prop: str
    report: Report


def _vector(shape, seed: int) -> np.ndarray:
    """A fixed cotangent or tangent: entries of size 0.5 to 1.5, both signs (no 0, which would hide a
    term; not all 1, which would hide a transposition)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def node_examples(example: Example) -> list[tuple[int, Example]]:
    """Each live op node of ``example`` alone, on inputs a0, a1, ... holding the float64 values its
    arguments have at the example's point (constants stay constants)."""
    comp = example.comp
    env = comp.evaluate_numpy(example.values, trace=True)
    out = []
    for k in sorted(comp.live()):
        node = comp.nodes[k]
        inputs, args, values = [], [], {}
        for a in node.args:
            if isinstance(a, Const):
                args.append(a)
                continue
            name = f"a{len(inputs)}"
            inputs.append(Input(name, comp.shape(a)))
            values[name] = np.array(env[a], dtype=float)
            args.append(name)
        if inputs:
            out.append((k, Example(Composition(inputs, [Node(node.op, tuple(args), comp.params(k))]), values)))
    return out


def _local_failure(backend, prop: str, example: Example) -> Report | None:
    """The report of property ``prop`` failing on a one-node example at fixed vectors, or None when
    it passes or cannot be judged there (unsupported, oracle unsure)."""
    p = PROPERTIES[prop]
    kwargs = {}
    if "cotangent" in p.vectors:
        kwargs["cotangent"] = _vector(example.comp.output_shape, 1)
    if "tangents" in p.vectors:
        kwargs["tangents"] = {i.name: _vector(i.shape, 2 + n) for n, i in enumerate(example.comp.inputs)}
    try:
        backend.run_check(prop, p.check, example, kwargs)  # in a supervised worker, if the backend has one
    except Failure as f:
        return f.report
    except Exception:  # noqa: BLE001 - not judged here (hypothesis.reject outside a test, unsupported)
        return None
    return None


def culprit(backend, report: Report) -> Culprit | None:
    """The first op node of the report's counterexample that fails alone (see the module's doc), or
    None when none does."""
    props = LOCAL_CHECKS.get(report.prop, (report.prop,))
    try:
        nodes = node_examples(report.example)
    except Exception:  # noqa: BLE001 - a forward that cannot be evaluated in float64: no node to blame
        return None
    for k, ex in nodes:
        op = ex.comp.nodes[0].op
        for prop in props:
            if prop not in PROPERTIES or status(backend, prop, op):
                continue
            local = _local_failure(backend, prop, ex)
            if local is not None:
                return Culprit(op, f"n{k}", prop, local)
    return None


@dataclass
class Reproduction:
    """What running a reproducer showed: ``status`` is "reproduced", "not reproduced" (trigrad's own
    error: the snippet does not show the failure) or "not checked" (the failure is not a number or
    an exception the snippet prints); ``detail`` says what it printed against what the check saw."""

    status: str
    detail: str
    output: str = ""

    def to_json(self) -> dict:
        return {"status": self.status, "detail": self.detail, "output": self.output}


# Runs a reproducer (read from stdin) as a script, recording every print() call's arguments at full
# precision (arrays of any library through numpy) after a marker line on stdout.
_RUNNER = f"""
import builtins, json, sys
import numpy as np
printed, real_print = [], builtins.print
def record(*args, **kwargs):
    real_print(*args, **kwargs)
    row = []
    for a in args:
        if isinstance(a, str):
            row.append(a)
            continue
        try:
            a = a.detach() if hasattr(a, "detach") else a
            v = np.asarray(a, dtype=float)
            row.append({{"shape": list(v.shape), "hex": [float(x).hex() for x in v.ravel()]}})
        except Exception:
            row.append(repr(a))
    printed.append(row)
builtins.print = record
try:
    exec(compile(sys.stdin.read(), "<reproducer>", "exec"), {{"__name__": "__main__"}})
finally:
    builtins.print = real_print
    sys.stdout.write("\\n{_MARK}" + json.dumps(printed) + "\\n")
"""


def run_reproducer(source: str, *, timeout: float = REPRODUCER_TIMEOUT) -> tuple[int, str, str, list]:
    """Run ``source`` in a fresh interpreter: (exit status, its stdout, its stderr, the arguments of
    each print() call, arrays as {"shape", "hex"})."""
    try:
        proc = subprocess.run([sys.executable, "-c", _RUNNER], input=source, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "", f"no result in {timeout:g} s", []
    out, _, recorded = proc.stdout.rpartition(_MARK)
    if not _:
        out, recorded = proc.stdout, "[]"
    try:
        printed = json.loads(recorded)
    except json.JSONDecodeError:
        printed = []
    return proc.returncode, out, proc.stderr, printed


def _printed_value(printed: list, label: str):
    """The array printed after ``label``, or None."""
    for row in printed:
        if len(row) >= 2 and row[0] == label and isinstance(row[1], dict):
            return np.array([float.fromhex(h) for h in row[1]["hex"]]).reshape(row[1]["shape"])
    return None


def verify(report: Report, *, timeout: float = REPRODUCER_TIMEOUT) -> Reproduction:
    """Run the report's reproducer in a fresh interpreter and say whether it shows the failure: the
    wrong number the check saw at the failing element (within the allowed error of it, and outside
    the allowed error of exact), or the exception the check saw."""
    j = report.judgement
    exception = re.match(r"the backend raised ([\w.]+)", report.detail or "") if j is None else None
    label = None
    if j is not None and j.autograd is not None and j.exact is not None and j.bound is not None:
        words = (j.what or "").split(" wrt ")
        template = PRINTED.get(words[0])
        if template is not None and (len(words) == 2 or words[0] == "value"):
            label = template.format(words[-1])
    if label is None and exception is None:
        return Reproduction("not checked", "the failure is neither a number the reproducer prints nor an exception")
    method = "hvp_source" if report.prop == "hvp" else "vjp_source"
    if getattr(type(report.backend), method) is getattr(Backend, method):
        return Reproduction("not checked", f"the adapter writes no reproducer of its own (Backend.{method})")
    rc, out, err, printed = run_reproducer(report.reproducer(), timeout=timeout)
    tail = (out + err)[-2000:]
    if exception is not None:
        last = err.strip().splitlines()[-1] if err.strip() else ""
        raised = last.split(":")[0].split(".")[-1]
        if rc != 0 and raised == exception.group(1).split(".")[-1]:
            return Reproduction("reproduced", f"it raises {last}", tail)
        return Reproduction("not reproduced", f"the check saw {exception.group(1)}; the reproducer "
                            + (f"raised {last}" if rc != 0 else "ran without an error"), tail)
    if rc != 0:
        last = err.strip().splitlines()[-1] if err.strip() else f"exit status {rc}"
        return Reproduction("not reproduced", f"the reproducer failed: {last}", tail)
    value = _printed_value(printed, label)
    if value is None:
        return Reproduction("not reproduced", f"the reproducer printed no {label!r}", tail)
    index = tuple(j.index or ())
    try:
        got = float(value[index]) if index or value.ndim == 0 else float(value.ravel()[0]) if value.size == 1 else None
    except (IndexError, ValueError):
        got = None
    if got is None:
        return Reproduction("not reproduced", f"{label} has shape {value.shape}; the check saw index {index}", tail)
    where = f"{label.rstrip(':')}{list(index) if index else ''}"
    same = (got == j.autograd or (np.isnan(got) and np.isnan(j.autograd))
            or abs(got - j.autograd) <= j.bound)
    wrong = not abs(got - j.exact) <= j.bound
    if same and wrong:
        return Reproduction("reproduced", f"it prints {where} = {got!r} (exact {j.exact!r})", tail)
    return Reproduction("not reproduced", f"it prints {where} = {got!r}; the check saw {j.autograd!r} "
                        f"(exact {j.exact!r}, allowed error {j.bound:.3g})", tail)


@dataclass
class Finding:
    """Failing cells with one cause: the op that is wrong (None: no op fails alone), the error
    pattern, the cells (property, row) it affects, the smallest counterexample (the wrong op alone
    where there is one), and what running its reproducer showed."""

    op: str | None
    pattern: str
    cells: list = field(default_factory=list)
    report: Report | None = None
    culprit: Culprit | None = None
    reproduction: Reproduction | None = None

    @property
    def title(self) -> str:
        where = f"{self.op} is wrong" if self.op else "no op is wrong alone (the composition)"
        return f"{where}: {self.pattern}"

    def text(self) -> str:
        """The finding as ``trigrad check`` prints it."""
        cells = ", ".join(f"{p}[{r}]" for p, r in self.cells)
        lines = [f"finding: {self.title}", f"  cells ({len(self.cells)}): {cells}"]
        if self.report is not None:
            lines.append(f"  smallest counterexample ({self.report.prop}): {self.report.example!r}")
        if self.culprit is not None:
            lines.append(f"  named by checking each node alone: {self.culprit.node} ({self.op}) fails "
                         f"{self.culprit.prop} by itself")
        if self.reproduction is not None:
            r = self.reproduction
            state = "trigrad error: the reproducer does not reproduce" if r.status == "not reproduced" else r.status
            lines.append(f"  reproducer run in a fresh interpreter: {state} ({r.detail})")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"op": self.op, "pattern": self.pattern, "title": self.title,
                "cells": [{"property": p, "op": r} for p, r in self.cells],
                "node": None if self.culprit is None else self.culprit.node,
                "local_property": None if self.culprit is None else self.culprit.prop,
                "report": None if self.report is None else self.report.to_json(),
                "reproducer_run": None if self.reproduction is None else self.reproduction.to_json()}


def _size(report: Report) -> tuple:
    comp = report.example.comp
    return (len(comp.live()), sum(int(np.size(v)) for v in report.example.values.values()))


def group(backend, failures, *, verify_reproducers: bool = True) -> list[Finding]:
    """Group failing cells by cause. ``failures``: (property, row, report) for each failing cell;
    returns the findings, most cells first. With ``verify_reproducers`` each finding's reproducer is
    run (``verify``)."""
    findings: dict[tuple, Finding] = {}
    for prop, row, report in failures:
        c = culprit(backend, report)
        smallest = c.report if c is not None else report
        key = (c.op, pattern(c.report)) if c is not None else (None, pattern(report))
        f = findings.setdefault(key, Finding(*key))
        f.cells.append((prop, row))
        if f.report is None or _size(smallest) < _size(f.report):
            f.report, f.culprit = smallest, c
    out = sorted(findings.values(), key=lambda f: (-len(f.cells), f.op or "", f.pattern))
    if verify_reproducers:
        for f in out:
            f.reproduction = verify(f.report)
    return out


__all__ = ["Finding", "Culprit", "Reproduction", "group", "culprit", "pattern", "verify", "run_reproducer",
           "node_examples", "LOCAL_CHECKS"]
