"""The adapter for PaddlePaddle (PyPI ``paddlepaddle``, tested with 3.3.1, the CPU build), dynamic graph,
float64.

Every leaf is its own tensor (``paddle.to_tensor(..., stop_gradient=False)``). Reverse mode is
``paddle.grad(y, xs, grad_outputs=cotangent)``; second order differentiates the inner product of those
gradients with the tangents again (``create_graph=True``); forward mode is
``paddle.incubate.autograd.jvp``. Gradients of inputs that the output does not depend on are zeros
(``allow_unused=True`` returns None for them).

Paddle's dynamic graph has no forward mode of its own: ``paddle.incubate.autograd.jvp`` is the
double-backward trick (the VJP differentiated with respect to its cotangent), so it needs a rule for
the derivative of each op's gradient, and second order needs the same. Paddle 3.3.1 has none for
many ops (``RuntimeError: The Op tan_grad doesn't have any grad op``); their rows declare them
(``Row.missing``), found by trying each op (tests/backends/test_paddle_rules.py tries them again):
unsupported cells, left out of the other cells' compositions.

Importing paddle 3.3.1 after tensorflow 2.21.0 in one process crashes with a segmentation fault (the
other order works), so the adapter refuses to load after tensorflow, with that reason.
"""

from __future__ import annotations

import operator
import os
import sys

import numpy as np

from trigrad.oracle import spec

from . import OPERATORS, Backend, OpTable, Row, Unsupported


