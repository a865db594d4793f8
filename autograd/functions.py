"""The function library.

Each op is a Function subclass (forward on ndarrays; backward written with these same functions, so
it is right to any order) and a snake_case wrapper. Where a textbook formula loses accuracy or
overflows, the stable form is used and the comment says why. Conventions at kinks: relu'(0) = 0,
abs'(0) = 0, tied max/min entries (and ties of maximum/minimum) share the gradient equally, clip passes the gradient at its bounds.

Several names shadow Python builtins on purpose (`sum`, `max`, `min`, `abs`, `pow`), as in DeZero.
"""

import builtins
import math

import numpy as np

from trigrad.autograd import utils
from trigrad.autograd.core import Function, Variable, as_variable

__all__ = [
    'Square', 'Exp',
    'neg', 'add', 'sub', 'mul', 'div', 'pow', 'square', 'sqrt', 'exp', 'log', 'sin', 'cos', 'tan',
    'arctan', 'tanh', 'sigmoid', 'relu', 'abs', 'softplus', 'reshape', 'transpose', 'broadcast_to', 'sum_to',
    'sinh', 'cosh', 'arcsin', 'arccos', 'arctanh', 'log1p', 'expm1', 'erf', 'silu', 'logsigmoid', 'gelu',
    'logaddexp', 'hypot', 'leaky_relu', 'elu', 'cumsum', 'flip', 'tril', 'triu', 'concatenate', 'stack', 'prod',
    'var', 'std', 'norm', 'maximum', 'minimum', 'where', 'pad', 'tile', 'take_along_axis', 'einsum',
    'layer_norm', 'cross_entropy',
    'sum', 'mean', 'matmul', 'get_item', 'max', 'min', 'clip', 'softmax', 'log_softmax', 'logsumexp',
    'mean_squared_error', 'softmax_cross_entropy',
]


def _minus_abs(x):
    """-|x|, the exponent that keeps exp() in (0, 1].

    For complex x (the numeric oracle's complex step) the sign of the real part picks -x or x, which is
    analytic in each branch, so the complex-step derivative of the forward stays right.
    """
    if np.iscomplexobj(x):
        return np.where(x.real >= 0, -x, x)
    return -np.abs(x)


# =============================================================================
# Arithmetic (the Functions behind Variable's operators)
# =============================================================================
class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Add(Function):
    def forward(self, x0, x1):
        return x0 + x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return sum_to(gy, x0.shape), sum_to(gy, x1.shape)


class Sub(Function):
    def forward(self, x0, x1):
        return x0 - x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return sum_to(gy, x0.shape), sum_to(-gy, x1.shape)


class Mul(Function):
    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return sum_to(gy * x1, x0.shape), sum_to(gy * x0, x1.shape)


class Div(Function):
    def forward(self, x0, x1):
        return x0 / x1

    def backward(self, gy):
        x0, x1 = self.inputs
        y = self.outputs[0]()
        gx0 = gy / x1
        # -gy * x0 / x1**2 as -(gy / x1) * y: x1**2 can overflow or underflow where the result is finite
        gx1 = -(gx0 * y)
        return sum_to(gx0, x0.shape), sum_to(gx1, x1.shape)


class Pow(Function):
    """x0 ** x1 with both operands differentiable; the exponent's gradient, y * log(x0), needs x0 > 0."""

    def forward(self, x0, x1):
        return x0 ** x1

    def backward(self, gy):
        x0, x1 = self.inputs
        y = self.outputs[0]()
        gx0 = gy * x1 * x0 ** (x1 - 1)
        gx1 = gy * y * log(x0)
        return sum_to(gx0, x0.shape), sum_to(gx1, x1.shape)


