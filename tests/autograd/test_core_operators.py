"""Operators, Variable's attributes and methods, mixing with numbers and ndarrays, dtypes, complex inputs."""

import operator

import numpy as np
import pytest

import trigrad.autograd as ag
from trigrad.autograd import Variable

BINARY_OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]


# --- attributes, len, repr ----------------------------------------------------------------------
def test_attributes():
    x = Variable(np.zeros((2, 3), np.float32), name='x')
    assert (x.shape, x.ndim, x.size, x.dtype, len(x), x.name) == ((2, 3), 2, 6, np.float32, 2, 'x')


def test_repr():
    assert repr(Variable(np.array(1.0))) == 'variable(1.0)'
    assert repr(Variable(None)) == 'variable(None)'
    assert repr(Variable(np.array([1, 2]))) == 'variable([1 2])'
    assert repr(Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))) == 'variable([[1. 2.]\n          [3. 4.]])'


# --- operators with Variables, numbers and ndarrays on either side -------------------------------
@pytest.mark.parametrize('op', BINARY_OPERATORS, ids=lambda op: op.__name__)
def test_binary_operators_mix_variables_numbers_and_ndarrays(op):
    a, b = np.array([1.5, 2.0]), np.array([0.5, 3.0])
    expected = op(a, b)
    for left, right in [(Variable(a), Variable(b)), (Variable(a), b), (a, Variable(b)),
                        (Variable(a), 0.5), (1.5, Variable(b)), (np.float64(1.5), Variable(b))]:
        y = op(left, right)
        assert isinstance(y, Variable), (left, right)
        np.testing.assert_array_equal(y.data, op(getattr(left, 'data', left), getattr(right, 'data', right)))
    np.testing.assert_array_equal(op(Variable(a), Variable(b)).data, expected)


def test_unary_minus_and_matmul_operator():
    x = Variable(np.array([1.0, -2.0]))
    np.testing.assert_array_equal((-x).data, [-1.0, 2.0])
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal((x @ m).data, x.data @ m)
    np.testing.assert_array_equal((m @ x).data, m @ x.data)


def test_methods_and_indexing():
    x = Variable(np.arange(24.0).reshape(2, 3, 4))
    assert x.reshape(4, 6).shape == (4, 6) and x.reshape((4, 6)).shape == (4, 6)
    assert x.T.shape == (4, 3, 2)
    assert x.transpose().shape == (4, 3, 2)
    assert x.transpose(1, 0, 2).shape == (3, 2, 4) and x.transpose((1, 0, 2)).shape == (3, 2, 4)
    assert x.transpose(None).shape == (4, 3, 2)
    assert Variable(np.arange(3.0)).transpose(0).shape == (3,)  # one axis, as an int
    assert x.sum().data == 276.0
    assert x.sum(axis=(0, -1), keepdims=True).shape == (1, 3, 1)
    np.testing.assert_array_equal(x[1, :, ::2].data, x.data[1, :, ::2])
    np.testing.assert_array_equal(x[np.array([1, 0, 1])].data, x.data[np.array([1, 0, 1])])


