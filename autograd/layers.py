"""Book 1's layers ("Deep Learning from Scratch", chapter 5): explicit forward and backward, no graph.

`forward` remembers what `backward` needs; `backward(dout)` takes the upstream gradient and returns
the gradient(s) of the inputs, as in the book. Unlike the book's `Relu`, `backward` never writes into
`dout`: a gradient that also flows down another branch must not change under it.

>>> mul_apple, mul_tax = MulLayer(), MulLayer()
>>> price = mul_tax.forward(mul_apple.forward(100, 2), 1.1)   # 220.00000000000003
>>> dapple_price, dtax = mul_tax.backward(1)                   # 1.1, 200
>>> dapple, dapple_num = mul_apple.backward(dapple_price)      # 2.2, 110.00000000000001
"""

import numpy as np

from trigrad.autograd.functions import Sigmoid as _SigmoidFunction
from trigrad.autograd.functions import SigmoidGrad as _SigmoidGradFunction


class MulLayer:
    """out = x * y."""

    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x * y

    def backward(self, dout):
        dx = dout * self.y
        dy = dout * self.x
        return dx, dy


class AddLayer:
    """out = x + y."""

    def __init__(self):
        pass

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        dx = dout * 1
        dy = dout * 1
        return dx, dy


class Relu:
    """out = max(x, 0) on ndarrays; the gradient is 0 where x <= 0 (relu'(0) = 0, as in the book)."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        return np.where(self.mask, 0, x)

    def backward(self, dout):
        # a new array: the book's `dout[self.mask] = 0` would corrupt a dout shared with another branch
        return np.where(self.mask, 0, dout)


class Sigmoid:
    """out = 1 / (1 + exp(-x)) on ndarrays, computed without overflow for large |x|."""

    def __init__(self):
        self.out = None
        # out * (1 - out), the book's derivative, computed as the core computes it: the textbook
        # product is 0 once out rounds to 1 (x > 37), where the derivative is still 4e-17
        self.slope = None

    def forward(self, x):
        self.out = _SigmoidFunction().forward(x)
        self.slope = _SigmoidGradFunction().forward(x)
        return self.out

    def backward(self, dout):
        return dout * self.slope
