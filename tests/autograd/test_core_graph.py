"""Graph semantics: generation order, accumulation without aliasing, freeing, configuration, Function API."""

import gc
import itertools
import weakref

import numpy as np
import pytest

import trigrad.autograd as ag
from trigrad.autograd import Config, Function, Variable, no_grad, using_config


class CountingSquare(Function):
    """x ** 2 that counts its backward calls (to see each function run once, after all consumers)."""

    calls = 0

    def forward(self, x):
        return x ** 2

    def backward(self, gy):
        CountingSquare.calls += 1
        x, = self.inputs
        return 2 * x * gy


# --- order and accumulation ------------------------------------------------------------------------
def test_x_plus_x_accumulates():
    x = Variable(np.array(3.0))
    (x + x).backward()
    assert x.grad.data == 2.0


def test_a_value_used_three_times():
    x = Variable(np.array(3.0))
    (x * x * x).backward()
    assert x.grad.data == 27.0  # 3 x^2
    x = Variable(np.array(3.0))
    (x + x + x).backward()
    assert x.grad.data == 3.0


def test_diamond_is_finished_before_it_propagates():
    # y = a^2 + a^2 with a = x^2: y = 2 x^4, y' = 8 x^3. The creator of a must run once, with both
    # consumers' gradients summed; a creator run early (before the second consumer) gives the wrong 32.
    CountingSquare.calls = 0
    x = Variable(np.array(2.0))
    a = CountingSquare()(x)
    y = ag.add(ag.square(a), ag.square(a))
    y.backward()
    assert y.data == 32.0
    assert x.grad.data == 64.0
    assert CountingSquare.calls == 1


def test_deep_diamond_with_unequal_branch_lengths():
    # one branch of length 1, one of length 4; the join must wait for the long one
    x = Variable(np.array(0.7))
    a = ag.sin(x)
    long_branch = ag.exp(ag.tanh(ag.cos(ag.square(a))))
    y = a * long_branch
    y.backward()
    s, c = np.sin(0.7), np.cos(0.7)
    inner = np.cos(s ** 2)
    t = np.tanh(inner)
    dlong_da = np.exp(t) * (1 - t ** 2) * (-np.sin(s ** 2)) * 2 * s
    expected = (np.exp(t) + s * dlong_da) * c
    assert x.grad.data == pytest.approx(expected, rel=1e-14)


def test_generations():
    x = Variable(np.array(1.0))
    a = ag.square(x)
    b = ag.exp(a)
    y = a + b
    assert (x.generation, a.generation, b.generation, y.generation) == (0, 1, 2, 3)
    assert (a.creator.generation, b.creator.generation, y.creator.generation) == (0, 1, 2)


def test_a_chain_of_ten_thousand_functions():
    # backward is a loop over a heap: no recursion limit; freeing the chain must not overflow either
    x = Variable(np.array(0.5))
    y = x
    for _ in range(10_000):
        y = y + 1.0
    y.backward()
    assert x.grad.data == 1.0
    assert y.data == 10_000.5
    del y  # frees 10,000 functions and variables in a cascade


def test_backward_twice_accumulates_into_leaves_and_cleargrad_resets():
    x = Variable(np.array(3.0))
    y = ag.square(x)
    y.backward()
    y.backward()
    assert x.grad.data == 12.0
    x.cleargrad()
    assert x.grad is None
    ag.square(x).backward()
    assert x.grad.data == 6.0


def test_seed_gradient_given_as_ndarray_or_variable():
    for seed in (np.array([1.0, 10.0]), Variable(np.array([1.0, 10.0]))):
        x = Variable(np.array([2.0, 3.0]))
        y = ag.square(x)
        y.grad = seed
        y.backward()
        np.testing.assert_array_equal(x.grad.data, [4.0, 60.0])


def test_backward_of_a_leaf_seeds_ones():
    x = Variable(np.array([1.0, 2.0]))
    x.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


# --- retain_grad and create_graph ------------------------------------------------------------------
def test_intermediate_gradients_are_dropped_by_default():
    x = Variable(np.array(0.5))
    a = ag.square(x)
    y = ag.exp(a)
    y.backward()
    assert a.grad is None and y.grad is None
    assert x.grad is not None


