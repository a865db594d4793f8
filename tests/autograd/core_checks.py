"""Gradient checks shared by the autograd tests, built on the textbook `numerical_diff`."""

import numpy as np

from trigrad.autograd import Variable, as_array, numerical_diff

# Central differences with eps = 1e-4 (the seeds' step) are off by about eps**2 * |f'''| / 6 from the
# truncation plus about 1e-16 / eps from rounding: 1e-7 relative is ample for O(1) test functions.
GRAD_RTOL = 1e-6
GRAD_ATOL = 1e-8


def weighted_sum(y, w):
    """sum(y * w) as a 0-d ndarray: a scalar loss whose gradient is the VJP of `y` with cotangent `w`."""
    return as_array(np.sum(y * w))


def numerical_grads(f, xs, w, eps=1e-4):
    """d sum(f(*xs) * w) / d xs[k], entry by entry, each entry by the textbook `numerical_diff`."""
    grads = []
    for k, x in enumerate(xs):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            def loss(v, k=k, i=i):
                moved = [a.copy() for a in xs]
                moved[k][i] = v.data
                return Variable(weighted_sum(f(*[Variable(a) for a in moved]).data, w))
            grad[i] = numerical_diff(loss, Variable(np.array(x[i])), eps)
        grads.append(grad)
    return grads


def autograd_grads(f, xs, w):
    """The same gradients by backward (a zero array where backward left None)."""
    variables = [Variable(np.array(x)) for x in xs]  # a copy, 0-d included
    y = f(*variables)
    y.grad = Variable(np.asarray(w, dtype=y.dtype).copy())
    y.backward()
    return [np.zeros_like(x) if v.grad is None else v.grad.data for v, x in zip(variables, xs)]


def hessian_vector(f, xs, w, vs):
    """H v of L = sum(f(*xs) * w) by create_graph: backward twice."""
    variables = [Variable(np.array(x)) for x in xs]  # a copy, 0-d included
    y = f(*variables)
    y.grad = Variable(np.asarray(w, dtype=y.dtype).copy())
    y.backward(create_graph=True)
    grads = [v.grad for v in variables]
    total = None
    for g, v in zip(grads, vs):
        if g is None:
            continue
        term = (g * v).sum()
        total = term if total is None else total + term
    for v in variables:
        v.cleargrad()
    if total is not None:
        total.backward()
    return [np.zeros_like(x) if v.grad is None else v.grad.data for v, x in zip(variables, xs)]


def numerical_hessian_vector(f, xs, w, vs, eps=1e-4):
    """H v as the central difference of backward's gradient along v."""
    plus = autograd_grads(f, [x + eps * v for x, v in zip(xs, vs)], w)
    minus = autograd_grads(f, [x - eps * v for x, v in zip(xs, vs)], w)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def derivatives_to_second_order(f, x0):
    """(f(x0), f'(x0), f''(x0)) at a scalar x0: backward with create_graph, then backward of the
    gradient."""
    x = Variable(np.array(x0))
    y = f(x)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    return y.data, gx.data, x.grad.data
