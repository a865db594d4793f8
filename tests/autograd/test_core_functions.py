"""Every function, in the style of the seeds' step 10, from one table.

For each case: forward against numpy; backward against the textbook `numerical_diff` (entry by entry,
cotangent `w` random); second derivative (`create_graph=True`, a Hessian-vector product) against a
central difference of the first derivative. Inputs are drawn inside each op's domain and away from its
kinks; kinks, ties and formulas have their own tests further down.
"""

import dataclasses
import math
from typing import Callable

import numpy as np
import pytest

import trigrad.autograd as ag
from trigrad.autograd import Function, Variable
from core_checks import (GRAD_ATOL, GRAD_RTOL, autograd_grads, derivatives_to_second_order, hessian_vector,
                         numerical_grads, numerical_hessian_vector)

FORWARD_RTOL = 1e-12  # stable forms (sigmoid, softplus, log_softmax, ...) differ from naive numpy by ulps
FORWARD_ATOL = 1e-15
SEED = 20240501


def uniform(shape, lo=-2.0, hi=2.0):
    return lambda rng: rng.uniform(lo, hi, shape)


def away_from_zero(shape, lo=0.2, hi=2.0):
    """|x| in [lo, hi] with a random sign: for kinks and poles at 0."""
    return lambda rng: rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def distinct(shape):
    """Values at least 0.1 apart, so that max/min have no ties within a finite-difference step."""
    return lambda rng: rng.permutation(np.linspace(-2.0, 2.0, int(np.prod(shape)))).reshape(shape)


def away_from(bounds, shape, margin=0.05):
    """Uniform in [-1, 1] but never within `margin` of the given points (clip's bounds)."""
    def draw(rng):
        x = rng.uniform(-1.0, 1.0, shape)
        for b in bounds:
            near = np.abs(x - b) < margin
            x[near] = b + np.where(x[near] >= b, margin, -margin) * 2
        return x
    return draw


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis=-1):
    return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))


def np_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


LABELS = np.array([2, 0, 1, 2])
REPEATED = np.array([0, 2, 0, 0])


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    fn: Callable  # the autograd function, on Variables
    ref: Callable  # numpy's forward, on ndarrays
    inputs: tuple  # one sampler (rng -> ndarray) per input: the op's domain