def test_retain_grad_keeps_intermediate_gradients():
    x = Variable(np.array(0.5))
    a = ag.square(x)
    y = ag.exp(a)
    y.backward(retain_grad=True)
    assert y.grad.data == 1.0
    assert a.grad.data == np.exp(0.25)


def test_create_graph_records_the_backward_pass():
    x = Variable(np.array(2.0))
    ag.sin(x).backward()
    assert x.grad.creator is None
    x.cleargrad()
    ag.sin(x).backward(create_graph=True)
    assert x.grad.creator is not None


def test_create_graph_through_a_diamond():
    # y = x^2 * exp(x); y'' = (x^2 + 4x + 2) exp(x)
    x = Variable(np.array(1.5))
    y = x ** 2 * ag.exp(x)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert gx.data == pytest.approx((1.5 ** 2 + 3.0) * np.exp(1.5), rel=1e-15)
    assert x.grad.data == pytest.approx((1.5 ** 2 + 6.0 + 2.0) * np.exp(1.5), rel=1e-15)


def test_mixed_partial_derivative():
    # d/dy (d/dx (x^2 y^3)) = 6 x y^2
    x, y = Variable(np.array(2.0)), Variable(np.array(3.0))
    z = x ** 2 * y ** 3
    z.backward(create_graph=True)
    gx = x.grad
    y.cleargrad()
    gx.backward()
    assert y.grad.data == 6 * 2.0 * 9.0


# --- no_grad and using_config ------------------------------------------------------------------------
def test_no_grad_records_nothing():
    x = Variable(np.array(2.0))
    with no_grad():
        y = ag.square(x)
    assert y.creator is None and y.generation == 0
    assert Config.enable_backprop is True
    y = ag.square(x)
    assert y.creator is not None


def test_using_config_restores_the_value_after_an_exception():
    with pytest.raises(RuntimeError):
        with using_config('enable_backprop', False):
            assert Config.enable_backprop is False
            raise RuntimeError
    assert Config.enable_backprop is True


def test_using_config_rejects_unknown_names():
    with pytest.raises(AttributeError, match='enable_backprop'):
        with using_config('enable_backrpop', False):
            pass


def test_function_called_under_no_grad_keeps_no_inputs():
    f = ag.Square()
    with no_grad():
        f(Variable(np.array(1.0)))
    assert not hasattr(f, 'inputs')


# --- weak references: graphs are freed as soon as their output goes ---------------------------------
def test_graph_is_freed_when_its_output_goes_without_gc():
    gc.disable()  # freeing must not need the cycle collector: there are no reference cycles
    try:
        x = Variable(np.array(1.0))
        a = ag.square(x)
        y = ag.exp(a) + a
        functions = [weakref.ref(y.creator), weakref.ref(a.creator), weakref.ref(y.creator.inputs[0].creator)]
        intermediate = weakref.ref(a)
        y.backward()
        del a, y
        assert all(f() is None for f in functions)
        assert intermediate() is None
    finally:
        gc.enable()


def test_function_outputs_are_weak_references():
    x = Variable(np.array(1.0))
    y = ag.square(x)
    f = y.creator
    assert isinstance(f.outputs[0], weakref.ref) and f.outputs[0]() is y
    del y
    assert f.outputs[0]() is None and f.output is None


# --- the Function API --------------------------------------------------------------------------------
class SplitScale(Function):
    """Two outputs: (2 x, 3 x)."""

    def forward(self, x):
        return 2 * x, 3 * x

    def backward(self, gy0, gy1):
        return 2 * gy0 + 3 * gy1


