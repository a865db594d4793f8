"""Failure reports: everything a person needs, and a reproducer that really reproduces."""

import contextlib
import io
import json

import numpy as np
import pytest

from trigrad.oracle.ir import Composition, Input, Node, values_from_json
from trigrad.properties import suite
from trigrad.properties.backends.builtin import Builtin
from trigrad.properties.report import array_source


@pytest.fixture
def report(sin_sign_bug):
    cell = suite.run_cell(Builtin(), "vjp", "sin", max_examples=30)
    assert cell.status == "fail"
    return cell.report


def test_report_shows_formula_exact_inputs_three_numbers_verdict_and_graph(report):
    text = report.text()
    comp, values = report.example.comp, report.example.values
    j = report.judgement
    assert f"composition  {comp.formula()}" in text
    for name, v in values.items():
        for x in np.ravel(v):
            assert float(x).hex() in text  # inputs exactly
    assert f"autograd {j.autograd!r}" in text and f"exact {j.exact!r}" in text and f"numeric {j.numeric!r}" in text
    assert "verdict      fail:" in text and "numeric agrees with exact (autograd wrong)" in text
    assert "digraph composition {" in text
    # the autograd number is the wrong one: sin'(x) = cos(x), and the planted bug flips the sign
    assert j.autograd == pytest.approx(-j.exact) and j.numeric == pytest.approx(j.exact, rel=1e-9)


def test_reproducer_reproduces_with_the_backend_alone(report, sin_sign_bug):
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(report.reproducer(), namespace)
    assert "gradient wrt" in out.getvalue()
    j = report.judgement
    name = j.what.split()[-1]
    got = np.asarray(namespace[name].grad.data)[j.index or ()]
    assert float(got) == j.autograd  # the same wrong number, bit for bit


def test_reproducer_on_the_correct_core_gives_the_exact_answer(report, monkeypatch):
    monkeypatch.undo()  # the bug is gone
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(report.reproducer(), namespace)
    j = report.judgement
    got = np.asarray(namespace[j.what.split()[-1]].grad.data)[j.index or ()]
    assert abs(float(got) - j.exact) <= j.bound


def test_json_carries_everything_and_round_trips(report):
    data = json.loads(json.dumps(report.to_json()))
    comp = Composition.from_json(data["composition"])
    assert comp == report.example.comp and data["formula"] == comp.formula()
    values = values_from_json(data["inputs"])
    for k, v in report.example.values.items():
        assert np.array_equal(values[k], v)
    for key in ("property", "backend", "verdict", "reason", "autograd", "exact", "numeric", "allowed_error",
                "reproducer", "dot", "inputs_hex"):
        assert key in data


@pytest.mark.parametrize("v", [np.array(0.1), np.array([1 / 3, -2.5e-300, 7.0]), np.arange(6.0).reshape(2, 3) / 7])
def test_array_source_round_trips_exactly(v):
    assert np.array_equal(eval(array_source(v), {"np": np}), v)


def _unordered_backward_and_a_stuck_example(planted):
    """Backward without generation order, and a 5-node counterexample of the kind Hypothesis's
    shrinker can get stuck at (each node's arguments depend on the nodes before it)."""
    from trigrad.autograd import core
    from trigrad.oracle.ir import Input, Node
    from trigrad.properties.example import Example

    planted(core.Variable, "backward", "heapq.heappush(heap, (-f.generation, next(order), f))",
            "heapq.heappush(heap, (0, next(order), f))")
    comp = Composition([Input("x0"), Input("x1"), Input("x2")],
                       [Node("add", ("x2", "x1")), Node("add", ("n0", "x0")), Node("add", ("n1", "n0")),
                        Node("add", ("n2", "n1")), Node("add", ("n2", "n3"))])
    return Example(comp, {"x0": np.array(0.5), "x1": np.array(0.5), "x2": np.array(0.5)})


def test_the_structural_pass_shrinks_what_hypothesis_left(planted):
    # The 5-node counterexample shrinks to a 3-node diamond: cut, bypass, merge.
    from trigrad.properties import checks
    from trigrad.properties.minimize import minimize

    example = _unordered_backward_and_a_stuck_example(planted)

    def fails(ex):
        try:
            checks.check_vjp(Builtin(), ex, np.array(1.0))
        except AssertionError:
            return True
        return False

    assert fails(example)
    small = minimize(example, fails)
    assert fails(small) and len(small.comp.nodes) <= 3, small.comp.formula()
    assert [i.name for i in small.comp.inputs] == [f"x{k}" for k in range(len(small.comp.inputs))]


def test_a_minimal_example_with_a_gap_in_its_input_names_is_renamed():
    # Pruning at the draw can leave x2 alone: nothing to cut, but the report should still say x0.
    from trigrad.properties.example import Example
    from trigrad.properties.minimize import minimize

    comp = Composition([Input("x2")], [Node("sin", ("x2",))])
    example = Example(comp, {"x2": np.array(0.5)})
    small = minimize(example, lambda ex: len(ex.comp.nodes) == 1 and ex.comp.nodes[0].op == "sin")
    assert [i.name for i in small.comp.inputs] == ["x0"] and small.comp.formula() == "sin(x0)"
    assert float(small.values["x0"]) == 0.5


def test_str_of_a_failure_is_pure_and_minimize_is_explicit(planted):
    """str(failure) shows the report as it is; the structural pass runs where the failure is handled
    (suite.cell_test, run_edge_case, a fuzz campaign), once."""
    from trigrad.properties.report import Failure

    example = _unordered_backward_and_a_stuck_example(planted)
    comp = example.comp
    with pytest.raises(Failure) as e:
        suite._check(Builtin(), "vjp", example, {"cotangent": np.array(1.0)})
    failure = e.value
    text = str(failure)
    assert str(failure) == text and failure.report.example.comp == comp  # nothing was minimized
    assert comp.formula() in text
    failure.minimize()
    smallest = failure.report
    assert len(smallest.example.comp.nodes) <= 3 and smallest.example.comp.formula() in str(failure)
    failure.minimize()
    assert failure.report is smallest  # already minimal: not searched again