class PowConst(Function):
    """x ** c for a constant exponent c (a number or ndarray); never takes log(x), so x < 0 works."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy):
        x, = self.inputs
        c = self.c
        if np.all(np.equal(c, 0)):
            return None  # x ** 0 is constant (and x ** -1 below would divide by zero at x = 0)
        return sum_to(gy * c * x ** (c - 1), x.shape)


def neg(x):
    return Neg()(x)


def add(x0, x1):
    return Add()(x0, x1)


def sub(x0, x1):
    return Sub()(x0, x1)


def rsub(x0, x1):
    return Sub()(x1, x0)


def mul(x0, x1):
    return Mul()(x0, x1)


def div(x0, x1):
    return Div()(x0, x1)


def rdiv(x0, x1):
    return Div()(x1, x0)


def pow(x, c):
    """x ** c. A Variable exponent is differentiated too; a number or ndarray exponent is a constant."""
    if isinstance(c, Variable):
        return Pow()(x, c)
    return PowConst(c)(x)


def rpow(x, c):
    """c ** x, for `number ** Variable`."""
    return Pow()(c, x)


# =============================================================================
# Elementwise functions
# =============================================================================
class Square(Function):
    def forward(self, x):
        return x ** 2

    def backward(self, gy):
        x, = self.inputs
        return 2 * x * gy


class Sqrt(Function):
    def forward(self, x):
        return np.sqrt(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy / (2 * y)


class Exp(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy * y


class Log(Function):
    def forward(self, x):
        return np.log(x)

    def backward(self, gy):
        x, = self.inputs
        return gy / x


class Sin(Function):
    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * cos(x)


class Cos(Function):
    def forward(self, x):
        return np.cos(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * -sin(x)


class Tan(Function):
    def forward(self, x):
        return np.tan(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy * (1 + y * y)


class Arctan(Function):
    def forward(self, x):
        return np.arctan(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * _arctan_grad(x)


class ArctanGrad(Function):
    """arctan'(x) = 1 / (1 + x**2), as t**2 / (1 + t**2) with t = 1 / x where |x| > 1.

    x**2 overflows for |x| > 1.3e154, where the exact value is still a subnormal number; this form
    never overflows. Each branch is analytic in x, so the complex step sees the right derivative.
    Its own derivative, -2 x y**2, is taken as (-2 x y) y: |2 x y| <= 1, so no step overflows.
    """

    def forward(self, x):
        big = np.abs(x.real) > 1
        t = 1 / np.where(big, x, 1)  # 1 / x where |x| > 1
        s = np.where(big, 0, x)  # x where |x| <= 1
        return np.where(big, t * t / (1 + t * t), 1 / (1 + s * s))

    def backward(self, gy):
        x, = self.inputs
        y = self.outputs[0]()
        return gy * (-2 * x * y * y)


class Tanh(Function):
    def forward(self, x):
        return np.tanh(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * _sech2(x)


class Sech2(Function):
    """sech(x)**2, the derivative of tanh, as 4e / (1 + e)**2 with e = exp(-2|x|).

    1 - tanh(x)**2 cancels to 0 once tanh(x) rounds to 1 (|x| > 19 in float64); this form keeps full
    relative accuracy for every x and never overflows.
    """

    def forward(self, x):
        e = np.exp(2 * _minus_abs(x))
        return 4 * e / (1 + e) ** 2

    def backward(self, gy):
        x, = self.inputs
        y = self.outputs[0]()
        return gy * (-2 * y * tanh(x))


class Sigmoid(Function):
    """1 / (1 + exp(-x)), from exp(-|x|) on both sides so that neither tail overflows or rounds to 0."""

    def forward(self, x):
        e = np.exp(_minus_abs(x))
        return np.where(x.real >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, gy):
        x, = self.inputs
        return gy * _sigmoid_grad(x)


class SigmoidGrad(Function):
    """sigmoid'(x) = sigmoid(x) * sigmoid(-x), as e / (1 + e)**2 with e = exp(-|x|).

    y * (1 - y) is 0 once y rounds to 1 (x > 37 in float64, where the exact value is still 4e-17);
    this form keeps full relative accuracy for every x. Its own derivative, sigmoid'' = sigmoid' *
    (1 - 2 sigmoid), is written as -sigmoid' * tanh(x / 2): 1 - 2 sigmoid(x) cancels to ~ -x/2 near
    0 (and is 0 for |x| < 1e-16), the tanh form does not.
    """

    def forward(self, x):
        e = np.exp(_minus_abs(x))
        return e / (1 + e) ** 2

    def backward(self, gy):
        x, = self.inputs
        y = self.outputs[0]()
        return gy * -y * tanh(x / 2)


class ReLU(Function):
    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, gy):
        x, = self.inputs
        return gy * (x.data > 0)  # relu'(0) = 0


class Abs(Function):
    def forward(self, x):
        return np.abs(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * np.sign(x.data)  # abs'(0) = 0


class Softplus(Function):
    """log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)): no overflow, and accurate for large -x."""

    def forward(self, x):
        return np.where(x.real >= 0, x, 0) + np.log1p(np.exp(_minus_abs(x)))

    def backward(self, gy):
        x, = self.inputs
        return gy * sigmoid(x)


class Sinh(Function):
    def forward(self, x):
        return np.sinh(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * cosh(x)


class Cosh(Function):
    def forward(self, x):
        return np.cosh(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * sinh(x)


class Arcsin(Function):
    def forward(self, x):
        return np.arcsin(x)

    def backward(self, gy):
        x, = self.inputs
        return gy / _one_minus_square_root(x)


class Arccos(Function):
    def forward(self, x):
        return np.arccos(x)

    def backward(self, gy):
        x, = self.inputs
        return -gy / _one_minus_square_root(x)


class OneMinusSquare(Function):
    """1 - x**2 as (1 - x)(1 + x): each factor is exact near |x| = 1 (Sterbenz), where 1 - x*x
    cancels after x*x has already rounded (relative error ~u / (1 - |x|) instead of ~u). Its
    derivative is -2x directly: differentiating the product gives (1 - x) - (1 + x), which is 0
    for |x| < u / 2 where -2x is not."""

    def forward(self, x):
        return (1 - x) * (1 + x)

    def backward(self, gy):
        x, = self.inputs
        return gy * (-2 * x)


def _one_minus_square(x):
    return OneMinusSquare()(x)


def _one_minus_square_root(x):
    return sqrt(_one_minus_square(x))


class Arctanh(Function):
    def forward(self, x):
        return np.arctanh(x)

    def backward(self, gy):
        x, = self.inputs
        return gy / _one_minus_square(x)


class Log1p(Function):
    def forward(self, x):
        return np.log1p(x)

    def backward(self, gy):
        x, = self.inputs
        return gy / (1 + x)


class Expm1(Function):
    def forward(self, x):
        return np.expm1(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * exp(x)


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_ONE_OVER_SQRT_TWO_PI = 1 / math.sqrt(2 * math.pi)


def _real_map(f, x):
    """The scalar function ``f`` (a real one of the math module) over the ndarray ``x``, in x's dtype.

    numpy has no erf; math's is correctly rounded to within an ulp or so. Complex input (the complex
    step) is refused rather than answered with the real part's value."""
    if np.iscomplexobj(x):
        raise TypeError(f'{f.__name__} is computed for real input only')
    return np.vectorize(f, otypes=[x.dtype])(x)


