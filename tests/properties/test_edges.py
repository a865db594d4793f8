"""Edge cases: each op's spec edge points are checked first in every cell, deterministically, so a
bug that lives only in a tail (a saturating sigmoid, a threshold, x ** 0) is found in every run."""

import numpy as np
import pytest
from hypothesis import settings

from trigrad.autograd import functions
from trigrad.oracle import spec
from trigrad.properties import suite
from trigrad.properties.backends.builtin import Builtin
from trigrad.properties.report import Failure

CI = settings.get_profile("ci")


def test_edge_points_lie_in_their_ops_domains():
    # an elementwise op's points each on its own; an array op's as the edge case gives them, one vector
    # per argument (layer_norm's points form one row)
    for name, op in spec.OPS.items():
        for point in op.edges:
            assert len(point) == op.arity, name
            if op.elementwise:
                assert op.accepts([np.array(v) for v in point], op.defaults()), (name, point)
        if op.edges and not op.elementwise:
            points = np.array(op.edges, dtype=float)
            assert op.accepts([points[:, j] for j in range(op.arity)], op.defaults()), (name, op.edges)


def test_an_edge_case_is_the_op_alone_at_its_edge_points():
    example, kwargs = suite.edge_case(Builtin(), "hvp", "pow")
    assert example.comp.formula() == "x0 ** x1"
    assert example.values["x1"].tolist() == [p[1] for p in spec.OPS["pow"].edges]  # y == 0 among them
    assert np.all(kwargs["cotangent"] == 1) and set(kwargs["tangents"]) == {"x0", "x1"}
    assert set(suite.edge_case(Builtin(), "value", "sigmoid")[1]) == set()  # value draws no vectors


def test_cells_without_an_edge_case():
    b = Builtin()
    assert suite.edge_case(b, "vjp", "sin") is None  # no edge points
    assert suite.edge_case(b, "fanout", "sigmoid") is None  # needs a shared node
    assert suite.edge_case(b, "vjp", suite.ALL_OPS) is None
    constant_pow = type("ConstantPow", (Builtin,), {"constant_args": {"pow": (1,)}})()
    assert suite.edge_case(constant_pow, "vjp", "pow") is None  # the exponent would have to vary


def test_a_tail_only_bug_is_found_by_the_edge_case(planted):
    """sigmoid computed as 0.5 * tanh(0.5 x) + 0.5 (the textbook 'better implementation') is right to
    1e-16 absolutely everywhere, so random compositions, whose values are moderate, rarely see it; at
    x = -40 it returns 0 for 4.2e-18, and the edge case catches that every time."""
    planted(functions.Sigmoid, "forward", "return np.where(x.real >= 0, 1 / (1 + e), e / (1 + e))",
            "return np.tanh(x * 0.5) * 0.5 + 0.5")
    with pytest.raises(Failure) as caught:
        suite.run_edge_case(Builtin(), "value", "sigmoid")
    j = caught.value.report.judgement
    assert j.exact == pytest.approx(4.248354255291589e-18) and j.autograd == 0.0
    cell = suite.run_cell(Builtin(), "value", "sigmoid", profile=CI)
    assert cell.status == "fail" and cell.report.example.comp.formula() == "sigmoid(x0)"



@pytest.mark.parametrize("cls, old, new, prop, op, exact", [
    # expm1' as expm1(x) + 1 (PyTorch's formula): 0 at -40 once expm1 rounds to -1
    (functions.Expm1, "return gy * exp(x)", "return gy * (exp(x) - 1 + 1)", "vjp", "expm1", 4.248354255291589e-18),
    # prod's gradient as y / x: 0 / 0 at the zero entry, whose derivative is the product of the others
    (functions.Prod, "return broadcast_to(gy, x.shape) * others",
     "return broadcast_to(gy, x.shape) * (broadcast_to(reshape(self.outputs[0](), utils.keepdims_shape(x.shape, self.axis)), x.shape) / x)",
     "vjp", "prod", -3.0),
])
def test_a_formula_that_loses_an_edge_is_found_there(planted, cls, old, new, prop, op, exact):
    planted(cls, "backward", old, new)
    with pytest.raises(Failure) as caught, np.errstate(invalid="ignore"):  # 0 / 0 is the planted bug
        suite.run_edge_case(Builtin(), prop, op)
    assert caught.value.report.judgement.exact == pytest.approx(exact)

def test_the_correct_core_passes_every_edge_case():
    b = Builtin()
    judged = 0
    for name, op in spec.OPS.items():
        for prop in suite.PROPERTIES:
            if op.edges and not suite.status(b, prop, name):
                judged += suite.run_edge_case(b, prop, name)
    assert judged >= 40  # 7 ops with edges, up to 9 properties each, few unjudgeable


def test_pytest_and_check_draw_the_same_examples():
    """Under a derandomized profile the pytest cell and trigrad check's cell run one test function
    with one seed, so they agree on what fails (and on which known differences are stale)."""
    seen = []
    for _ in range(2):
        drawn = []
        real = suite.run_case

        def record(data, backend, prop, op, deadline=None):
            example, _ = suite.draw_case(data, backend, prop, op)
            drawn.append(example.comp.formula())

        suite.run_case = record
        try:
            test, counter = suite.cell_test(Builtin(), "vjp", "tanh", CI, 10)
            test()
        finally:
            suite.run_case = real
        seen.append(drawn)
    assert seen[0] == seen[1] and len(seen[0]) == 10
