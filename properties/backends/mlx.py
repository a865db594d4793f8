"""The adapter for MLX (PyPI ``mlx[cpu]``, tested with 0.32.4, the Linux CPU build), on the CPU,
float32 unless told otherwise (``mlx[float64]``).

MLX's CPU device stores float64 arrays, but in 0.32.4 several of its float64 functions are only as
accurate as float32 ones (exp, sigmoid, sin, erf: relative errors of 1e-6 to 5e-8;
docs/findings/mlx.md), so the adapter judges MLX in float32, its default dtype, where the error bounds
scale with float32's unit roundoff; ``mlx[float64]`` judges float64 and reports those functions.
MLX transforms functions, as JAX does: reverse mode is ``mx.vjp``, forward mode
``mx.jvp``, and second order is ``mx.jvp`` of the function that returns the VJP (forward-over-reverse).
Arrays are values, so every leaf is its own input. MLX has no ``hypot`` (unsupported).
"""

from __future__ import annotations

import numpy as np

from trigrad.oracle import spec

from . import OPERATORS, Backend, OpTable, Row, Unsupported, function_source, parse_options

def _rows(mx, nn) -> dict:
    """One row per spec op (see Row)."""
    return {
        **{name: Row(function) for name, function in OPERATORS.items()},
        "square": Row("mx.square"),
        "sqrt": Row("mx.sqrt"),
        "exp": Row("mx.exp"),
        "log": Row("mx.log"),
        "sin": Row("mx.sin"),
        "cos": Row("mx.cos"),
        "tan": Row("mx.tan"),
        "tanh": Row("mx.tanh"),
        "arctan": Row("mx.arctan"),
        "sigmoid": Row("mx.sigmoid"),
        "relu": Row("nn.relu"),
        "abs": Row("mx.abs"),
        "softplus": Row("nn.softplus"),
        "sinh": Row("mx.sinh"),
        "cosh": Row("mx.cosh"),
        "arcsin": Row("mx.arcsin"),
        "arccos": Row("mx.arccos"),
        "arctanh": Row("mx.arctanh"),
        "log1p": Row("mx.log1p"),
        "expm1": Row("mx.expm1"),
        "erf": Row("mx.erf"),
        "silu": Row("nn.silu"),
        "logsigmoid": Row("nn.log_sigmoid"),
        "gelu": Row(lambda x, approximate: nn.gelu(x) if approximate == "none" else nn.gelu_approx(x), "(nn.gelu({0}) if {approximate} == 'none' else nn.gelu_approx({0}))"),
        "logaddexp": Row("mx.logaddexp"),
        "hypot": None,  # MLX has no hypot
        "leaky_relu": Row(lambda x, slope: nn.leaky_relu(x, negative_slope=slope), "nn.leaky_relu({0}, negative_slope={slope})"),
        "elu": Row(lambda x, alpha: nn.elu(x, alpha=alpha), "nn.elu({0}, alpha={alpha})"),
        # prod's VJP is built on cumulative products, which have no JVP: no second order for prod
        # (docs/findings/mlx.md, finding 4); an index with repeated entries has none either, but that
        # depends on the index, so it is a known difference, not a missing rule
        "prod": _reduction(mx, "prod", missing={"hvp": "MLX 0.32.4 has no second-order rule for prod: its VJP is built on "
                                                       "cumulative products, which have no JVP (RuntimeError: JVP is not "
                                                       "implemented for cumulative prod/min/max)"}),
        "var": Row(lambda x, axis, keepdims, ddof: mx.var(x, axis=_axis(axis), keepdims=keepdims, ddof=ddof),
                   "mx.var({0}, axis={axis}, keepdims={keepdims}, ddof={ddof})"),
        "std": Row(lambda x, axis, keepdims, ddof: mx.std(x, axis=_axis(axis), keepdims=keepdims, ddof=ddof),
                   "mx.std({0}, axis={axis}, keepdims={keepdims}, ddof={ddof})"),
        "norm": Row(lambda x, axis, keepdims: mx.linalg.norm(x, axis=_whole(axis, x), keepdims=keepdims), "mx.linalg.norm({0}, axis=None if isinstance({axis}, tuple) else {axis}, keepdims={keepdims})"),
        "cumsum": Row(lambda x, axis: mx.cumsum(x, axis=axis), "mx.cumsum({0}, axis={axis})"),
        "flip": Row(lambda x, axis: mx.flip(x, axis=_axis(axis)), "mx.flip({0}, axis={axis})"),
        "tril": Row(lambda x, k: mx.tril(x, k), "mx.tril({0}, {k})"),
        "triu": Row(lambda x, k: mx.triu(x, k), "mx.triu({0}, {k})"),
        "concatenate": Row(lambda a, b, axis: mx.concatenate([a, b], axis=axis), "mx.concatenate([{0}, {1}], axis={axis})"),
        "stack": Row(lambda a, b, axis: mx.stack([a, b], axis=axis), "mx.stack([{0}, {1}], axis={axis})"),
        "clip": Row(lambda x, lo, hi: mx.clip(x, lo, hi), "mx.clip({0}, {lo}, {hi})"),
        "reshape": Row(lambda x, shape: mx.reshape(x, shape), "mx.reshape({0}, {shape})"),
        "transpose": Row(lambda x, axes: mx.transpose(x, axes), "mx.transpose({0}, {axes})"),
        "broadcast_to": Row(lambda x, shape: mx.broadcast_to(x, shape), "mx.broadcast_to({0}, {shape})"),
        "sum_to": Row(lambda x, shape: _sum_to(mx, x, shape), _SUM_TO_SOURCE),
        "sum": _reduction(mx, "sum"),
        "mean": _reduction(mx, "mean"),
        "max": _reduction(mx, "max"),
        "min": _reduction(mx, "min"),
        "logsumexp": _reduction(mx, "logsumexp"),
        "matmul": Row("mx.matmul", "{0} @ {1}"),
        "get_item": Row(lambda x, index: x[_index(mx, index)]),
        "softmax": Row(lambda x, axis: mx.softmax(x, axis=axis), "mx.softmax({0}, axis={axis})"),
        "log_softmax": Row(lambda x, axis: _refuse_crash(x, axis) or nn.log_softmax(x, axis=axis), "nn.log_softmax({0}, axis={axis})"),
        "mean_squared_error": Row(lambda a, b: nn.losses.mse_loss(a, b), "nn.losses.mse_loss({0}, {1})"),
        "softmax_cross_entropy": Row(lambda x, labels: mx.mean(nn.losses.cross_entropy(x, mx.array(list(labels)))), "mx.mean(nn.losses.cross_entropy({0}, mx.array({labels})))"),
    }


