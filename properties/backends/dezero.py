"""The adapter for DeZero 0.0.13 (PyPI), the library of "Deep Learning from Scratch 3".

DeZero does not import on NumPy 2 as published; ``_dezero_import`` works around that for the
duration of the import only (see there). DeZero has reverse mode with ``create_graph`` (so
Hessian-vector products) but no forward mode; it lacks some ops (None in the table below), and its
pow takes a constant exponent only: those are unsupported, not failures.
"""

from __future__ import annotations

import numpy as np

from . import OPERATORS, Backend, OpTable, Row, Unsupported, dezero_api_hvp_source
from ._dezero_import import import_dezero


def _rows(F) -> dict:
    """One row per spec op (see Row); None: DeZero 0.0.13 has no such function."""
    return {
        **{name: Row(function) for name, function in OPERATORS.items()},
        "pow": Row(_pow, constant=(1,)),  # DeZero's pow takes a constant exponent only
        "square": Row(lambda x: x ** 2, "{0} ** 2"),
        "exp": Row("F.exp"),
        "log": Row("F.log"),
        "sin": Row("F.sin"),
        "cos": Row("F.cos"),
        "tanh": Row("F.tanh"),
        "sigmoid": Row("F.sigmoid"),
        "relu": Row("F.relu"),
        "abs": None,
        "sqrt": None,
        "tan": None,
        "arctan": None,
        "softplus": None,
        "sinh": None,
        "cosh": None,
        "arcsin": None,
        "arccos": None,
        "arctanh": None,
        "log1p": None,
        "expm1": None,
        "erf": None,
        "silu": None,
        "logsigmoid": None,
        "gelu": None,
        "logaddexp": None,
        "hypot": None,
        "leaky_relu": Row(lambda x, slope: F.leaky_relu(x, slope), "F.leaky_relu({0}, {slope})"),
        "elu": None,
        "prod": None,
        "var": None,
        "std": None,
        "norm": None,
        "cumsum": None,
        "flip": None,
        "tril": None,
        "triu": None,
        "concatenate": None,
        "stack": None,
        "maximum": None,
        "minimum": None,
        "where": None,
        "pad": None,
        "tile": None,
        "take_along_axis": None,
        "einsum": None,
        "layer_norm": None,
        "cross_entropy": None,
        "clip": Row(lambda x, lo, hi: F.clip(x, lo, hi), "F.clip({0}, {lo}, {hi})"),
        "reshape": Row("F.reshape"),
        "transpose": Row("F.transpose"),
        "broadcast_to": Row("F.broadcast_to"),
        "sum_to": Row("F.sum_to"),
        "sum": Row("F.sum"),
        "mean": None,
        "max": Row("F.max"),
        "min": Row("F.min"),
        "logsumexp": None,
        "matmul": Row("F.matmul"),
        "get_item": Row(lambda x, index: F.get_item(x, _index(index)), "F.get_item({0}, ({index},))"),
        "softmax": Row("F.softmax"),
        "log_softmax": Row("F.log_softmax"),
        "mean_squared_error": Row("F.mean_squared_error"),
        "softmax_cross_entropy": Row(lambda x, labels: F.softmax_cross_entropy(x, np.asarray(labels)), "F.softmax_cross_entropy({0}, np.array({labels}))"),
    }


def _index(index):
    """The spec's index with integer-array items as numpy arrays."""
    return tuple(np.asarray(i) if isinstance(i, tuple) else i for i in index)


# Reproducers must run with DeZero and numpy alone, so they carry the import workaround inline.
PREAMBLE = """import sys
import types

import numpy as np

# DeZero 0.0.13 on NumPy 2: it uses np.int (removed in NumPy 1.24), and its package __init__ imports
# matplotlib and Pillow, which it does not declare and autodiff does not use. Stand-ins for them:
np.int = int
for name in ("matplotlib", "matplotlib.pyplot", "PIL", "PIL.Image"):
    sys.modules.setdefault(name, types.ModuleType(name))
sys.modules["PIL.Image"].BILINEAR = 2

import dezero
import dezero.functions as F"""


def _pow(x, c):
    if not isinstance(c, float):
        raise Unsupported("DeZero's pow takes a constant exponent only")
    return x ** c


class DeZero(Backend):
    """DeZero 0.0.13 on NumPy, float64."""

    name = "dezero"

    def __init__(self):
        self.dezero = import_dezero()
        import dezero.functions as F

        self.F = F
        self.table = OpTable(_rows(F), {"F": F}, prefix="F.")
        self.ops, self.constant_args = self.table.ops, self.table.constant_args
        self.version = getattr(self.dezero, "__version__", "0.0.13")
        self.preamble = PREAMBLE

    def asarray(self, x):
        return self.dezero.Variable(np.array(x, dtype=np.float64))

    def tonumpy(self, v):
        return np.asarray(v.data if isinstance(v, self.dezero.Variable) else v)

    def op(self, name):
        if name not in self.table.calls:
            raise Unsupported(f"DeZero has no {name}")
        return self.table.calls[name]

    def vjp(self, fn, xs, cotangent):
        y = self.dezero.as_variable(fn(*xs))
        y.grad = self.dezero.Variable(np.asarray(cotangent, dtype=y.data.dtype))
        y.backward(retain_grad=True)
        return self.tonumpy(y), [self._grad(x) for x in xs]

    def hvp(self, fn, xs, cotangent, tangents):
        y = self.dezero.as_variable(fn(*xs))
        y.grad = self.dezero.Variable(np.asarray(cotangent, dtype=y.data.dtype))
        y.backward(create_graph=True)
        inner = None
        for x, u in zip(xs, tangents):
            if x.grad is not None:
                term = self.F.sum(x.grad * np.asarray(u))
                inner = term if inner is None else inner + term
            x.cleargrad()
        if inner is None:
            return [np.zeros(x.shape) for x in xs]
        inner.backward()
        return [self._grad(x) for x in xs]

    def _grad(self, x):
        return np.zeros(x.shape) if x.grad is None else np.array(x.grad.data)

    def leaf_source(self, array):
        return f"dezero.Variable({array})"

    def vjp_source(self, out, inputs, cotangent, body):
        return "\n".join(body + [f"{out}.grad = dezero.Variable({cotangent})", f"{out}.backward()",
                                 f"print('value:', {out}.data)"]
                         + [f"print('gradient wrt {x}:', {x}.grad.data)" for x in inputs])

    def hvp_source(self, out, inputs, cotangent, tangents, body):
        return dezero_api_hvp_source("dezero.Variable", "F", out, inputs, cotangent, tangents, body)


def make() -> DeZero:
    return DeZero()
