"""A new Function for the built-in core, and the test that keeps it under fuzzing.

    pytest docs/examples/test_sinh.py          # or -n auto; --hypothesis-profile=thorough for 5,000 examples

``fuzz`` puts Sinh into random compositions with every other op of the core and checks value, first
and second order, shapes, purity and determinism against the twin sinh(x); a finding fails the
test with the minimal counterexample. The same from the command line:

    trigrad fuzz docs/examples/test_sinh.py:Sinh --sympy "sinh(x)"
"""

import numpy as np

from trigrad.autograd import Function
from trigrad.properties import fuzz


class Sinh(Function):
    def forward(self, x):
        return np.sinh(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * Cosh()(x)  # written with Functions, so that it can be differentiated again


class Cosh(Function):
    def forward(self, x):
        return np.cosh(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * Sinh()(x)


test_sinh = fuzz(Sinh, sympy="sinh(x)")
test_cosh = fuzz(Cosh, sympy="cosh(x)")
