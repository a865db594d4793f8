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

import builtins

from trigrad.autograd.core import (Config, Function, Variable, as_array, as_variable, no_grad, numerical_diff,
                                   using_config)
from trigrad.autograd import functions
from trigrad.autograd.functions import *  # noqa: F401,F403  (every name of functions.__all__)
from trigrad.autograd import layers  # noqa: F401  (autograd.layers.MulLayer, ...)

# The function library's names, less those that shadow a Python builtin (see the docstring).
__all__ = ['Config', 'Function', 'Variable', 'as_array', 'as_variable', 'no_grad', 'numerical_diff',
           'using_config'] + [name for name in functions.__all__ if not hasattr(builtins, name)]
