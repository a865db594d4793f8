"""Book 1's layers (seeds 001 and 004): the apple examples printed exactly, and Relu's backward."""

import numpy as np
import pytest

import trigrad.autograd as ag
from trigrad.autograd import Variable
from trigrad.autograd.layers import AddLayer, MulLayer, Relu, Sigmoid


def printed(*values):
    """What `print(*values)` writes, without the newline."""
    return ' '.join(str(v) for v in values)


def test_apple():
    apple, apple_num, tax = 100, 2, 1.1
    mul_apple_layer, mul_tax_layer = MulLayer(), MulLayer()
    apple_price = mul_apple_layer.forward(apple, apple_num)
    price = mul_tax_layer.forward(apple_price, tax)
    dprice = 1
    dapple_price, dtax = mul_tax_layer.backward(dprice)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)
    assert printed(price) == '220.00000000000003'
    assert printed(dapple, dapple_num, dtax) == '2.2 110.00000000000001 200'


def test_apple_orange():
    apple, apple_num, orange, orange_num, tax = 100, 2, 150, 3, 1.1
    mul_apple_layer, mul_orange_layer = MulLayer(), MulLayer()
    add_apple_orange_layer, mul_tax_layer = AddLayer(), MulLayer()
    apple_price = mul_apple_layer.forward(apple, apple_num)
    orange_price = mul_orange_layer.forward(orange, orange_num)
    all_price = add_apple_orange_layer.forward(apple_price, orange_price)
    price = mul_tax_layer.forward(all_price, tax)
    dprice = 1
    dall_price, dtax = mul_tax_layer.backward(dprice)
    dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)
    dorange, dorange_num = mul_orange_layer.backward(dorange_price)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)
    assert printed(price) == '715.0000000000001'
    assert printed(dapple_num, dapple, dorange, dorange_num, dtax) == (
        '110.00000000000001 2.2 3.3000000000000003 165.0 650')


def test_apple_with_the_graph_core_gives_the_same_numbers():
    apple, apple_num, tax = Variable(np.array(100.0)), Variable(np.array(2.0)), Variable(np.array(1.1))
    price = apple * apple_num * tax
    price.backward()
    assert price.data == 220.00000000000003
    assert (apple.grad.data, apple_num.grad.data, tax.grad.data) == (2.2, 110.00000000000001, 200.0)


def test_relu_mask_example():
    x = np.array([[1.0, -0.5], [-2.0, 3.0]])
    relu = Relu()
    np.testing.assert_array_equal(relu.forward(x), [[1.0, 0.0], [0.0, 3.0]])
    np.testing.assert_array_equal(relu.mask, [[False, True], [True, False]])
    np.testing.assert_array_equal(relu.backward(np.ones((2, 2))), [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(x, [[1.0, -0.5], [-2.0, 3.0]])  # forward did not touch x


class BookRelu:
    """The book's Relu, verbatim (seed 001)."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = (x <= 0)
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        dx = dout
        return dx


def two_branch_gradient(relu_class):
    """dy/dx of y = relu(x) + x, by hand. A pass-through add (the graph core's Add returns gy for both
    inputs) hands one upstream array to both branches: `dout` is shared."""
    relu = relu_class()
    relu.forward(np.array([1.0, -2.0, 3.0]))
    dout = np.ones(3)
    return relu.backward(dout) + dout


def test_book_relu_corrupts_a_shared_gradient_ours_does_not():
    # dy/dx of relu(x) + x is 2 where x > 0 and 1 elsewhere
    np.testing.assert_array_equal(two_branch_gradient(Relu), [2.0, 1.0, 2.0])
    # the book's zeroes the shared dout in place: the identity branch loses its 1 where x <= 0
    np.testing.assert_array_equal(two_branch_gradient(BookRelu), [2.0, 0.0, 2.0])


def test_relu_backward_leaves_dout_alone():
    relu = Relu()
    relu.forward(np.array([-1.0, 0.0, 1.0]))
    dout = np.array([5.0, 6.0, 7.0])
    np.testing.assert_array_equal(relu.backward(dout), [0.0, 0.0, 7.0])  # relu'(0) = 0, as the book's mask
    np.testing.assert_array_equal(dout, [5.0, 6.0, 7.0])


@pytest.mark.parametrize('x0', [-800.0, -40.0, -1.0, 0.0, 2.5, 40.0, 800.0])
def test_sigmoid_layer_matches_the_core_and_stays_finite(x0):
    x = np.array([x0])
    layer = Sigmoid()
    with np.errstate(over='raise', invalid='raise', divide='raise'):
        out = layer.forward(x)
        dx = layer.backward(np.ones(1))
    v = Variable(x.copy())
    y = ag.sigmoid(v)
    y.backward()
    np.testing.assert_array_equal(out, y.data)
    np.testing.assert_array_equal(dx, v.grad.data)
    if abs(x0) < 30:
        assert out[0] == pytest.approx(1 / (1 + np.exp(-x0)), rel=1e-15)
        assert dx[0] == pytest.approx(out[0] * (1 - out[0]), rel=1e-14)