CASES = [
    # arithmetic (broadcasting operands: the gradient is summed back to each input's shape)
    Case('neg', ag.neg, np.negative, (uniform((2, 3)),)),
    Case('neg_operator', lambda x: -x, np.negative, (uniform((2, 3)),)),
    Case('add', ag.add, np.add, (uniform((2, 3)), uniform((3,)))),
    Case('add_operator_scalar', lambda x: 1.5 + x, lambda x: 1.5 + x, (uniform((2, 3)),)),
    Case('sub', ag.sub, np.subtract, (uniform((2, 3)), uniform((2, 1)))),
    Case('sub_reflected_scalar', lambda x: 1.5 - x, lambda x: 1.5 - x, (uniform((2, 3)),)),
    Case('mul', ag.mul, np.multiply, (uniform((2, 3)), uniform((1, 3)))),
    Case('mul_0d', ag.mul, np.multiply, (uniform(()), uniform((2, 3)))),
    Case('div', ag.div, np.divide, (uniform((2, 3)), away_from_zero((3,), 0.5))),
    Case('div_reflected_scalar', lambda x: 2.0 / x, lambda x: 2.0 / x, (away_from_zero((2, 3), 0.5),)),
    Case('pow', ag.pow, np.power, (uniform((2, 3), 0.5, 2.0), uniform((2, 3)))),
    Case('pow_broadcast_exponent', ag.pow, np.power, (uniform((2, 3), 0.5, 2.0), uniform((3,)))),
    Case('pow_number_base', lambda x: 2.0 ** x, lambda x: 2.0 ** x, (uniform((2, 3)),)),
    Case('pow_const_cube_of_negatives', lambda x: x ** 3, lambda x: x ** 3, (uniform((2, 3), -2.0, -0.5),)),
    Case('pow_const_half', lambda x: x ** 0.5, np.sqrt, (uniform((2, 3), 0.5, 2.0),)),
    Case('pow_const_minus_two', lambda x: x ** -2, lambda x: x ** -2.0, (away_from_zero((2, 3), 0.5),)),
    Case('pow_const_array', lambda x: x ** np.array([1.0, 2.0, 3.0]), lambda x: x ** np.array([1.0, 2.0, 3.0]),
         (uniform((2, 3)),)),
    # elementwise
    Case('square', ag.square, np.square, (uniform((2, 3)),)),
    Case('sqrt', ag.sqrt, np.sqrt, (uniform((2, 3), 0.5, 2.0),)),
    Case('exp', ag.exp, np.exp, (uniform((2, 3)),)),
    Case('log', ag.log, np.log, (uniform((2, 3), 0.5, 2.0),)),
    Case('sin', ag.sin, np.sin, (uniform((2, 3)),)),
    Case('cos', ag.cos, np.cos, (uniform((2, 3)),)),
    Case('tan', ag.tan, np.tan, (uniform((2, 3), -1.2, 1.2),)),
    Case('arctan', ag.arctan, np.arctan, (uniform((2, 3), -3.0, 3.0),)),
    Case('tanh', ag.tanh, np.tanh, (uniform((2, 3), -3.0, 3.0),)),
    Case('sigmoid', ag.sigmoid, lambda x: 1 / (1 + np.exp(-x)), (uniform((2, 3), -4.0, 4.0),)),
    Case('relu', ag.relu, lambda x: np.maximum(x, 0), (away_from_zero((2, 3)),)),
    Case('abs', ag.abs, np.abs, (away_from_zero((2, 3)),)),
    Case('softplus', ag.softplus, lambda x: np.log(1 + np.exp(x)), (uniform((2, 3), -4.0, 4.0),)),
    Case('sinh', ag.sinh, np.sinh, (uniform((2, 3), -3.0, 3.0),)),
    Case('cosh', ag.cosh, np.cosh, (uniform((2, 3), -3.0, 3.0),)),
    Case('arcsin', ag.arcsin, np.arcsin, (uniform((2, 3), -0.9, 0.9),)),
    Case('arccos', ag.arccos, np.arccos, (uniform((2, 3), -0.9, 0.9),)),
    Case('arctanh', ag.arctanh, np.arctanh, (uniform((2, 3), -0.9, 0.9),)),
    Case('log1p', ag.log1p, np.log1p, (uniform((2, 3), -0.8, 3.0),)),
    Case('expm1', ag.expm1, np.expm1, (uniform((2, 3)),)),
    Case('erf', ag.erf, np.vectorize(math.erf), (uniform((2, 3), -3.0, 3.0),)),
    Case('silu', ag.silu, lambda x: x / (1 + np.exp(-x)), (uniform((2, 3), -4.0, 4.0),)),
    Case('logsigmoid', ag.logsigmoid, lambda x: -np.log(1 + np.exp(-x)), (uniform((2, 3), -4.0, 4.0),)),
    Case('gelu', ag.gelu, lambda x: x * (1 + np.vectorize(math.erf)(x / np.sqrt(2))) / 2, (uniform((2, 3), -3.0, 3.0),)),
    Case('gelu_tanh', lambda x: ag.gelu(x, approximate='tanh'),
         lambda x: x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))) / 2, (uniform((2, 3), -3.0, 3.0),)),
    Case('logaddexp', ag.logaddexp, lambda x, y: np.log(np.exp(x) + np.exp(y)), (uniform((2, 3)), uniform((3,)))),
    Case('hypot', ag.hypot, lambda x, y: np.sqrt(x * x + y * y), (away_from_zero((2, 3)), uniform((2, 1)))),
    Case('leaky_relu', lambda x: ag.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), (away_from_zero((2, 3)),)),
    Case('elu', lambda x: ag.elu(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)), (away_from_zero((2, 3)),)),
    Case('maximum', ag.maximum, np.maximum, (distinct((2, 3)), lambda rng: distinct((3,))(rng) + 0.2)),
    Case('minimum', ag.minimum, np.minimum, (distinct((2, 3)), lambda rng: distinct((2, 1))(rng) + 0.25)),
    # shapes
    Case('reshape', lambda x: ag.reshape(x, (3, 2)), lambda x: x.reshape(3, 2), (uniform((2, 3)),)),
    Case('reshape_method_minus_one', lambda x: x.reshape(-1), lambda x: x.reshape(-1), (uniform((2, 3)),)),
    Case('transpose', lambda x: ag.transpose(x, (1, 2, 0)), lambda x: np.transpose(x, (1, 2, 0)),
         (uniform((2, 3, 4)),)),
    Case('transpose_negative_axes', lambda x: x.transpose(-1, 0, 1), lambda x: x.transpose(-1, 0, 1),
         (uniform((2, 3, 4)),)),
    Case('transpose_T', lambda x: x.T, lambda x: x.T, (uniform((2, 3, 4)),)),
    Case('broadcast_to', lambda x: ag.broadcast_to(x, (2, 3)), lambda x: np.broadcast_to(x, (2, 3)),
         (uniform((3,)),)),
    Case('broadcast_to_inner', lambda x: ag.broadcast_to(x, (4, 2, 3)), lambda x: np.broadcast_to(x, (4, 2, 3)),
         (uniform((2, 1)),)),
    Case('sum_to', lambda x: ag.sum_to(x, (1, 3)), lambda x: x.sum(axis=0, keepdims=True), (uniform((2, 3)),)),
    Case('sum_to_leading', lambda x: ag.sum_to(x, (3,)), lambda x: x.sum(axis=(0, 1)), (uniform((4, 2, 3)),)),
    Case('cumsum', lambda x: ag.cumsum(x, axis=0), lambda x: np.cumsum(x, axis=0), (uniform((2, 3)),)),
    Case('flip', lambda x: ag.flip(x, axis=(0, 2)), lambda x: np.flip(x, axis=(0, 2)), (uniform((2, 3, 4)),)),
    Case('flip_all', ag.flip, np.flip, (uniform((2, 3)),)),
    Case('tril', lambda x: ag.tril(x, -1), lambda x: np.tril(x, -1), (uniform((2, 3, 3)),)),
    Case('triu', lambda x: ag.triu(x, 1), lambda x: np.triu(x, 1), (uniform((3, 4)),)),
    Case('concatenate', lambda a, b: ag.concatenate(a, b, axis=1), lambda a, b: np.concatenate((a, b), axis=1),
         (uniform((2, 3)), uniform((2, 1)))),
    Case('stack', lambda a, b: ag.stack(a, b, axis=-1), lambda a, b: np.stack((a, b), axis=-1),
         (uniform((2, 3)), uniform((2, 3)))),
    Case('where', lambda a, b: ag.where(a, b, [[True, False, True], [False, False, True]]),
         lambda a, b: np.where([[True, False, True], [False, False, True]], a, b), (uniform((2, 3)), uniform((3,)))),
    Case('pad', lambda x: ag.pad(x, ((1, 0), (0, 2))), lambda x: np.pad(x, ((1, 0), (0, 2))), (uniform((2, 3)),)),
    Case('tile', lambda x: ag.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)), (uniform((2, 3)),)),
    Case('tile_short_reps', lambda x: ag.tile(x, (2,)), lambda x: np.tile(x, (2,)), (uniform((2, 3)),)),
    Case('take_along_axis', lambda x: ag.take_along_axis(x, np.array([[2, 2, 0, 1], [1, 0, 0, 0]]), axis=1),
         lambda x: np.take_along_axis(x, np.array([[2, 2, 0, 1], [1, 0, 0, 0]]), 1), (uniform((2, 3)),)),
    Case('einsum', lambda a, b: ag.einsum(a, b, 'bij,bjk->bik'), lambda a, b: np.einsum('bij,bjk->bik', a, b),
         (uniform((2, 2, 3)), uniform((2, 3, 2)))),
    Case('einsum_outer', lambda a, b: ag.einsum(a, b, 'i,j->ij'), np.outer, (uniform((2,)), uniform((3,)))),
    # reductions
    Case('sum', ag.sum, np.sum, (uniform((2, 3)),)),
    Case('sum_negative_axis', lambda x: ag.sum(x, axis=-1), lambda x: np.sum(x, axis=-1), (uniform((2, 3)),)),
    Case('sum_axes_keepdims', lambda x: x.sum(axis=(0, 2), keepdims=True),
         lambda x: np.sum(x, axis=(0, 2), keepdims=True), (uniform((2, 3, 4)),)),
    Case('mean', ag.mean, np.mean, (uniform((2, 3)),)),
    Case('mean_axis_keepdims', lambda x: ag.mean(x, axis=1, keepdims=True),
         lambda x: np.mean(x, axis=1, keepdims=True), (uniform((2, 3)),)),
    Case('prod', ag.prod, np.prod, (uniform((2, 3)),)),
    Case('prod_axes_keepdims', lambda x: ag.prod(x, axis=(0, 2), keepdims=True),
         lambda x: np.prod(x, axis=(0, 2), keepdims=True), (uniform((2, 3, 2)),)),
    Case('var', lambda x: ag.var(x, axis=1, ddof=1), lambda x: np.var(x, axis=1, ddof=1), (uniform((2, 3)),)),
    Case('std', ag.std, np.std, (uniform((2, 3)),)),
    Case('norm', lambda x: ag.norm(x, axis=-1, keepdims=True), lambda x: np.linalg.norm(x, axis=-1, keepdims=True),
         (uniform((2, 3)),)),
    Case('layer_norm', lambda x: ag.layer_norm(x, 0.1),
         lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 0.1), (uniform((2, 3)),)),
    Case('cross_entropy', lambda x: ag.cross_entropy(x, np.array([[0.75, 0.125, 0.125], [0.25, 0.25, 0.5]])),
         lambda x: -np.mean(np.sum(np.array([[0.75, 0.125, 0.125], [0.25, 0.25, 0.5]])
                                   * (x - np.log(np.exp(x).sum(1, keepdims=True))), axis=1)), (uniform((2, 3)),)),
    Case('max', ag.max, np.max, (distinct((2, 3)),)),
    Case('max_axis', lambda x: ag.max(x, axis=1), lambda x: np.max(x, axis=1), (distinct((2, 3)),)),
    Case('min', ag.min, np.min, (distinct((2, 3)),)),
    Case('min_axes_keepdims', lambda x: ag.min(x, axis=(0, -1), keepdims=True),
         lambda x: np.min(x, axis=(0, -1), keepdims=True), (distinct((2, 3, 2)),)),
    # matmul: 1-D operands and batches with broadcasting
    Case('matmul', ag.matmul, np.matmul, (uniform((2, 3)), uniform((3, 4)))),
    Case('matmul_operator', lambda a, b: a @ b, np.matmul, (uniform((2, 3)), uniform((3, 4)))),
    Case('matmul_vector_matrix', ag.matmul, np.matmul, (uniform((3,)), uniform((3, 4)))),
    Case('matmul_matrix_vector', ag.matmul, np.matmul, (uniform((2, 3)), uniform((3,)))),
    Case('matmul_vector_vector', ag.matmul, np.matmul, (uniform((3,)), uniform((3,)))),
    Case('matmul_batched', ag.matmul, np.matmul, (uniform((2, 2, 3)), uniform((2, 3, 2)))),
    Case('matmul_batch_broadcast', ag.matmul, np.matmul, (uniform((2, 1, 2, 3)), uniform((4, 3, 2)))),
    Case('matmul_vector_batch', ag.matmul, np.matmul, (uniform((3,)), uniform((2, 3, 2)))),
    # indexing
    Case('get_item_slices', lambda x: x[1:, ::2], lambda x: x[1:, ::2], (uniform((3, 4)),)),
    Case('get_item_int', lambda x: x[1], lambda x: x[1], (uniform((3, 4)),)),
    Case('get_item_repeated', lambda x: ag.get_item(x, REPEATED), lambda x: x[REPEATED], (uniform((3, 2)),)),
    Case('get_item_mixed', lambda x: x[np.array([1, 1]), 1:], lambda x: x[np.array([1, 1]), 1:],
         (uniform((3, 4)),)),
    Case('get_item_newaxis_ellipsis', lambda x: x[None, ..., 0], lambda x: x[None, ..., 0], (uniform((3, 4)),)),
    # clipping
    Case('clip', lambda x: ag.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
         (away_from((-0.5, 0.5), (3, 4)),)),
    Case('clip_upper_only', lambda x: ag.clip(x, None, 0.5), lambda x: np.clip(x, None, 0.5),
         (away_from((0.5,), (3, 4)),)),
    # softmax family and losses
    Case('softmax', ag.softmax, np_softmax, (uniform((2, 3)),)),
    Case('softmax_axis0', lambda x: ag.softmax(x, axis=0), lambda x: np_softmax(x, axis=0), (uniform((2, 3)),)),
    Case('log_softmax', ag.log_softmax, np_log_softmax, (uniform((2, 3)),)),
    Case('log_softmax_axis0', lambda x: ag.log_softmax(x, axis=0), lambda x: np_log_softmax(x, axis=0),
         (uniform((3, 2, 2)),)),
    Case('logsumexp', ag.logsumexp, np_logsumexp, (uniform((2, 3)),)),
    Case('logsumexp_axis_keepdims', lambda x: ag.logsumexp(x, axis=1, keepdims=True),
         lambda x: np_logsumexp(x, axis=1, keepdims=True), (uniform((2, 3)),)),
    Case('logsumexp_axes', lambda x: ag.logsumexp(x, axis=(0, 2)), lambda x: np_logsumexp(x, axis=(0, 2)),
         (uniform((2, 3, 4)),)),
    Case('mean_squared_error', ag.mean_squared_error, lambda a, b: np.mean((a - b) ** 2),
         (uniform((2, 3)), uniform((2, 3)))),
    Case('mean_squared_error_broadcast', ag.mean_squared_error, lambda a, b: np.mean((a - b) ** 2),
         (uniform((2, 3)), uniform((3,)))),
    Case('softmax_cross_entropy', lambda x: ag.softmax_cross_entropy(x, LABELS),
         lambda x: -np.mean(np_log_softmax(x, axis=1)[np.arange(4), LABELS]), (uniform((4, 3)),)),
]


