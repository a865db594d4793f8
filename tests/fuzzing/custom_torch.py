"""Custom gradients as PyTorch users write them: correct ``torch.autograd.Function`` subclasses in
every style, and planted bugs in each (``CORRECT`` and ``PLANTED``, read by the catalogue's tests and
by ``python -m bench custom_catalogue``). Importing this module needs torch."""

import torch
from torch.autograd.function import once_differentiable

from custom_catalogue import Control, Planted, readme_example

EPS = 1e-5
LAYER_NORM = ("(x - mean(x, axis=-1, keepdims=True)) / sqrt(mean((x - mean(x, axis=-1, keepdims=True)) ** 2, "
              "axis=-1, keepdims=True) + 1e-5)")
SOFT_CROSS_ENTROPY = "-mean(sum(y * log_softmax(x, axis=-1), axis=-1))"
# logits and soft targets of one shape (the function assumes it), targets in (0, 1]
SCE_ARGS = dict(shape=["x=2,3", "y=2,3"], domain=["y=0.05:1"])
NO_FORWARD_OLD = {"jvp", "adjoint"}  # old style: torch.func needs setup_context
NO_FORWARD = {"jvp", "adjoint"}  # new style without a jvp staticmethod
FIRST_ORDER = {"hvp"}


# --- correct ---------------------------------------------------------------------------------------------


class Exp(torch.autograd.Function):
    """Old style: forward(ctx, x)."""

    @staticmethod
    def forward(ctx, x):
        y = torch.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * y


# New style with forward mode: forward(x), setup_context, backward and jvp (the README's example).
ExpNew = readme_example("test_torch_exp").MyExp


class ExpVmap(ExpNew):
    """New style with jvp and a generated vmap rule."""

    generate_vmap_rule = True


