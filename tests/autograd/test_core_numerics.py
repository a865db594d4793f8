"""Numerics at large |x|: no NaN, no overflow, no warnings where the mathematical value is finite, and
tiny results kept to full relative accuracy. numpy's floating-point warnings are errors here.

References come from mpmath at 50 digits.
"""

import mpmath
import numpy as np
import pytest

import trigrad.autograd as ag
from trigrad.autograd import Variable

pytestmark = pytest.mark.filterwarnings('error')
mpmath.mp.dps = 50

ULP_RTOL = 4e-16  # a couple of ulps in float64


@pytest.fixture(autouse=True)
def numpy_raises():
    # underflow stays ignored (numpy's default): rounding e^-1000 to 0 is the correctly rounded result
    with np.errstate(divide='raise', over='raise', invalid='raise', under='ignore'):
        yield


def value_and_grad(f, x0):
    x = Variable(np.array(x0, dtype=float))
    y = f(x)
    y.sum().backward()
    return y.data, x.grad.data


def exact(expr, x0):
    return float(expr(mpmath.mpf(x0)))


SIGMOID = lambda t: 1 / (1 + mpmath.exp(-t))  # noqa: E731


@pytest.mark.parametrize('x0', [-745.0, -40.0, -1.0, 0.0, 1.0, 40.0, 745.0])
def test_sigmoid_and_its_derivative_at_large_abs_x(x0):
    y, g = value_and_grad(ag.sigmoid, x0)
    assert y == pytest.approx(exact(SIGMOID, x0), rel=ULP_RTOL, abs=0)
    # y * (1 - y) would give 0 at x = 40: 1 - y rounds to 0
    assert g == pytest.approx(exact(lambda t: SIGMOID(t) * SIGMOID(-t), x0), rel=ULP_RTOL, abs=0)


@pytest.mark.parametrize('x0', [-1000.0, -40.0, 0.0, 40.0, 1000.0])
def test_softplus_at_large_abs_x(x0):
    y, g = value_and_grad(ag.softplus, x0)
    assert y == pytest.approx(exact(lambda t: mpmath.log1p(mpmath.exp(t)), x0), rel=ULP_RTOL, abs=0)
    assert g == pytest.approx(exact(SIGMOID, x0), rel=ULP_RTOL, abs=0)


@pytest.mark.parametrize('x0', [-400.0, -20.0, -0.5, 0.5, 20.0, 400.0])
def test_tanh_derivatives_at_large_abs_x(x0):
    # 1 - tanh^2 is 0 at |x| = 20; sech^2 is 1.7e-17 there (and 1e-347 underflows to 0 at 400: exact)
    x = Variable(np.array(x0))
    ag.tanh(x).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    sech2 = lambda t: 1 / mpmath.cosh(t) ** 2  # noqa: E731
    assert gx.data == pytest.approx(exact(sech2, x0), rel=ULP_RTOL, abs=0)
    assert x.grad.data == pytest.approx(exact(lambda t: -2 * mpmath.tanh(t) * sech2(t), x0), rel=4 * ULP_RTOL,
                                        abs=0)


@pytest.mark.parametrize('x0', [-1e200, -1e8, -3.0, 0.0, 0.5, 1e8, 1e150, 2e154, 1e200])
def test_arctan_derivatives_at_large_abs_x(x0):
    # 1 / (1 + x**2) overflows in x**2 beyond 1.3e154, where the exact 1/x**2 is still a subnormal
    # number (2.5e-309 at 2e154): accurate to the subnormal spacing there, to a few ulps elsewhere
    x = Variable(np.array(x0))
    y = ag.arctan(x)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert y.data == pytest.approx(exact(mpmath.atan, x0), rel=ULP_RTOL, abs=0)
    assert gx.data == pytest.approx(exact(lambda t: 1 / (1 + t * t), x0), rel=ULP_RTOL, abs=2 * 2.0**-1074)
    assert gx.data > 0 or abs(x0) > 1e161  # 0 only where the exact value rounds to 0
    assert x.grad.data == pytest.approx(exact(lambda t: -2 * t / (1 + t * t) ** 2, x0), rel=4 * ULP_RTOL,
                                        abs=2 * 2.0**-1074)


def test_log_softmax_and_logsumexp_with_large_logits():
    x = np.array([1000.0, 0.0, -1000.0])
    y, g = value_and_grad(ag.log_softmax, x)
    np.testing.assert_array_equal(y, [0.0, -1000.0, -2000.0])
    assert np.all(np.isfinite(g))
    y, g = value_and_grad(ag.logsumexp, np.array([1000.0, 1000.0]))
    assert y == 1000.0 + np.log(2.0)
    np.testing.assert_array_equal(g, [0.5, 0.5])


def test_log_softmax_keeps_tiny_values_when_one_logit_dominates():
    # log_softmax([0, -40])[0] = -log1p(e^-40) = -4.2e-18: log(1 + e^-40) would round it to 0
    y, _ = value_and_grad(ag.log_softmax, np.array([0.0, -40.0]))
    assert y[0] == pytest.approx(exact(lambda t: -mpmath.log1p(mpmath.exp(t)), -40.0), rel=ULP_RTOL, abs=0)
    y, _ = value_and_grad(ag.logsumexp, np.array([0.0, -40.0]))
    assert y == pytest.approx(exact(lambda t: mpmath.log1p(mpmath.exp(t)), -40.0), rel=ULP_RTOL, abs=0)


def test_softmax_cross_entropy_with_large_logits():
    x = Variable(np.array([[1e4, 0.0, -1e4], [0.0, 3e4, 0.0]]))
    t = np.array([1, 1])
    loss = ag.softmax_cross_entropy(x, t)
    loss.backward()
    assert loss.data == 5e3  # (1e4 + 0) / 2
    np.testing.assert_array_equal(x.grad.data, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])


def test_softmax_with_large_logits():
    y, g = value_and_grad(ag.softmax, np.array([1000.0, 1000.0, -1000.0]))
    np.testing.assert_array_equal(y, [0.5, 0.5, 0.0])
    assert np.all(np.isfinite(g))


def test_division_gradient_where_x1_squared_would_overflow():
    x0, x1 = Variable(np.array(1e200)), Variable(np.array(1e200))
    (x0 / x1).backward()
    assert x1.grad.data == pytest.approx(-1e-200, rel=ULP_RTOL)  # -x0 / x1^2, with x1^2 = inf


def test_float32_large_abs_x():
    x = Variable(np.array([-100.0, -20.0, 20.0, 100.0], np.float32))
    for f in (ag.sigmoid, ag.softplus, ag.tanh, ag.log_softmax, ag.logsumexp):
        x.cleargrad()
        y = f(x)
        y.sum().backward()
        assert y.dtype == np.float32 and x.grad.dtype == np.float32
        assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))
