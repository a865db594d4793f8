"""The adapter for PyTorch.

``torch`` is float64 on the CPU. Options in brackets: ``torch[float32]``, ``torch[cuda]``,
``torch[cuda,float32]`` (device: cpu or cuda, or any torch device string; dtype: float64 or float32).
Reverse mode is ``torch.autograd.grad``; second order differentiates it again (``create_graph``);
forward mode is ``torch.func.jvp``.
"""

from __future__ import annotations

import numpy as np

from trigrad.oracle import spec

from . import Backend, Unsupported, parse_options

_CALLS = {
    "neg": lambda t, x: -x,
    "add": lambda t, x, y: x + y,
    "sub": lambda t, x, y: x - y,
    "mul": lambda t, x, y: x * y,
    "div": lambda t, x, y: x / y,
    "pow": lambda t, x, y: x ** y,
    "square": lambda t, x: t.square(x),
    "sqrt": lambda t, x: t.sqrt(x),
    "exp": lambda t, x: t.exp(x),
    "log": lambda t, x: t.log(x),
    "sin": lambda t, x: t.sin(x),
    "cos": lambda t, x: t.cos(x),
    "tan": lambda t, x: t.tan(x),
    "tanh": lambda t, x: t.tanh(x),
    "sigmoid": lambda t, x: t.sigmoid(x),
    "relu": lambda t, x: t.relu(x),
    "abs": lambda t, x: t.abs(x),
    "softplus": lambda t, x: t.nn.functional.softplus(x),
    "clip": lambda t, x, lo, hi: t.clamp(x, lo, hi),
    "reshape": lambda t, x, shape: t.reshape(x, shape),
    "transpose": lambda t, x, axes: x.permute(tuple(axes) if axes is not None else tuple(reversed(range(x.ndim)))),
    "broadcast_to": lambda t, x, shape: t.broadcast_to(x, shape),
    "sum_to": lambda t, x, shape: _sum_to(t, x, shape),
    "sum": lambda t, x, axis, keepdims: t.sum(x, dim=_dims(axis, x), keepdim=keepdims),
    "mean": lambda t, x, axis, keepdims: t.mean(x, dim=_dims(axis, x), keepdim=keepdims),
    "max": lambda t, x, axis, keepdims: t.amax(x, dim=_dims(axis, x), keepdim=keepdims),
    "min": lambda t, x, axis, keepdims: t.amin(x, dim=_dims(axis, x), keepdim=keepdims),
    "logsumexp": lambda t, x, axis, keepdims: t.logsumexp(x, dim=_dims(axis, x), keepdim=keepdims),
    "matmul": lambda t, a, b: t.matmul(a, b),
    "get_item": lambda t, x, index: x[tuple(t.as_tensor(i, device=x.device) if isinstance(i, tuple) else i
                                         for i in index)],
    "softmax": lambda t, x, axis: t.softmax(x, dim=axis),
    "log_softmax": lambda t, x, axis: t.log_softmax(x, dim=axis),
    "mean_squared_error": lambda t, a, b: t.nn.functional.mse_loss(a, b),
    "softmax_cross_entropy": lambda t, x, labels: t.nn.functional.cross_entropy(
        x, t.as_tensor(labels, device=x.device)),
}


def _dims(axis, x):
    """torch reduces over every axis with dim=() only in some versions; spell all of them out."""
    return tuple(range(x.ndim)) if axis is None else axis


def _sum_to(t, x, shape):
    axes, _ = spec.sum_to_axes(tuple(x.shape), tuple(shape))
    return t.sum(x, dim=axes, keepdim=True).reshape(shape) if axes else x.reshape(shape)


class Torch(Backend):
    """PyTorch, float64 on the CPU unless told otherwise."""

    name = "torch"
    ops = frozenset(_CALLS)
    # analytic ops whose complex forward torch computes (the numeric oracle's complex step)
    complex_ops = frozenset({"neg", "add", "sub", "mul", "div", "square", "exp", "log", "sin", "cos", "tan",
                             "tanh", "sigmoid", "sqrt", "reshape", "transpose", "broadcast_to", "sum_to", "sum",
                             "mean", "matmul", "get_item", "pow"})

    def __init__(self, device: str = "cpu", dtype: str = "float64"):
        import torch

        self.torch = torch
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
        if name not in _CALLS:
            raise Unsupported(f"torch adapter has no op {name!r}")
        call, t = _CALLS[name], self.torch
        return lambda *args, **params: call(t, *[self._const(a) for a in args], **params)

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

    def source(self, name):
        text = _SOURCE.get(name)
        return text if text else super().source(name)

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


_SOURCE = {
    "square": "torch.square({0})", "sqrt": "torch.sqrt({0})", "exp": "torch.exp({0})", "log": "torch.log({0})",
    "sin": "torch.sin({0})", "cos": "torch.cos({0})", "tan": "torch.tan({0})", "tanh": "torch.tanh({0})",
    "sigmoid": "torch.sigmoid({0})", "relu": "torch.relu({0})", "abs": "torch.abs({0})",
    "softplus": "torch.nn.functional.softplus({0})", "clip": "torch.clamp({0}, {lo}, {hi})",
    "reshape": "torch.reshape({0}, {shape})", "transpose": "{0}.permute(*({axes} or range({0}.ndim - 1, -1, -1)))",
    "broadcast_to": "torch.broadcast_to({0}, {shape})", "sum": "torch.sum({0}, dim={axis} if {axis} is not None else tuple(range({0}.ndim)), keepdim={keepdims})",
    "mean": "torch.mean({0}, dim={axis} if {axis} is not None else tuple(range({0}.ndim)), keepdim={keepdims})",
    "max": "torch.amax({0}, dim={axis} if {axis} is not None else tuple(range({0}.ndim)), keepdim={keepdims})",
    "min": "torch.amin({0}, dim={axis} if {axis} is not None else tuple(range({0}.ndim)), keepdim={keepdims})",
    "logsumexp": "torch.logsumexp({0}, dim={axis} if {axis} is not None else tuple(range({0}.ndim)), "
                 "keepdim={keepdims})",
    "softmax": "torch.softmax({0}, dim={axis})", "log_softmax": "torch.log_softmax({0}, dim={axis})",
    "mean_squared_error": "torch.nn.functional.mse_loss({0}, {1})",
    "softmax_cross_entropy": "torch.nn.functional.cross_entropy({0}, torch.tensor({labels}))",
    "get_item": "{0}[{index}]",
}


def make(options: str = "") -> Torch:
    opts = parse_options(options, {"cpu": ("device", "cpu"), "cuda": ("device", "cuda"),
                                   "float64": ("dtype", "float64"), "float32": ("dtype", "float32")})
    return Torch(**opts)