class Bilinear(Function):
    """Two inputs: a * b."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return gy * b, gy * a


def test_multiple_outputs_return_a_tuple_and_both_gradients_flow():
    x = Variable(np.array(1.0))
    y0, y1 = SplitScale()(x)
    (y0 * y1).backward()  # 6 x^2
    assert x.grad.data == 12.0


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_unused_or_freed_output_gets_a_zero_gradient_of_its_shape_and_dtype(dtype):
    for drop in (False, True):
        x = Variable(np.ones((2, 3), dtype))
        y0, y1 = SplitScale()(x)
        if drop:
            del y1
        y0.sum().backward()
        assert x.grad.dtype == dtype
        np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))


def test_calls_accept_ndarrays_and_python_numbers():
    y = Bilinear()(np.array(2.0), 3)
    assert isinstance(y, Variable) and y.data == 6.0
    assert [v.data for v in y.creator.inputs] == [2.0, 3.0]


def test_forward_may_return_a_numpy_scalar():
    class Total(Function):
        def forward(self, x):
            return np.float64(x.sum())

        def backward(self, gy):
            return ag.broadcast_to(gy, self.inputs[0].shape)

    y = Total()(np.array([1.0, 2.0]))
    assert type(y.data) is np.ndarray and y.data == 3.0


def test_backward_may_return_ndarrays_and_none():
    class FirstOnly(Function):
        def forward(self, a, b):
            return a + 0 * b

        def backward(self, gy):
            return gy.data, None

    a, b = Variable(np.array(1.0)), Variable(np.array(2.0))
    FirstOnly()(a, b).backward()
    assert a.grad.data == 1.0 and b.grad is None


def test_missing_forward_or_backward_raises_not_implemented_naming_the_class():
    class NoBackward(Function):
        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match='NoBackward.backward'):
        NoBackward()(np.array(1.0)).backward()
    with pytest.raises(NotImplementedError, match='Function.forward'):
        Function()(np.array(1.0))


def test_a_none_gradient_for_one_input_leaves_the_next_inputs_theirs():
    class SecondOnly(Bilinear):  # a * b with a treated as a constant
        def backward(self, gy):
            a, b = self.inputs
            return None, gy * a

    a, b = Variable(np.array(2.0)), Variable(np.array(3.0))
    SecondOnly()(a, b).backward()
    assert a.grad is None and b.grad.data == 2.0


def test_backward_with_the_wrong_number_of_gradients_is_an_error():
    class Wrong(Bilinear):
        def backward(self, gy):
            return gy

    with pytest.raises(ValueError, match='Wrong.backward returned 1 gradient'):
        Wrong()(np.array(1.0), np.array(2.0)).backward()


def test_backward_with_a_gradient_of_the_wrong_shape_is_an_error():
    class Wrong(Function):
        def forward(self, x):
            return x.sum()

        def backward(self, gy):
            return gy  # should be broadcast to the input's shape

    message = r'Wrong.backward returned a gradient of shape \(\) for input 0 of shape \(3,\)'
    with pytest.raises(ValueError, match=message):
        Wrong()(np.ones(3)).backward()


def test_single_input_api_of_the_seeds():
    y = Bilinear()(np.array(1.0), np.array(2.0))
    with pytest.raises(AttributeError, match='use .inputs'):
        y.creator.input
    x = Variable(np.array(1.0))
    y = ag.square(x)
    assert y.creator.input is x and y.creator.output is y


# --- no aliasing: every stored gradient has its own memory -----------------------------------------
def all_arrays_disjoint(named):
    """Names of pairs of arrays that share memory."""
    return [(a, b) for (a, x), (b, y) in itertools.combinations(named.items(), 2) if np.shares_memory(x, y)]


def aliasing_graph():
    """A graph full of numpy views and pass-through backwards (add, reshape, transpose, broadcast_to,
    basic indexing, sum), with x used several times."""
    x = Variable(np.arange(6.0).reshape(2, 3), name='x')
    w = Variable(np.ones(3), name='w')
    r = x.reshape(3, 2)
    t = r.T
    s = t + x
    b = ag.broadcast_to(w, (2, 3))
    u = s + b
    v = u[0]
    total = v.sum() + x.sum() + u.sum()
    total.name = 'total'
    return [x, w, r, t, s, b, u, v, total], total


@pytest.mark.parametrize('retain_grad', [False, True])
def test_no_two_gradients_share_memory(retain_grad):
    variables, total = aliasing_graph()
    seed = np.array(1.0)
    total.grad = Variable(seed)
    total.backward(retain_grad=retain_grad)
    grads = {f'grad {v.name or i}': v.grad.data for i, v in enumerate(variables) if v.grad is not None}
    assert len(grads) == (9 if retain_grad else 2)
    forward = {f'data {v.name or i}': v.data for i, v in enumerate(variables)}
    assert all_arrays_disjoint(grads) == []
    others = {name: g for name, g in grads.items() if name != 'grad total'}  # total.grad is the seed itself
    assert [name for name, g in others.items() if np.shares_memory(g, seed)] == []
    assert [(n, m) for n, g in grads.items() for m, d in forward.items() if np.shares_memory(g, d)] == []


def test_add_gives_each_input_its_own_gradient():
    a, b = Variable(np.zeros(3)), Variable(np.zeros(3))
    (a + b).backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data += 1  # an in-place update of one gradient leaves the other alone
    np.testing.assert_array_equal(b.grad.data, np.ones(3))


def test_add_inside_a_graph_gives_each_input_its_own_gradient():
    # the gradient add passes through is an intermediate one (not the seed): both inputs get it
    a, b = Variable(np.zeros(3)), Variable(np.zeros(3))
    ((a + b) * 2.0).backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)


def test_user_seed_gradient_is_never_stored_elsewhere():
    for op in (lambda x: x + 0, lambda x: x.reshape(3, 1), lambda x: x.T, lambda x: x[:, ::-1]):
        x = Variable(np.zeros((1, 3)))
        y = op(x)
        seed = np.arange(3.0).reshape(y.shape)
        y.grad = Variable(seed)
        y.backward()
        assert not np.shares_memory(x.grad.data, seed)
        np.testing.assert_array_equal(seed, np.arange(3.0).reshape(y.shape))


def test_a_backward_that_returns_forward_values_gets_copies():
    # correct only for gy = 1, but legal: the returned arrays are the inputs' own data
    class LazyBilinear(Bilinear):
        def backward(self, gy):
            a, b = self.inputs
            return b, a

    a, b = Variable(np.array([2.0])), Variable(np.array([3.0]))
    LazyBilinear()(a, b).backward()
    assert a.grad is not b and b.grad is not a
    assert not np.shares_memory(a.grad.data, b.data) and not np.shares_memory(b.grad.data, a.data)
    assert (a.grad.data, b.grad.data) == (3.0, 2.0)


def test_a_backward_that_returns_its_own_output_gets_a_copy():
    # exp's gradient is its output: returning that very Variable is right for gy = 1
    class LazyExp(Function):
        def forward(self, x):
            return np.exp(x)

        def backward(self, gy):
            return self.outputs[0]()

    x = Variable(np.array([0.0, 1.0]))
    y = LazyExp()(x)
    y.backward()
    assert not np.shares_memory(x.grad.data, y.data)
    np.testing.assert_array_equal(x.grad.data, y.data)


def test_a_stale_retained_output_gradient_passed_through_gets_a_copy():
    # outputs (0 * x, x): the gradient is the second output's, passed through as it is
    class PassSecond(Function):
        def forward(self, x):
            return np.zeros_like(x), x.copy()

        def backward(self, gy0, gy1):
            return gy1

    x = Variable(np.array([1.0, 2.0]))
    a, b = PassSecond()(x)
    (a + b).backward(retain_grad=True)
    x.cleargrad()
    a.backward(retain_grad=True)  # b keeps its gradient from the first pass, and it flows to x
    assert not np.shares_memory(x.grad.data, b.grad.data)


def test_backward_through_a_function_whose_first_output_was_freed():
    x = Variable(np.array([1.0, 2.0]))
    y1 = SplitScale()(x)[1]  # 3 x; the first output, 2 x, is freed at once
    y1.backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_aliasing_guard_keeps_the_graph_when_create_graph():
    # y = x + x.reshape(...): both inputs' gradients come from one gy; the copy must stay differentiable
    x = Variable(np.array([1.0, 2.0]))
    y = (x.reshape(2) * x + x) ** 2
    y.sum().backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.sum().backward()
    # y = (x^2 + x)^2, y' = 2 (x^2 + x)(2x + 1), y'' = 2 (2x + 1)^2 + 4 (x^2 + x)
    xs = np.array([1.0, 2.0])
    np.testing.assert_allclose(gx.data, 2 * (xs ** 2 + xs) * (2 * xs + 1), rtol=1e-15)
    np.testing.assert_allclose(x.grad.data, 2 * (2 * xs + 1) ** 2 + 4 * (xs ** 2 + xs), rtol=1e-15)


def test_backward_never_writes_into_forward_values_or_the_seed():
    x = Variable(np.array([1.0, -2.0, 3.0]))
    before = x.data.copy()
    seed = np.array([1.0, 1.0, 1.0])
    y = ag.relu(x) + ag.abs(x) + ag.clip(x, -1, 1)
    y.grad = seed
    y.backward()
    np.testing.assert_array_equal(x.data, before)
    np.testing.assert_array_equal(seed, [1.0, 1.0, 1.0])
