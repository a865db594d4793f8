"""Test the tester: bugs planted into the built-in core are found by the property suites and shrunk.

Each bug is one edit of the core's source (the line as it is, and the line that replaces it), applied
with monkeypatch for the duration of one test, the way a mutation-testing tool would. The suites then
run as ``trigrad check`` runs them, under the deterministic ``ci`` profile, on the bug's row of the
conformance table (and the mixed row); the bug must make a cell fail, and Hypothesis must shrink the
counterexample to a composition of at most MAX_NODES op nodes.
"""

import time

import numpy as np
import pytest
from hypothesis import settings

import trigrad.autograd as autograd
from trigrad.autograd import core, functions
from trigrad.properties import suite
from trigrad.properties.backends.builtin import Builtin

MAX_NODES = 3  # the bound on the size of a shrunk counterexample


# name: (owner, method, old source, new source, rows of the table to run)
BUGS = {
    "gradient overwritten instead of accumulated": (
        core.Variable, "backward", "memory.claim(x.grad + gx, f, ())", "memory.claim(gx, f, ())", [suite.ALL_OPS]),
    "no generation ordering": (
        core.Variable, "backward", "heapq.heappush(heap, (-f.generation, next(order), f))",
        "heapq.heappush(heap, (0, next(order), f))", [suite.ALL_OPS]),
    "sin backward with the wrong sign": (
        functions.Sin, "backward", "return gy * cos(x)", "return -gy * cos(x)", ["sin"]),
    "exp backward off by a factor 1 + 1e-6": (
        functions.Exp, "backward", "return gy * y", "return gy * y * (1 + 1e-6)", ["exp"]),
    "add without sum_to under broadcasting": (
        functions.Add, "backward", "return sum_to(gy, x0.shape), sum_to(gy, x1.shape)", "return gy, gy", ["add"]),
    "relu backward writes zeros into the gradient it is given": (
        functions.ReLU, "backward", "return gy * (x.data > 0)",
        "gy.data[x.data <= 0] = 0\n    return gy", ["relu"]),
    "tanh backward as 1 - y instead of 1 - y**2": (
        functions.Tanh, "backward", "return gy * _sech2(x)", "return gy * (1 - self.outputs[0]())", ["tanh"]),
    "matmul backward reshapes to the other operand's shape (shows only when not square)": (
        functions.MatMul, "backward", "return reshape(ga, a.shape), reshape(gb, b.shape)",
        "return reshape(ga, b.shape), reshape(gb, a.shape)", ["matmul"]),
}


def hunt(rows):
    """Run the suite's rows as ``trigrad check`` runs them (``suite.run_row``: fused where they can
    be) until a cell fails; that cell."""
    backend = Builtin()
    for row in rows:
        cells = suite.run_row(backend, row, profile=settings.get_profile("ci"), until_failure=True)
        for cell in cells.values():
            if cell.status in ("fail", "error"):
                return cell
    return None


@pytest.mark.parametrize("bug", list(BUGS))
def test_planted_bug_is_found_and_shrunk(planted, bug):
    owner, method, old, new, rows = BUGS[bug]
    planted(owner, method, old, new)
    start = time.perf_counter()
    cell = hunt(rows)
    seconds = time.perf_counter() - start
    assert cell is not None, f"{bug}: no cell of {rows} failed"
    assert cell.status == "fail", f"{bug}: trigrad itself crashed: {cell.error}"
    comp = cell.report.example.comp
    print(f"\n{bug}: found by {cell.prop}/{cell.op} in {seconds:.1f} s, shrunk to {len(comp.nodes)} node(s): "
          f"{comp.formula()}")
    assert len(comp.nodes) <= MAX_NODES, cell.report.text()


def test_a_kink_bug_shrinks_to_the_simplest_kink_example(planted):
    """abs'(0) = 2, outside [-1, 1]: the kink row finds it and shrinks toward simple: the first of
    KINK_SHAPES, every entry at 0 (where floats shrink to, and abs's kink)."""
    planted(functions.Abs, "backward", "return gy * np.sign(x.data)",
            "return gy * (np.sign(x.data) + 2.0 * (x.data == 0))")
    cell = suite.run_cell(Builtin(), "kink", "abs", profile=settings.get_profile("ci"))
    assert cell.status == "fail", cell.error
    x = cell.report.example.values["x0"]
    assert x.shape == suite.KINK_SHAPES[0] and np.all(x == 0), cell.report.text()


def test_a_tie_bug_of_a_binary_op_is_found_by_the_kink_row(planted):
    """maximum at a tie giving x1 its whole share on top of x0's half (shares summing to 1.5): only
    ties show it, and only the kink row draws them (x1 snapped onto x0); the same cell passes unplanted."""
    assert suite.run_cell(Builtin(), "kink", "maximum", profile=settings.get_profile("ci")).status == "pass"
    planted(functions.Maximum, "backward", "sum_to(gy * (1 - share), x1.shape)",
            "sum_to(gy * (1 - share + (x0.data == x1.data)), x1.shape)")
    cell = suite.run_cell(Builtin(), "kink", "maximum", profile=settings.get_profile("ci"))
    assert cell.status == "fail", cell.error
    values = cell.report.example.values
    assert np.any(values["x0"] == values["x1"]) and "at a tie" in cell.report.text(), cell.report.text()


def test_the_unplanted_core_passes_the_same_cells():
    """The other side: the same hunt on the correct core finds nothing (the bugs, not the suite, fail)."""
    rows = sorted({r for *_, rs in BUGS.values() for r in rs})
    assert hunt(rows) is None


def test_planting_really_changes_the_core(sin_sign_bug):
    x = autograd.Variable(np.array(0.5))
    y = autograd.sin(x)
    y.backward()
    assert float(x.grad.data) < 0


def test_the_detection_benchmarks_bugs_still_plant():
    """properties/planted.py edits the core's source text: every edit must still find its line (once)."""
    from trigrad.properties.planted import CATALOGUE, FACTOR_SITES, SWEEP, factor_bug, planted

    assert len(CATALOGUE) >= 20
    for bug in CATALOGUE + [factor_bug(op, r) for op in FACTOR_SITES for r in SWEEP[:1]]:
        with planted(bug):
            pass
