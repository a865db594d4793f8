"""The adapter for JAX, with 64-bit floats enabled (``jax[float32]`` for 32-bit; ``jax[gpu]`` to put
the arrays on the first GPU). Reverse mode is ``jax.vjp``, forward mode ``jax.jvp``, and
Hessian-vector products are ``jax.jvp`` of the function that returns the VJP (forward-over-reverse).
"""

from __future__ import annotations

import numpy as np

from trigrad.oracle import spec

from . import OPERATORS, Backend, Unsupported, parse_options


def _calls(jnp, jax):
    def dims(axis):
        return axis

    return {
        **OPERATORS,
        "square": jnp.square,
        "sqrt": jnp.sqrt,
        "exp": jnp.exp,
        "log": jnp.log,
        "sin": jnp.sin,
        "cos": jnp.cos,
        "tan": jnp.tan,
        "tanh": jnp.tanh,
        "sigmoid": jax.nn.sigmoid,
        "relu": jax.nn.relu,
        "abs": jnp.abs,
        "softplus": jax.nn.softplus,
        "clip": lambda x, lo, hi: jnp.clip(x, lo, hi),
        "reshape": lambda x, shape: jnp.reshape(x, shape),
        "transpose": lambda x, axes: jnp.transpose(x, axes),
        "broadcast_to": lambda x, shape: jnp.broadcast_to(x, shape),
        "sum_to": lambda x, shape: _sum_to(jnp, x, shape),
        "sum": lambda x, axis, keepdims: jnp.sum(x, axis=dims(axis), keepdims=keepdims),
        "mean": lambda x, axis, keepdims: jnp.mean(x, axis=dims(axis), keepdims=keepdims),
        "max": lambda x, axis, keepdims: jnp.max(x, axis=axis, keepdims=keepdims),
        "min": lambda x, axis, keepdims: jnp.min(x, axis=axis, keepdims=keepdims),
        "logsumexp": lambda x, axis, keepdims: jax.scipy.special.logsumexp(x, axis=axis, keepdims=keepdims),
        "matmul": jnp.matmul,
        "get_item": lambda x, index: x[tuple(np.asarray(i) if isinstance(i, tuple) else i for i in index)],
        "softmax": lambda x, axis: jax.nn.softmax(x, axis=axis),
        "log_softmax": lambda x, axis: jax.nn.log_softmax(x, axis=axis),
        "mean_squared_error": lambda a, b: jnp.mean((a - b) ** 2),
        "softmax_cross_entropy": lambda x, labels: -jnp.mean(
            jnp.take_along_axis(jax.nn.log_softmax(x, axis=1), np.asarray(labels)[:, None], axis=1)),
    }


def _sum_to(jnp, x, shape):
    axes, _ = spec.sum_to_axes(tuple(x.shape), tuple(shape))
    return jnp.sum(x, axis=axes, keepdims=True).reshape(shape)


class Jax(Backend):
    """JAX (numpy API and jax.nn), float64 unless told otherwise."""

    name = "jax"

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
        self.calls = _calls(jnp, jax)
        self.ops = frozenset(self.calls)
        self.complex_ops = frozenset({"neg", "add", "sub", "mul", "div", "pow", "square", "sqrt", "exp", "log",
                                      "sin", "cos", "tan", "tanh", "sigmoid", "reshape", "transpose",
                                      "broadcast_to", "sum_to", "sum", "mean", "matmul", "get_item"})
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
        if name not in self.calls:
            raise Unsupported(f"jax adapter has no op {name!r}")
        call, jnp, dtype = self.calls[name], self.jnp, self.dtype
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

    def source(self, name):
        return _SOURCE.get(name) or super().source(name)

    def vjp_source(self, out, inputs, cotangent, body):
        args = ", ".join(inputs)
        return "\n".join([
            *_function_source(out, args, body),
            f"{out}, pullback = jax.vjp(f, {args})",
            f"grads = pullback(jnp.asarray({cotangent}))",
            f"print('value:', {out})",
            *[f"print('gradient wrt {x}:', grads[{k}])" for k, x in enumerate(inputs)]])


    def hvp_source(self, out, inputs, cotangent, tangents, body):
        args = ", ".join(inputs)
        return "\n".join([
            *_function_source(out, args, body),
            f"def gradient({args}):",
            f"    return jax.vjp(f, {args})[1](jnp.asarray({cotangent}))",
            "",
            f"_, hvp = jax.jvp(gradient, ({args},), tuple(jnp.asarray(t) for t in [{', '.join(tangents)}]))",
            *[f"print('second order wrt {x}:', hvp[{k}])" for k, x in enumerate(inputs)]])


def _function_source(out, args, body):
    """The snippet's composition as a function ``f`` of its inputs (JAX differentiates functions)."""
    return ["# the composition as a function of its inputs", f"def f({args}):", *[f"    {line}" for line in body],
            f"    return {out}", ""]


_SOURCE = {
    "square": "jnp.square({0})", "sqrt": "jnp.sqrt({0})", "exp": "jnp.exp({0})", "log": "jnp.log({0})",
    "sin": "jnp.sin({0})", "cos": "jnp.cos({0})", "tan": "jnp.tan({0})", "tanh": "jnp.tanh({0})",
    "sigmoid": "jax.nn.sigmoid({0})", "relu": "jax.nn.relu({0})", "abs": "jnp.abs({0})",
    "softplus": "jax.nn.softplus({0})", "clip": "jnp.clip({0}, {lo}, {hi})",
    "reshape": "jnp.reshape({0}, {shape})", "transpose": "jnp.transpose({0}, {axes})",
    "broadcast_to": "jnp.broadcast_to({0}, {shape})", "sum": "jnp.sum({0}, axis={axis}, keepdims={keepdims})",
    "mean": "jnp.mean({0}, axis={axis}, keepdims={keepdims})", "max": "jnp.max({0}, axis={axis}, keepdims={keepdims})",
    "min": "jnp.min({0}, axis={axis}, keepdims={keepdims})",
    "logsumexp": "jax.scipy.special.logsumexp({0}, axis={axis}, keepdims={keepdims})",
    "softmax": "jax.nn.softmax({0}, axis={axis})", "log_softmax": "jax.nn.log_softmax({0}, axis={axis})",
    "mean_squared_error": "jnp.mean(({0} - {1}) ** 2)", "get_item": "{0}[{index}]",
    "matmul": "{0} @ {1}",
}


def make(options: str = "") -> Jax:
    return Jax(**parse_options(options, {"float64": ("dtype", "float64"), "float32": ("dtype", "float32"),
                                         "cpu": ("device", "cpu"), "gpu": ("device", "gpu")}))