def _rows(paddle, F) -> dict:
    """One row per spec op (see Row)."""
    return {
        **{name: Row(function, missing=_OPERATOR_RULES.get(function, {})) for name, function in OPERATORS.items()},
        "square": Row("paddle.square", missing=_no_grad_of_double_grad("square_double_grad")),
        "sqrt": Row("paddle.sqrt", missing=_no_grad_of_double_grad("sqrt_double_grad")),
        "exp": Row("paddle.exp"),
        "log": Row("paddle.log"),
        "sin": Row("paddle.sin"),
        "cos": Row("paddle.cos"),
        "tan": Row("paddle.tan", missing=_no_grad_of_grad("tan_grad")),
        "tanh": Row("paddle.tanh"),
        "arctan": Row("paddle.atan", missing=_no_grad_of_grad("atan_grad")),
        "sigmoid": Row("F.sigmoid"),
        "relu": Row("F.relu", missing=_no_grad_of_double_grad("relu_double_grad")),
        "abs": Row("paddle.abs"),
        "softplus": Row("F.softplus", missing=_no_grad_of_double_grad("softplus_double_grad")),
        "sinh": Row("paddle.sinh", missing=_no_grad_of_grad("sinh_grad")),
        "cosh": Row("paddle.cosh", missing=_no_grad_of_grad("cosh_grad")),
        "arcsin": Row("paddle.asin", missing=_no_grad_of_grad("asin_grad")),
        "arccos": Row("paddle.acos"),
        "arctanh": Row("paddle.atanh", missing=_no_grad_of_grad("atanh_grad")),
        "log1p": Row("paddle.log1p", missing=_no_grad_of_grad("log1p_grad")),
        "expm1": Row("paddle.expm1", missing=_no_grad_of_grad("expm1_grad")),
        "erf": Row("paddle.erf", missing=_no_grad_of_grad("erf_grad")),
        "silu": Row("F.silu"),
        "logsigmoid": Row("F.log_sigmoid", missing=_no_grad_of_grad("logsigmoid_grad")),
        "gelu": Row(lambda x, approximate: F.gelu(x, approximate=approximate != "none"),
                    "F.gelu({0}, approximate={approximate} != 'none')", missing=_no_grad_of_grad("gelu_grad")),
        "logaddexp": Row("paddle.logaddexp", missing=_no_grad_of_grad("log1p_grad")),
        "hypot": Row("paddle.hypot"),
        "leaky_relu": Row(lambda x, slope: F.leaky_relu(x, negative_slope=slope), "F.leaky_relu({0}, negative_slope={slope})", missing=_no_grad_of_double_grad("leaky_relu_double_grad")),
        "elu": Row(lambda x, alpha: F.elu(x, alpha=alpha), "F.elu({0}, alpha={alpha})", missing=_no_grad_of_double_grad("elu_double_grad")),
        "prod": _reduction(paddle, "prod", missing=_no_grad_of_grad("prod_grad")),
        "var": Row(lambda x, axis, keepdims, ddof: paddle.var(x, axis=_axis(axis), unbiased=ddof == 1, keepdim=keepdims),
                   "paddle.var({0}, axis={axis}, unbiased={ddof} == 1, keepdim={keepdims})"),
        "std": Row(lambda x, axis, keepdims, ddof: paddle.std(x, axis=_axis(axis), unbiased=ddof == 1, keepdim=keepdims),
                   "paddle.std({0}, axis={axis}, unbiased={ddof} == 1, keepdim={keepdims})"),
        "norm": Row(lambda x, axis, keepdims: paddle.linalg.vector_norm(x, p=2, axis=_axis(axis), keepdim=keepdims),
                    "paddle.linalg.vector_norm({0}, p=2, axis={axis}, keepdim={keepdims})", missing=_no_grad_of_grad("p_norm_grad")),
        "cumsum": Row(lambda x, axis: paddle.cumsum(x, axis=axis), "paddle.cumsum({0}, axis={axis})", missing=_no_grad_of_grad("cumsum_grad")),
        "flip": Row(lambda x, axis: paddle.flip(x, axis=_flip_axes(axis, x)),
                    "paddle.flip({0}, axis={axis} if {axis} is not None else list(range({0}.ndim)))"),
        "tril": Row(lambda x, k: paddle.tril(x, k), "paddle.tril({0}, {k})", missing=_no_grad_of_grad("tril_grad")),
        "triu": Row(lambda x, k: paddle.triu(x, k), "paddle.triu({0}, {k})", missing=_no_grad_of_grad("triu_grad")),
        "concatenate": Row(lambda a, b, axis: paddle.concat([a, b], axis=axis), "paddle.concat([{0}, {1}], axis={axis})"),
        "stack": Row(lambda a, b, axis: paddle.stack([a, b], axis=axis), "paddle.stack([{0}, {1}], axis={axis})"),
        "clip": Row(lambda x, lo, hi: paddle.clip(x, lo, hi), "paddle.clip({0}, {lo}, {hi})", missing=_no_grad_of_double_grad("clip_double_grad")),
        "reshape": Row(lambda x, shape: paddle.reshape(x, list(shape)), "paddle.reshape({0}, {shape})"),
        "transpose": Row(lambda x, axes: paddle.transpose(x, _perm(axes, x)),
                         "paddle.transpose({0}, {axes} or list(range({0}.ndim - 1, -1, -1)))"),
        "broadcast_to": Row(lambda x, shape: paddle.broadcast_to(x, list(shape)), "paddle.broadcast_to({0}, {shape})"),
        "sum_to": Row(lambda x, shape: _sum_to(paddle, x, shape)),
        "sum": _reduction(paddle, "sum"),
        "mean": _reduction(paddle, "mean"),
        "max": _reduction(paddle, "max", missing=_no_grad_of_grad("max_grad")),
        "min": _reduction(paddle, "min", missing=_no_grad_of_grad("min_grad")),
        "logsumexp": _reduction(paddle, "logsumexp", missing=_no_grad_of_grad("logsumexp_grad")),
        "matmul": Row("paddle.matmul"),
        "get_item": Row(lambda x, index: x[_index(index)]),
        "softmax": Row(lambda x, axis: F.softmax(x, axis=axis), "F.softmax({0}, axis={axis})", missing=_no_grad_of_grad("softmax_grad")),
        "log_softmax": Row(lambda x, axis: F.log_softmax(x, axis=axis), "F.log_softmax({0}, axis={axis})", missing=_no_grad_of_grad("log_softmax_grad")),
        "mean_squared_error": Row("F.mse_loss", missing=_no_grad_of_double_grad("square_double_grad")),
        "softmax_cross_entropy": Row(lambda x, labels: F.cross_entropy(x, paddle.to_tensor(list(labels))),
                                     "F.cross_entropy({0}, paddle.to_tensor({labels}))", missing=_no_grad_of_grad("mean_all_grad")),
    }


