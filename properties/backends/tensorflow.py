"""The adapter for TensorFlow (PyPI ``tensorflow-cpu``, tested with 2.21.0), eager, float64 on the CPU.

Every leaf is its own ``tf.Variable``, which a tape watches. Reverse mode is
``tf.GradientTape.gradient`` with the cotangent as ``output_gradients``; forward mode is
``tf.autodiff.ForwardAccumulator``; second order nests two tapes (the outer one differentiates the
inner product of the inner tape's gradients with the tangents). Gradients of inputs that the output
does not depend on are zeros (``UnconnectedGradients.ZERO``).

Where TensorFlow has no op of the spec's form, the row composes TensorFlow's own: ``var`` and ``std``
with ``ddof`` scale ``tf.math.reduce_variance`` by n / (n - ddof) (``tf.experimental.numpy.var``
raises in 2.21 without NumPy behaviour enabled), ``get_item`` with an integer array is a
``tf.gather`` after the basic slicing, ``elu`` with ``alpha`` is Keras's ``elu``, and ``logaddexp``,
``hypot``, ``tril``, ``triu``, ``flip`` and ``matmul`` (which takes 1-d operands there) come from
``tf.experimental.numpy``.
"""

from __future__ import annotations

import os

import numpy as np

from trigrad.oracle import spec

from . import OPERATORS, Backend, OpTable, Row, Unsupported


def _rows(tf, tnp, keras) -> dict:
    """One row per spec op (see Row)."""
    return {
        **{name: Row(function) for name, function in OPERATORS.items()},
        "square": Row("tf.math.square"),
        "sqrt": Row("tf.math.sqrt"),
        "exp": Row("tf.math.exp"),
        "log": Row("tf.math.log"),
        "sin": Row("tf.math.sin"),
        "cos": Row("tf.math.cos"),
        "tan": Row("tf.math.tan"),
        "tanh": Row("tf.math.tanh"),
        "arctan": Row("tf.math.atan"),
        "sigmoid": Row("tf.math.sigmoid"),
        "relu": Row("tf.nn.relu"),
        "abs": Row("tf.math.abs"),
        "softplus": Row("tf.math.softplus"),
        "sinh": Row("tf.math.sinh"),
        "cosh": Row("tf.math.cosh"),
        "arcsin": Row("tf.math.asin"),
        "arccos": Row("tf.math.acos"),
        "arctanh": Row("tf.math.atanh"),
        "log1p": Row("tf.math.log1p"),
        "expm1": Row("tf.math.expm1"),
        "erf": Row("tf.math.erf"),
        "silu": Row("tf.nn.silu"),
        "logsigmoid": Row("tf.math.log_sigmoid"),
        "gelu": Row(lambda x, approximate: tf.nn.gelu(x, approximate=approximate != "none"),
                    "tf.nn.gelu({0}, approximate={approximate} != 'none')"),
        "logaddexp": Row("tnp.logaddexp"),
        "hypot": Row("tnp.hypot"),
        "leaky_relu": Row(lambda x, slope: tf.nn.leaky_relu(x, alpha=slope), "tf.nn.leaky_relu({0}, alpha={slope})"),
        "elu": Row(lambda x, alpha: keras.activations.elu(x, alpha=alpha), "keras.activations.elu({0}, alpha={alpha})"),
        "prod": _reduction(tf, "reduce_prod"),
        "var": Row(lambda x, axis, keepdims, ddof: _var(tf, x, axis, keepdims, ddof),
                   "tf.math.reduce_variance({0}, axis={axis}, keepdims={keepdims}) * (_count({0}, {axis}) / (_count({0}, {axis}) - {ddof}))"),
        "std": Row(lambda x, axis, keepdims, ddof: _std(tf, x, axis, keepdims, ddof),
                   "tf.math.reduce_std({0}, axis={axis}, keepdims={keepdims}) * (_count({0}, {axis}) / (_count({0}, {axis}) - {ddof})) ** 0.5"),
        "norm": Row(lambda x, axis, keepdims: tf.norm(x, axis=_whole(axis, x), keepdims=keepdims),
                    "tf.norm({0}, axis=None if isinstance({axis}, tuple) else {axis}, keepdims={keepdims})"),
        "cumsum": Row(lambda x, axis: tf.math.cumsum(x, axis=axis), "tf.math.cumsum({0}, axis={axis})"),
        # (tnp.flip takes one axis or None: a tuple raises TypeError in its own axis check; tf.reverse
        # takes a list of axes)
        "flip": Row(lambda x, axis: tf.reverse(x, axis=list(spec.normalize_axis(axis, len(x.shape)))),
                    "tf.reverse({0}, axis=list(range(len({0}.shape))) if {axis} is None else np.atleast_1d({axis}).tolist())"),
        "tril": Row(lambda x, k: tnp.tril(x, k), "tnp.tril({0}, {k})"),
        "triu": Row(lambda x, k: tnp.triu(x, k), "tnp.triu({0}, {k})"),
        "concatenate": Row(lambda a, b, axis: tf.concat([a, b], axis=axis), "tf.concat([{0}, {1}], axis={axis})"),
        "stack": Row(lambda a, b, axis: tf.stack([a, b], axis=axis), "tf.stack([{0}, {1}], axis={axis})"),
        "clip": Row(lambda x, lo, hi: tf.clip_by_value(x, lo, hi), "tf.clip_by_value({0}, {lo}, {hi})"),
        "reshape": Row(lambda x, shape: tf.reshape(x, shape), "tf.reshape({0}, {shape})"),
        "transpose": Row(lambda x, axes: tf.transpose(x, perm=axes), "tf.transpose({0}, perm={axes})"),
        "broadcast_to": Row(lambda x, shape: tf.broadcast_to(x, shape), "tf.broadcast_to({0}, {shape})"),
        "sum_to": Row(lambda x, shape: _sum_to(tf, x, shape)),
        "sum": _reduction(tf, "reduce_sum"),
        "mean": _reduction(tf, "reduce_mean"),
        "max": _reduction(tf, "reduce_max"),
        "min": _reduction(tf, "reduce_min"),
        "logsumexp": _reduction(tf, "reduce_logsumexp"),
        "matmul": Row("tnp.matmul"),
        "get_item": Row(lambda x, index: _get_item(tf, x, index)),
        "softmax": Row(lambda x, axis: tf.nn.softmax(x, axis=axis), "tf.nn.softmax({0}, axis={axis})"),
        "log_softmax": Row(lambda x, axis: tf.nn.log_softmax(x, axis=axis), "tf.nn.log_softmax({0}, axis={axis})"),
        "mean_squared_error": Row(lambda a, b: tf.reduce_mean(tf.math.squared_difference(a, b)),
                                  "tf.reduce_mean(tf.math.squared_difference({0}, {1}))"),
        "softmax_cross_entropy": Row(lambda x, labels: tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=list(labels), logits=x)),
            "tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels={labels}, logits={0}))"),
    }