def _refuse_crash(x, axis):
    """Raise instead of calling what crashes the process: MLX 0.32.4's nn.log_softmax (compiled
    shapeless) ends in a segmentation fault over a length-1 axis of an array of two or more
    dimensions (docs/findings/mlx.md); MLX runs in trigrad's process, which the crash would end."""
    if x.ndim >= 2 and x.shape[axis] == 1:
        raise RuntimeError(f"nn.log_softmax over a length-1 axis of shape {tuple(x.shape)} crashes MLX 0.32.4 "
                           "(segmentation fault); not called")


def _axis(axis):
    return list(axis) if isinstance(axis, tuple) else axis


def _reduction(mx, function: str, missing: dict | None = None) -> Row:
    """mx.<function> over the spec's axis and keepdims."""
    call = getattr(mx, function)
    return Row(lambda x, axis, keepdims: call(x, axis=_axis(axis), keepdims=keepdims),
               f"mx.{function}({{0}}, axis={{axis}}, keepdims={{keepdims}})", missing=missing or {})


def _whole(axis, x):
    """The spec's axis, with a tuple of every axis as None (the norm of all entries; mx.linalg.norm
    takes at most two axes)."""
    return None if isinstance(axis, tuple) and len(axis) == x.ndim else _axis(axis)


def _index(mx, index):
    """The spec's index with integer-array items as MLX arrays."""
    return tuple(mx.array(list(i)) if isinstance(i, (tuple, list)) else i for i in index)


# sum_to in a reproducer: the sum over the leading axes and those the target shape has as 1, reshaped
_SUM_TO_SOURCE = ("mx.reshape(mx.sum({0}, axis=[a for a in range({0}.ndim) if a < {0}.ndim - len({shape}) "
                  "or {shape}[a - {0}.ndim + len({shape})] == 1], keepdims=True), {shape})")


