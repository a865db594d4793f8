"""The composition IR: construction checks, formulas, DOT, JSON, evaluation."""

import json
import re

import numpy as np
import pytest

from trigrad.oracle import spec
from trigrad.oracle.ir import Composition, Const, Input, Node, values_from_json, values_to_json


def comp(*nodes, inputs=(("x0", ()),), output=None):
    return Composition([Input(n, s) for n, s in inputs], list(nodes), output)


# --- formulas -------------------------------------------------------------------------------------


def test_shared_nodes_become_bindings():
    c = comp(Node("mul", ("x0", "x0")), Node("sin", ("n0",)), Node("add", ("n1", "n0")))
    assert c.formula() == "a = x0 * x0; sin(a) + a"
    assert c.shared() == ["x0", "n0"]


@pytest.mark.parametrize("nodes,text", [
    ([Node("add", ("x0", "x1")), Node("mul", ("n0", "x2"))], "(x0 + x1) * x2"),
    ([Node("mul", ("x0", "x1")), Node("add", ("n0", "x2"))], "x0 * x1 + x2"),
    ([Node("sub", ("x1", "x2")), Node("sub", ("x0", "n0"))], "x0 - (x1 - x2)"),
    ([Node("sub", ("x0", "x1")), Node("sub", ("n0", "x2"))], "x0 - x1 - x2"),
    ([Node("div", ("x1", "x2")), Node("div", ("x0", "n0"))], "x0 / (x1 / x2)"),
    ([Node("pow", ("x0", Const(2))), Node("neg", ("n0",))], "-x0 ** 2"),
    ([Node("neg", ("x0",)), Node("pow", ("n0", Const(2)))], "(-x0) ** 2"),
    ([Node("pow", ("x1", "x2")), Node("pow", ("x0", "n0"))], "x0 ** x1 ** x2"),
    ([Node("pow", ("x0", "x1")), Node("pow", ("n0", "x2"))], "(x0 ** x1) ** x2"),
    ([Node("neg", ("x1",)), Node("pow", ("x0", "n0"))], "x0 ** -x1"),
    ([Node("add", ("x0", "x1")), Node("get_item", ("n0",), {"index": (slice(0, 1),)})], "(x0 + x1)[0:1]"),
    ([Node("mul", ("x0", Const(-2.5)))], "x0 * -2.5"),
])
def test_formula_precedence(nodes, text):
    c = comp(*nodes, inputs=[("x0", (2,)), ("x1", (2,)), ("x2", (2,))])
    assert c.formula() == text


def _python_namespace():
    """Each op name bound to its numpy reference, so a formula can be run as Python."""
    ns = {}
    for name, op in spec.OPS.items():
        ns[name] = (lambda op: lambda *a, **p: op.numpy(*a, **(op.defaults() | p)))(op)
    return ns


def test_formula_is_faithful_python(compositions):
    # Running the printed formula as Python (ops bound to the numpy references) gives the same value
    # as evaluating the DAG: the printer's bindings, parentheses and params are right.
    for c, values in compositions(150, seed=21, max_nodes=6):
        ns = _python_namespace() | {k: np.asarray(v) for k, v in values.items()}
        *bindings, expr = c.formula().split("; ")
        with np.errstate(all="ignore"):
            for b in bindings:
                exec(b, ns)
            got = eval(expr, ns)
            want = c.evaluate_numpy(values)
        np.testing.assert_array_equal(got, want, err_msg=c.formula())


def test_binding_names_avoid_inputs():
    c = comp(Node("mul", ("a", "a")), Node("add", ("n0", "n0")), inputs=[("a", ())])
    assert c.formula() == "b = a * a; b + b"


def test_dead_nodes_are_not_printed_and_pruned():
    c = comp(Node("sin", ("x0",)), Node("cos", ("x0",)), Node("exp", ("n1",)), inputs=[("x0", ()), ("x1", ())])
    assert c.formula() == "exp(cos(x0))"
    p = c.pruned()
    assert len(p) == 2 and [i.name for i in p.inputs] == ["x0"] and p.formula() == "exp(cos(x0))"


# --- DOT ----------------------------------------------------------------------------------------------


def test_dot(compositions):
    for c, _ in compositions(30, seed=22):
        dot = c.to_dot()
        assert dot.startswith("digraph composition {") and dot.endswith("}")
        edges = re.findall(r'"(\w+)" -> "(\w+)"', dot)
        live = c.live()
        assert len(edges) == sum(len(c.nodes[k].args) for k in live)
        assert f'"{c.output}" [label=' in dot and "peripheries=2" in dot


# --- JSON -------------------------------------------------------------------------------------------


def test_json_round_trip(compositions):
    for c, values in compositions(60, seed=23):
        text = json.dumps(c.to_json())
        back = Composition.from_json(text)
        assert back == c and back.formula() == c.formula()
        assert back.dumps() == c.dumps()
        v = values_from_json(json.loads(json.dumps(values_to_json(values))))
        for k in values:
            assert np.array_equal(v[k], values[k])  # floats round-trip exactly


def test_json_is_not_pickle_and_is_checked():
    with pytest.raises(ValueError, match="not a trigrad composition"):
        Composition.from_json({"format": "something else"})
    data = comp(Node("sum", ("x0",), {"axis": 0}), inputs=[("x0", (2,))]).to_json()
    data["nodes"][0]["params"]["axes"] = 1
    with pytest.raises(ValueError, match="no param 'axes'"):
        Composition.from_json(data)


# --- construction checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("nodes,inputs,message", [
    ([Node("sine", ("x0",))], [("x0", ())], "unknown op 'sine'"),
    ([Node("add", ("x0",))], [("x0", ())], "add takes 2 argument"),
    ([Node("sin", ("n3",))], [("x0", ())], "neither an input nor an earlier node"),
    ([Node("add", ("x0", "x1"))], [("x0", (2,)), ("x1", (3,))], "shape"),
    ([Node("matmul", ("x0", "x1"))], [("x0", (2, 3)), ("x1", (2, 3))], "inner dimensions"),
    ([Node("reshape", ("x0",), {"shape": (4,)})], [("x0", (2, 3))], "cannot reshape"),
    ([Node("sum", ("x0",), {"axis": 2})], [("x0", (2, 3))], "out of range"),
])
def test_bad_compositions_say_what_is_wrong(nodes, inputs, message):
    with pytest.raises((ValueError, KeyError), match=message):
        comp(*nodes, inputs=inputs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="identifier"):
        Input("n0")
    with pytest.raises(ValueError, match=">= 1"):
        Input("x", (0,))
    with pytest.raises(ValueError, match="finite"):
        Const(float("inf"))


# --- evaluation through a lookup ------------------------------------------------------------------------


def test_evaluate_through_any_lookup():
    c = comp(Node("mul", ("x0", Const(3))), Node("sum", ("n0",), {"axis": 0}), inputs=[("x0", (2,))])
    calls = []

    def lookup(name):
        def run(*args, **params):
            calls.append((name, args, params))
            return spec.get(name).numpy(*args, **params)
        return run

    out = c.evaluate({"x0": np.array([1.0, 2.0])}, lookup)
    assert out == 9.0
    assert calls[0][0] == "mul" and calls[0][1][1] == 3.0  # constants arrive as Python floats
    assert calls[1][2] == {"axis": 0, "keepdims": False}  # params always carry the defaults
    with pytest.raises(ValueError, match="missing input values"):
        c.evaluate({}, lookup)
