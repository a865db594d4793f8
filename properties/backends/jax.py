"""The adapter for JAX, with 64-bit floats enabled (``jax[float32]`` for 32-bit; ``jax[gpu]`` to put
the arrays on the first GPU). Reverse mode is ``jax.vjp``, forward mode ``jax.jvp``, and
Hessian-vector products are ``jax.jvp`` of the function that returns the VJP (forward-over-reverse).
"""

from __future__ import annotations

import numpy as np

from trigrad.oracle import spec

from . import OPERATORS, Backend, OpTable, Row, Unsupported, function_source, parse_options


def _rows(jnp, jax) -> dict:
    """One row per spec op (see Row); complex: JAX computes its complex forward (the numeric oracle's
    complex step)."""
    return {
        **{name: Row(function, complex=True) for name, function in OPERATORS.items()},
        "square": Row("jnp.square", complex=True),
        "sqrt": Row("jnp.sqrt", complex=True),
        "exp": Row("jnp.exp", complex=True),
        "log": Row("jnp.log", complex=True),
        "sin": Row("jnp.sin", complex=True),
        "cos": Row("jnp.cos", complex=True),
        "tan": Row("jnp.tan", complex=True),
        "tanh": Row("jnp.tanh", complex=True),
        "arctan": Row("jnp.arctan", complex=True),
        "sigmoid": Row("jax.nn.sigmoid", complex=True),
        "relu": Row("jax.nn.relu"),
        "abs": Row("jnp.abs"),
        "softplus": Row("jax.nn.softplus"),
        "sinh": Row("jnp.sinh", complex=True),
        "cosh": Row("jnp.cosh", complex=True),
        "arcsin": Row("jnp.arcsin", complex=True),
        "arccos": Row("jnp.arccos", complex=True),
        "arctanh": Row("jnp.arctanh", complex=True),
        "log1p": Row("jnp.log1p", complex=True),
        "expm1": Row("jnp.expm1", complex=True),
        "erf": Row("jax.scipy.special.erf"),
        "silu": Row("jax.nn.silu"),
        "logsigmoid": Row("jax.nn.log_sigmoid"),
        "gelu": Row(lambda x, approximate: jax.nn.gelu(x, approximate=approximate != "none"), "jax.nn.gelu({0}, approximate={approximate} != 'none')"),
        "logaddexp": Row("jnp.logaddexp"),
        "hypot": Row("jnp.hypot"),
        "leaky_relu": Row(lambda x, slope: jax.nn.leaky_relu(x, slope), "jax.nn.leaky_relu({0}, {slope})"),
        "elu": Row(lambda x, alpha: jax.nn.elu(x, alpha), "jax.nn.elu({0}, {alpha})"),
        "prod": Row("jnp.prod", complex=True),
        "var": Row("jnp.var", complex=True),
        "std": Row("jnp.std", complex=True),
        "norm": Row("jnp.linalg.vector_norm"),
        "cumsum": Row("jnp.cumsum", complex=True),
        "flip": Row("jnp.flip", complex=True),
        "tril": Row("jnp.tril", complex=True),
        "triu": Row("jnp.triu", complex=True),
        "concatenate": Row(lambda a, b, axis: jnp.concatenate((a, b), axis=axis), "jnp.concatenate(({0}, {1}), axis={axis})", complex=True),
        "stack": Row(lambda a, b, axis: jnp.stack((a, b), axis=axis), "jnp.stack(({0}, {1}), axis={axis})", complex=True),
        "maximum": Row("jnp.maximum"),
        "minimum": Row("jnp.minimum"),
        "where": Row(lambda x, y, condition: jnp.where(np.asarray(condition), x, y), "jnp.where(np.array({condition}), {0}, {1})", complex=True),
        "pad": Row(lambda x, widths: jnp.pad(x, widths), "jnp.pad({0}, {widths})", complex=True),
        "tile": Row(lambda x, reps: jnp.tile(x, reps), "jnp.tile({0}, {reps})", complex=True),
        "take_along_axis": Row(lambda x, axis, indices: jnp.take_along_axis(x, np.asarray(indices), axis=axis), "jnp.take_along_axis({0}, np.array({indices}), axis={axis})", complex=True),
        "einsum": Row(lambda a, b, subscripts: jnp.einsum(subscripts, a, b), "jnp.einsum({subscripts}, {0}, {1})", complex=True),
        "layer_norm": Row(lambda x, eps: jax.nn.standardize(x, axis=-1, epsilon=eps), "jax.nn.standardize({0}, axis=-1, epsilon={eps})"),
        "cross_entropy": Row(lambda x, target: -jnp.mean(jnp.sum(np.asarray(target) * jax.nn.log_softmax(x, axis=1), axis=1)), "-jnp.mean(jnp.sum(np.array({target}) * jax.nn.log_softmax({0}, axis=1), axis=1))"),
        "clip": Row(lambda x, lo, hi: jnp.clip(x, lo, hi), "jnp.clip({0}, {lo}, {hi})"),
        "reshape": Row(lambda x, shape: jnp.reshape(x, shape), "jnp.reshape({0}, {shape})", complex=True),
        "transpose": Row(lambda x, axes: jnp.transpose(x, axes), "jnp.transpose({0}, {axes})", complex=True),
        "broadcast_to": Row(lambda x, shape: jnp.broadcast_to(x, shape), "jnp.broadcast_to({0}, {shape})", complex=True),
        "sum_to": Row(lambda x, shape: _sum_to(jnp, x, shape), complex=True),
        "sum": Row("jnp.sum", complex=True),
        "mean": Row("jnp.mean", complex=True),
        "max": Row("jnp.max"),
        "min": Row("jnp.min"),
        "logsumexp": Row("jax.scipy.special.logsumexp"),
        "matmul": Row("jnp.matmul", "{0} @ {1}", complex=True),
        "get_item": Row(lambda x, index: x[tuple(np.asarray(i) if isinstance(i, tuple) else i for i in index)], complex=True),
        "softmax": Row("jax.nn.softmax"),
        "log_softmax": Row("jax.nn.log_softmax"),
        "mean_squared_error": Row(lambda a, b: jnp.mean((a - b) ** 2), "jnp.mean(({0} - {1}) ** 2)"),
        "softmax_cross_entropy": Row(lambda x, labels: -jnp.mean(_picked(jnp, jax.nn.log_softmax(x, axis=1), labels))),
    }