def draw(case):
    """The case's point, its cotangent and a direction for the Hessian-vector product (fixed seed)."""
    rng = np.random.default_rng([SEED, sum(map(ord, case.name))])
    xs = [sample(rng) for sample in case.inputs]
    y = case.ref(*xs)
    w = rng.uniform(-1.0, 1.0, np.shape(y))
    vs = [rng.uniform(-1.0, 1.0, x.shape) for x in xs]
    return xs, w, vs


@pytest.mark.parametrize('case', CASES, ids=lambda c: c.name)
def test_forward_matches_numpy(case):
    xs, _, _ = draw(case)
    y = case.fn(*[Variable(x) for x in xs])
    expected = case.ref(*xs)
    assert isinstance(y, Variable)
    assert y.shape == np.shape(expected)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, expected, rtol=FORWARD_RTOL, atol=FORWARD_ATOL)


@pytest.mark.parametrize('case', CASES, ids=lambda c: c.name)
def test_backward_matches_numerical_diff(case):
    xs, w, _ = draw(case)
    for got, expected, x in zip(autograd_grads(case.fn, xs, w), numerical_grads(case.fn, xs, w), xs):
        assert got.shape == x.shape  # broadcasting undone: the gradient has its input's shape
        np.testing.assert_allclose(got, expected, rtol=GRAD_RTOL, atol=GRAD_ATOL)


