"""Numerics at large |x|: no NaN, no overflow, no warnings where the mathematical value is finite, and
tiny results kept to full relative accuracy. numpy's floating-point warnings are errors here.

References come from mpmath at 50 digits.
"""

import mpmath
import numpy as np
import pytest
import sympy

import trigrad.autograd as ag
from trigrad.autograd import Variable
from core_checks import derivatives_to_second_order

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



def at_many_digits(expr, symbols, values):
    # 1 + 1e-300 needs 300 digits to differ from 1; mpmath at 400 digits sees every term of these formulas
    with mpmath.workdps(400):
        return float(sympy.lambdify(symbols, expr, 'mpmath')(*[mpmath.mpf(v) for v in values]))


T = sympy.Symbol('t', real=True)
GELU_TANH = T * (1 + sympy.tanh(sympy.sqrt(2 / sympy.pi) * (T + sympy.Rational(0.044715) * T**3))) / 2


TAILS = [
    # (1 - x)(1 + x) differentiated as a product is (1 - x) - (1 + x): 0 for tiny x, where -2x is not
    (ag.arcsin, sympy.asin(T), 1e-300), (ag.arcsin, sympy.asin(T), -0.999), (ag.arccos, sympy.acos(T), 1e-30),
    (ag.arctanh, sympy.atanh(T), 1e-300), (ag.arctanh, sympy.atanh(T), 0.999999),
    (ag.sinh, sympy.sinh(T), 1e-300), (ag.log1p, sympy.log(1 + T), -1e-300), (ag.expm1, sympy.exp(T) - 1, 1e-300),
    (ag.erf, sympy.erf(T), 1e-300), (ag.erf, sympy.erf(T), -6.0),
    # the negative tails, where 1 + erf(x / sqrt 2) and 1 + tanh(u) round to 0 (from x = -8.3 and -5.5):
    # there x / sqrt 2 (or u) rounds by an ulp, which the tail magnifies ~x**2 times (~100 at -10)
    (ag.gelu, T * sympy.erfc(-T / sympy.sqrt(2)) / 2, -10.0, 64), (ag.gelu, T * sympy.erfc(-T / sympy.sqrt(2)) / 2, 1e-300),
    (lambda x: ag.gelu(x, approximate='tanh'), GELU_TANH, -10.0, 64),
    (ag.silu, T / (1 + sympy.exp(-T)), -700.0), (ag.logsigmoid, -sympy.log(1 + sympy.exp(-T)), 700.0),
]


@pytest.mark.parametrize('f, F, x0, conditioning', [case + (1,) * (4 - len(case)) for case in TAILS])
def test_derivatives_to_second_order_where_textbook_forms_cancel(f, F, x0, conditioning):
    y, g, h = (float(v) for v in derivatives_to_second_order(f, x0))
    tiny = 4 * 2.0**-1074
    for got, expr, ulps in [(y, F, 1), (g, F.diff(T), 4), (h, F.diff(T, 2), 16)]:
        rtol = max(ulps, conditioning) * ULP_RTOL
        assert got == pytest.approx(at_many_digits(expr, [T], [x0]), rel=rtol, abs=tiny), expr


@pytest.mark.parametrize('x0, y0', [(1e200, -1e200), (3e-200, 4e-200), (1000.0, 1000.0), (-800.0, 30.0)])
def test_logaddexp_and_hypot_where_exponentials_and_squares_overflow(x0, y0):
    a, b = sympy.symbols('a b', real=True)
    for f, F in [(ag.hypot, sympy.sqrt(a * a + b * b)), (ag.logaddexp, sympy.log(sympy.exp(a) + sympy.exp(b)))]:
        x, y = Variable(np.array(x0)), Variable(np.array(y0))
        z = f(x, y)
        z.backward()
        for got, expr in [(z, F), (x.grad, F.diff(a)), (y.grad, F.diff(b))]:
            assert got.data == pytest.approx(at_many_digits(expr, [a, b], [x0, y0]), rel=2 * ULP_RTOL), expr

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