# --- broadcasting: every gradient has its input's shape ---------------------------------------------
BROADCAST_PAIRS = [((2, 3), (3,)), ((2, 3), (2, 1)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((1, 1), (4,))]


@pytest.mark.parametrize('op', BINARY_OPERATORS, ids=lambda op: op.__name__)
@pytest.mark.parametrize('shapes', BROADCAST_PAIRS, ids=str)
def test_broadcasting_gradients_have_the_input_shapes(op, shapes):
    rng = np.random.default_rng(0)
    a = Variable(rng.uniform(0.5, 2.0, shapes[0]))
    b = Variable(rng.uniform(0.5, 2.0, shapes[1]))
    y = op(a, b)
    y.backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    # each entry of a is used by (size of y / size of a) outputs: for add that is its gradient
    if op is operator.add:
        np.testing.assert_array_equal(a.grad.data, np.full(a.shape, y.size / a.size))


def test_matmul_with_batch_broadcasting_gradient_shapes():
    a = Variable(np.ones((2, 1, 3, 4)))
    b = Variable(np.ones((5, 4, 2)))
    y = a @ b
    assert y.shape == (2, 5, 3, 2)
    y.backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    np.testing.assert_array_equal(a.grad.data, np.full(a.shape, 10.0))  # 2 columns x 5 batches
    np.testing.assert_array_equal(b.grad.data, np.full(b.shape, 6.0))  # 3 rows x 2 batches


def test_matmul_one_dimensional_operands():
    v, w = Variable(np.array([1.0, 2.0, 3.0])), Variable(np.array([4.0, 5.0, 6.0]))
    y = v @ w
    assert y.shape == ()
    y.backward()
    np.testing.assert_array_equal(v.grad.data, w.data)
    np.testing.assert_array_equal(w.grad.data, v.data)


# --- dtypes: Python numbers adopt the Variable's dtype; float32 stays float32 -------------------------
FLOAT32_FUNCTIONS = [
    lambda x: x + 1.5, lambda x: 1.5 - x, lambda x: x * 2.0, lambda x: 2.0 / x, lambda x: x ** 3,
    lambda x: x ** 0.5, lambda x: 2.0 ** x, lambda x: -x, lambda x: x @ np.ones(3, np.float32),
    ag.square, ag.sqrt, ag.exp, ag.log, ag.sin, ag.cos, ag.tan, ag.arctan, ag.tanh, ag.sigmoid, ag.relu, ag.abs,
    ag.softplus, ag.sum, ag.mean, ag.max, ag.min, ag.softmax, ag.log_softmax, ag.logsumexp,
    ag.sinh, ag.cosh, ag.arcsin, ag.arccos, ag.arctanh, ag.log1p, ag.expm1, ag.erf, ag.silu, ag.logsigmoid,
    ag.gelu, lambda x: ag.gelu(x, approximate='tanh'), lambda x: ag.logaddexp(x, np.float32(0.5)),
    lambda x: ag.hypot(x, np.float32(0.5)),
    lambda x: ag.leaky_relu(x, 0.2), lambda x: ag.elu(x - 0.5, 0.5), ag.prod, ag.var, ag.std, ag.norm, ag.cumsum,
    ag.flip, lambda x: ag.tril(ag.reshape(x, (1, 3))), lambda x: ag.triu(ag.reshape(x, (3, 1))),
    lambda x: ag.concatenate(x, x), lambda x: ag.stack(x, x),
    lambda x: ag.maximum(x, np.float32(0.5)), lambda x: ag.minimum(x, x[::-1]),
    lambda x: ag.where(x, x * x, [True, False, True]), lambda x: ag.pad(x, ((1, 2),)), lambda x: ag.tile(x, (2,)),
    lambda x: ag.take_along_axis(x, np.array([2, 0, 0, 1]), axis=0), lambda x: ag.einsum(x, x, 'i,j->ij'),
    lambda x: ag.layer_norm(x), lambda x: ag.cross_entropy(ag.reshape(x, (1, 3)), np.array([[0.5, 0.25, 0.25]])),
    lambda x: ag.clip(x, 0.2, 0.8), lambda x: x[np.array([0, 0, 1])], lambda x: ag.broadcast_to(x, (2, 3)),
    lambda x: ag.mean_squared_error(x, np.zeros(3, np.float32)), lambda x: x.reshape(3, 1).T,
    lambda x: ag.softmax_cross_entropy(ag.reshape(x, (1, 3)), np.array([1])),
]


@pytest.mark.parametrize('f', FLOAT32_FUNCTIONS)
def test_float32_stays_float32_through_forward_backward_and_second_order(f):
    x = Variable(np.array([0.25, 0.5, 0.75], np.float32))
    y = f(x)
    assert y.dtype == np.float32
    y.sum().backward(create_graph=True)
    assert x.grad.dtype == np.float32
    gx = x.grad
    x.cleargrad()
    gx.sum().backward()
    assert x.grad is None or x.grad.dtype == np.float32


def test_integer_variables_with_python_floats_promote_like_numpy():
    x = Variable(np.array([1, 2]))
    assert (x * 2).dtype == np.int64 and (x * 2.5).dtype == np.float64 and (x + 1j).dtype == np.complex128


# --- complex inputs flow through the analytic ops (the numeric oracle's complex step) -----------------
COMPLEX_STEP = 1e-20  # the complex step: f(x + ih).imag / h = f'(x) without cancellation for analytic f

ANALYTIC = {
    'add': lambda x: x + 2.0 * x, 'sub': lambda x: 1.0 - x, 'mul': lambda x: x * x, 'div': lambda x: 1.0 / x,
    'pow': lambda x: x ** 3, 'pow_variable': lambda x: x ** (x / 4), 'rpow': lambda x: 2.0 ** x,
    'square': ag.square, 'sqrt': ag.sqrt, 'exp': ag.exp, 'log': ag.log, 'sin': ag.sin, 'cos': ag.cos,
    'tan': ag.tan, 'arctan': ag.arctan, 'tanh': ag.tanh, 'sigmoid': ag.sigmoid, 'softplus': ag.softplus,
    'sinh': ag.sinh, 'cosh': ag.cosh, 'arcsin': lambda x: ag.arcsin(x / 3), 'arccos': lambda x: ag.arccos(x / 3),
    'arctanh': lambda x: ag.arctanh(x / 3), 'log1p': ag.log1p, 'expm1': ag.expm1, 'silu': ag.silu,
    'logsigmoid': ag.logsigmoid, 'gelu_tanh': lambda x: ag.gelu(x, approximate='tanh'),
    'logaddexp': lambda x: ag.logaddexp(x, x[::-1] * 2.0), 'hypot': lambda x: ag.hypot(x, x[::-1]),
    'prod': lambda x: ag.prod(x * x), 'var': lambda x: ag.var(x * x, ddof=1), 'std': lambda x: ag.std(x * x),
    'cumsum': lambda x: ag.cumsum(x * x), 'flip': lambda x: ag.flip(x * x),
    'tril': lambda x: ag.tril(ag.reshape(x * x, (3, 1)) * x), 'triu': lambda x: ag.triu(ag.reshape(x * x, (3, 1)) * x),
    'concatenate': lambda x: ag.concatenate(x, x * x), 'stack': lambda x: ag.stack(x * x, x, axis=1),
    'where': lambda x: ag.where(x * x, ag.exp(x), [True, False, True]), 'pad': lambda x: ag.pad(x * x, ((1, 2),)),
    'tile': lambda x: ag.tile(x * x, (2, 1)), 'take_along_axis': lambda x: ag.take_along_axis(x * x, [2, 0, 0], axis=0),
    'einsum': lambda x: ag.einsum(x, x * x, 'i,j->ij'), 'layer_norm': lambda x: ag.layer_norm(x * x, 0.1),
    'cross_entropy': lambda x: ag.cross_entropy(ag.reshape(x * x, (1, 3)), np.array([[0.5, 0.25, 0.25]])),
    'sum': lambda x: ag.sum(x * x), 'mean': lambda x: ag.mean(ag.exp(x)),
    'matmul': lambda x: x @ (x[::-1] * np.arange(1.0, 4.0)), 'reshape': lambda x: ag.reshape(x * x, (3, 1)),
    'transpose': lambda x: ag.transpose(ag.reshape(x * x, (1, 3))),
    'broadcast_to': lambda x: ag.broadcast_to(x * x, (2, 3)),
    'sum_to': lambda x: ag.sum_to(ag.broadcast_to(x * x, (2, 3)), (1, 3)),
    'get_item': lambda x: (x * x)[np.array([0, 0, 2])],
    'softmax': ag.softmax, 'log_softmax': ag.log_softmax, 'logsumexp': ag.logsumexp,
    'mean_squared_error': lambda x: ag.mean_squared_error(x, x ** 2),
    'softmax_cross_entropy': lambda x: ag.softmax_cross_entropy(ag.reshape(x, (1, 3)), np.array([2])),
}


@pytest.mark.parametrize('name', ANALYTIC)
def test_complex_step_of_the_forward_agrees_with_backward(name):
    f = ANALYTIC[name]
    x0 = np.array([0.3, 1.1, 2.0])
    for i in range(3):
        step = np.zeros(3, complex)
        step[i] = 1j * COMPLEX_STEP
        y = f(Variable(x0 + step))
        assert np.iscomplexobj(y.data)
        complex_step = np.sum(y.data).imag / COMPLEX_STEP
        x = Variable(x0.copy())
        ag.sum(f(x)).backward()
        assert complex_step == pytest.approx(x.grad.data[i], rel=1e-13, abs=1e-15), i