class Erf(Function):
    def forward(self, x):
        return _real_map(math.erf, x)

    def backward(self, gy):
        x, = self.inputs
        return gy * (_TWO_OVER_SQRT_PI * exp(-(x * x)))


class NormalCdf(Function):
    """The standard normal distribution function Phi(x) = (1 + erf(x / sqrt 2)) / 2, as
    erfc(-x / sqrt 2) / 2: 1 + erf(...) cancels for x < 0 (it is 0 in float64 from x = -8.3, where
    Phi is still 7e-17), erfc keeps full relative accuracy in both tails."""

    def forward(self, x):
        return _real_map(math.erfc, -x / math.sqrt(2)) / 2

    def backward(self, gy):
        x, = self.inputs
        return gy * (_ONE_OVER_SQRT_TWO_PI * exp(-(x * x) / 2))


class LogAddExp(Function):
    """log(e**x0 + e**x1) as max(x0, x1) + log1p(e**-|x0 - x1|): neither exponential overflows and
    the small one is not lost. Its partial derivatives are sigmoid(x0 - x1) and sigmoid(x1 - x0)."""

    def forward(self, x0, x1):
        d = x0 - x1
        return np.where(d.real >= 0, x0, x1) + np.log1p(np.exp(_minus_abs(d)))

    def backward(self, gy):
        x0, x1 = self.inputs
        d = x0 - x1
        return sum_to(gy * sigmoid(d), x0.shape), sum_to(gy * sigmoid(-d), x1.shape)


class Hypot(Function):
    """sqrt(x0**2 + x1**2) without overflow or underflow of the squares (numpy's hypot scales); the
    complex step takes the textbook form, analytic and fine at the small magnitudes it is used at."""

    def forward(self, x0, x1):
        if np.iscomplexobj(x0) or np.iscomplexobj(x1):
            return np.sqrt(x0 * x0 + x1 * x1)
        return np.hypot(x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        y = self.outputs[0]()
        g = gy / y  # x / y is at most 1: no overflow where x**2 would
        return sum_to(g * x0, x0.shape), sum_to(g * x1, x1.shape)


def square(x):
    """x ** 2."""
    return Square()(x)


def sqrt(x):
    """Square root."""
    return Sqrt()(x)


def exp(x):
    """e ** x."""
    return Exp()(x)


def log(x):
    """Natural logarithm."""
    return Log()(x)


def sin(x):
    """Sine."""
    return Sin()(x)


def cos(x):
    """Cosine."""
    return Cos()(x)


def tan(x):
    """Tangent; its derivative is 1 + tan(x) ** 2."""
    return Tan()(x)


def arctan(x):
    """Inverse tangent, in (-pi/2, pi/2); its derivative is 1 / (1 + x ** 2)."""
    return Arctan()(x)


def _arctan_grad(x):
    return ArctanGrad()(x)


def tanh(x):
    """Hyperbolic tangent; its derivative is the accurate sech(x) ** 2 of `Sech2`."""
    return Tanh()(x)


def _sech2(x):
    return Sech2()(x)


def sigmoid(x):
    """1 / (1 + exp(-x)), accurate and finite for every x."""
    return Sigmoid()(x)


def _sigmoid_grad(x):
    return SigmoidGrad()(x)


def relu(x):
    """max(x, 0); relu'(0) = 0."""
    return ReLU()(x)


def abs(x):
    """|x|; abs'(0) = 0."""
    return Abs()(x)


def softplus(x):
    """log(1 + exp(x)), accurate and finite for every x; its derivative is sigmoid(x)."""
    return Softplus()(x)


def sinh(x):
    """Hyperbolic sine; its derivative is cosh(x)."""
    return Sinh()(x)


def cosh(x):
    """Hyperbolic cosine; its derivative is sinh(x)."""
    return Cosh()(x)


def arcsin(x):
    """Inverse sine on (-1, 1); its derivative 1 / sqrt((1 - x)(1 + x)) keeps accuracy near |x| = 1."""
    return Arcsin()(x)


def arccos(x):
    """Inverse cosine on (-1, 1); its derivative is -1 / sqrt((1 - x)(1 + x))."""
    return Arccos()(x)


def arctanh(x):
    """Inverse hyperbolic tangent on (-1, 1); its derivative is 1 / ((1 - x)(1 + x))."""
    return Arctanh()(x)


def log1p(x):
    """log(1 + x), accurate for tiny x; its derivative is 1 / (1 + x)."""
    return Log1p()(x)


def expm1(x):
    """e ** x - 1, accurate for tiny x; its derivative is e ** x."""
    return Expm1()(x)


def erf(x):
    """The error function (real input only); its derivative is 2 / sqrt(pi) e ** -x**2."""
    return Erf()(x)


def _normal_cdf(x):
    return NormalCdf()(x)


def silu(x):
    """x * sigmoid(x) (also called swish), from the accurate sigmoid: finite and accurate for every x."""
    return x * sigmoid(x)


def logsigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), accurate for every x; its derivative is sigmoid(-x)."""
    return -softplus(-x)


def gelu(x, approximate='none'):
    """GELU: x * Phi(x) with Phi the standard normal distribution function (approximate='none'), from
    erfc so that the negative tail keeps its relative accuracy; or its tanh form
    x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3))) / 2 (approximate='tanh'), written as
    x * sigmoid(2u) with u the tanh's argument: 1 + tanh(u) = 2 sigmoid(2u), and sigmoid keeps the
    negative tail that 1 + tanh(u) cancels to 0."""
    if approximate == 'none':
        return x * _normal_cdf(x)
    if approximate == 'tanh':
        return x * sigmoid(_GELU_TANH_SCALE * (x + _GELU_TANH_CUBIC * x ** 3))
    raise ValueError(f"gelu's approximate is 'none' or 'tanh', not {approximate!r}")


_GELU_TANH_SCALE = 2 * math.sqrt(2 / math.pi)
_GELU_TANH_CUBIC = 0.044715


def logaddexp(x0, x1):
    """log(e ** x0 + e ** x1) with broadcasting, finite wherever the result is."""
    return LogAddExp()(x0, x1)


def hypot(x0, x1):
    """sqrt(x0 ** 2 + x1 ** 2) with broadcasting, without overflow of the squares."""
    return Hypot()(x0, x1)


class LeakyReLU(Function):
    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        return np.where(x > 0, x, self.slope * x)

    def backward(self, gy):
        x, = self.inputs
        return gy * np.where(x.data > 0, 1.0, self.slope).astype(gy.dtype)  # leaky_relu'(0) = slope


class ELU(Function):
    """x for x > 0, alpha (e**x - 1) otherwise: expm1 keeps the tiny negative values."""

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, gy):
        x, = self.inputs
        # 1 for x > 0, alpha e**x otherwise (elu'(0) = alpha), as a function of x so that it
        # differentiates again: e**(x * negative) is e**x on the left and 1 (not overflowing) on the right
        negative = (x.data <= 0).astype(gy.dtype)
        return gy * ((1 - negative) + negative * self.alpha * exp(x * negative))


def leaky_relu(x, slope=0.01):
    """x for x > 0, slope * x otherwise (0 <= slope < 1); leaky_relu'(0) = slope."""
    return LeakyReLU(slope)(x)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (e ** x - 1) otherwise; elu'(0) = alpha."""
    return ELU(alpha)(x)


