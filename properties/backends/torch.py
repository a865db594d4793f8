"""The adapter for PyTorch.

``torch`` is float64 on the CPU. Options in brackets: ``torch[float32]``, ``torch[cuda]``,
``torch[cuda,float32]`` (device: cpu or cuda, or any torch device string; dtype: float64 or float32).
Reverse mode is ``torch.autograd.grad``; second order differentiates it again (``create_graph``);
forward mode is ``torch.func.jvp``.
"""

from __future__ import annotations

import numpy as np

from trigrad.oracle import spec

from . import OPERATORS, Backend, OpTable, Row, Unsupported, parse_options

def _rows(torch) -> dict:
    """One row per spec op (see Row); complex: torch computes its complex forward (the numeric oracle's
    complex step)."""
    return {
        **{name: Row(function, complex=True) for name, function in OPERATORS.items()},
        "square": Row("torch.square", complex=True),
        "sqrt": Row("torch.sqrt", complex=True),
        "exp": Row("torch.exp", complex=True),
        "log": Row("torch.log", complex=True),
        "sin": Row("torch.sin", complex=True),
        "cos": Row("torch.cos", complex=True),
        "tan": Row("torch.tan", complex=True),
        "tanh": Row("torch.tanh", complex=True),
        "arctan": Row("torch.atan", complex=True),
        "sigmoid": Row("torch.sigmoid", complex=True),
        "relu": Row("torch.relu"),
        "abs": Row("torch.abs"),
        "softplus": Row("torch.nn.functional.softplus"),
        "sinh": Row("torch.sinh", complex=True),
        "cosh": Row("torch.cosh", complex=True),
        "arcsin": Row("torch.asin", complex=True),
        "arccos": Row("torch.acos", complex=True),
        "arctanh": Row("torch.atanh", complex=True),
        "log1p": Row("torch.log1p", complex=True),
        "expm1": Row("torch.expm1", complex=True),
        "erf": Row("torch.erf"),
        "silu": Row("torch.nn.functional.silu"),
        "logsigmoid": Row("torch.nn.functional.logsigmoid"),
        "gelu": Row("torch.nn.functional.gelu"),
        "logaddexp": Row("torch.logaddexp"),
        "hypot": Row("torch.hypot"),
        "leaky_relu": Row(lambda x, slope: torch.nn.functional.leaky_relu(x, slope), "torch.nn.functional.leaky_relu({0}, {slope})"),
        "elu": Row(lambda x, alpha: torch.nn.functional.elu(x, alpha), "torch.nn.functional.elu({0}, {alpha})"),
        "prod": Row(lambda x, axis, keepdims: _prod(torch, x, axis, keepdims), complex=True),
        "var": Row(lambda x, axis, keepdims, ddof: torch.var(x, dim=_dims(axis, x), correction=ddof, keepdim=keepdims), "torch.var({0}, dim={axis} if {axis} is not None else tuple(range({0}.ndim)), correction={ddof}, keepdim={keepdims})", complex=True),
        "std": Row(lambda x, axis, keepdims, ddof: torch.std(x, dim=_dims(axis, x), correction=ddof, keepdim=keepdims), "torch.std({0}, dim={axis} if {axis} is not None else tuple(range({0}.ndim)), correction={ddof}, keepdim={keepdims})", complex=True),
        "norm": Row(lambda x, axis, keepdims: torch.linalg.vector_norm(x, dim=_dims(axis, x), keepdim=keepdims), "torch.linalg.vector_norm({0}, dim={axis} if {axis} is not None else tuple(range({0}.ndim)), keepdim={keepdims})"),
        "cumsum": Row(lambda x, axis: torch.cumsum(x, dim=axis), "torch.cumsum({0}, dim={axis})", complex=True),
        "flip": Row(lambda x, axis: torch.flip(x, _dims_tuple(axis, x)), "torch.flip({0}, {axis} if {axis} is not None else tuple(range({0}.ndim)))", complex=True),
        "tril": Row(lambda x, k: torch.tril(x, k), "torch.tril({0}, {k})", complex=True),
        "triu": Row(lambda x, k: torch.triu(x, k), "torch.triu({0}, {k})", complex=True),
        "concatenate": Row(lambda a, b, axis: torch.cat((a, b), dim=axis), "torch.cat(({0}, {1}), dim={axis})", complex=True),
        "stack": Row(lambda a, b, axis: torch.stack((a, b), dim=axis), "torch.stack(({0}, {1}), dim={axis})", complex=True),
        "maximum": Row("torch.maximum"),
        "minimum": Row("torch.minimum"),
        "where": Row(lambda x, y, condition: torch.where(torch.as_tensor(condition, device=x.device), x, y), "torch.where(torch.tensor({condition}), {0}, {1})", complex=True),
        "pad": Row(lambda x, widths: torch.nn.functional.pad(x, _pad(widths)), "torch.nn.functional.pad({0}, [w for pair in reversed({widths}) for w in pair])", complex=True),
        "tile": Row(lambda x, reps: torch.tile(x, reps), "torch.tile({0}, {reps})", complex=True),
        "take_along_axis": Row(lambda x, axis, indices: torch.take_along_dim(x, torch.as_tensor(indices, device=x.device), dim=axis), "torch.take_along_dim({0}, torch.tensor({indices}), dim={axis})", complex=True),
        "einsum": Row(lambda a, b, subscripts: torch.einsum(subscripts, a, b), "torch.einsum({subscripts}, {0}, {1})", complex=True),
        "layer_norm": Row(lambda x, eps: torch.nn.functional.layer_norm(x, x.shape[-1:], eps=eps), "torch.nn.functional.layer_norm({0}, {0}.shape[-1:], eps={eps})"),
        "cross_entropy": Row(lambda x, target: torch.nn.functional.cross_entropy(x, torch.as_tensor(target, dtype=x.dtype, device=x.device)), "torch.nn.functional.cross_entropy({0}, torch.tensor({target}, dtype={0}.dtype))"),
        "clip": Row(lambda x, lo, hi: torch.clamp(x, lo, hi), "torch.clamp({0}, {lo}, {hi})"),
        "reshape": Row(lambda x, shape: torch.reshape(x, shape), "torch.reshape({0}, {shape})", complex=True),
        "transpose": Row(lambda x, axes: x.permute(_perm(axes, x)), "{0}.permute(*({axes} or range({0}.ndim - 1, -1, -1)))", complex=True),
        "broadcast_to": Row(lambda x, shape: torch.broadcast_to(x, shape), "torch.broadcast_to({0}, {shape})", complex=True),
        "sum_to": Row(lambda x, shape: _sum_to(torch, x, shape), complex=True),
        "sum": _reduction(torch, "sum", complex=True),
        "mean": _reduction(torch, "mean", complex=True),
        "max": _reduction(torch, "amax"),
        "min": _reduction(torch, "amin"),
        "logsumexp": _reduction(torch, "logsumexp"),
        "matmul": Row("torch.matmul", "{0} @ {1}", complex=True),
        "get_item": Row(lambda x, index: x[_index(torch, x, index)], complex=True),
        "softmax": Row(lambda x, axis: torch.softmax(x, dim=axis), "torch.softmax({0}, dim={axis})"),
        "log_softmax": Row(lambda x, axis: torch.log_softmax(x, dim=axis), "torch.log_softmax({0}, dim={axis})"),
        "mean_squared_error": Row("torch.nn.functional.mse_loss"),
        "softmax_cross_entropy": Row(lambda x, labels: torch.nn.functional.cross_entropy(x, torch.as_tensor(labels, device=x.device)), "torch.nn.functional.cross_entropy({0}, torch.tensor({labels}))"),
    }


