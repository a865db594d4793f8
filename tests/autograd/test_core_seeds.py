"""The seeds' notebooks (DL from Scratch 3, steps 1-10; book 1, chapter 5), replayed on the core.

Every number the notebooks print is asserted exactly. The notebooks ran on another machine; exp() comes
from the platform's libm, so an exact match of an exp-based number is also a check that this
machine's libm agrees with theirs (it does, for every number here).
"""

import unittest

import numpy as np
import pytest
import sympy

from trigrad.autograd import Exp, Function, Square, Variable, as_array, exp, numerical_diff, square


# --- step 1: Variable ----------------------------------------------------------------------------
def test_step1_variable_holds_data():
    x = Variable(np.array(1.0))
    assert x.data == 1.0
    x.data = np.array(2.0)
    assert x.data == 2.0


def test_step1_ndim():
    assert [Variable(np.array(1)).ndim, Variable(np.array([1, 2, 3])).ndim,
            Variable(np.array([[1, 2, 3], [4, 5, 6]])).ndim] == [0, 1, 2]


# --- steps 2-3: Function, Square, Exp, chaining ---------------------------------------------------
def test_step2_function_base_forward_raises_not_implemented():
    with pytest.raises(NotImplementedError):
        Function()(Variable(np.array(10)))


def test_step2_square_returns_a_variable():
    y = Square()(Variable(np.array(10)))
    assert type(y) is Variable
    assert y.data == 100


def test_step3_chain():
    A, B, C = Square(), Exp(), Square()
    y = C(B(A(Variable(np.array(0.5)))))
    assert y.data == np.exp(0.25) ** 2


# --- step 4: numerical differentiation ------------------------------------------------------------
def composite(x):
    A, B, C = Square(), Exp(), Square()
    return C(B(A(x)))


def test_step4_numerical_diff_of_square():
    assert numerical_diff(square, Variable(np.array(2.0))) == 4.000000000004
    assert numerical_diff(Square(), Variable(np.array(2.0))) == 4.000000000004


def test_step4_numerical_diff_of_composite():
    assert numerical_diff(composite, Variable(np.array(0.5))) == 3.2974426293330694


# --- step 6: backpropagation by hand --------------------------------------------------------------
def as_variable_data(g):
    """The seeds' gradients are ndarrays; the core's backward methods return Variables."""
    return g.data if isinstance(g, Variable) else g


def test_step6_manual_backward():
    A, B, C = Square(), Exp(), Square()
    x = Variable(np.array(0.5))
    a = A(x)
    b = B(a)
    y = C(b)
    y.grad = np.array(1.0)
    b.grad = C.backward(y.grad)
    a.grad = B.backward(b.grad)
    x.grad = A.backward(a.grad)
    assert x.grad.data == 3.297442541400256
    assert 4 * 0.5 * np.exp(0.5) == 3.2974425414002564  # the seed's closed form y' = 4x e^(2x^2)


def test_step6_exercise_exp_exp_exp_by_hand():
    x = Variable(np.array(0.5))
    A, B, C = Exp(), Exp(), Exp()
    a = A(x)
    b = B(a)
    y = C(b)
    y.grad = np.array(1.0)
    b.grad = C.backward(y.grad)
    a.grad = B.backward(b.grad)
    x.grad = A.backward(a.grad)
    assert x.grad.data == 1554.7142341744839
    assert x.grad.data == pytest.approx(np.exp(np.exp(np.exp(0.5)) + np.exp(0.5) + 0.5), rel=1e-15)


def test_step6_exercise_exp_exp_exp_looped_with_intermediate_gradients():
    x = Variable(np.array(0.5))
    fncs = [Exp(), Exp(), Exp()]
    inputs, outputs = [x], []
    for fnc in fncs:
        output = fnc(inputs[-1])
        outputs.append(output)
        inputs.append(output)
    outputs[-1].grad = np.array(1.0)
    printed = []
    for i in np.arange(len(fncs) - 1, -1, -1):
        printed.append(float(np.asarray(as_variable_data(outputs[i].grad))))
        inputs[i].grad = fncs[i].backward(outputs[i].grad)
    assert printed == [1.0, 181.33130360854574, 942.9818501184714]
    assert x.grad.data == 1554.7142341744839


def test_step6_exercise_exp_exp_exp_automatic_with_retained_gradients():
    x = Variable(np.array(0.5))
    a = exp(x)
    b = exp(a)
    y = exp(b)
    y.backward(retain_grad=True)
    assert [y.grad.data, b.grad.data, a.grad.data, x.grad.data] == [
        1.0, 181.33130360854574, 942.9818501184714, 1554.7142341744839]


# --- step 7: creators, and backward by following them ---------------------------------------------
def test_step7_exercise_recover_x_from_y():
    x = Variable(np.array([0.5]))
    y = Square()(x)
    np.testing.assert_array_equal(y.creator.input.data, np.array([0.5]))


def make_square_exp_square():
    A, B, C = Square(), Exp(), Square()
    x = Variable(np.array(0.5))
    a = A(x)
    b = B(a)
    y = C(b)
    return (A, B, C), (x, a, b, y)