class Maximum(Function):
    """The elementwise larger of x0 and x1 (``smaller=True``: the smaller); at ties each gets half."""

    def __init__(self, smaller=False):
        self.smaller = smaller

    def forward(self, x0, x1):
        return np.minimum(x0, x1) if self.smaller else np.maximum(x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        wins = x0.data < x1.data if self.smaller else x0.data > x1.data
        share = (wins + 0.5 * (x0.data == x1.data)).astype(gy.dtype)  # x0's share: 1, 1/2 at a tie, 0
        return sum_to(gy * share, x0.shape), sum_to(gy * (1 - share), x1.shape)


def maximum(x0, x1):
    """The elementwise larger of x0 and x1 (numpy broadcasting); at ties each gets half the gradient."""
    return Maximum()(x0, x1)


def minimum(x0, x1):
    """The elementwise smaller of x0 and x1 (numpy broadcasting); at ties each gets half the gradient."""
    return Maximum(smaller=True)(x0, x1)


# =============================================================================
# Shapes
# =============================================================================
class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return np.reshape(x, self.shape)

    def backward(self, gy):
        x, = self.inputs
        return reshape(gy, x.shape)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        return np.transpose(x, self.axes)

    def backward(self, gy):
        if self.axes is None:
            return transpose(gy)
        x, = self.inputs
        inverse = np.argsort([axis % x.ndim for axis in self.axes])
        return transpose(gy, tuple(int(axis) for axis in inverse))


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, gy):
        x, = self.inputs
        return sum_to(gy, x.shape)


