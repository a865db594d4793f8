"""An adapter's ``missing_rules`` (ops without a forward-mode or second-order rule) make those cells
unsupported and keep the ops out of the property's other cells; and rechecking a shrunk example gives
each input a tangent of its own shape. Library-free, well under a second."""

import numpy as np

from trigrad.oracle.ir import Composition, Input, Node
from trigrad.properties import suite
from trigrad.properties.backends import missing_rules, resolve
from trigrad.properties.example import Example


def _builtin_without(what, ops):
    b = resolve("builtin")
    b.missing_rules = {what: {op: f"no {what} rule for {op} (a test's declaration)" for op in ops}}
    return b


def test_missing_rules_make_cells_unsupported_and_leave_the_ops_out():
    b = _builtin_without("hvp", ["tan", "exp"])
    assert missing_rules(b, "hvp") == b.missing_rules["hvp"] and missing_rules(b, "jvp") == {}
    assert suite.status(b, "hvp", "tan") == "unsupported: no hvp rule for tan (a test's declaration)"
    assert suite.status(b, "vjp", "tan") is None and suite.status(b, "hvp", "sin") is None
    assert {"tan", "exp"}.isdisjoint(suite._ops(b, "hvp", "add")) and {"tan", "exp"} <= set(suite._ops(b, "vjp", "add"))
    assert suite.status(b, "hvp", suite.ALL_OPS) is None and "tan" not in suite._ops(b, "hvp", suite.ALL_OPS)
    # a cell that is run (hvp of sin) never draws the missing ops: it passes on the built-in core
    cell = suite.run_cell(b, "hvp", "sin", max_examples=20)
    assert cell.status == "pass", cell
    assert missing_rules(resolve("builtin"), "hvp") == {}  # nothing declared: nothing missing


def test_a_rechecked_input_under_an_old_name_gets_a_tangent_of_its_shape():
    """Shrinking can cut a node into a new input whose name an earlier input had, with another
    shape: the old tangent must not be reused (MLX's jvp then raised on trigrad's mistake)."""
    seen = []
    b = resolve("builtin")
    b.run_check = lambda prop, check, example, kwargs, oracle=None: seen.append(kwargs)
    comp = Composition([Input("x1", (3,))], [Node("sum_to", ("x1",), {"shape": ()})], "n0")
    example = Example(comp, {"x1": np.array([4.0, 4.0, 4.0])})
    recheck = suite._rechecker(b, "hvp", {"cotangent": np.array(1.0), "tangents": {"x1": np.array([1.0]), "x0": np.ones(2)}})
    assert recheck(example) is None
    (kw,) = seen
    assert set(kw["tangents"]) == {"x1"} and kw["tangents"]["x1"].shape == (3,)
    recheck = suite._rechecker(b, "hvp", {"cotangent": np.array(1.0), "tangents": {"x1": np.array([1.0, -2.0, 0.5])}})
    recheck(example)
    assert seen[-1]["tangents"]["x1"].tolist() == [1.0, -2.0, 0.5]  # the same shape: kept as drawn


def test_mlx_still_lacks_the_rule_it_declares_missing():
    """MLX's declared missing rule (second order of prod) still raises in the library; skipped without
    MLX (about 1 s with it)."""
    import pytest

    from trigrad.properties.backends import BackendError

    try:
        b = resolve("mlx")
    except BackendError as e:
        pytest.skip(str(e))
    assert set(missing_rules(b, "hvp")) == {"prod"}
    f = b.op("prod")
    fn = lambda x: f(x, axis=None, keepdims=False)  # noqa: E731
    with pytest.raises(RuntimeError, match="cumulative"):
        b.hvp(fn, [b.asarray(np.array([1.5, 2.0]))], np.array(1.0), [np.ones(2)])


def test_hips_still_lacks_the_rule_it_declares_missing():
    """HIPS autograd's declared missing rule (forward mode of sigmoid, scipy's expit) still raises in
    the library; skipped without HIPS autograd."""
    import pytest

    from trigrad.properties.backends import BackendError

    try:
        b = resolve("hips")
    except BackendError as e:
        pytest.skip(str(e))
    assert set(missing_rules(b, "jvp")) == {"sigmoid"} and missing_rules(b, "hvp") == {}
    f = b.op("sigmoid")
    with pytest.raises(NotImplementedError, match="expit"):
        b.jvp(f, [b.asarray(np.array([0.5]))], [np.ones(1)])
