"""The adapter for tinygrad (PyPI ``tinygrad``, tested with 0.14.0) on its CPU device, float64.

tinygrad's CPU device compiles its kernels with clang (``apt-get install clang``). Reverse mode is
``Tensor.gradient(*inputs, gradient=cotangent)``; its gradients are tensors of the same graph, so
second order differentiates their inner product with the tangents again. tinygrad has no forward
mode (jvp is unsupported).

Every leaf must be its own node: tinygrad turns a 0-d array into a constant, and equal constants are
one node (hash-consed), so two inputs that happen to be equal would share one gradient. The adapter
makes each leaf from a one-element buffer reshaped to its shape, which is a node of its own.
"""

from __future__ import annotations

import importlib.metadata

import numpy as np

from trigrad.oracle import spec

from . import OPERATORS, Backend, OpTable, Row, Unsupported


def _rows(Tensor) -> dict:
    """One row per spec op (see Row)."""
    return {
        **{name: Row(function) for name, function in OPERATORS.items()},
        "square": Row("Tensor.square", "{0}.square()"),
        "sqrt": Row("Tensor.sqrt", "{0}.sqrt()"),
        "exp": Row("Tensor.exp", "{0}.exp()"),
        "log": Row("Tensor.log", "{0}.log()"),
        "sin": Row("Tensor.sin", "{0}.sin()"),
        "cos": Row("Tensor.cos", "{0}.cos()"),
        "tan": Row("Tensor.tan", "{0}.tan()"),
        "tanh": Row("Tensor.tanh", "{0}.tanh()"),
        "arctan": Row("Tensor.atan", "{0}.atan()"),
        "sigmoid": Row("Tensor.sigmoid", "{0}.sigmoid()"),
        "relu": Row("Tensor.relu", "{0}.relu()"),
        "abs": Row("Tensor.abs", "{0}.abs()"),
        "softplus": Row("Tensor.softplus", "{0}.softplus()"),
        "clip": Row(lambda x, lo, hi: x.clip(lo, hi), "{0}.clip({lo}, {hi})"),
        "reshape": Row(lambda x, shape: x.reshape(shape), "{0}.reshape({shape})"),
        "transpose": Row(lambda x, axes: x.permute(_perm(axes, x)), "{0}.permute({axes} or tuple(reversed(range({0}.ndim))))"),
        "broadcast_to": Row(lambda x, shape: x.expand(shape), "{0}.expand({shape})"),
        "sum_to": Row(lambda x, shape: _sum_to(x, shape)),
        "sum": Row(lambda x, axis, keepdims: x.sum(axis, keepdim=keepdims), "{0}.sum({axis}, keepdim={keepdims})"),
        "mean": Row(lambda x, axis, keepdims: x.mean(axis, keepdim=keepdims), "{0}.mean({axis}, keepdim={keepdims})"),
        "max": Row(lambda x, axis, keepdims: x.max(axis, keepdim=keepdims), "{0}.max({axis}, keepdim={keepdims})"),
        "min": Row(lambda x, axis, keepdims: x.min(axis, keepdim=keepdims), "{0}.min({axis}, keepdim={keepdims})"),
        "logsumexp": Row(lambda x, axis, keepdims: x.logsumexp(axis, keepdim=keepdims), "{0}.logsumexp({axis}, keepdim={keepdims})"),
        "matmul": Row(lambda a, b: a @ b, "{0} @ {1}"),
        "get_item": Row(lambda x, index: x[_index(index)]),
        "softmax": Row(lambda x, axis: x.softmax(axis), "{0}.softmax({axis})"),
        "log_softmax": Row(lambda x, axis: x.log_softmax(axis), "{0}.log_softmax({axis})"),
        "mean_squared_error": Row(lambda a, b: ((a - b) ** 2).mean(), "(({0} - {1}) ** 2).mean()"),
        "softmax_cross_entropy": Row(lambda x, labels: x.sparse_categorical_crossentropy(Tensor(list(labels))), "{0}.sparse_categorical_crossentropy(Tensor(list({labels})))"),
        "maximum": Row(lambda x, y: x.maximum(y), "{0}.maximum({1})"),
        "minimum": Row(lambda x, y: x.minimum(y), "{0}.minimum({1})"),
        "where": Row(lambda x, y, condition: Tensor(np.asarray(condition)).where(x, y), "Tensor(np.array({condition})).where({0}, {1})"),
        "pad": Row(lambda x, widths: x.pad(widths), "{0}.pad({widths})"),
        "tile": Row(lambda x, reps: x.repeat(reps), "{0}.repeat({reps})"),
        "take_along_axis": Row(lambda x, axis, indices: x.gather(axis, Tensor(np.asarray(indices))), "{0}.gather({axis}, Tensor(np.array({indices})))"),
        "einsum": Row(lambda a, b, subscripts: Tensor.einsum(subscripts, a, b), "Tensor.einsum({subscripts}, {0}, {1})"),
        "layer_norm": Row(lambda x, eps: x.layernorm(-1, eps), "{0}.layernorm(-1, {eps})"),
        "cross_entropy": Row(lambda x, target: x.cross_entropy(Tensor(np.asarray(target), dtype=x.dtype)), "{0}.cross_entropy(Tensor(np.array({target}), dtype={0}.dtype))"),
    }


