"""The adapter for Chainer (PyPI ``chainer``, tested with 7.8.1), float64 on numpy.

Chainer 7.8.1 is the last release (2020). On NumPy 2 it installs only with ``wheel`` and a setuptools
that still has ``pkg_resources`` (``pip install wheel 'setuptools<81'`` then ``pip install
--no-build-isolation chainer==7.8.1``), and it imports only with a stand-in for ``np.sctypes``
(removed in NumPy 2.0), which ``chainer.functions.array.as_strided`` reads as it loads. ``import_chainer``
sets that stand-in for the duration of the import only and removes it again, so numpy looks untouched
to everyone else (as ``_dezero_import`` does for DeZero).

Reverse mode is ``chainer.grad``; second order differentiates its gradients again
(``enable_double_backprop``). Chainer has no forward mode (jvp is unsupported), no take_along_axis and no
cross-entropy with soft labels (unsupported). Its maximum, minimum and where take arguments of one shape,
so those rows broadcast them first; its layer_normalization takes (N, C) batches and a scale and shift,
so that row gives it x's rows with a scale of ones and a shift of zeros.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings

import numpy as np

from trigrad.oracle import spec

from . import OPERATORS, Backend, OpTable, Row, Unsupported

# What NumPy 1.x had as np.sctypes (chainer reads 'int' and 'float').
SCTYPES = {"int": [np.int8, np.int16, np.int32, np.int64], "uint": [np.uint8, np.uint16, np.uint32, np.uint64],
           "float": [np.float16, np.float32, np.float64], "complex": [np.complex64, np.complex128],
           "others": [bool, object, bytes, str, np.void]}


def _rows(F) -> dict:
    """One row per spec op (see Row)."""
    return {
        **{name: Row(function) for name, function in OPERATORS.items()},
        "square": Row("F.square"),
        "sqrt": Row("F.sqrt"),
        "exp": Row("F.exp"),
        "log": Row("F.log"),
        "sin": Row("F.sin"),
        "cos": Row("F.cos"),
        "tan": Row("F.tan"),
        "tanh": Row("F.tanh"),
        "arctan": Row("F.arctan"),
        "sigmoid": Row("F.sigmoid"),
        "relu": Row("F.relu"),
        "abs": Row("F.absolute"),
        "softplus": Row("F.softplus"),
        "clip": Row(lambda x, lo, hi: F.clip(x, lo, hi), "F.clip({0}, {lo}, {hi})"),
        "reshape": Row("F.reshape"),
        "transpose": Row("F.transpose"),
        "broadcast_to": Row("F.broadcast_to"),
        "sum_to": Row("F.sum_to"),
        "sum": Row("F.sum"),
        "mean": Row("F.mean"),
        "max": Row("F.max"),
        "min": Row("F.min"),
        "logsumexp": Row(lambda x, axis, keepdims: _keep(F, F.logsumexp(x, axis), x, axis, keepdims), "F.logsumexp({0}, {axis})"),
        "matmul": Row("F.matmul"),
        "get_item": Row(lambda x, index: F.get_item(x, _index(index)), "F.get_item({0}, ({index},))"),
        "softmax": Row("F.softmax"),
        "log_softmax": Row("F.log_softmax"),
        "mean_squared_error": Row("F.mean_squared_error"),
        "softmax_cross_entropy": Row(lambda x, labels: F.softmax_cross_entropy(x, np.asarray(labels), enable_double_backprop=True), "F.softmax_cross_entropy({0}, np.array({labels}), enable_double_backprop=True)"),
        "maximum": Row(lambda a, b: F.maximum(*_broadcast(F, a, b)), "F.maximum(*F.broadcast({0}, {1}))"),
        "minimum": Row(lambda a, b: F.minimum(*_broadcast(F, a, b)), "F.minimum(*F.broadcast({0}, {1}))"),
        "where": Row(lambda x, y, condition: F.where(*_broadcast(F, np.asarray(condition), x, y)), "F.where(*F.broadcast(np.array({condition}), {0}, {1}))"),
        "pad": Row(lambda x, widths: F.pad(x, widths, "constant"), "F.pad({0}, {widths}, 'constant')"),
        "tile": Row(lambda x, reps: F.tile(x, reps), "F.tile({0}, {reps})"),
        "take_along_axis": None,
        "einsum": Row(lambda a, b, subscripts: F.einsum(subscripts, a, b), "F.einsum({subscripts}, {0}, {1})"),
        "layer_norm": Row(lambda x, eps: _layer_norm(F, x, eps)),
        "cross_entropy": None,
    }


def _keep(F, y, x, axis, keepdims):
    """Chainer's logsumexp has no keepdims: the reduced axes put back with length 1."""
    axes = spec.normalize_axis(axis, x.ndim)
    return F.reshape(y, tuple(1 if a in axes else n for a, n in enumerate(x.shape))) if keepdims else y


