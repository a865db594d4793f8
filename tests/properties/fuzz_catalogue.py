"""Functions to fuzz: correct ones, and a catalogue of planted bugs that ``trigrad fuzz`` must find.

Each planted bug is one small, plausible mistake in an otherwise correct Function (or book-1 layer);
``PLANTED`` lists them with their twin and the property expected to catch them first (None where
several can). The correct functions are ``CORRECT``.
"""

import importlib.util
import pathlib

import numpy as np

import trigrad.autograd as F
from trigrad.autograd import Function, Variable
from trigrad.autograd.layers import MulLayer, Relu


# --- correct ------------------------------------------------------------------------------------------


def _readme_example():
    """docs/examples/test_sinh.py, the README's example (Sinh and Cosh)."""
    path = pathlib.Path(__file__).parents[2] / "docs" / "examples" / "test_sinh.py"
    spec = importlib.util.spec_from_file_location("sinh_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_example = _readme_example()
Sinh, Cosh = _example.Sinh, _example.Cosh


class Softsign(Function):
    """x / (1 + |x|); its derivative 1 / (1 + |x|)**2 is continuous, its second derivative jumps at 0."""

    def forward(self, x):
        return x / (1 + np.abs(x))

    def backward(self, gy):
        x, = self.inputs
        return gy / F.square(1 + F.abs(x))


class SigmoidLayer:
    """Book 1's Sigmoid layer (forward keeps the output; backward dout * (1 - out) * out)."""

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


# Book 1's sigmoid derivative y (1 - y) loses relative accuracy as y nears 1 (at x = 5 it is off by
# 1.8e-14 relative, 2 allowances of a twin's derivative): fuzzed like the spec's sigmoid, whose table
# entry allows for that formula (jacobian_scale).
CORRECT = {
    "Sinh": (Sinh, dict(sympy="sinh(x)")),
    "Softsign": (Softsign, dict(sympy="x / (1 + Abs(x))")),
    "SigmoidLayer": (SigmoidLayer, dict(like="sigmoid")),
    "Relu": (Relu, dict(like="relu")),
}


# --- planted bugs ----------------------------------------------------------------------------------


class SinhWrongSign(Sinh):
    def backward(self, gy):
        x, = self.inputs
        return -gy * Cosh()(x)


class SinhWrongFactor(Sinh):
    def backward(self, gy):
        x, = self.inputs
        return 2 * gy * Cosh()(x)


class XExpMissingTerm(Function):
    """x * exp(x), whose derivative is (1 + x) exp(x); the backward drops the x exp(x) term."""

    def forward(self, x):
        return x * np.exp(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * F.exp(x)


class XSinYWrongInput(Function):
    """x * sin(y); d/dy is x cos(y), but the backward takes cos of x."""

    def forward(self, x, y):
        return x * np.sin(y)

    def backward(self, gy):
        x, y = self.inputs
        return F.sum_to(gy * F.sin(y), x.shape), F.sum_to(gy * x * F.cos(x), y.shape)


class SinhOffBy1e7(Sinh):
    def backward(self, gy):
        x, = self.inputs
        return gy * Cosh()(x) * (1 + 1e-7)


class SinhSummedInput(Sinh):
    """Right for a single element; for more, cosh of the inputs' sum instead of each input's."""

    def backward(self, gy):
        x, = self.inputs
        return gy * Cosh()(F.sum(x))


class AffineNoSumTo(Function):
    """x * y + x with broadcasting; the backward forgets to sum the gradients back to each shape."""

    def forward(self, x, y):
        return x * y + x

    def backward(self, gy):
        x, y = self.inputs
        return gy * (y + 1), gy * x


class SinhWritesIntoGradient(Sinh):
    """The right numbers, computed in place in the gradient it was given."""

    def backward(self, gy):
        x, = self.inputs
        gy.data *= np.cosh(x.data)
        return gy


class SinhFirstOrderOnly(Sinh):
    """Right at first order; the derivative is a constant array, so second order is lost."""

    def backward(self, gy):
        x, = self.inputs
        return gy * Variable(np.array(np.cosh(x.data)))


class SoftsignForwardWrong(Softsign):
    """Forgets the absolute value in the forward: right for x > 0 only."""

    def forward(self, x):
        return x / (1 + x)


class SigmoidLayerWrong(SigmoidLayer):
    def backward(self, dout):
        return dout * self.out


class ReluBookLayer:
    """Book 1's Relu as printed: backward zeroes the upstream gradient in place."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class SinhRaises(Sinh):
    def backward(self, gy):
        x, = self.inputs
        if np.any(x.data < -2):
            raise ValueError("negative input")
        return gy * Cosh()(x)


class SinhNaN(Sinh):
    def forward(self, x):
        return np.where(x < -2.5, np.nan, np.sinh(x))


class SinhWrongShape(Sinh):
    """Returns a 1-d array for a scalar input."""

    def forward(self, x):
        return np.atleast_1d(np.sinh(x))


class SinhHangs(Sinh):
    def backward(self, gy):
        x, = self.inputs
        while np.any(x.data > 2.5):
            pass
        return gy * Cosh()(x)


SINH = dict(sympy="sinh(x)")
# name: (object, twin and domain, property expected to find it first or None)
PLANTED = {
    "wrong sign": (SinhWrongSign, SINH, None),
    "wrong factor": (SinhWrongFactor, SINH, None),
    "missing term": (XExpMissingTerm, dict(sympy="x * exp(x)"), None),
    "wrong input used": (XSinYWrongInput, dict(sympy="x * sin(y)"), None),
    "off by a relative 1e-7": (SinhOffBy1e7, SINH, None),
    "wrong only for non-scalar shapes": (SinhSummedInput, SINH, None),
    "wrong only under broadcasting": (AffineNoSumTo, dict(sympy="x * y + x"), None),
    "in-place write into the incoming gradient": (SinhWritesIntoGradient, SINH, None),
    "right at first order, wrong at second": (SinhFirstOrderOnly, SINH, "hvp"),
    "forward disagrees with the twin": (SoftsignForwardWrong, dict(sympy="x / (1 + Abs(x))"), None),
    "book-1 layer with a wrong backward": (SigmoidLayerWrong, dict(like="sigmoid"), None),
    "book-1 Relu writing into dout": (ReluBookLayer, dict(sympy="Max(x, 0)"), None),
    "backward raises": (SinhRaises, SINH, None),
    "NaN where the twin is finite": (SinhNaN, SINH, None),
    "wrong output shape": (SinhWrongShape, SINH, None),
    "backward hangs": (SinhHangs, SINH, None),
    # not planted: book 1's MulLayer (autograd.layers) assumes equal shapes; under broadcasting its
    # gradients have the output's shape
    "book-1 MulLayer under broadcasting": (MulLayer, dict(sympy="x * y"), None),
}