def _perm(axes, x):
    return tuple(axes) if axes is not None else tuple(reversed(range(x.ndim)))


def _index(index):
    """The spec's index with integer-array items as lists, which tinygrad indexes with (not numpy arrays)."""
    return tuple(list(i) if isinstance(i, (tuple, list)) else i for i in index)


def _sum_to(x, shape):
    axes, _ = spec.sum_to_axes(tuple(x.shape), tuple(shape))
    return x.sum(axes, keepdim=True).reshape(shape) if axes else x.reshape(shape)


class Tinygrad(Backend):
    """tinygrad on its CPU device, float64."""

    name = "tinygrad"
    preamble = "import numpy as np\nfrom tinygrad import Tensor, dtypes"

    def __init__(self):
        import tinygrad
        from tinygrad import Device, Tensor, dtypes

        if not Device["CPU"]:
            raise ValueError("tinygrad has no CPU device")
        self.Tensor, self.dtypes = Tensor, dtypes
        self.table = OpTable(_rows(Tensor), {"Tensor": Tensor})
        self.ops = self.table.ops
        self.version = getattr(tinygrad, "__version__", None) or importlib.metadata.version("tinygrad")

    def asarray(self, x):
        # one-element buffer, reshaped: a node of its own (a 0-d array would be a shared constant)
        x = np.array(x, dtype=np.float64)
        return self.Tensor(x.reshape(-1), device="CPU", dtype=self.dtypes.float64).reshape(x.shape)

    def tonumpy(self, v):
        return np.array(v.numpy() if isinstance(v, self.Tensor) else v, dtype=np.float64)

    def op(self, name):
        if name not in self.table.calls:
            raise Unsupported(f"tinygrad adapter has no op {name!r}")
        call = self.table.calls[name]
        return lambda *args, **params: call(*[self._const(a) for a in args], **params)

    def _const(self, a):
        return a if isinstance(a, self.Tensor) else self.Tensor(float(a), device="CPU", dtype=self.dtypes.float64)

    def _tensor(self, v):
        return self.Tensor(np.array(v, dtype=np.float64), device="CPU", dtype=self.dtypes.float64)

    def vjp(self, fn, xs, cotangent):
        y = fn(*xs)
        grads = y.gradient(*xs, gradient=self._tensor(np.broadcast_to(cotangent, y.shape)))
        return self.tonumpy(y), [self.tonumpy(g) for g in grads]

    def hvp(self, fn, xs, cotangent, tangents):
        y = fn(*xs)
        grads = y.gradient(*xs, gradient=self._tensor(np.broadcast_to(cotangent, y.shape)))
        inner = sum((g * self._tensor(u)).sum() for g, u in zip(grads, tangents))
        return [self.tonumpy(h) for h in inner.gradient(*xs)]

    # reproducer snippets
    def leaf_source(self, array):
        return f"Tensor({array}.reshape(-1), device='CPU', dtype=dtypes.float64).reshape({array}.shape)"

    def vjp_source(self, out, inputs, cotangent, body):
        return "\n".join(body + [
            f"ct = Tensor(np.broadcast_to({cotangent}, {out}.shape).copy(), device='CPU', dtype=dtypes.float64)",
            f"grads = {out}.gradient({', '.join(inputs)}, gradient=ct)",
            f"print('value:', {out}.numpy())",
            *[f"print('gradient wrt {x}:', grads[{k}].numpy())" for k, x in enumerate(inputs)]])

    def hvp_source(self, out, inputs, cotangent, tangents, body):
        xs = ", ".join(inputs)
        return "\n".join(body + [
            f"ct = Tensor(np.broadcast_to({cotangent}, {out}.shape).copy(), device='CPU', dtype=dtypes.float64)",
            f"grads = {out}.gradient({xs}, gradient=ct)",
            f"tangents = [{', '.join(tangents)}]",
            "inner = sum((g * Tensor(np.asarray(t, dtype=np.float64), device='CPU', dtype=dtypes.float64)).sum()",
            "            for g, t in zip(grads, tangents))",
            f"hvp = inner.gradient({xs})",
            *[f"print('second order wrt {x}:', hvp[{k}].numpy())" for k, x in enumerate(inputs)]])


def make() -> Tinygrad:
    return Tinygrad()