def _missing(grad_op: str, what: str) -> str:
    return (f"paddle 3.3.1 has no {what} for this op: {grad_op} has no gradient "
            f"(RuntimeError: The Op {grad_op} doesn't have any grad op)")


def _no_grad_of_grad(grad_op: str) -> dict:
    """A row's missing rules (``Row.missing``) when the op's gradient op ``grad_op`` has no gradient in
    paddle 3.3.1: no second order, and no forward mode (built on the double-backward trick)."""
    return {"jvp": _missing(grad_op, "forward mode (paddle.incubate.autograd.jvp, the double-backward trick)"),
            "hvp": _missing(grad_op, "second-order rule")}


def _no_grad_of_double_grad(grad_op: str) -> dict:
    """A row's missing rules when the op has a second-order rule ``grad_op`` whose own gradient is
    missing: second order works, but the double-backward trick differentiates it once more."""
    return {"jvp": _missing(grad_op, "forward mode (paddle.incubate.autograd.jvp, the double-backward trick)")}


# The Python operators' rows (OPERATORS) whose rules paddle 3.3.1 lacks, by the operator.
_OPERATOR_RULES = {operator.truediv: _no_grad_of_double_grad("divide_double_grad"),
                   operator.pow: _no_grad_of_grad("elementwise_pow_grad")}


def _axis(axis):
    """The spec's axis as paddle takes it (a list for several axes)."""
    return list(axis) if isinstance(axis, tuple) else axis


def _reduction(paddle, function: str, missing: dict | None = None) -> Row:
    """paddle.<function> over the spec's axis and keepdims (paddle's keepdim)."""
    call = getattr(paddle, function)
    return Row(lambda x, axis, keepdims: call(x, axis=_axis(axis), keepdim=keepdims),
               f"paddle.{function}({{0}}, axis={{axis}}, keepdim={{keepdims}})", missing=missing or {})


def _flip_axes(axis, x):
    return list(range(x.ndim)) if axis is None else _axis(axis)


def _perm(axes, x):
    return list(axes) if axes is not None else list(reversed(range(x.ndim)))


def _index(index):
    """The spec's index with integer-array items as lists, which paddle indexes with."""
    return tuple(list(i) if isinstance(i, (tuple, list)) else i for i in index)


def _sum_to(paddle, x, shape):
    axes, _ = spec.sum_to_axes(tuple(x.shape), tuple(shape))
    return paddle.reshape(paddle.sum(x, axis=list(axes), keepdim=True), list(shape)) if axes else paddle.reshape(x, list(shape))