def _reduction(tf, function: str) -> Row:
    """tf.math.<function> over the spec's axis (an int, a tuple or None) and keepdims."""
    call = getattr(tf.math, function)
    return Row(lambda x, axis, keepdims: call(x, axis=axis, keepdims=keepdims),
               f"tf.math.{function}({{0}}, axis={{axis}}, keepdims={{keepdims}})")


def _count(x, axis) -> int:
    """How many entries a reduction over the spec's axis takes together."""
    shape = tuple(x.shape)
    return int(np.prod([shape[a] for a in spec.normalize_axis(axis, len(shape))]))


def _var(tf, x, axis, keepdims, ddof):
    v = tf.math.reduce_variance(x, axis=axis, keepdims=keepdims)
    n = _count(x, axis)
    return v if ddof == 0 else v * (n / (n - ddof))


def _std(tf, x, axis, keepdims, ddof):
    s = tf.math.reduce_std(x, axis=axis, keepdims=keepdims)
    n = _count(x, axis)
    return s if ddof == 0 else s * float(np.sqrt(n / (n - ddof)))


def _whole(axis, x):
    """The spec's axis, with a tuple of every axis as None (the norm of all entries, which tf.norm
    computes for None; over a tuple of more than two axes it raises)."""
    return None if isinstance(axis, tuple) and len(axis) == len(x.shape) else axis


def _sum_to(tf, x, shape):
    axes, _ = spec.sum_to_axes(tuple(x.shape), tuple(shape))
    return tf.reshape(tf.reduce_sum(x, axis=axes, keepdims=True), shape) if axes else tf.reshape(x, shape)


def _get_item(tf, x, index):
    """The spec's index: basic items by TensorFlow's slicing, then an integer-array item (a tuple of
    ints; the spec draws at most one) by tf.gather on the axis it lands on."""
    basic = tuple(slice(None) if isinstance(i, (tuple, list)) else i for i in index)
    y = x[basic]
    for k, item in enumerate(index):
        if isinstance(item, (tuple, list)):
            axis = sum(1 for i in index[:k] if not isinstance(i, int))
            y = tf.gather(y, list(item), axis=axis)
    return y


