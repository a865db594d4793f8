"""The PaddlePaddle adapter's ``missing_rules`` match the library: each op it declares without a
forward-mode or second-order rule still raises Paddle's "doesn't have any grad op" there, and no
other op does (so a release that adds a rule, or loses one, shows here). Skipped without paddle.
About 3 s with paddle installed (most of it importing paddle)."""

import numpy as np
import pytest

from trigrad.oracle import spec
from trigrad.properties.backends import BackendError, missing_rules, resolve

# Params for ops whose defaults do not fit a (2, 3) input (or have none).
PARAMS = {"reshape": {"shape": (3, 2)}, "broadcast_to": {"shape": (2, 2, 3)}, "sum_to": {"shape": (1, 3)},
          "get_item": {"index": (0,)}, "softmax_cross_entropy": {"labels": (0, 2)}}
NO_RULE = "doesn't have any grad op"


@pytest.fixture(scope="module")
def paddle():
    try:
        return resolve("paddle")
    except BackendError as e:
        pytest.skip(str(e))


def _inputs(name):
    """One (2, 3) argument per arity (matmul: (2, 3) @ (3, 2)), inside the op's drawing domain."""
    op, rng = spec.get(name), np.random.default_rng(0)
    shapes = [(2, 3), (3, 2)] if name == "matmul" else [(2, 3)] * op.arity
    out = []
    for k, shape in enumerate(shapes):
        iv = op.draw[min(k, len(op.draw) - 1)]
        lo, hi = max(iv.lo, -2.0), min(iv.hi, 2.0)
        out.append(rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), shape))
    return out


def _raised(b, name, what):
    """The message ``what`` ("jvp" or "hvp") of op ``name`` alone raised, or None."""
    params = {p.name: p.default for p in spec.get(name).params} | PARAMS.get(name, {})
    f = b.op(name)
    fn = lambda *a: f(*a, **params)  # noqa: E731
    xs = _inputs(name)
    out = b.tonumpy(fn(*[b.asarray(x) for x in xs]))
    try:
        if what == "jvp":
            b.jvp(fn, [b.asarray(x) for x in xs], [np.ones_like(x) for x in xs])
        else:
            b.hvp(fn, [b.asarray(x) for x in xs], np.ones_like(out), [np.ones_like(x) for x in xs])
    except RuntimeError as e:
        return str(e)
    return None


@pytest.mark.parametrize("what", ["jvp", "hvp"])
def test_declared_missing_rules_are_the_library_s(paddle, what):
    declared = missing_rules(paddle, what)
    assert declared and set(declared) <= set(paddle.ops)
    wrong = {}
    for name in sorted(paddle.ops):
        raised = _raised(paddle, name, what)
        lacks = raised is not None and NO_RULE in raised
        if lacks != (name in declared):
            wrong[name] = raised.splitlines()[0][:100] if raised else "no error, but declared missing"
    assert not wrong, wrong


def test_declared_ops_are_unsupported_cells_and_left_out_of_other_rows(paddle):
    from trigrad.properties import suite

    assert suite.status(paddle, "hvp", "tan").startswith("unsupported: paddle 3.3.1 has no second-order rule")
    assert suite.status(paddle, "jvp", "square").startswith("unsupported: paddle 3.3.1 has no forward mode")
    assert suite.status(paddle, "hvp", "square") is None and suite.status(paddle, "vjp", "tan") is None
    assert "tan" not in suite._ops(paddle, "hvp", "add") and "tan" in suite._ops(paddle, "vjp", "add")
    assert "square" not in suite._ops(paddle, "adjoint", "add") and "square" in suite._ops(paddle, "hvp", "add")