def _reduction(torch, function: str, complex: bool = False) -> Row:
    """torch.<function> over the spec's axis and keepdims (torch's dim and keepdim)."""
    call = getattr(torch, function)
    return Row(lambda x, axis, keepdims: call(x, dim=_dims(axis, x), keepdim=keepdims),
               f"torch.{function}({{0}}, dim={{axis}} if {{axis}} is not None else tuple(range({{0}}.ndim)), "
               "keepdim={keepdims})", complex)


def _perm(axes, x):
    """The spec's axes (None: reversed) as the permutation torch's permute takes."""
    return tuple(axes) if axes is not None else tuple(reversed(range(x.ndim)))


def _index(torch, x, index):
    """The spec's index with integer-array items as tensors on x's device."""
    return tuple(torch.as_tensor(i, device=x.device) if isinstance(i, tuple) else i for i in index)


def _dims(axis, x):
    """torch reduces over every axis with dim=() only in some versions; spell all of them out."""
    return tuple(range(x.ndim)) if axis is None else axis


def _sum_to(t, x, shape):
    axes, _ = spec.sum_to_axes(tuple(x.shape), tuple(shape))
    return t.sum(x, dim=axes, keepdim=True).reshape(shape) if axes else x.reshape(shape)


def _dims_tuple(axis, x):
    """The spec's axis (None, an int or a tuple) as the tuple of dims torch.flip takes."""
    return (axis,) if isinstance(axis, int) else _dims(axis, x)


def _pad(widths):
    """The spec's (before, after) pairs, first axis first, as the flat list torch's pad takes (last axis first)."""
    return [w for pair in reversed(widths) for w in pair]


def _prod(torch, x, axis, keepdims):
    """torch.prod reduces one dim at a time: over the spec's axes, last first, then drops them."""
    dims = spec.normalize_axis(axis, x.ndim)
    for d in reversed(dims):
        x = torch.prod(x, dim=d, keepdim=True)
    return x if keepdims else x.reshape([n for i, n in enumerate(x.shape) if i not in dims])