class Tensorflow(Backend):
    """TensorFlow, eager, float64 on the CPU."""

    name = "tensorflow"
    preamble = ("import os\nos.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')\nimport numpy as np\n"
                "import tensorflow as tf\nimport keras\ntnp = tf.experimental.numpy")

    def __init__(self):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up lines on stderr
        import keras
        import tensorflow as tf

        self.tf = tf
        tf.config.set_visible_devices([], "GPU")  # the CPU, as documented, also where a GPU is visible
        self.table = OpTable(_rows(tf, tf.experimental.numpy, keras),
                             {"tf": tf, "tnp": tf.experimental.numpy, "keras": keras})
        self.ops = self.table.ops
        self.version = tf.__version__

    def asarray(self, x):
        # each leaf its own variable: a tape watches it, and equal values stay distinct leaves
        return self.tf.Variable(np.asarray(x, dtype=np.float64), dtype=self.tf.float64)

    def tonumpy(self, v):
        tf = self.tf
        if isinstance(v, tf.IndexedSlices):
            v = tf.convert_to_tensor(v)
        return np.array(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64)

    def op(self, name):
        if name not in self.table.calls:
            raise Unsupported(f"tensorflow adapter has no op {name!r}")
        call, tf = self.table.calls[name], self.tf
        return lambda *args, **params: call(*[a if not isinstance(a, float) else tf.constant(a, tf.float64)
                                              for a in args], **params)

    def _constant(self, v):
        return self.tf.constant(np.asarray(v, dtype=np.float64))

    def _gradients(self, tape, y, xs, cotangent):
        ct = self._constant(np.broadcast_to(cotangent, tuple(y.shape)))
        return tape.gradient(y, list(xs), output_gradients=ct,
                             unconnected_gradients=self.tf.UnconnectedGradients.ZERO)

    def vjp(self, fn, xs, cotangent):
        with self.tf.GradientTape() as tape:
            y = fn(*xs)
        grads = self._gradients(tape, y, xs, cotangent)
        return self.tonumpy(y), [self.tonumpy(g) for g in grads]

    def jvp(self, fn, xs, tangents):
        tf = self.tf
        with tf.autodiff.ForwardAccumulator(list(xs), [self._constant(u) for u in tangents]) as acc:
            y = fn(*xs)
        return self.tonumpy(y), self.tonumpy(acc.jvp(y, unconnected_gradients=tf.UnconnectedGradients.ZERO))

    def hvp(self, fn, xs, cotangent, tangents):
        tf = self.tf
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                y = fn(*xs)
            grads = self._gradients(inner, y, xs, cotangent)
            product = tf.add_n([tf.reduce_sum(tf.convert_to_tensor(g) * self._constant(u))
                                for g, u in zip(grads, tangents)])
        second = outer.gradient(product, list(xs), unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return [self.tonumpy(h) for h in second]

    # reproducer snippets
    def leaf_source(self, array):
        return f"tf.Variable(np.asarray({array}, dtype=np.float64))"

    def _helpers(self):
        return ["def _count(x, axis):",
                "    axes = range(len(x.shape)) if axis is None else [axis] if isinstance(axis, int) else axis",
                "    return int(np.prod([x.shape[a] for a in axes]))", ""]

    def vjp_source(self, out, inputs, cotangent, body):
        return "\n".join(self._helpers() + ["with tf.GradientTape() as tape:", *[f"    {line}" for line in body],
            f"ct = tf.constant(np.broadcast_to({cotangent}, {out}.shape).astype(np.float64))",
            f"grads = tape.gradient({out}, [{', '.join(inputs)}], output_gradients=ct,",
            "                      unconnected_gradients=tf.UnconnectedGradients.ZERO)",
            f"print('value:', {out}.numpy())",
            *[f"print('gradient wrt {x}:', tf.convert_to_tensor(grads[{k}]).numpy())" for k, x in enumerate(inputs)]])

    def hvp_source(self, out, inputs, cotangent, tangents, body):
        xs = ", ".join(inputs)
        return "\n".join(self._helpers() + [
            "with tf.GradientTape() as outer:",
            "    with tf.GradientTape() as inner:",
            *[f"        {line}" for line in body],
            f"    ct = tf.constant(np.broadcast_to({cotangent}, {out}.shape).astype(np.float64))",
            f"    grads = inner.gradient({out}, [{xs}], output_gradients=ct,",
            "                           unconnected_gradients=tf.UnconnectedGradients.ZERO)",
            f"    tangents = [{', '.join(tangents)}]",
            "    inner_product = tf.add_n([tf.reduce_sum(tf.convert_to_tensor(g) * np.asarray(t, dtype=np.float64))",
            "                              for g, t in zip(grads, tangents)])",
            f"hvp = outer.gradient(inner_product, [{xs}], unconnected_gradients=tf.UnconnectedGradients.ZERO)",
            *[f"print('second order wrt {x}:', hvp[{k}].numpy())" for k, x in enumerate(inputs)]])


def make() -> Tensorflow:
    return Tensorflow()