def _sum_to(mx, x, shape):
    axes, _ = spec.sum_to_axes(tuple(x.shape), tuple(shape))
    return mx.reshape(mx.sum(x, axis=list(axes), keepdims=True), shape) if axes else mx.reshape(x, shape)


class Mlx(Backend):
    """MLX on its CPU device, float32 (or float64)."""

    name = "mlx"
    # a worker forked after MLX has computed hangs on its first computation (its CPU threads do not
    # survive the fork; measured with 0.32.4), or corrupts its heap ("malloc_consolidate(): invalid
    # chunk size"); so MLX runs in trigrad's process, as JAX does
    fork_safe = False
    preamble = ("import numpy as np\nimport mlx.core as mx\nimport mlx.nn as nn\nmx.set_default_device(mx.cpu)")

    def __init__(self, dtype: str = "float32"):
        import mlx.core as mx
        import mlx.nn as nn

        mx.set_default_device(mx.cpu)
        self.mx = mx
        self.dtype, self.mx_dtype = np.dtype(dtype), getattr(mx, dtype)
        self.table = OpTable(_rows(mx, nn), {"mx": mx, "nn": nn})
        self.ops = self.table.ops
        self.version = mx.__version__
        if dtype != "float32":
            self.name = f"mlx[{dtype}]"

    def asarray(self, x):
        return self.mx.array(np.asarray(x, dtype=self.dtype), dtype=self.mx_dtype)

    def tonumpy(self, v):
        return np.array(v)

    def op(self, name):
        if name not in self.table.calls:
            raise Unsupported(f"mlx adapter has no op {name!r}")
        call, mx = self.table.calls[name], self.mx
        return lambda *args, **params: call(*[a if not isinstance(a, float) else mx.array(a, dtype=self.mx_dtype)
                                              for a in args], **params)

    def vjp(self, fn, xs, cotangent):
        mx = self.mx
        y = fn(*xs)
        ct = self.asarray(np.broadcast_to(cotangent, y.shape))
        _, grads = mx.vjp(fn, list(xs), [ct])
        return self.tonumpy(y), [self.tonumpy(g) for g in grads]

    def jvp(self, fn, xs, tangents):
        y, t = self.mx.jvp(fn, list(xs), [self.asarray(u) for u in tangents])
        return self.tonumpy(y[0]), self.tonumpy(t[0])

    def hvp(self, fn, xs, cotangent, tangents):
        mx = self.mx
        ct = self.asarray(np.broadcast_to(cotangent, fn(*xs).shape))

        def gradient(*args):
            return mx.vjp(fn, list(args), [ct])[1]

        _, second = mx.jvp(gradient, list(xs), [self.asarray(u) for u in tangents])
        return [self.tonumpy(h) for h in second]

    # reproducer snippets
    def leaf_source(self, array):
        return f"mx.array(np.asarray({array}, dtype=np.{self.dtype.name}), dtype=mx.{self.dtype.name})"

    def vjp_source(self, out, inputs, cotangent, body):
        args = ", ".join(inputs)
        return "\n".join([
            *function_source(out, args, body),
            f"{out} = f({args})",
            f"ct = mx.array(np.broadcast_to({cotangent}, {out}.shape).astype(np.{self.dtype.name}))",
            f"_, grads = mx.vjp(f, [{args}], [ct])",
            f"print('value:', np.array({out}))",
            *[f"print('gradient wrt {x}:', np.array(grads[{k}]))" for k, x in enumerate(inputs)]])

    def hvp_source(self, out, inputs, cotangent, tangents, body):
        args = ", ".join(inputs)
        return "\n".join([
            *function_source(out, args, body),
            f"ct = mx.array(np.broadcast_to({cotangent}, f({args}).shape).astype(np.{self.dtype.name}))",
            "def gradient(*args):",
            "    return mx.vjp(f, list(args), [ct])[1]",
            "",
            f"_, hvp = mx.jvp(gradient, [{args}], [mx.array(np.asarray(t, dtype=np.{self.dtype.name})) "
            f"for t in [{', '.join(tangents)}]])",
            *[f"print('second order wrt {x}:', np.array(hvp[{k}]))" for k, x in enumerate(inputs)]])


def make(options: str = "") -> Mlx:
    return Mlx(**parse_options(options, {"float32": ("dtype", "float32"), "float64": ("dtype", "float64")}))
