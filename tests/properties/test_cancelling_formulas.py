"""Second derivatives that a correct library computes by a formula whose terms cancel.

Where the exact Hessian is 0, a library that differentiates its own first-derivative formula gets the
rounding of that formula's terms: HIPS autograd's abs' is x / |x| (so abs'' is 1/|x| - 1/|x|), and
a library that computes e**x as 2**(x / ln 2) differentiates it as (g ln 2)(1 / ln 2), which is not g;
softmax over an axis of length one is exactly 1, yet its HVP is not exactly 0. The adapters below do
this over the built-in core, so the error model is checked without those libraries: both pass, and a
planted error of relative 1e-10 at an ordinary point is still caught.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import trigrad.autograd as F
from trigrad.oracle.ir import Composition, Input, Node
from trigrad.properties.backends.builtin import Builtin
from trigrad.properties.checks import check_hvp
from trigrad.properties.example import Example
from trigrad.properties.report import Failure

LN2 = math.log(2.0)
INV_LN2 = 1.0 / LN2


class Ratio(F.Function):
    """a / b with HIPS autograd's VJPs: g / b and -g * a / b**2."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        return gy / b, -gy * a / b**2


class AbsAsRatio(F.Function):
    """|x| with HIPS autograd's rule: the VJP is g * x / |x| (its own output), differentiable again."""

    def forward(self, x):
        return np.abs(x)

    def backward(self, gy):
        (x,) = self.inputs
        return Ratio()(gy * x, self.outputs[0]())


class Exp2(F.Function):
    """2 ** t, whose VJP is g * y * ln 2."""

    def forward(self, t):
        return np.exp2(t)

    def backward(self, gy):
        return gy * self.outputs[0]() * LN2


def exp_by_exp2(x):
    """e ** x as 2 ** (x / ln 2): its VJP is (g y ln 2)(1 / ln 2), as tinygrad computes it."""
    return Exp2()(x * INV_LN2)


class Log2(F.Function):
    """log2 v, whose VJP is g / (v ln 2)."""

    def forward(self, v):
        return np.log2(v)

    def backward(self, gy):
        return gy / (self.inputs[0] * LN2)


def log_by_log2(v):
    """log v as log2(v) ln 2: its VJP is (g ln 2) / (v ln 2), as tinygrad computes it."""
    return Log2()(v) * LN2


def softmax_by_exp2(x, axis=-1):
    """e ** (x - log(sum(e ** x))), with tinygrad's exp and log: over an axis of length one it is
    exactly 1, but its derivative 1 - (g ln 2)(1 / ln 2) / g is not exactly 0."""
    lse = log_by_log2(F.sum(exp_by_exp2(x), axis=axis, keepdims=True))
    return exp_by_exp2(x - F.broadcast_to(lse, x.shape))


class CancellingFormulas(Builtin):
    """The built-in core with abs and softmax computed by formulas whose second derivatives cancel."""

    name = "cancelling-formulas"

    def __init__(self, planted: float = 0.0):
        super().__init__()
        self.planted = planted  # a relative error added to every HVP

    def op(self, name):
        if name == "abs":
            return lambda x: AbsAsRatio()(x)
        if name == "softmax":
            return softmax_by_exp2
        return super().op(name)

    def hvp(self, fn, xs, cotangent, tangents):
        return [h * (1 + self.planted) for h in super().hvp(fn, xs, cotangent, tangents)]


def test_abs_second_derivative_as_x_over_abs_x_passes():
    """HIPS autograd's abs''(4.5) with cotangent 1.75: -5.55e-17 where the exact value is 0."""
    example = Example(Composition([Input("x0", ())], [Node("abs", ("x0",))]), {"x0": np.array(4.5)})
    backend = CancellingFormulas()
    (h,) = backend.hvp(lambda x: backend.op("abs")(x), [backend.asarray(np.array(4.5))], np.array(1.75),
                       [np.array(1.0)])
    assert float(h) == -5.551115123125783e-17  # the formula's rounding, as HIPS autograd gives it
    check_hvp(backend, example, np.array(1.75), {"x0": np.array(1.0)})


def test_abs_near_its_kink_allows_the_larger_terms():
    """Close to the kink the terms 1/|x| grow (here to 2000 times those at 1): the floor grows with
    them, by the distance to the kink, and a floor of the terms' size at 1 would fail both points."""
    backend = CancellingFormulas()
    for x, g, expected in ((0.001782914309514606, -0.12517559676350976, -2.842170943040401e-14),
                           (-0.0018298876724616596, -0.5832592405573198, 1.1368683772161603e-13)):
        example = Example(Composition([Input("x0", ())], [Node("abs", ("x0",))]), {"x0": np.array(x)})
        (h,) = backend.hvp(lambda v: backend.op("abs")(v), [backend.asarray(np.array(x))], np.array(g),
                           [np.array(1.0)])
        assert float(h) == expected
        check_hvp(backend, example, np.array(g), {"x0": np.array(1.0)})


def test_softmax_over_one_entry_computed_by_exp2_passes():
    """softmax over an axis of length one is 1; by (g ln 2)(1 / ln 2) its HVP is about 1e-16, not 0
    (the error model without its floor allows 2.2e-308 here and fails 126 of 200 random points)."""
    comp = Composition([Input("x0", (3, 1))], [Node("softmax", ("x0",), {"axis": -1})])
    x = np.array([[0.3], [0.5], [-2.9008341898]])
    ct, t = np.array([[1.0], [1.0], [1.25]]), np.array([[1.0], [1.0], [0.83]])
    backend = CancellingFormulas()
    hvp = backend.hvp(lambda v: comp.evaluate({"x0": v}, backend.op), [backend.asarray(x)], ct, [t])[0]
    assert np.all(hvp != 0) and np.all(np.abs(hvp) < 1e-15)  # exact: 0
    check_hvp(backend, Example(comp, {"x0": x}), ct, {"x0": t})


@pytest.mark.parametrize("op", ["abs", "softmax"])
def test_planted_relative_error_is_still_caught(op):
    """At ordinary points (exact HVP far from 0) a relative error of 1e-10 is a finding."""
    if op == "abs":
        comp = Composition([Input("x0", ())], [Node("abs", ("x0",)), Node("sin", ("n0",))])
        x, ct, t = np.array(0.8), np.array(1.75), np.array(1.0)
    else:
        comp = Composition([Input("x0", (3,))], [Node("softmax", ("x0",), {"axis": -1}), Node("sin", ("n0",))])
        x, ct, t = np.array([0.3, -1.2, 0.9]), np.array([1.0, 0.5, -0.7]), np.array([0.9, -0.4, 0.2])
    example = Example(comp, {"x0": x})
    check_hvp(CancellingFormulas(), example, ct, {"x0": t})  # the formulas themselves are correct
    with pytest.raises(Failure, match="HVP wrt x0"):
        check_hvp(CancellingFormulas(planted=1e-10), example, ct, {"x0": t})