@pytest.mark.parametrize('case', CASES, ids=lambda c: c.name)
def test_second_derivative_matches_difference_of_first(case):
    xs, w, vs = draw(case)
    got = hessian_vector(case.fn, xs, w, vs)
    expected = numerical_hessian_vector(case.fn, xs, w, vs)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=GRAD_RTOL, atol=10 * GRAD_ATOL)


# ---------------------------------------------------------------------------------------------------
# The checks above catch planted bugs: a wrong factor in backward, and a backward written in raw numpy
# (right first derivative, but invisible to create_graph, so the second derivative comes out 0).
# ---------------------------------------------------------------------------------------------------
class SinWrongFactor(Function):
    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * ag.cos(x) * 1.0001


class SinRawNumpyBackward(Function):
    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        x, = self.inputs
        return Variable(gy.data * np.cos(x.data))


def test_checks_catch_a_wrong_factor():
    case = Case('planted_wrong_factor', lambda x: SinWrongFactor()(x), np.sin, (uniform((2, 3)),))
    with pytest.raises(AssertionError):
        test_backward_matches_numerical_diff(case)


def test_checks_catch_a_backward_that_create_graph_cannot_see():
    case = Case('planted_raw_numpy', lambda x: SinRawNumpyBackward()(x), np.sin, (uniform((2, 3)),))
    test_backward_matches_numerical_diff(case)  # first order is right
    with pytest.raises(AssertionError):
        test_second_derivative_matches_difference_of_first(case)