class Torch(Backend):
    """PyTorch, float64 on the CPU unless told otherwise."""

    name = "torch"

    def __init__(self, device: str = "cpu", dtype: str = "float64"):
        import torch

        self.torch = torch
        self.table = OpTable(_rows(torch), {"torch": torch})
        self.ops, self.complex_ops = self.table.ops, self.table.complex_ops
        if dtype not in ("float64", "float32"):
            raise ValueError(f"torch dtype must be float64 or float32, not {dtype!r}")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("torch[cuda]: this torch has no CUDA device")
        self.device = torch.device(device)
        self.tdtype = getattr(torch, dtype)
        self.dtype = np.dtype(dtype)
        self.version = torch.__version__ + ("" if self.device.type == "cpu" else f" on {self.device}")
        self.name = "torch" + ("" if (device, dtype) == ("cpu", "float64") else f"[{device},{dtype}]")
        self.preamble = "import numpy as np\nimport torch"

    def asarray(self, x):
        x = np.asarray(x)
        dtype = self.tdtype if not np.iscomplexobj(x) else (self.torch.complex128 if self.dtype == np.float64
                                                             else self.torch.complex64)
        return self.torch.tensor(x, dtype=dtype, device=self.device, requires_grad=not np.iscomplexobj(x))

    def tonumpy(self, v):
        # force: also ZeroTensors (torch's efficient zeros, e.g. the second derivative of abs)
        return self.torch.as_tensor(v).detach().cpu().numpy(force=True)

    def op(self, name):
        if name not in self.table.calls:
            raise Unsupported(f"torch adapter has no op {name!r}")
        call = self.table.calls[name]
        return lambda *args, **params: call(*[self._const(a) for a in args], **params)

    def _const(self, a):
        # constants as tensors of the working dtype (a Python float would be float64 in float32 math)
        return a if isinstance(a, self.torch.Tensor) else self.torch.tensor(a, dtype=self.tdtype, device=self.device)

    def vjp(self, fn, xs, cotangent):
        y = fn(*xs)
        ct = self.torch.as_tensor(np.asarray(cotangent), dtype=y.dtype, device=self.device)
        grads = self.torch.autograd.grad(y, xs, grad_outputs=ct, allow_unused=True)
        return self.tonumpy(y), [self._grad(g, x) for g, x in zip(grads, xs)]

    def jvp(self, fn, xs, tangents):
        primals = tuple(x.detach() for x in xs)
        ts = tuple(self.torch.as_tensor(np.asarray(u), dtype=self.tdtype, device=self.device) for u in tangents)
        y, t = self.torch.func.jvp(fn, primals, ts)
        return self.tonumpy(y), self.tonumpy(t)

    def hvp(self, fn, xs, cotangent, tangents):
        y = fn(*xs)
        ct = self.torch.as_tensor(np.asarray(cotangent), dtype=y.dtype, device=self.device)
        grads = self.torch.autograd.grad(y, xs, grad_outputs=ct, create_graph=True, allow_unused=True)
        inner = sum((g * self.torch.as_tensor(np.asarray(u), dtype=self.tdtype, device=self.device)).sum()
                    for g, u in zip(grads, tangents) if g is not None)
        if not isinstance(inner, self.torch.Tensor) or not inner.requires_grad:
            return [np.zeros(tuple(x.shape)) for x in xs]
        second = self.torch.autograd.grad(inner, xs, allow_unused=True)
        return [self._grad(g, x) for g, x in zip(second, xs)]

    def _grad(self, g, x):
        return np.zeros(tuple(x.shape), dtype=self.dtype) if g is None else self.tonumpy(g)

    # reproducer snippets
    def leaf_source(self, array):
        return f"torch.tensor({array}, dtype=torch.{self.dtype.name}, device={str(self.device)!r}, requires_grad=True)"

    def vjp_source(self, out, inputs, cotangent, body):
        return "\n".join(body + [
            f"ct = torch.tensor({cotangent}, dtype={out}.dtype, device={out}.device)",
            f"grads = torch.autograd.grad({out}, [{', '.join(inputs)}], grad_outputs=ct, allow_unused=True)",
            f"print('value:', {out}.detach().cpu().numpy())",
            *[f"print('gradient wrt {x}:', grads[{k}])" for k, x in enumerate(inputs)]])


    def hvp_source(self, out, inputs, cotangent, tangents, body):
        xs = ", ".join(inputs)
        return "\n".join(body + [
            f"ct = torch.tensor({cotangent}, dtype={out}.dtype, device={out}.device)",
            f"grads = torch.autograd.grad({out}, [{xs}], grad_outputs=ct, create_graph=True, allow_unused=True)",
            f"tangents = [{', '.join(tangents)}]",
            "inner = sum((g * torch.tensor(t, dtype=g.dtype, device=g.device)).sum()",
            "            for g, t in zip(grads, tangents) if g is not None)",
            f"hvp = torch.autograd.grad(inner, [{xs}], allow_unused=True)",
            *[f"print('second order wrt {x}:', hvp[{k}])" for k, x in enumerate(inputs)]])


def make(options: str = "") -> Torch:
    opts = parse_options(options, {"cpu": ("device", "cpu"), "cuda": ("device", "cuda"),
                                   "float64": ("dtype", "float64"), "float32": ("dtype", "float32")})
    return Torch(**opts)