def test_step7_creator_chain():
    (A, B, C), (x, a, b, y) = make_square_exp_square()
    assert y.creator == C
    assert y.creator.input == b
    assert y.creator.input.creator == B
    assert y.creator.input.creator.input == a
    assert y.creator.input.creator.input.creator == A
    assert y.creator.input.creator.input.creator.input == x


def test_step7_backward_by_hand_through_creators():
    _, (x, _, _, y) = make_square_exp_square()
    y.grad = np.array(1.0)
    C = y.creator
    b = C.input
    b.grad = C.backward(y.grad)
    B = b.creator
    a = B.input
    a.grad = B.backward(b.grad)
    A = a.creator
    x = A.input
    x.grad = A.backward(a.grad)
    assert x.grad.data == 3.297442541400256


def recursive_backward(variable):
    """The seeds' step 7.3 Variable.backward, on the core's objects."""
    f = variable.creator
    if f is not None:
        x = f.input
        x.grad = f.backward(variable.grad)
        recursive_backward(x)


def looped_backward(variable):
    """The seeds' step 8.2 Variable.backward, on the core's objects."""
    funcs = [variable.creator]
    while funcs:
        f = funcs.pop()
        x, y = f.input, f.output
        x.grad = f.backward(y.grad)
        if x.creator is not None:
            funcs.append(x.creator)


@pytest.mark.parametrize('walk', [recursive_backward, looped_backward, Variable.backward])
def test_steps7_8_backward_recursive_looped_and_builtin(walk):
    _, (x, _, _, y) = make_square_exp_square()
    y.grad = np.array(1.0)
    walk(y)
    assert x.grad.data == 3.297442541400256


# --- step 9: friendlier functions, default seed, ndarray only -------------------------------------
def test_step9_functions_and_default_seed_gradient():
    x = Variable(np.array(0.5))
    y = square(exp(square(x)))
    y.backward()
    assert x.grad.data == 3.297442541400256


def test_step9_variable_accepts_ndarray_and_none():
    assert Variable(np.array(1.0)).data == 1.0
    assert Variable(None).data is None


@pytest.mark.parametrize('value', [1.0, 1, [1.0], (1.0,), 'a', np.float64(1.0)])
def test_step9_variable_rejects_anything_else_naming_the_type(value):
    with pytest.raises(TypeError, match=f"{type(value)} is not supported"):
        Variable(value)


def test_step9_as_array_turns_numpy_scalars_back_into_arrays():
    x = np.array(1.0)
    y = x ** 2
    assert type(y) is np.float64 and y.ndim == 0
    y = as_array(y)
    assert type(y) is np.ndarray and y.ndim == 0 and y == 1.0
    assert type(as_array(np.float32(2.0))) is np.ndarray and as_array(np.float32(2.0)).dtype == np.float32
    assert type(as_array(3)) is np.ndarray
    same = np.array([1.0])
    assert as_array(same) is same


def test_step9_function_outputs_are_arrays_even_for_0d():
    y = square(Variable(np.array(1.0)))
    assert type(y.data) is np.ndarray and y.data.ndim == 0


# --- step 10: the seed's unit tests, as written -----------------------------------------------------
class SquareTest(unittest.TestCase):

    def test_forward(self):
        x = Variable(np.array(2.0))
        y = square(x)
        expected = np.array(4.0)
        self.assertEqual(y.data, expected)

    def test_backward(self):
        x = Variable(np.array(3.0))
        y = square(x)
        y.backward()
        expected = np.array(6.0)
        self.assertEqual(x.grad.data, expected)

    def test_gradient_check(self):
        x = Variable(np.random.default_rng(10).random(1))  # the seed's np.random.rand(1), seeded
        y = square(x)
        y.backward()
        num_grad = numerical_diff(square, x)
        flg = np.allclose(x.grad.data, num_grad)
        self.assertTrue(flg)


# --- sympy (book 1, chapter 5; and step 5's chain rule example) -------------------------------------
def test_sympy_derivative_of_square_of_sum():
    x, y = sympy.symbols('x y')
    z = (x + y) ** 2
    assert sympy.diff(z, x) == 2 * x + 2 * y
    for x0, y0 in [(0.5, -1.25), (2.0, 3.0), (-3.5, 0.25)]:
        vx, vy = Variable(np.array(x0)), Variable(np.array(y0))
        ((vx + vy) ** 2).backward()
        assert vx.grad.data == float(sympy.diff(z, x).subs({x: x0, y: y0}))
        assert vy.grad.data == float(sympy.diff(z, y).subs({x: x0, y: y0}))


def test_chain_rule_example_of_step5():
    x = sympy.Symbol('x')
    y = (x ** 2 + x + 100) ** 3
    formula = 3 * (x ** 2 + x + 100) ** 2 * (2 * x + 1)
    assert sympy.simplify(sympy.diff(y, x) - formula) == 0
    for x0 in [-2.0, 0.5, 3.0]:
        v = Variable(np.array(x0))
        ((v ** 2 + v + 100) ** 3).backward()
        assert v.grad.data == pytest.approx(float(formula.subs(x, x0)), rel=1e-15)