# ---------------------------------------------------------------------------------------------------
# Second derivatives against formulas
# ---------------------------------------------------------------------------------------------------
def second_derivative(f, x0):
    """(f'(x0), f''(x0)) by backward with create_graph, then backward of the gradient."""
    return derivatives_to_second_order(f, x0)[1:]


@pytest.mark.parametrize('x0', [-1.5, 0.3, 2.0])
def test_second_derivative_of_x_to_the_fourth(x0):
    first, second = second_derivative(lambda x: x ** 4, x0)
    assert first == pytest.approx(4 * x0 ** 3, rel=1e-15)
    assert second == pytest.approx(12 * x0 ** 2, rel=1e-15)


@pytest.mark.parametrize('x0', [-1.5, 0.3, 2.0])
def test_second_derivative_of_sin(x0):
    first, second = second_derivative(ag.sin, x0)
    assert first == np.cos(x0)
    assert second == -np.sin(x0)


@pytest.mark.parametrize('x0', [-1.5, 0.3, 2.0, 25.0])
def test_second_derivative_of_tanh(x0):
    # tanh' = sech^2 = 1 - tanh^2, tanh'' = -2 tanh sech^2 (1/cosh^2 is accurate at these points)
    first, second = second_derivative(ag.tanh, x0)
    sech2 = 1 / np.cosh(x0) ** 2
    assert first == pytest.approx(sech2, rel=1e-14)
    assert second == pytest.approx(-2 * np.tanh(x0) * sech2, rel=1e-14)