def _broadcast(F, *args):
    """Chainer's maximum, minimum and where take arrays of one shape: the arguments broadcast (a
    constant as an array of the others' float type; a condition stays boolean)."""
    like = next(a for a in args if hasattr(a, "dtype") and a.dtype != bool)
    args = [np.asarray(a, dtype=like.dtype) if isinstance(a, float) else a for a in args]
    shape = np.broadcast_shapes(*[np.shape(a) for a in args])
    return [np.broadcast_to(a, shape) if isinstance(a, np.ndarray) else F.broadcast_to(a, shape) for a in args]


def _layer_norm(F, x, eps):
    """Chainer's layer_normalization takes (N, C) batches and a scale and shift: the rows of x, 1 and 0."""
    n = x.shape[-1]
    ones, zeros = np.ones(n, dtype=x.dtype), np.zeros(n, dtype=x.dtype)
    return F.reshape(F.layer_normalization(F.reshape(x, (-1, n)), ones, zeros, eps), x.shape)


def _index(index):
    return tuple(np.asarray(i) if isinstance(i, tuple) else i for i in index)


def import_chainer():
    """The ``chainer`` module with ``chainer.functions`` imported, or ImportError with the reason."""
    if importlib.util.find_spec("chainer") is None:
        raise ImportError("chainer is not installed (pip install wheel 'setuptools<81' && "
                          "pip install --no-build-isolation chainer==7.8.1)")
    added = not hasattr(np, "sctypes")
    try:
        if added:
            np.sctypes = SCTYPES
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pkg_resources' deprecation, on import only
            module = importlib.import_module("chainer")
            importlib.import_module("chainer.functions")
        return module
    finally:
        if added:
            del np.sctypes


PREAMBLE = """import numpy as np

# Chainer 7.8.1 on NumPy 2: it reads np.sctypes (removed in NumPy 2.0) as it loads. A stand-in:
np.sctypes = {"int": [np.int8, np.int16, np.int32, np.int64], "float": [np.float16, np.float32, np.float64]}

import chainer
import chainer.functions as F"""


class Chainer(Backend):
    """Chainer on numpy, float64."""

    name = "chainer"

    def __init__(self):
        self.chainer = import_chainer()
        F = self.chainer.functions
        self.table = OpTable(_rows(F), {"F": F}, prefix="F.")
        self.ops = self.table.ops
        self.version = self.chainer.__version__
        self.preamble = PREAMBLE

    def asarray(self, x):
        return self.chainer.Variable(np.array(x, dtype=np.float64))

    def tonumpy(self, v):
        return np.array(v.array if isinstance(v, self.chainer.Variable) else v, dtype=np.float64)

    def op(self, name):
        if name not in self.table.calls:
            raise Unsupported(f"Chainer has no {name}")
        return self.table.calls[name]

    def _grads(self, fn, xs, cotangent, double):
        y = self.chainer.as_variable(fn(*xs))
        # the cotangent as a Variable: chainer.grad passes a plain array through identity backwards unwrapped
        ct = self.chainer.Variable(np.array(np.broadcast_to(cotangent, y.shape), dtype=np.float64))
        return y, self.chainer.grad([y], list(xs), grad_outputs=[ct], enable_double_backprop=double)

    def vjp(self, fn, xs, cotangent):
        y, grads = self._grads(fn, xs, cotangent, False)
        return self.tonumpy(y), [self._dense(g, x) for g, x in zip(grads, xs)]

    def hvp(self, fn, xs, cotangent, tangents):
        _, grads = self._grads(fn, xs, cotangent, True)
        F = self.chainer.functions
        terms = [F.sum(g * np.asarray(u, dtype=np.float64)) for g, u in zip(grads, tangents) if g is not None]
        if not terms:
            return [np.zeros(x.shape) for x in xs]
        second = self.chainer.grad([sum(terms[1:], terms[0])], list(xs))
        return [self._dense(g, x) for g, x in zip(second, xs)]

    def _dense(self, g, x):
        return np.zeros(x.shape) if g is None else self.tonumpy(g)

    # reproducer snippets
    def leaf_source(self, array):
        return f"chainer.Variable({array})"

    def vjp_source(self, out, inputs, cotangent, body):
        xs = ", ".join(inputs)
        return "\n".join(body + [
            f"grads = chainer.grad([{out}], [{xs}], grad_outputs=[chainer.Variable(np.broadcast_to({cotangent}, {out}.shape).copy())])",
            f"print('value:', {out}.array)",
            *[f"print('gradient wrt {x}:', grads[{k}])" for k, x in enumerate(inputs)]])

    def hvp_source(self, out, inputs, cotangent, tangents, body):
        xs = ", ".join(inputs)
        return "\n".join(body + [
            f"grads = chainer.grad([{out}], [{xs}], grad_outputs=[chainer.Variable(np.broadcast_to({cotangent}, {out}.shape).copy())],",
            "                     enable_double_backprop=True)",
            f"tangents = [{', '.join(tangents)}]",
            "inner = sum(F.sum(g * np.asarray(t)) for g, t in zip(grads, tangents) if g is not None)",
            f"hvp = chainer.grad([inner], [{xs}])",
            *[f"print('second order wrt {x}:', hvp[{k}])" for k, x in enumerate(inputs)]])


def make() -> Chainer:
    return Chainer()
