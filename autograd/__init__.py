"""trigrad's autograd core: a small DeZero-style reverse-mode autodiff on numpy.

>>> import numpy as np
>>> from trigrad.autograd import Variable, square, exp
>>> x = Variable(np.array(0.5))
>>> y = square(exp(square(x)))
>>> y.backward()
>>> x.grad
variable(3.297442541400256)

`trigrad.autograd.core` holds Variable, Function and the backward pass; `trigrad.autograd.functions`
the function library (all re-exported here); `autograd.layers` book 1's MulLayer, AddLayer, Relu and Sigmoid.
`sum`, `max`, `min`, `abs` and `pow` are attributes of this package but are left out of `__all__`,
so that `from trigrad.autograd import *` does not shadow Python's builtins.
"""

if __name__ != "trigrad.autograd":
    # The repository's folder autograd/ is installed as trigrad.autograd (pyproject.toml), so that trigrad
    # never shadows another distribution's top-level "autograd". Imported under its bare name (Python
    # started in the repository's root) it would be a second copy of every class: refuse.
    raise ImportError(f"trigrad's autograd/ folder was imported as {__name__!r}; import it as "
                      f"trigrad.autograd (python -m pip install -e . in the repository installs that name)")

from trigrad.autograd.core import (Config, Function, Variable, as_array, as_variable, no_grad, numerical_diff,
                           using_config)
from trigrad.autograd.functions import (Exp, Square, abs, add, broadcast_to, clip, cos, div, exp, get_item, log,
                                log_softmax, logsumexp, matmul, max, mean, mean_squared_error, min, mul,
                                neg, pow, relu, reshape, sigmoid, sin, softmax, softmax_cross_entropy,
                                softplus, sqrt, square, sub, sum, sum_to, tan, tanh, transpose)
from trigrad.autograd import layers  # noqa: F401  (autograd.layers.MulLayer, ...)

_BUILTIN_NAMES = {'sum', 'max', 'min', 'abs', 'pow'}

__all__ = [
    'Config', 'Function', 'Variable', 'as_array', 'as_variable', 'no_grad', 'numerical_diff',
    'using_config', 'Square', 'Exp',
    'neg', 'add', 'sub', 'mul', 'div', 'square', 'sqrt', 'exp', 'log', 'sin', 'cos', 'tan', 'tanh',
    'sigmoid', 'relu', 'softplus', 'reshape', 'transpose', 'broadcast_to', 'sum_to', 'mean', 'matmul',
    'get_item', 'clip', 'softmax', 'log_softmax', 'logsumexp', 'mean_squared_error',
    'softmax_cross_entropy',
]