class Paddle(Backend):
    """PaddlePaddle's dynamic graph, float64 on the CPU."""

    name = "paddle"
    preamble = "import numpy as np\nimport paddle\nimport paddle.nn.functional as F"

    def __init__(self):
        if "tensorflow" in sys.modules and "paddle" not in sys.modules:
            raise ValueError("paddle cannot be imported after tensorflow in one process (it crashes with a "
                             "segmentation fault); check paddle in a process of its own, or before tensorflow")
        os.environ.setdefault("GLOG_minloglevel", "2")  # paddle's type-promotion warnings on stderr
        import paddle
        import paddle.incubate.autograd
        import paddle.nn.functional as F

        paddle.set_device("cpu")
        self.paddle = paddle
        self.table = OpTable(_rows(paddle, F), {"paddle": paddle, "F": F})
        self.ops = self.table.ops
        self.version = paddle.__version__

    def asarray(self, x):
        return self.paddle.to_tensor(np.asarray(x, dtype=np.float64), dtype="float64", stop_gradient=False)

    def tonumpy(self, v):
        return np.array(v.numpy() if isinstance(v, self.paddle.Tensor) else v, dtype=np.float64)

    def op(self, name):
        if name not in self.table.calls:
            raise Unsupported(f"paddle adapter has no op {name!r}")
        call = self.table.calls[name]
        return lambda *args, **params: call(*[self._const(a) for a in args], **params)

    def _const(self, a):
        return a if isinstance(a, self.paddle.Tensor) else self._tensor(a)

    def _tensor(self, v):
        return self.paddle.to_tensor(np.asarray(v, dtype=np.float64), dtype="float64")

    def _zeros(self, grads, xs):
        return [np.zeros(tuple(x.shape)) if g is None else self.tonumpy(g) for g, x in zip(grads, xs)]

    def vjp(self, fn, xs, cotangent):
        y = fn(*xs)
        if y.stop_gradient:  # no input reaches the output: paddle.grad would raise
            return self.tonumpy(y), [np.zeros(tuple(x.shape)) for x in xs]
        ct = self._tensor(np.broadcast_to(cotangent, tuple(y.shape)))
        grads = self.paddle.grad(y, list(xs), grad_outputs=ct, allow_unused=True)
        return self.tonumpy(y), self._zeros(grads, xs)

    def jvp(self, fn, xs, tangents):
        y, t = self.paddle.incubate.autograd.jvp(fn, list(xs), [self._tensor(u) for u in tangents])
        return self.tonumpy(y), self.tonumpy(t)

    def hvp(self, fn, xs, cotangent, tangents):
        paddle = self.paddle
        y = fn(*xs)
        ct = self._tensor(np.broadcast_to(cotangent, tuple(y.shape)))
        grads = paddle.grad(y, list(xs), grad_outputs=ct, create_graph=True, allow_unused=True)
        terms = [paddle.sum(g * self._tensor(u)) for g, u in zip(grads, tangents) if g is not None]
        if not terms or all(t.stop_gradient for t in terms):
            return [np.zeros(tuple(x.shape)) for x in xs]
        return self._zeros(paddle.grad(paddle.add_n(terms), list(xs), allow_unused=True), xs)

    # reproducer snippets
    def leaf_source(self, array):
        return f"paddle.to_tensor(np.asarray({array}, dtype=np.float64), dtype='float64', stop_gradient=False)"

    def vjp_source(self, out, inputs, cotangent, body):
        return "\n".join(body + [
            f"ct = paddle.to_tensor(np.broadcast_to({cotangent}, {out}.shape).astype(np.float64))",
            f"grads = paddle.grad({out}, [{', '.join(inputs)}], grad_outputs=ct, allow_unused=True)",
            f"print('value:', {out}.numpy())",
            *[f"print('gradient wrt {x}:', grads[{k}].numpy() if grads[{k}] is not None else 0.0)"
              for k, x in enumerate(inputs)]])

    def hvp_source(self, out, inputs, cotangent, tangents, body):
        xs = ", ".join(inputs)
        return "\n".join(body + [
            f"ct = paddle.to_tensor(np.broadcast_to({cotangent}, {out}.shape).astype(np.float64))",
            f"grads = paddle.grad({out}, [{xs}], grad_outputs=ct, create_graph=True, allow_unused=True)",
            f"tangents = [{', '.join(tangents)}]",
            "inner = paddle.add_n([paddle.sum(g * paddle.to_tensor(np.asarray(t, dtype=np.float64)))",
            "                      for g, t in zip(grads, tangents) if g is not None])",
            f"hvp = paddle.grad(inner, [{xs}], allow_unused=True)",
            *[f"print('second order wrt {x}:', hvp[{k}].numpy() if hvp[{k}] is not None else 0.0)"
              for k, x in enumerate(inputs)]])


def make() -> Paddle:
    return Paddle()
