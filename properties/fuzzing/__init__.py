"""Fuzzing one new function against its mathematical twin (``trigrad fuzz`` and ``properties.fuzz``).

The function under test becomes, for the length of a campaign, one more op of the spec table
(``oracle.spec.registered``): its twin is a sympy expression in ``x`` (and ``y``, ``z``) or the twin
of a spec op (``like=``), its domain is where the twin is finite, real and not too steep (or the
borrowed op's domain), and the backend calls the user's code for it. Strategies then put it into
random compositions with every other op, the oracles judge them as they judge the built-in ops, and
every property of the suite that applies is checked: value, first order (VJP, VJP against numeric,
JVP, adjoint), second order, fan-out, purity, determinism, shapes, and the kink property for a
kinked ``like`` op.

Three kinds of object can be fuzzed:

- a ``Function`` subclass of the backend (the built-in core's ``autograd.Function``, or DeZero's):
  ``forward(*xs)`` on ndarrays, ``backward(*gys)`` on Variables;
- a book-1 style layer class: ``forward(*xs)`` returns the output, ``backward(dout)`` the input
  gradient (or a tuple of them), state kept on the instance; it runs inside the core's graph
  through ``layer_function``, one instance per call (first order only: its backward works on
  arrays, so it cannot be differentiated again);
- a ``torch.autograd.Function`` subclass (old style ``forward(ctx, ...)`` or new style ``forward(...)``
  with ``setup_context``; ``MyFn.apply`` names the class), run with ``apply`` on the torch backend;
- a ``jax.custom_vjp`` or ``jax.custom_jvp`` function on the jax backend;
- a plain callable on the backend's values (``jax.scipy.special.i0`` with the jax backend),
  differentiated by the backend's own autodiff.

What a target cannot do (forward mode without a ``jvp`` rule or ``setup_context``, second order of
an ``@once_differentiable`` backward or a book-1 layer) is ``unsup`` with the reason, never a
failure. A function with several outputs has one twin per output; an array-valued one may have an
array twin over the spec table's ops (``array_twin``). A finding says how far off it is in ULPs and
whether it looks like a wrong rule or lost accuracy (``diagnosis``).

Whatever the user's code does is a finding, never a crash of the fuzzer: an exception (reported with
its traceback), NaN where the twin is finite, a wrong shape, a value that is not numbers, or a hang
(each call has a time limit, enforced with a timer signal; the report shows where the code was
stuck). The checks run in a supervised worker process (``supervise``), so that an exit, a crash in
C, a loop in C or memory exhaustion is a finding of the example that was running too.

The package, one module per job: ``twin`` (parsing the twin, its spec table entry), ``array_twin``
(array twins over spec ops), ``diagnosis`` (ULPs, wrong rule or lost accuracy), ``sandbox`` (the
fuzzed code's exceptions and time limit), ``supervise`` (the worker process the checks run in, for
``trigrad check`` too), ``target`` (the object under test as one more op of a
backend), ``campaign`` (Hypothesis drawing and checking compositions with it), ``database`` (the example
database named on the command line), ``api`` (``fuzz()``,
a pytest test), ``workers`` (campaigns as shards with distinct seeds, on an executor: local processes or a
Dask cluster). The ``trigrad fuzz`` command is
``properties.cli.fuzz``. (The package is not called ``fuzz``: importing it would rebind
``trigrad.properties.fuzz``, the public function, to the package.)
"""

from ..errors import UsageError
from .api import EXAMPLES_PER_CELL, fuzz
from .campaign import DEFAULT_MAX_EXAMPLES, Outcome, run
from .database import open_database
from .sandbox import DEFAULT_TIMEOUT, ExampleTimeout, UserCodeError
from .array_twin import parse_array_twin
from .diagnosis import Diagnosis
from .target import (FuzzBackend, Target, guarded_function, layer_function, make_target, properties_for,
                     unsupported_for, valid_or_fail)
from .twin import VARIABLES, like_op, parse_domain, parse_twin, parse_twins, twin_arity, twin_op

__all__ = ["fuzz", "run", "make_target", "Target", "FuzzBackend", "Outcome", "UsageError", "parse_twin",
           "parse_domain", "twin_arity", "twin_op", "like_op", "layer_function", "guarded_function", "properties_for",
           "open_database", "UserCodeError", "ExampleTimeout", "VARIABLES", "DEFAULT_MAX_EXAMPLES", "DEFAULT_TIMEOUT",
           "EXAMPLES_PER_CELL", "parse_twins", "parse_array_twin", "unsupported_for", "valid_or_fail", "Diagnosis"]