class SumTo(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return utils.sum_to(x, self.shape)

    def backward(self, gy):
        x, = self.inputs
        return broadcast_to(gy, x.shape)


def reshape(x, shape):
    """x with a new shape (numpy's rules, -1 allowed); returns x itself when the shape is unchanged."""
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    if as_variable(x).shape == shape:
        return as_variable(x)
    return Reshape(shape)(x)


def transpose(x, axes=None):
    """x with its axes permuted (`axes=None` reverses them)."""
    return Transpose(None if axes is None else tuple(axes))(x)


def broadcast_to(x, shape):
    """x broadcast to `shape` by numpy's rules; the backward sums it back with sum_to."""
    shape = tuple(shape)
    if as_variable(x).shape == shape:
        return as_variable(x)
    return BroadcastTo(shape)(x)


def sum_to(x, shape):
    """x summed down to `shape`, undoing broadcasting (see `autograd.utils.sum_to`)."""
    shape = tuple(shape)
    if as_variable(x).shape == shape:
        return as_variable(x)
    return SumTo(shape)(x)


class CumSum(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return np.cumsum(x, axis=self.axis)

    def backward(self, gy):
        # entry i feeds every partial sum from i on: the cotangent summed from the end
        return flip(cumsum(flip(gy, self.axis), self.axis), self.axis)


class Flip(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return np.flip(x, axis=self.axis).copy()

    def backward(self, gy):
        return flip(gy, self.axis)


class Tril(Function):
    """The lower (``upper=False``) or upper triangle of the last two axes from diagonal k on, zeros elsewhere."""

    def __init__(self, k, upper):
        self.k = k
        self.upper = upper

    def forward(self, x):
        return np.triu(x, self.k) if self.upper else np.tril(x, self.k)

    def backward(self, gy):
        return Tril(self.k, self.upper)(gy)


class Concatenate(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x0, x1):
        return np.concatenate((x0, x1), axis=self.axis)

    def backward(self, gy):
        x0, x1 = self.inputs
        axis = self.axis % gy.ndim
        n = x0.shape[axis]
        before = (slice(None),) * axis
        return get_item(gy, before + (slice(0, n),)), get_item(gy, before + (slice(n, None),))


class Stack(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x0, x1):
        return np.stack((x0, x1), axis=self.axis)

    def backward(self, gy):
        axis = self.axis % gy.ndim
        before = (slice(None),) * axis
        return get_item(gy, before + (0,)), get_item(gy, before + (1,))


def cumsum(x, axis=-1):
    """Running sums along one axis."""
    return CumSum(int(axis))(x)


def flip(x, axis=None):
    """x with the order of its entries reversed along `axis` (None: every axis; an int or a tuple)."""
    return Flip(_as_axis(axis))(x)


def tril(x, k=0):
    """The entries of the last two axes on and below diagonal k (numpy's tril), zeros above."""
    return Tril(int(k), False)(x)


def triu(x, k=0):
    """The entries of the last two axes on and above diagonal k (numpy's triu), zeros below."""
    return Tril(int(k), True)(x)


def concatenate(x0, x1, axis=-1):
    """x0 and x1 joined along an existing axis."""
    return Concatenate(int(axis))(x0, x1)


def stack(x0, x1, axis=0):
    """x0 and x1 (of one shape) stacked along a new axis."""
    return Stack(int(axis))(x0, x1)


class Where(Function):
    def __init__(self, condition):
        self.condition = condition

    def forward(self, x0, x1):
        return np.where(self.condition, x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        taken = self.condition.astype(gy.dtype)
        return sum_to(gy * taken, x0.shape), sum_to(gy * (1 - taken), x1.shape)


class Pad(Function):
    def __init__(self, widths):
        self.widths = widths

    def forward(self, x):
        return np.pad(x, self.widths)

    def backward(self, gy):
        x, = self.inputs
        return get_item(gy, tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, self.widths)))


class Tile(Function):
    def __init__(self, reps):
        self.reps = reps

    def forward(self, x):
        return np.tile(x, self.reps)

    def backward(self, gy):
        x, = self.inputs
        d = builtins.max(x.ndim, len(self.reps))
        shape = (1,) * (d - x.ndim) + x.shape
        reps = (1,) * (d - len(self.reps)) + self.reps
        # gy's axis k is reps[k] copies of x's axis: split it into (copy, entry) and sum the copies
        split = reshape(gy, tuple(n for pair in zip(reps, shape) for n in pair))
        return reshape(sum(split, axis=tuple(range(0, 2 * d, 2))), x.shape)


def where(x0, x1, condition):
    """x0 where the boolean array `condition` holds, x1 elsewhere (numpy broadcasting); `condition` is
    fixed, not differentiated."""
    return Where(np.asarray(condition, dtype=bool))(x0, x1)


def pad(x, widths):
    """x with zeros added: `widths` holds one (before, after) pair per axis (numpy's constant pad)."""
    return Pad(tuple((int(a), int(b)) for a, b in widths))(x)


def tile(x, reps):
    """x repeated `reps` times along each axis (numpy's tile); the gradient sums the copies."""
    return Tile(tuple(int(r) for r in reps))(x)


def take_along_axis(x, indices, axis=-1):
    """Entries of x picked along `axis` by the integer array `indices` (numpy's take_along_axis):
    integer-array indexing with every other axis' own positions, so repeated picks accumulate."""
    x = as_variable(x)
    indices = np.asarray(indices, dtype=np.intp)
    axis = axis % x.ndim
    where_ = list(np.indices(indices.shape, sparse=True))
    where_[axis] = indices
    return get_item(x, tuple(where_))


# =============================================================================
# Reductions
# =============================================================================
class Sum(Function):
    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        x, = self.inputs
        gy = reshape(gy, utils.keepdims_shape(x.shape, self.axis))
        return broadcast_to(gy, x.shape)


class Max(Function):
    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        return _extremum_grad(self, gy)


class Min(Max):
    def forward(self, x):
        return x.min(axis=self.axis, keepdims=self.keepdims)


def _extremum_grad(f, gy):
    """Backward of max and min: gy goes to the entries equal to the result, split equally among ties."""
    x, = f.inputs
    y = f.outputs[0]()
    shape = utils.keepdims_shape(x.shape, f.axis)
    hits = x.data == y.data.reshape(shape)
    weights = hits / hits.sum(axis=f.axis, keepdims=True)
    weights = weights.astype(np.promote_types(gy.dtype, np.float16))  # the gradient's float type
    return broadcast_to(reshape(gy, shape), x.shape) * weights


def _as_axis(axis):
    """numpy wants a tuple, not a list, for several axes."""
    return tuple(axis) if isinstance(axis, list) else axis


def sum(x, axis=None, keepdims=False):
    """Sum over `axis` (None for all, an int or a tuple; negative axes count from the end)."""
    return Sum(_as_axis(axis), keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Mean over `axis`, as the sum divided by the number of entries (what np.mean computes)."""
    x = as_variable(x)
    count = math.prod(x.shape[a] for a in utils.normalize_axes(axis, x.ndim))
    return sum(x, axis, keepdims) / count


def max(x, axis=None, keepdims=False):
    """Maximum over `axis`; tied entries share the gradient equally."""
    return Max(_as_axis(axis), keepdims)(x)


def min(x, axis=None, keepdims=False):
    """Minimum over `axis`; tied entries share the gradient equally."""
    return Min(_as_axis(axis), keepdims)(x)


class Prod(Function):
    """The product over `axis`. Its gradient is, for each entry, the product of the others: taken as
    such (not as y / x, which is 0 / 0 at a zero entry), from an (n, n) array per slice whose
    diagonal is 1 and whose rows are the slice otherwise."""

    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return np.prod(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        x, = self.inputs
        axes = utils.normalize_axes(self.axis, x.ndim)
        kept = [a for a in range(x.ndim) if a not in axes]
        order = kept + list(axes)
        moved = transpose(x, order) if x.ndim else x
        lead = moved.shape[:len(kept)]
        n = math.prod(x.shape[a] for a in axes)
        rows = broadcast_to(reshape(moved, lead + (1, n)), lead + (n, n))
        eye = np.eye(n, dtype=x.dtype)
        others = prod(rows * (1 - eye) + eye, axis=-1)  # exact: x * 1 + 0 and x * 0 + 1
        others = reshape(others, moved.shape)
        if x.ndim:
            others = transpose(others, tuple(int(a) for a in np.argsort(order)))
        gy = reshape(gy, utils.keepdims_shape(x.shape, self.axis))
        return broadcast_to(gy, x.shape) * others


class Norm(Function):
    """The 2-norm over `axis`; numpy's hypot-style scaling is not needed at the magnitudes drawn, the
    square root of the sum of squares is used. At a zero slice the gradient is 0, an element of the
    subdifferential (the unit ball)."""

    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return np.sqrt(np.sum(x * x, axis=self.axis, keepdims=self.keepdims))

    def backward(self, gy):
        x, = self.inputs
        y = self.outputs[0]()
        shape = utils.keepdims_shape(x.shape, self.axis)
        y = reshape(y, shape)
        zero = (y.data == 0).astype(y.dtype)  # x / (y + 1) = 0 / 1 where the slice is 0
        return broadcast_to(reshape(gy, shape), x.shape) * (x / broadcast_to(y + zero, x.shape))


def prod(x, axis=None, keepdims=False):
    """Product over `axis`; the gradient is right at zero entries too."""
    return Prod(_as_axis(axis), keepdims)(x)


def _reduced_count(x, axis):
    x = as_variable(x)
    return math.prod(x.shape[a] for a in utils.normalize_axes(axis, x.ndim))


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over `axis`: the mean of squared deviations from the mean, divided by n - ddof."""
    n = _reduced_count(x, axis)
    if n <= ddof:
        raise ValueError(f'var over {n} entries needs ddof < {n}, got ddof={ddof}')
    deviations = x - mean(x, axis, keepdims=True)
    return sum(deviations * deviations, axis, keepdims) / (n - ddof)


def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation over `axis`: sqrt(var(x, axis, keepdims, ddof))."""
    return sqrt(var(x, axis, keepdims, ddof))


def norm(x, axis=None, keepdims=False):
    """The 2-norm over `axis`; its gradient at a zero slice is 0."""
    return Norm(_as_axis(axis), keepdims)(x)


# =============================================================================
# Matrix product and indexing
# =============================================================================
class MatMul(Function):
    """a @ b with numpy's rules: 1-D operands, stacks of matrices, and broadcasting of the stack axes."""

    def forward(self, a, b):
        return np.matmul(a, b)

    def backward(self, gy):
        a, b = self.inputs
        # A 1-D a is a row and a 1-D b a column (as numpy treats them), so one rule covers every case.
        a2 = a if a.ndim > 1 else reshape(a, (1,) + a.shape)
        b2 = b if b.ndim > 1 else reshape(b, b.shape + (1,))
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        gy2 = reshape(gy, batch + (a2.shape[-2], b2.shape[-1]))
        ga = sum_to(matmul(gy2, _swap_last_axes(b2)), a2.shape)
        gb = sum_to(matmul(_swap_last_axes(a2), gy2), b2.shape)
        return reshape(ga, a.shape), reshape(gb, b.shape)


def _swap_last_axes(x):
    axes = list(range(x.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return transpose(x, axes)


class GetItem(Function):
    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        x, = self.inputs
        return GetItemGrad(self.index, x.shape)(gy)


class GetItemGrad(Function):
    """The gradient of x[index]: gy scattered into zeros of x's shape; repeated indices add up."""

    def __init__(self, index, in_shape):
        self.index = index
        self.in_shape = in_shape

    def forward(self, gy):
        gx = np.zeros(self.in_shape, dtype=gy.dtype)
        np.add.at(gx, self.index, gy)
        return gx

    def backward(self, ggx):
        return get_item(ggx, self.index)


def matmul(a, b):
    """Matrix product a @ b (numpy.matmul's rules)."""
    return MatMul()(a, b)


class Einsum(Function):
    """A contraction of two operands by einsum subscripts with each letter at most once per operand
    ('ij,jk->ik'): each operand's gradient is the contraction of gy with the other operand."""

    def __init__(self, subscripts):
        inputs, _, self.out = subscripts.partition('->')
        self.subscripts = subscripts
        self.a, self.b = inputs.split(',')

    def forward(self, x0, x1):
        return np.einsum(self.subscripts, x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        return (einsum(gy, x1, f'{self.out},{self.b}->{self.a}'),
                einsum(gy, x0, f'{self.out},{self.a}->{self.b}'))


def einsum(x0, x1, subscripts):
    """The contraction of x0 and x1 that `subscripts` names (numpy's einsum for two operands, each
    letter at most once per operand, every letter of an operand in the other or the output):
    einsum(a, b, 'ij,jk->ik') is a @ b."""
    inputs, arrow, out = subscripts.partition('->')
    parts = inputs.split(',')
    if not arrow or len(parts) != 2 or any(len(set(p)) != len(p) for p in parts) \
            or not all(set(p) <= set(q) | set(out) for p, q in (parts, parts[::-1])):
        raise ValueError(f"einsum takes subscripts like 'ij,jk->ik': two operands, each letter at most once "
                         f"per operand and found in the other operand or the output; got {subscripts!r}")
    return Einsum(subscripts)(x0, x1)


def get_item(x, index):
    """x[index] for basic (ints, slices, None, ...) and integer-array indexing."""
    if isinstance(index, Variable):
        index = index.data
    return GetItem(index)(x)


# =============================================================================
# Clipping
# =============================================================================
class Clip(Function):
    def __init__(self, x_min, x_max):
        self.x_min = x_min
        self.x_max = x_max

    def forward(self, x):
        return np.clip(x, self.x_min, self.x_max)

    def backward(self, gy):
        x, = self.inputs
        inside = np.ones(x.shape, dtype=bool)  # the gradient passes inside and at the bounds
        if self.x_min is not None:
            inside &= x.data >= self.x_min
        if self.x_max is not None:
            inside &= x.data <= self.x_max
        return gy * inside


def clip(x, x_min, x_max):
    """x limited to [x_min, x_max] (either may be None); gradient 1 inside and at the bounds, 0 outside."""
    return Clip(x_min, x_max)(x)


# =============================================================================
# Softmax family and losses
# =============================================================================
def _slices_and_top(x, axis):
    """x with the axes of `axis` moved last and flattened (one slice per kept index), the index of each
    slice's first largest entry (by real part), and the function that undoes the move."""
    axes = utils.normalize_axes(axis, x.ndim)
    kept = [i for i in range(x.ndim) if i not in axes]
    moved = np.transpose(x, kept + list(axes))
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    top = np.argmax(flat.real, axis=-1, keepdims=True)
    return flat, top, lambda a: np.transpose(a.reshape(moved.shape), np.argsort(kept + list(axes)))


def _top_mask(x, axis):
    """1.0 at the first largest entry of each slice of x over `axis`, 0 elsewhere: the entry whose
    softmax may round to 1, where 1 - softmax has to be summed from the other entries."""
    flat, top, back = _slices_and_top(x, axis)
    mask = np.zeros(flat.shape, dtype=flat.real.dtype)  # float32 stays float32
    np.put_along_axis(mask, top, 1.0, axis=-1)
    return back(mask)


def _max_and_log_sum(x, axis):
    """(m, l) with keepdims: m = max of x over `axis`, l = log(sum(exp(x - m))), so logsumexp = m + l.

    The max entry contributes exp(0) = 1 to the sum. Keeping that 1 out of the sum and using log1p keeps
    l accurate when one entry dominates: log_softmax of that entry is -l, a tiny number that
    log(1 + tiny) would round to 0. For complex x (complex step) the real part picks the max, and the
    max entry contributes 1 + expm1(i*im) exactly as before, so the forward stays analytic.
    """
    flat, top, _ = _slices_and_top(x, axis)
    m = np.take_along_axis(flat.real, top, axis=-1)
    s = flat - m
    e = np.exp(s)
    np.put_along_axis(e, top, np.expm1(np.take_along_axis(s, top, axis=-1)), axis=-1)
    l = np.log1p(e.sum(axis=-1, keepdims=True))
    shape = utils.keepdims_shape(x.shape, axis)
    return m.reshape(shape), l.reshape(shape)


class Softmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        e = np.exp(x - x.real.max(axis=self.axis, keepdims=True))  # shifted: exp never overflows
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, gy):
        y = self.outputs[0]()
        # sum(y) = 1, so y * (gy - sum(y * gy)) is the same with gy shifted by any constant per slice.
        # Shifted by its entry at the largest y, the largest y's factor is a sum over the small y's,
        # where unshifted it is gy - gy * y, 0 once y rounds to 1 (softmax' = y (1 - y), as sigmoid').
        gy = gy - sum(gy * _top_mask(y.data, self.axis), axis=self.axis, keepdims=True)
        gx = y * gy
        return gx - y * sum(gx, axis=self.axis, keepdims=True)


class LogSoftmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        m, l = _max_and_log_sum(x, self.axis)
        return (x - m) - l

    def backward(self, gy):
        x, = self.inputs
        # softmax(x) directly, not exp(y): exp would magnify the absolute error of a large negative y
        s = softmax(x, self.axis)
        g = sum(gy, axis=self.axis, keepdims=True)
        # At the largest entry gy - g s cancels once s rounds to 1; there it is written
        # g (1 - s) - (g - gy), both differences summed from the other entries (rest).
        top = _top_mask(x.data, self.axis)
        rest = 1.0 - top
        at_top = g * sum(rest * s, axis=self.axis, keepdims=True) - sum(rest * gy, axis=self.axis, keepdims=True)
        return rest * (gy - g * s) + top * at_top


class LogSumExp(Function):
    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        m, l = _max_and_log_sum(x, self.axis)
        y = m + l
        return y if self.keepdims else np.squeeze(y, axis=utils.normalize_axes(self.axis, x.ndim))

    def backward(self, gy):
        x, = self.inputs
        gy = reshape(gy, utils.keepdims_shape(x.shape, self.axis))
        return gy * softmax(x, self.axis)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over `axis`, shifted by the max so that exp cannot overflow."""
    return Softmax(_as_axis(axis))(x)


def log_softmax(x, axis=-1):
    """log(softmax(x)) over `axis`, computed as x - logsumexp(x) without overflow or loss of tiny values."""
    return LogSoftmax(_as_axis(axis))(x)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, max-shifted: finite wherever the result is."""
    return LogSumExp(_as_axis(axis), keepdims)(x)


def mean_squared_error(x0, x1):
    """The mean over all entries of (x0 - x1) ** 2."""
    return mean(square(sub(x0, x1)))


def softmax_cross_entropy(x, t):
    """Mean over the batch of -log_softmax(x)[i, t[i]].

    x: logits of shape (N, C); t: integer class labels of shape (N,) (an ndarray or Variable).
    """
    x = as_variable(x)
    t = t.data if isinstance(t, Variable) else np.asarray(t)
    if x.ndim != 2 or t.shape != (x.shape[0],):
        raise ValueError(f'softmax_cross_entropy takes logits x of shape (N, C) and labels t of shape '
                         f'(N,); got x of shape {x.shape} and t of shape {t.shape}')
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f'softmax_cross_entropy labels must be integers; got dtype {t.dtype} '
                        f'(use t.astype(int))')
    log_p = log_softmax(x, axis=1)
    return -mean(get_item(log_p, (np.arange(len(t)), t)))


def layer_norm(x, eps=1e-5):
    """(x - mean) / sqrt(var + eps) over the last axis (var with divisor n), no affine part: multiply
    and add a weight and bias after it."""
    deviations = x - mean(x, axis=-1, keepdims=True)
    return deviations / sqrt(mean(deviations * deviations, axis=-1, keepdims=True) + eps)


def cross_entropy(x, target):
    """Mean over the batch of -sum_c target[i, c] * log_softmax(x)[i, c]: soft labels.

    x: logits of shape (N, C); target: class probabilities of the same shape (an ndarray, fixed).
    """
    x = as_variable(x)
    p = np.asarray(target.data if isinstance(target, Variable) else target)
    if x.ndim != 2 or p.shape != x.shape:
        raise ValueError(f'cross_entropy takes logits x of shape (N, C) and target probabilities of the same '
                         f'shape; got x of shape {x.shape} and target of shape {p.shape}')
    return -sum(log_softmax(x, axis=1) * p.astype(x.dtype)) / x.shape[0]


# =============================================================================
# Variable's operators and shape methods (as DeZero's setup_variable)
# =============================================================================
def _transpose_method(self, *axes):
    """`transpose()` reverses the axes; `transpose(1, 0, 2)` or `transpose((1, 0, 2))` permutes them."""
    if len(axes) == 0:
        axes = None
    elif len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    return transpose(self, axes)


def _reshape_method(self, *shape):
    """`reshape(2, 3)` or `reshape((2, 3))`."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return reshape(self, shape)


def _sum_method(self, axis=None, keepdims=False):
    return sum(self, axis, keepdims)


def setup_variable():
    """Give Variable its operators (+, -, *, /, **, @, unary -), indexing and shape methods.

    They are Functions of this module, which builds on `core`; installing them here keeps `core`
    free of imports from this module. Importing `trigrad.autograd` runs it.
    """
    Variable.__neg__ = neg
    Variable.__add__ = add
    Variable.__radd__ = add
    Variable.__sub__ = sub
    Variable.__rsub__ = rsub
    Variable.__mul__ = mul
    Variable.__rmul__ = mul
    Variable.__truediv__ = div
    Variable.__rtruediv__ = rdiv
    Variable.__pow__ = pow
    Variable.__rpow__ = rpow
    Variable.__matmul__ = matmul
    Variable.__rmatmul__ = lambda self, other: matmul(other, self)
    Variable.__getitem__ = get_item
    Variable.T = property(transpose)
    Variable.transpose = _transpose_method
    Variable.reshape = _reshape_method
    Variable.sum = _sum_method


setup_variable()
