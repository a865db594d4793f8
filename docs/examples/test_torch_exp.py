# docs/examples/test_torch_exp.py
import torch
from trigrad.properties import fuzz


class MyExp(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return torch.exp(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * y

    @staticmethod
    def jvp(ctx, t):  # without it: forward mode is unsup, not a failure
        y, = ctx.saved_tensors
        return t * y


test_myexp = fuzz(MyExp, sympy="exp(x)", domain=["x=-2:2"], backend="torch")