class TanhNoJvp(torch.autograd.Function):
    """New style without jvp: no forward mode."""

    @staticmethod
    def forward(x):
        return torch.tanh(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * (1 - y * y)


class ExpOnce(torch.autograd.Function):
    """Old style, backward marked @once_differentiable: first order only."""

    @staticmethod
    def forward(ctx, x):
        y = torch.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * y


class MulExp(torch.autograd.Function):
    """Two inputs that broadcast: x * exp(y); gradients summed back to each input's shape."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * torch.exp(y)

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        e = torch.exp(y)
        return _sum_to(gy * e, x.shape), _sum_to(gy * x * e, y.shape)


def _sum_to(g, shape):
    """g summed over the axes broadcasting added or stretched, to ``shape``."""
    while g.dim() > len(shape):
        g = g.sum(0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis, keepdim=True)
    return g


class SinCos(torch.autograd.Function):
    """Two outputs."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x), torch.cos(x)

    @staticmethod
    def backward(ctx, g_sin, g_cos):
        x, = ctx.saved_tensors
        return g_sin * torch.cos(x) - g_cos * torch.sin(x)


class ScaledSinh(torch.autograd.Function):
    """A non-tensor argument: forward(ctx, x, alpha) = alpha * sinh(x)."""

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return alpha * torch.sinh(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * ctx.alpha * torch.cosh(x), None


class Softmax(torch.autograd.Function):
    """New style, softmax along ``dim`` (a non-tensor argument)."""

    @staticmethod
    def forward(x, dim):
        return torch.softmax(x, dim)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)
        ctx.dim = inputs[1]

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        gx = y * gy
        return gx - y * gx.sum(ctx.dim, keepdim=True), None


class LayerNorm(torch.autograd.Function):
    """Array-valued: layer norm over the last axis (no affine part), backward written out."""

    @staticmethod
    def forward(x):
        xc = x - x.mean(-1, keepdim=True)
        return xc / torch.sqrt((xc * xc).mean(-1, keepdim=True) + EPS)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors  # recomputed from x, so that the backward is differentiable again
        xc = x - x.mean(-1, keepdim=True)
        rstd = 1 / torch.sqrt((xc * xc).mean(-1, keepdim=True) + EPS)
        y = xc * rstd
        return rstd * (gy - gy.mean(-1, keepdim=True) - y * (gy * y).mean(-1, keepdim=True))


class SoftCrossEntropy(torch.autograd.Function):
    """Array-valued: cross entropy of logits x against soft targets y, mean over rows."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return -(y * torch.log_softmax(x, -1)).sum(-1).mean()

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        shape = torch.broadcast_shapes(x.shape, y.shape)  # x and y may broadcast against each other
        rows = max(1, shape.numel() // shape[-1]) if shape else 1
        scale = g / rows
        y_wide = y.expand(shape)
        gx = (torch.softmax(x, -1) * y_wide.sum(-1, keepdim=True) - y_wide) * scale
        gy = -torch.log_softmax(x, -1) * scale
        return _sum_to(gx.expand(shape), x.shape), _sum_to(gy.expand(shape), y.shape)


CORRECT = [
    Control("Exp", Exp, "old style", dict(sympy="exp(x)", domain=["x=-2:2"]), NO_FORWARD_OLD),
    Control("ExpNew", ExpNew, "new style + jvp", dict(sympy="exp(x)", domain=["x=-2:2"]), set()),
    Control("ExpVmap", ExpVmap, "new style + jvp + vmap", dict(sympy="exp(x)", domain=["x=-2:2"]), set()),
    Control("TanhNoJvp", TanhNoJvp, "new style, no jvp", dict(sympy="tanh(x)"), NO_FORWARD),
    Control("ExpOnce", ExpOnce, "@once_differentiable", dict(sympy="exp(x)", domain=["x=-2:2"]),
            NO_FORWARD_OLD | FIRST_ORDER),
    Control("MulExp", MulExp, "two inputs, broadcasting", dict(sympy="x * exp(y)", domain=["y=-2:2"]), NO_FORWARD_OLD),
    Control("SinCos", SinCos, "two outputs", dict(sympy="sin(x), cos(x)"), NO_FORWARD_OLD),
    Control("ScaledSinh", ScaledSinh, "non-tensor argument", dict(sympy="3 * sinh(x) / 2", params={"alpha": 1.5}),
            NO_FORWARD_OLD),
    Control("Softmax", Softmax, "new style, dim argument", dict(like="softmax", params={"dim": -1}), NO_FORWARD),
    Control("LayerNorm", LayerNorm, "array-valued (layer norm)", dict(twin=LAYER_NORM), NO_FORWARD),
    Control("SoftCrossEntropy", SoftCrossEntropy, "array-valued (softmax cross entropy)",
            dict(twin=SOFT_CROSS_ENTROPY, **SCE_ARGS), NO_FORWARD_OLD),
]


# --- planted bugs ----------------------------------------------------------------------------------------


class ExpWrongSign(Exp):
    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return -gy * y


class ExpOff1e7(ExpNew):
    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * y * (1 + 1e-7)


class ExpWrongJvp(ExpNew):
    @staticmethod
    def jvp(ctx, t):
        y, = ctx.saved_tensors
        return 2 * t * y


class ExpMutatesGradient(Exp):
    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy.mul_(y)  # writes into the incoming gradient


class MulExpSwapped(MulExp):
    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        e = torch.exp(y)
        return _sum_to(gy * x * e, y.shape), _sum_to(gy * e, x.shape)


class SinCosSecondWrong(SinCos):
    @staticmethod
    def backward(ctx, g_sin, g_cos):
        x, = ctx.saved_tensors
        return g_sin * torch.cos(x) + g_cos * torch.sin(x)


class AddBiasMean(torch.autograd.Function):
    """x + b, b broadcast over x's leading axes; b's gradient is a mean instead of a sum there
    (right when nothing is broadcast)."""

    @staticmethod
    def forward(ctx, x, b):
        ctx.shapes = x.shape, b.shape
        return x + b

    @staticmethod
    def backward(ctx, gy):
        xs, bs = ctx.shapes
        gx, gb = gy, gy
        while gb.dim() > len(bs):
            gb = gb.mean(0)
        for axis, n in enumerate(bs):
            if n == 1 and gb.shape[axis] != 1:
                gb = gb.mean(axis, keepdim=True)
        while gx.dim() > len(xs):
            gx = gx.sum(0)
        for axis, n in enumerate(xs):
            if n == 1 and gx.shape[axis] != 1:
                gx = gx.sum(axis, keepdim=True)
        return gx, gb


class LayerNormNoMeanTerm(LayerNorm):
    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        xc = x - x.mean(-1, keepdim=True)
        rstd = 1 / torch.sqrt((xc * xc).mean(-1, keepdim=True) + EPS)
        y = xc * rstd
        return rstd * (gy - y * (gy * y).mean(-1, keepdim=True))  # forgets - mean(gy)


PLANTED = [
    Planted("ExpWrongSign", ExpWrongSign, "old style", "wrong sign", dict(sympy="exp(x)", domain=["x=-2:2"])),
    Planted("ExpOff1e7", ExpOff1e7, "new style + jvp", "relative 1e-7 error", dict(sympy="exp(x)", domain=["x=-2:2"])),
    Planted("ExpWrongJvp", ExpWrongJvp, "new style + jvp", "wrong jvp, right backward",
            dict(sympy="exp(x)", domain=["x=-2:2"])),
    Planted("ExpMutatesGradient", ExpMutatesGradient, "old style", "backward writes into gy (gy.mul_)",
            dict(sympy="exp(x)", domain=["x=-2:2"])),
    Planted("MulExpSwapped", MulExpSwapped, "two inputs", "gradients swapped between inputs",
            dict(sympy="x * exp(y)", domain=["y=-2:2"])),
    Planted("SinCosSecondWrong", SinCosSecondWrong, "two outputs", "wrong only for the second output",
            dict(sympy="sin(x), cos(x)")),
    Planted("AddBiasMean", AddBiasMean, "two inputs, broadcasting", "wrong only under broadcasting",
            dict(sympy="x + y")),
    Planted("LayerNormNoMeanTerm", LayerNormNoMeanTerm, "array-valued (layer norm)", "backward forgets the mean's term",
            dict(twin=LAYER_NORM)),
]
