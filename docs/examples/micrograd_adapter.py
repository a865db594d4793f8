"""A complete adapter for a library trigrad does not know: a scalar, micrograd-style engine.

The engine (class Value) is written here in full; arrays of Values are numpy object arrays, so numpy
applies its own broadcasting, reductions and matrix products to them. The adapter tells trigrad how
to make leaves, how to call each op it supports, and how to get a vector-Jacobian product.

    trigrad check --backend docs/examples/micrograd_adapter.py:Micrograd
    pytest --pyargs trigrad.properties --autograd-backend=docs/examples/micrograd_adapter.py:Micrograd
"""

import math

import numpy as np

from trigrad.properties.backends import Backend, Unsupported


class Value:
    """A scalar that remembers how it was computed (micrograd's engine, in a few lines)."""

    def __init__(self, data, parents=(), grads=()):
        self.data, self.grad = float(data), 0.0
        self.parents, self.local = parents, grads  # d(self)/d(parent) for each parent

    def __add__(self, o):
        o = o if isinstance(o, Value) else Value(o)
        return Value(self.data + o.data, (self, o), (1.0, 1.0))

    def __mul__(self, o):
        o = o if isinstance(o, Value) else Value(o)
        return Value(self.data * o.data, (self, o), (o.data, self.data))

    __radd__, __rmul__ = __add__, __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, o):
        return self + (-o)

    def __rsub__(self, o):
        return (-self) + o

    def unary(self, f, df):
        return Value(f(self.data), (self,), (df(self.data),))

    def backward(self):
        order, seen = [], set()

        def visit(v):  # topological order, so a shared value is complete before it propagates
            if id(v) not in seen:
                seen.add(id(v))
                for p in v.parents:
                    visit(p)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            for p, d in zip(v.parents, v.local):
                p.grad += d * v.grad


def _each(f, df):
    """An elementwise op on object arrays of Values."""
    return lambda x: np.vectorize(lambda v: v.unary(f, df), otypes=[object])(x)


class Micrograd(Backend):
    """trigrad's adapter protocol for the engine above."""

    name = "micrograd"
    version = "example"
    ops = frozenset({"add", "sub", "mul", "neg", "square", "exp", "sin", "cos", "tanh",
                     "sum", "reshape", "transpose", "broadcast_to", "get_item", "matmul"})
    preamble = "import numpy as np  # and the Value class of docs/examples/micrograd_adapter.py"

    def asarray(self, x):
        return np.vectorize(Value, otypes=[object])(np.asarray(x, dtype=float))

    def tonumpy(self, v):
        return np.vectorize(lambda e: e.data if isinstance(e, Value) else float(e), otypes=[float])(np.asarray(v))

    def op(self, name):
        calls = {
            "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
            "neg": lambda x: -x, "square": lambda x: x * x,
            "exp": _each(math.exp, math.exp),
            "sin": _each(math.sin, math.cos),
            "cos": _each(math.cos, lambda a: -math.sin(a)),
            "tanh": _each(math.tanh, lambda a: 1 - math.tanh(a) ** 2),
            "sum": lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
            "reshape": lambda x, shape: np.reshape(x, shape),
            "transpose": lambda x, axes: np.transpose(x, axes),
            "broadcast_to": lambda x, shape: np.broadcast_to(x, shape),
            "get_item": lambda x, index: np.asarray(x)[tuple(np.asarray(i) if isinstance(i, tuple) else i
                                                             for i in index)],
            "matmul": np.matmul,
        }
        if name not in calls:
            raise Unsupported(f"micrograd has no {name}")
        # numpy returns a bare Value for 0-d results; keep every value an object array
        return lambda *args, **params: np.asarray(calls[name](*args, **params), dtype=object)

    def vjp(self, fn, xs, cotangent):
        y = np.asarray(fn(*xs), dtype=object)
        loss = sum((c * v for c, v in zip(np.ravel(cotangent), y.ravel())), Value(0.0))
        loss.backward()
        grads = [np.vectorize(lambda v: v.grad, otypes=[float])(x) for x in xs]
        return self.tonumpy(y), grads
