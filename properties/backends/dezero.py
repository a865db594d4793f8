"""The adapter for DeZero 0.0.13 (PyPI), the library of "Deep Learning from Scratch 3".

DeZero does not import on NumPy 2 as published; ``_dezero_import`` works around that for the
duration of the import only (see there). DeZero has reverse mode with ``create_graph`` (so
Hessian-vector products) but no forward mode; it lacks abs, sqrt, tan, softplus, mean and logsumexp,
and its pow takes a constant exponent only: those are unsupported, not failures.
"""

from __future__ import annotations

import numpy as np

from . import OPERATORS, Backend, Unsupported, dezero_api_hvp_source
from ._dezero_import import import_dezero


def _calls(F, dezero):
    return {
        **OPERATORS,
        "pow": _pow,
        "square": lambda x: x ** 2,
        "exp": F.exp,
        "log": F.log,
        "sin": F.sin,
        "cos": F.cos,
        "tanh": F.tanh,
        "sigmoid": F.sigmoid,
        "relu": F.relu,
        "clip": lambda x, lo, hi: F.clip(x, lo, hi),
        "reshape": lambda x, shape: F.reshape(x, shape),
        "transpose": lambda x, axes: F.transpose(x, axes),
        "broadcast_to": lambda x, shape: F.broadcast_to(x, shape),
        "sum_to": lambda x, shape: F.sum_to(x, shape),
        "sum": lambda x, axis, keepdims: F.sum(x, axis=axis, keepdims=keepdims),
        "max": lambda x, axis, keepdims: F.max(x, axis=axis, keepdims=keepdims),
        "min": lambda x, axis, keepdims: F.min(x, axis=axis, keepdims=keepdims),
        "matmul": F.matmul,
        "get_item": lambda x, index: F.get_item(x, tuple(np.asarray(i) if isinstance(i, tuple) else i for i in index)),
        "softmax": lambda x, axis: F.softmax(x, axis=axis),
        "log_softmax": lambda x, axis: F.log_softmax(x, axis=axis),
        "mean_squared_error": F.mean_squared_error,
        "softmax_cross_entropy": lambda x, labels: F.softmax_cross_entropy(x, np.asarray(labels)),
    }


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
    # pow's exponent must be a constant: compositions draw it as one
    constant_args = {"pow": (1,)}

    def __init__(self):
        self.dezero = import_dezero()
        import dezero.functions as F

        self.F = F
        self.calls = _calls(F, self.dezero)
        self.ops = frozenset(self.calls)
        self.version = getattr(self.dezero, "__version__", "0.0.13")
        self.preamble = PREAMBLE

    def asarray(self, x):
        return self.dezero.Variable(np.array(x, dtype=np.float64))

    def tonumpy(self, v):
        return np.asarray(v.data if isinstance(v, self.dezero.Variable) else v)

    def op(self, name):
        if name not in self.calls:
            raise Unsupported(f"DeZero has no {name}")
        return self.calls[name]

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

    def source(self, name):
        if name in _SOURCE:
            return _SOURCE[name]
        default = super().source(name)  # "exp({0})" or "{0} + {1}": functions live in F
        return "F." + default if default[0].isalpha() else default

    def vjp_source(self, out, inputs, cotangent, body):
        return "\n".join(body + [f"{out}.grad = dezero.Variable({cotangent})", f"{out}.backward()",
                                 f"print('value:', {out}.data)"]
                         + [f"print('gradient wrt {x}:', {x}.grad.data)" for x in inputs])

    def hvp_source(self, out, inputs, cotangent, tangents, body):
        return dezero_api_hvp_source("dezero.Variable", "F", out, inputs, cotangent, tangents, body)


_SOURCE = {"square": "{0} ** 2", "matmul": "F.matmul({0}, {1})", "get_item": "F.get_item({0}, ({index},))",
           "softmax_cross_entropy": "F.softmax_cross_entropy({0}, np.array({labels}))",
           "clip": "F.clip({0}, {lo}, {hi})", "sum": "F.sum({0}, axis={axis}, keepdims={keepdims})",
           "max": "F.max({0}, axis={axis}, keepdims={keepdims})", "min": "F.min({0}, axis={axis}, keepdims={keepdims})"}


def make() -> DeZero:
    return DeZero()
