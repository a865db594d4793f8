"""Adapters over the built-in core with bugs a fresh interpreter sees too (their reproducers import
this file): for the tests of findings grouped by cause and of reproducers run by trigrad.

- ``Broken``: sin's VJP has the wrong sign, and tanh's VJP asserts (as HIPS autograd's broadcast_to
  does), in every cell that reaches them;
- ``Hidden``: exp's forward is scaled inside the adapter only, while its reproducer calls the core's
  exp: the snippet cannot show the failure (trigrad's own error, which ``verify`` must report).
"""

import pathlib

import numpy as np

import trigrad.autograd as F
from trigrad.properties.backends.builtin import Builtin

HERE = pathlib.Path(__file__).parent


class WrongSin(F.Function):
    """sin with the wrong sign in its VJP."""

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        (x,) = self.inputs
        return -gy * F.cos(x)


class AssertingTanh(F.Function):
    """tanh whose VJP asserts a shape it does not have (the message carries numbers)."""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, gy):
        assert gy.ndim > 7, f"expected at least 8 dims, got {gy.ndim} for shape {gy.shape}"
        return gy * (1 - self.outputs[0]() ** 2)


def sin(x):
    return WrongSin()(x)


def tanh(x):
    return AssertingTanh()(x)


class Broken(Builtin):
    name = "broken"
    ops = frozenset({"sin", "tanh", "mul", "add", "exp"})
    complex_ops = frozenset()
    preamble = (f"import sys\nsys.path.insert(0, {str(HERE)!r})\nimport numpy as np\nimport trigrad.autograd as F\n"
                "import broken_adapter as B")

    def op(self, name):
        return {"sin": sin, "tanh": tanh}.get(name) or super().op(name)

    def source(self, name):
        return {"sin": "B.sin({0})", "tanh": "B.tanh({0})"}.get(name) or super().source(name)


class Hidden(Builtin):
    name = "hidden"
    ops = frozenset({"exp", "mul"})
    complex_ops = frozenset()

    def op(self, name):
        if name == "exp":
            return lambda x: F.exp(x) * (1 + 1e-6)
        return super().op(name)
