"""The adapter for MyGrad (PyPI ``mygrad``, tested with 2.5.0), float64 on numpy.

MyGrad has reverse mode only (``Tensor.backward(grad)``) and no higher-order derivatives: its
gradients are numpy arrays, not tensors, so jvp and hvp are unsupported. It has no logsumexp
(unsupported), nor pad, tile, take_along_axis, a layer norm or a cross-entropy with soft labels; softplus and mean squared error are written from its functions as its users write
them (``logaddexp(0, x)``, ``mean((a - b) ** 2)``).
"""

from __future__ import annotations

import numpy as np

from trigrad.oracle import spec

from . import OPERATORS, Backend, OpTable, Row, Unsupported


def _rows(mg, nnet) -> dict:
    """One row per spec op (see Row); None: MyGrad has no such function."""
    return {
        **{name: Row(function) for name, function in OPERATORS.items()},
        "square": Row("mg.square"),
        "sqrt": Row("mg.sqrt"),
        "exp": Row("mg.exp"),
        "log": Row("mg.log"),
        "sin": Row("mg.sin"),
        "cos": Row("mg.cos"),
        "tan": Row("mg.tan"),
        "tanh": Row("mg.tanh"),
        "arctan": Row("mg.arctan"),
        "sigmoid": Row("nnet.sigmoid"),
        "relu": Row("nnet.relu"),
        "abs": Row("mg.abs"),
        "softplus": Row(lambda x: mg.logaddexp(0.0, x), "mg.logaddexp(0.0, {0})"),
        "clip": Row(lambda x, lo, hi: mg.clip(x, lo, hi), "mg.clip({0}, {lo}, {hi})"),
        "reshape": Row(lambda x, shape: mg.reshape(x, shape), "mg.reshape({0}, {shape})"),
        "transpose": Row(lambda x, axes: mg.transpose(x, axes), "mg.transpose({0}, {axes})"),
        "broadcast_to": Row(lambda x, shape: mg.broadcast_to(x, shape), "mg.broadcast_to({0}, {shape})"),
        "sum_to": Row(lambda x, shape: _sum_to(mg, x, shape)),
        "sum": Row("mg.sum"),
        "mean": Row("mg.mean"),
        "max": Row("mg.max"),
        "min": Row("mg.min"),
        "logsumexp": None,
        "matmul": Row("mg.matmul", "{0} @ {1}"),
        "get_item": Row(lambda x, index: x[spec.as_index(index)]),
        "softmax": Row("nnet.softmax"),
        "log_softmax": Row("nnet.logsoftmax"),
        "mean_squared_error": Row(lambda a, b: mg.mean((a - b) ** 2), "mg.mean(({0} - {1}) ** 2)"),
        "softmax_cross_entropy": Row(lambda x, labels: nnet.softmax_crossentropy(x, np.asarray(labels)), "nnet.softmax_crossentropy({0}, np.array({labels}))"),
        "maximum": Row("mg.maximum"),
        "minimum": Row("mg.minimum"),
        "where": Row(lambda x, y, condition: mg.where(np.asarray(condition), x, y), "mg.where(np.array({condition}), {0}, {1})"),
        "pad": None,
        "tile": None,
        "take_along_axis": None,
        "einsum": Row(lambda a, b, subscripts: mg.einsum(subscripts, a, b), "mg.einsum({subscripts}, {0}, {1})"),
        "layer_norm": None,
        "cross_entropy": None,
    }


def _sum_to(mg, x, shape):
    axes, _ = spec.sum_to_axes(tuple(x.shape), tuple(shape))
    return mg.reshape(mg.sum(x, axis=axes, keepdims=True), shape)


class MyGrad(Backend):
    """MyGrad on numpy, float64; reverse mode only."""

    name = "mygrad"
    preamble = "import numpy as np\nimport mygrad as mg\nimport mygrad.nnet as nnet"

    def __init__(self):
        import mygrad as mg
        import mygrad.nnet as nnet

        self.mg = mg
        self.table = OpTable(_rows(mg, nnet), {"mg": mg, "nnet": nnet}, prefix="mg.")
        self.ops = self.table.ops
        self.version = mg.__version__

    def asarray(self, x):
        return self.mg.tensor(np.array(x, dtype=np.float64))

    def tonumpy(self, v):
        return np.array(v.data if isinstance(v, self.mg.Tensor) else v, dtype=np.float64)

    def op(self, name):
        if name not in self.table.calls:
            raise Unsupported(f"MyGrad has no {name}")
        return self.table.calls[name]

    def vjp(self, fn, xs, cotangent):
        y = fn(*xs)
        y = y if isinstance(y, self.mg.Tensor) else self.mg.tensor(y)
        y.backward(np.asarray(cotangent, dtype=np.float64))
        return self.tonumpy(y), [np.zeros(x.shape) if x.grad is None else np.array(x.grad, dtype=np.float64)
                                 for x in xs]

    # reproducer snippets
    def leaf_source(self, array):
        return f"mg.tensor({array})"

    def vjp_source(self, out, inputs, cotangent, body):
        return "\n".join(body + [f"{out}.backward({cotangent})", f"print('value:', {out}.data)"]
                         + [f"print('gradient wrt {x}:', {x}.grad)" for x in inputs])


def make() -> MyGrad:
    return MyGrad()