def _picked(jnp, log_probabilities, labels):
    """Row i's entry labels[i], as an (N, 1) array."""
    return jnp.take_along_axis(log_probabilities, np.asarray(labels)[:, None], axis=1)


def _sum_to(jnp, x, shape):
    axes, _ = spec.sum_to_axes(tuple(x.shape), tuple(shape))
    return jnp.sum(x, axis=axes, keepdims=True).reshape(shape)


class Jax(Backend):
    """JAX (numpy API and jax.nn), float64 unless told otherwise."""

    name = "jax"
    # a worker forked after XLA started its threads hangs in the compiler (measured: a correct
    # custom_vjp timed out on its first call, 20 s for 20 examples against 3 s in process)
    fork_safe = False

    def __init__(self, dtype: str = "float64", device: str = "cpu"):
        import jax

        if dtype == "float64":
            jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import jax.scipy.special  # noqa: F401  (logsumexp)

        self.jax, self.jnp = jax, jnp
        self.dtype = np.dtype(dtype)
        devices = jax.devices(device) if device != "cpu" else jax.devices("cpu")
        if not devices:
            raise ValueError(f"jax has no {device} device")
        self.device = devices[0]
        self.table = OpTable(_rows(jnp, jax), {"jnp": jnp, "jax": jax})
        self.ops, self.complex_ops = self.table.ops, self.table.complex_ops
        self.version = jax.__version__ + ("" if device == "cpu" else f" on {self.device}")
        if (dtype, device) != ("float64", "cpu"):
            self.name = f"jax[{device},{dtype}]"
        self.preamble = "import numpy as np\nimport jax\njax.config.update('jax_enable_x64', True)\nimport jax.numpy as jnp"

    def asarray(self, x):
        x = np.asarray(x)
        dtype = self.dtype if not np.iscomplexobj(x) else np.result_type(self.dtype, np.complex64)
        return self.jax.device_put(self.jnp.asarray(x, dtype=dtype), self.device)

    def tonumpy(self, v):
        return np.asarray(v)

    def op(self, name):
        if name not in self.table.calls:
            raise Unsupported(f"jax adapter has no op {name!r}")
        call, jnp, dtype = self.table.calls[name], self.jnp, self.dtype
        # constants in the working precision (a Python float stays weakly typed in JAX anyway)
        return lambda *args, **params: call(*[a if not isinstance(a, float) else jnp.asarray(a, dtype) for a in args],
                                           **params)

    def _tangent(self, u):
        return self.jnp.asarray(np.asarray(u), dtype=self.dtype)

    def vjp(self, fn, xs, cotangent):
        y, pullback = self.jax.vjp(fn, *xs)
        grads = pullback(self.jnp.asarray(np.asarray(cotangent), dtype=y.dtype))
        return self.tonumpy(y), [self.tonumpy(g) for g in grads]

    def jvp(self, fn, xs, tangents):
        y, t = self.jax.jvp(fn, tuple(xs), tuple(self._tangent(u) for u in tangents))
        return self.tonumpy(y), self.tonumpy(t)

    def hvp(self, fn, xs, cotangent, tangents):
        ct = self.jnp.asarray(np.asarray(cotangent), dtype=self.dtype)

        def gradient(*args):
            return self.jax.vjp(fn, *args)[1](ct)

        _, second = self.jax.jvp(gradient, tuple(xs), tuple(self._tangent(u) for u in tangents))
        return [self.tonumpy(h) for h in second]

    # reproducer snippets
    def leaf_source(self, array):
        return f"jnp.asarray({array})"

    def vjp_source(self, out, inputs, cotangent, body):
        args = ", ".join(inputs)
        return "\n".join([
            *function_source(out, args, body),
            f"{out}, pullback = jax.vjp(f, {args})",
            f"grads = pullback(jnp.asarray({cotangent}))",
            f"print('value:', {out})",
            *[f"print('gradient wrt {x}:', grads[{k}])" for k, x in enumerate(inputs)]])


    def hvp_source(self, out, inputs, cotangent, tangents, body):
        args = ", ".join(inputs)
        return "\n".join([
            *function_source(out, args, body),
            f"def gradient({args}):",
            f"    return jax.vjp(f, {args})[1](jnp.asarray({cotangent}))",
            "",
            f"_, hvp = jax.jvp(gradient, ({args},), tuple(jnp.asarray(t) for t in [{', '.join(tangents)}]))",
            *[f"print('second order wrt {x}:', hvp[{k}])" for k, x in enumerate(inputs)]])


def make(options: str = "") -> Jax:
    return Jax(**parse_options(options, {"float64": ("dtype", "float64"), "float32": ("dtype", "float32"),
                                         "cpu": ("device", "cpu"), "gpu": ("device", "gpu")}))
