"""The adapter for trigrad's own autograd core (the default backend).

Reverse mode is the core's ``backward``. The core has no forward mode, so the JVP is taken the way
reverse-mode libraries without one do it: the VJP g(v) = J^T v is linear in v, so differentiating
<g(v), u> with respect to v (a second backward through the recorded first one, ``create_graph=True``)
gives J u. Hessian-vector products differentiate <grad, u> with respect to the inputs the same way.
Both exercise ``create_graph``, so they check the core's second order as well.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import numpy as np

import trigrad.autograd as F
from trigrad.oracle import spec

from . import OPERATORS, Backend, OpTable, Row, Unsupported, dezero_api_hvp_source

# The ops the core does not call as ``F.<op>(*args, **params)`` with the spec's params by name; every
# other op of the table is exactly that (the core implements them all).
_TABLE = OpTable({
    **{name: Row(function) for name, function in OPERATORS.items()},
    "clip": Row(lambda x, lo, hi: F.clip(x, lo, hi), "F.clip({0}, {lo}, {hi})"),
    "get_item": Row(lambda x, index: F.get_item(x, spec.as_index(index))),
    "softmax_cross_entropy": Row(lambda x, labels: F.softmax_cross_entropy(x, _labels(labels)), "F.softmax_cross_entropy({0}, np.array({labels}))"),
}, prefix="F.")


# Analytic ops the core computes for real input only: numpy has no erf, the core takes math's.
_REAL_ONLY = frozenset({"erf", "gelu"})


def _labels(labels):
    """Class labels (a tuple in the spec) as the integer array the core takes."""
    return np.asarray(labels, dtype=np.intp)


class Builtin(Backend):
    """trigrad's DeZero-style core, in float64."""

    name = "builtin"
    ops = frozenset(spec.OPS)
    # Every analytic op of the core but those of _REAL_ONLY runs on complex arrays (autograd's tests
    # check it), which lets the numeric oracle use the complex step on analytic compositions.
    complex_ops = frozenset(name for name, op in spec.OPS.items() if op.analytic) - _REAL_ONLY
    preamble = "import numpy as np\nimport trigrad.autograd as F"

    def __init__(self):
        try:
            self.version = version("trigrad")
        except PackageNotFoundError:
            self.version = "source checkout"

    def asarray(self, x):
        return F.Variable(np.array(x, dtype=np.result_type(x, np.float64)))

    def tonumpy(self, v):
        return np.asarray(v.data if isinstance(v, F.Variable) else v)

    def op(self, name):
        if name not in self.ops:
            raise Unsupported(f"builtin has no op {name!r}")
        return _TABLE.calls.get(name) or getattr(F, name)

    def source(self, name):
        return _TABLE.source(name)

    def leaf_source(self, array):
        return f"F.Variable({array})"

    def vjp_source(self, out, inputs, cotangent, body):
        lines = body + [f"{out}.grad = F.Variable({cotangent})", f"{out}.backward()", f"print('value:', {out}.data)"]
        lines += [f"print('gradient wrt {x}:', {x}.grad.data if {x}.grad is not None else 0.0)" for x in inputs]
        return "\n".join(lines)

    def hvp_source(self, out, inputs, cotangent, tangents, body):
        return dezero_api_hvp_source("F.Variable", "F", out, inputs, cotangent, tangents, body)

    def vjp(self, fn, xs, cotangent):
        y = fn(*xs)
        y = F.as_variable(y)
        # the caller's array itself (no copy), so that a backward writing into it can be detected
        y.grad = F.Variable(np.asarray(cotangent, dtype=y.dtype))
        y.backward()
        return y.data, [_grad(x) for x in xs]

    def jvp(self, fn, xs, tangents):
        y = F.as_variable(fn(*xs))
        v = F.Variable(np.zeros_like(y.data))
        # <J^T v, u> is linear in v; its gradient with respect to v is J u
        inner = _grad_dot_tangents(y, v, xs, tangents)
        if inner is None:
            return y.data, np.zeros_like(y.data)
        inner.backward()
        return y.data, _grad(v)

    def hvp(self, fn, xs, cotangent, tangents):
        y = F.as_variable(fn(*xs))
        # the gradient of <grad, u> with respect to the inputs is H u
        inner = _grad_dot_tangents(y, F.Variable(np.array(cotangent, dtype=y.dtype)), xs, tangents)
        if inner is None:
            return [np.zeros_like(x.data) for x in xs]
        inner.backward()
        return [_grad(x) for x in xs]


def _grad_dot_tangents(y, seed, xs, tangents):
    """sum over inputs of <d<seed, y>/dx, u>, recorded as a graph (create_graph); the inputs' .grad
    are cleared so that the next backward leaves only its own result there. None if no input has a
    gradient."""
    y.grad = seed
    y.backward(create_graph=True)
    inner = None
    for x, u in zip(xs, tangents):
        if x.grad is not None:
            term = F.sum(x.grad * u)
            inner = term if inner is None else inner + term
        x.cleargrad()
    return inner


def _grad(x):
    return np.zeros_like(x.data) if x.grad is None else np.array(x.grad.data)


def make() -> Builtin:
    return Builtin()