def test_third_and_fourth_derivatives_of_x_to_the_fourth():
    x = Variable(np.array(2.0))
    y = x ** 4
    derivatives = []
    for _ in range(4):
        x.cleargrad()
        y.backward(create_graph=True)
        y = x.grad
        derivatives.append(float(y.data))
    assert derivatives == [32.0, 48.0, 48.0, 24.0]  # 4x^3, 12x^2, 24x, 24 at x = 2


def test_gradient_for_the_exponent_of_pow():
    x, c = Variable(np.array(2.0)), Variable(np.array(3.0))
    y = x ** c
    y.backward()
    assert x.grad.data == pytest.approx(12.0, rel=1e-15)  # c x^(c-1)
    assert c.grad.data == pytest.approx(8.0 * np.log(2.0), rel=1e-15)  # x^c log x


def test_pow_with_a_number_exponent_never_takes_log():
    x = Variable(np.array([-2.0, 0.0, 3.0]))
    with np.errstate(all='raise'):
        y = x ** 3
        y.backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        gx.backward()
    np.testing.assert_array_equal(gx.data, [12.0, 0.0, 27.0])
    np.testing.assert_array_equal(x.grad.data, [-12.0, 0.0, 18.0])


def test_x_to_the_zero_has_zero_gradient_everywhere():
    x = Variable(np.array([0.0, 2.0]))
    with np.errstate(all='raise'):
        y = (x ** 0 + x).sum()  # the `+ x` makes x.grad exist; x ** 0 must add nothing (no 0 * inf)
        y.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


# ---------------------------------------------------------------------------------------------------
# Kinks, ties and indexing details
# ---------------------------------------------------------------------------------------------------
def grad_of(f, x):
    x = Variable(np.asarray(x, dtype=float))
    f(x).sum().backward()
    return x.grad.data


def test_relu_and_abs_have_zero_gradient_at_zero():
    np.testing.assert_array_equal(grad_of(ag.relu, [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(grad_of(ag.abs, [-1.0, 0.0, 2.0]), [-1.0, 0.0, 1.0])



def test_leaky_relu_elu_and_norm_at_their_kinks():
    np.testing.assert_array_equal(grad_of(lambda x: ag.leaky_relu(x, 0.2), [-1.0, 0.0, 2.0]), [0.2, 0.2, 1.0])
    np.testing.assert_allclose(grad_of(lambda x: ag.elu(x, 0.5), [-1.0, 0.0, 2.0]), [0.5 * np.exp(-1.0), 0.5, 1.0],
                               rtol=1e-15)
    np.testing.assert_array_equal(grad_of(ag.norm, [0.0, 0.0, 0.0]), [0.0, 0.0, 0.0])  # inside the unit ball
    np.testing.assert_allclose(grad_of(ag.norm, [3.0, 0.0, -4.0]), [0.6, 0.0, -0.8], rtol=1e-15)


@pytest.mark.parametrize('x, expected', [([0.0, 2.0, -1.5], [-3.0, 0.0, 0.0]), ([0.0, 0.0, 2.0], [0.0, 0.0, 0.0]),
                                         ([4.0, 0.5, -1.0], [-0.5, -4.0, 2.0])])
def test_prod_gradient_is_the_product_of_the_others_at_zeros_too(x, expected):
    np.testing.assert_array_equal(grad_of(ag.prod, x), expected)


def test_prod_second_derivative_at_a_zero_entry():
    # d2/dx0 dx1 of x0 x1 x2 is x2, also where x0 == 0 (y / x would divide by zero)
    x = Variable(np.array([0.0, 2.0, -1.5]))
    ag.prod(x).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx[0].backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, -1.5, 2.0])

def test_maximum_and_minimum_split_ties_in_half():
    x, y = Variable(np.array([1.0, 2.0, -1.0])), Variable(np.array([1.0, 0.5, 3.0]))
    ag.sum(ag.maximum(x, y) * np.array([2.0, 1.0, 4.0])).backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(y.grad.data, [1.0, 0.0, 4.0])
    x.cleargrad(), y.cleargrad()
    ag.sum(ag.minimum(x, y)).backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(y.grad.data, [0.5, 1.0, 0.0])


def test_take_along_axis_accumulates_repeated_picks():
    x = Variable(np.array([[1.0, 2.0, 3.0]]))
    ag.sum(ag.take_along_axis(x, np.array([[2, 2, 0, 2]]), axis=1)).backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 0.0, 3.0]])


def test_einsum_and_cross_entropy_refuse_what_they_do_not_take():
    x = Variable(np.ones((2, 3)))
    with pytest.raises(ValueError, match="einsum takes subscripts like 'ij,jk->ik'"):
        ag.einsum(x, x, 'ii,i->i')
    with pytest.raises(ValueError, match="einsum takes subscripts"):
        ag.einsum(x, x, 'ij->i')
    with pytest.raises(ValueError, match="target probabilities of the same shape"):
        ag.cross_entropy(x, np.ones(3) / 3)


def test_clip_passes_the_gradient_at_its_bounds_and_stops_it_outside():
    np.testing.assert_array_equal(grad_of(lambda x: ag.clip(x, -1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0]),
                                  [0.0, 1.0, 1.0, 1.0, 0.0])


def test_max_and_min_share_the_gradient_equally_between_ties():
    np.testing.assert_array_equal(grad_of(ag.max, [1.0, 3.0, 3.0, 2.0]), [0.0, 0.5, 0.5, 0.0])
    np.testing.assert_array_equal(grad_of(ag.min, [1.0, 3.0, 1.0, 1.0]), [1 / 3, 0.0, 1 / 3, 1 / 3])
    rows = grad_of(lambda x: ag.max(x, axis=1), [[5.0, 5.0], [1.0, 2.0]])
    np.testing.assert_array_equal(rows, [[0.5, 0.5], [0.0, 1.0]])


def test_get_item_with_repeated_indices_accumulates():
    x = Variable(np.array([10.0, 20.0, 30.0]))
    y = x[np.array([0, 2, 0, 0])]
    y.grad = Variable(np.array([1.0, 2.0, 3.0, 4.0]))
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [8.0, 0.0, 2.0])


def test_get_item_takes_a_variable_as_index():
    x = Variable(np.array([10.0, 20.0, 30.0]))
    y = ag.get_item(x, Variable(np.array([2, 0])))
    np.testing.assert_array_equal(y.data, [30.0, 10.0])


def test_get_item_grad_backward_is_get_item():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = (x[np.array([0, 0, 2])] ** 2).sum()
    y.backward(create_graph=True)
    gx = x.grad  # 2 x at each use: [4, 0, 6]
    x.cleargrad()
    (gx * Variable(np.array([1.0, 10.0, 100.0]))).sum().backward()
    np.testing.assert_array_equal(gx.data, [4.0, 0.0, 6.0])
    np.testing.assert_array_equal(x.grad.data, [4.0, 0.0, 200.0])  # d/dx of sum(v * gx) = 2 * uses * v


def test_softmax_cross_entropy_takes_labels_as_a_variable():
    x = np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]])
    labels = np.array([2, 0])
    expected = ag.softmax_cross_entropy(x, labels).data
    np.testing.assert_array_equal(ag.softmax_cross_entropy(x, Variable(labels)).data, expected)


def test_softmax_cross_entropy_rejects_bad_shapes_and_float_labels():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r'\(N, C\)'):
        ag.softmax_cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(TypeError, match='integers'):
        ag.softmax_cross_entropy(x, np.array([0.0, 1.0]))
