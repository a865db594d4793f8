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
- a plain callable on the backend's values (``jax.scipy.special.i0`` with the jax backend),
  differentiated by the backend's own autodiff.

Whatever the user's code does is a finding, never a crash of the fuzzer: an exception (reported with
its traceback), NaN where the twin is finite, a wrong shape, or a hang (each example has a time
limit, enforced with a timer signal in the main thread; the report shows where the code was stuck).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import inspect
import json
import math
import os
import random
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Callable

import hypothesis
import numpy as np
import sympy
from hypothesis import strategies as st
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from trigrad.oracle import spec

from . import suite
from .backends import Backend, resolve
from .determinism import import_independent_draws
from .report import Failure, Report

VARIABLES = ("x", "y", "z")  # a twin's variables, one per argument, in order
DEFAULT_DOMAIN = spec.Interval(-3.0, 3.0)  # per variable, when --domain does not say
# Away from a pole or a branch point the twin's first derivatives stay below this (1 / POLE_MARGIN ** 2:
# as steep as 1/x at POLE_MARGIN, the steepest a spec op is drawn); steeper points are not drawn.
MAX_SLOPE = 1 / spec.POLE_MARGIN ** 2
# A twin that is finite, real and not too steep at less than this fraction of its domain needs --domain.
MIN_VALID_FRACTION = 0.2
# Composition sizes a campaign draws: the function alone, in a small composition, in a large one.
NODE_BUDGETS = (1, 3, 10)
DEFAULT_MAX_EXAMPLES = 1000  # the command's default budget (examples over all properties)
EXAMPLES_PER_CELL = 10  # properties.fuzz under pytest: the profile's budget per cell, times this
DEFAULT_TIMEOUT = 10.0  # seconds one call of the fuzzed code may take before it counts as a hang
MAX_HANGS = 5  # examples that may hang (while Hypothesis shrinks the first) before shrinking stops
# Hypothesis shrinks for at most this long (it would go on trying smaller floats for minutes; the
# composition's structure is usually minimal within seconds).
SHRINK_SECONDS = 10.0
PROGRESS_SECONDS = 2.0


class UsageError(ValueError):
    """Bad input to the fuzzer (a twin that does not parse, a malformed domain, an arity mismatch)."""


# --- the twin ----------------------------------------------------------------------------------------

_SYMBOLS = {v: sympy.Symbol(v, real=True) for v in VARIABLES}


def _sympy_names() -> dict:
    """What a twin may call: sympy's functions and constants, nothing else."""
    import sympy.functions

    names = {n: getattr(sympy.functions, n) for n in sympy.functions.__all__}
    names.update(pi=sympy.pi, E=sympy.E, EulerGamma=sympy.EulerGamma, Integer=sympy.Integer,
                 Float=sympy.Float, Rational=sympy.Rational)
    return names


_NAMES = _sympy_names()
_AST_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.Load,
              ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.BitXor, ast.USub, ast.UAdd)
# Functions whose derivative jumps: a twin using them is not analytic, and points near where it jumps
# are not drawn (the argument of Abs, sign and Heaviside at 0, ties of Max and Min, floor at integers).
_NON_SMOOTH = (sympy.Abs, sympy.sign, sympy.Heaviside, sympy.Max, sympy.Min, sympy.floor, sympy.ceiling)


def parse_twin(text: str) -> sympy.Expr:
    """A twin written with sympy's functions in ``x`` (``y``, ``z``). The text is checked to be an
    arithmetic expression of numbers, those variables and calls of sympy's functions before sympy
    parses it, so no other code can run; ``^`` means power."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise UsageError(f"the twin {text!r} does not parse: {e.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _AST_NODES):
            raise UsageError(f"the twin {text!r} may only use numbers, {', '.join(VARIABLES)}, arithmetic and "
                             f"sympy's functions (found {type(node).__name__})")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise UsageError(f"the twin {text!r} has a constant {node.value!r} that is not a number")
        if isinstance(node, ast.Call) and (node.keywords or not isinstance(node.func, ast.Name)):
            raise UsageError(f"the twin {text!r} may only call sympy's functions by name, without keywords")
        if isinstance(node, ast.Name) and node.id not in _SYMBOLS and node.id not in _NAMES:
            raise UsageError(f"the twin {text!r} uses {node.id!r}, which is neither a variable "
                             f"({', '.join(VARIABLES)}) nor one of sympy's functions")
    try:
        expr = parse_expr(text, local_dict=dict(_SYMBOLS), global_dict=dict(_NAMES),
                          transformations=standard_transformations + (convert_xor,))
    except Exception as e:  # noqa: BLE001 - sympy rejects the expression (wrong arguments, ...)
        raise UsageError(f"the twin {text!r} is not a sympy expression: {type(e).__name__}: {e}") from None
    if not isinstance(expr, sympy.Expr):
        raise UsageError(f"the twin {text!r} is not an expression")
    if expr.has(sympy.Piecewise):
        raise UsageError(f"the twin {text!r} uses Piecewise; write it with Max, Min, Abs or Heaviside, or use --like")
    if not expr.free_symbols & set(_SYMBOLS.values()):
        raise UsageError(f"the twin {text!r} does not use any of the variables {', '.join(VARIABLES)}")
    return expr


def twin_arity(expr: sympy.Expr) -> int:
    """Arguments the twin takes: up to its last variable (x; x, y; x, y, z)."""
    used = [k for k, v in enumerate(VARIABLES) if _SYMBOLS[v] in expr.free_symbols]
    return max(used) + 1


def parse_domain(items, arity: int) -> dict[int, spec.Interval]:
    """``["x=0:4", "y=-1:1"]`` -> argument index -> Interval."""
    out = {}
    for item in items or ():
        var, sep, rest = str(item).partition("=")
        lo, sep2, hi = rest.partition(":")
        var = var.strip()
        if not sep or not sep2:
            raise UsageError(f"malformed domain {item!r}; expected VAR=LO:HI, e.g. x=0.1:4")
        if var not in VARIABLES[:arity]:
            raise UsageError(f"domain {item!r} names {var!r}, but the function's arguments are "
                             f"{', '.join(VARIABLES[:arity])}")
        try:
            a, b = float(lo), float(hi)
        except ValueError:
            raise UsageError(f"malformed domain {item!r}; LO and HI must be numbers") from None
        if not (math.isfinite(a) and math.isfinite(b) and a < b):
            raise UsageError(f"domain {item!r} must have finite LO < HI")
        out[VARIABLES.index(var)] = spec.Interval(a, b)
    return out


def _lambdified(syms, exprs):
    """Float evaluation of sympy expressions on numpy arrays: numpy where it has the functions,
    else mpmath, element by element (special functions such as besseli or erf)."""
    fast = sympy.lambdify(syms, exprs, modules="numpy")
    probe = [np.array([0.5, 1.5])] * len(syms)
    try:
        with np.errstate(all="ignore"):
            np.asarray(fast(*probe), dtype=complex)
        return fast
    except (NameError, TypeError, AttributeError):
        slow = sympy.lambdify(syms, exprs, modules="mpmath")

        def elementwise(*args):
            args = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args])
            out = np.empty((len(exprs),) + args[0].shape, dtype=complex)
            for idx in np.ndindex(args[0].shape):
                try:
                    out[(slice(None),) + idx] = [complex(v) for v in slow(*[float(a[idx]) for a in args])]
                except (ValueError, ZeroDivisionError, OverflowError):
                    out[(slice(None),) + idx] = np.nan
            return list(out)

        return elementwise


def _jumps(expr) -> list:
    """Expressions whose zeros are where the twin's derivative jumps."""
    out = []
    for f in expr.atoms(*_NON_SMOOTH):
        if isinstance(f, (sympy.Max, sympy.Min)):
            out += [a - b for i, a in enumerate(f.args) for b in f.args[i + 1:]]
        elif isinstance(f, (sympy.floor, sympy.ceiling)):
            out.append(sympy.sin(sympy.pi * f.args[0]) / sympy.pi)  # zero at the integers, slope 1 there
        else:
            out.append(f.args[0])
    return out


def twin_op(name: str, expr: sympy.Expr, domain: dict[int, spec.Interval], *, ulps: float = spec.ULPS_LIBM) -> spec.Op:
    """A spec table entry for a function whose twin is ``expr``: elementwise (with broadcasting for
    several arguments), drawn from ``domain`` (default -3:3 per argument), valid where every argument
    lies in its interval, the twin is finite, real and below MAX_MAGNITUDE, its first derivatives are
    below MAX_SLOPE (away from poles), and the arguments of non-smooth functions (Abs, Max, ...) are
    POLE_MARGIN from their jumps."""
    arity = twin_arity(expr)
    syms = [_SYMBOLS[v] for v in VARIABLES[:arity]]
    intervals = tuple(domain.get(j, DEFAULT_DOMAIN) for j in range(arity))
    jumps = _jumps(expr)
    evaluate = _lambdified(syms, [expr] + [sympy.diff(expr, s) for s in syms] + jumps)

    def reference(*args):
        with np.errstate(all="ignore"):
            return np.real(np.asarray(evaluate(*args)[0], dtype=complex))

    def valid(*args, const=(), **_):
        args = [np.asarray(a, dtype=float) for a in args]
        if any(np.any(a < iv.lo) or np.any(a > iv.hi) for a, iv in zip(args, intervals)):
            return False
        with np.errstate(all="ignore"):
            vals = [np.asarray(v, dtype=complex) for v in evaluate(*args)]
        value, slopes, gaps = vals[0], vals[1:1 + arity], vals[1 + arity:]
        if not (np.all(np.isfinite(value)) and np.all(np.abs(value.imag) <= 1e-12 * (1 + np.abs(value.real)))):
            return False
        if not all(np.all(np.isfinite(d)) and np.all(np.abs(d) <= MAX_SLOPE) for d in slopes):
            return False
        return all(np.all(np.abs(g.real) > spec.POLE_MARGIN) for g in gaps)

    def twin(*args):
        return expr.xreplace(dict(zip(syms, args)))

    return spec.Op(name, arity, twin, reference, spec._broadcast if arity > 1 else spec._same_shape, intervals,
                   valid=valid, elementwise=True, analytic=not jumps, pole=True, ulps=ulps,
                   doc=f"{name}, fuzzed against the twin {expr}")


def like_op(name: str, like: str, domain: dict[int, spec.Interval]) -> spec.Op:
    """A spec table entry that borrows op ``like``'s twin, shapes, params, domain and kinks (the
    domain narrowed to ``domain`` where given)."""
    try:
        base = spec.get(like)
    except KeyError:
        raise UsageError(f"--like {like!r} is not an op of the spec table; known ops: {', '.join(spec.OPS)}") from None
    op = dataclasses.replace(base, name=name, doc=f"{name}, fuzzed like {like}: {base.doc}")
    if not domain:
        return op
    bad = [j for j in domain if j >= base.arity]
    if bad:
        raise UsageError(f"{like} takes {base.arity} argument(s); the domain names {VARIABLES[bad[0]]}")
    intervals = tuple(domain.get(j, iv) for j, iv in enumerate(base.draw))

    def valid(*args, const=(), **params):
        inside = all(np.all(np.asarray(a) >= iv.lo) and np.all(np.asarray(a) <= iv.hi) for a, iv in zip(args, intervals))
        return inside and (base.valid is None or base.valid(*args, const=const, **params))

    return dataclasses.replace(op, draw=intervals, valid=valid)


def valid_fraction(op: spec.Op, points: int = 400, seed: int = 0) -> float:
    """The fraction of random points of the op's draw intervals where it is valid."""
    rng = np.random.default_rng(seed)
    ok = 0
    for _ in range(points):
        args = [np.array(rng.uniform(iv.lo, iv.hi)) for iv in op.draw]
        ok += bool(op.accepts(args, op.defaults()))
    return ok / points


# --- the function under test as one op of a backend ---------------------------------------------------


class UserCodeError(Exception):
    """The fuzzed code raised; the message names where, ``trigrad_traceback`` holds the traceback."""


class ExampleTimeout(Exception):
    """A call of the fuzzed code ran longer than the time limit (raised by the timer signal)."""


class _Clock:
    """The time limit on each call of the fuzzed code (its forward, backward, or the callable):
    a timer signal, armed on entering the code and disarmed on leaving it, so that trigrad's own
    work (the oracles) never counts. Main thread only (signals); elsewhere there is no limit."""

    def __init__(self):
        self.seconds = None
        self.depth = 0

    @contextlib.contextmanager
    def limit(self, seconds: float | None):
        """Calls of the fuzzed code within the block are limited to ``seconds`` each."""
        previous, self.seconds = self.seconds, seconds
        try:
            yield
        finally:
            self.seconds = previous

    @contextlib.contextmanager
    def running(self):
        if not self.seconds or self.depth or threading.current_thread() is not threading.main_thread():
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
            return
        seconds = self.seconds

        def expire(signum, frame):
            e = ExampleTimeout(f"the fuzzed code did not return within {seconds:g} s")
            e.trigrad_traceback = "it was running:\n" + "".join(traceback.format_stack(frame)[-8:]).rstrip()
            raise e

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


_CLOCK = _Clock()


def _function_base(backend_name: str):
    """The Function class of a backend with DeZero's API (builtin, dezero), else None."""
    if backend_name == "builtin":
        import trigrad.autograd as autograd

        return autograd.Function
    if backend_name == "dezero":
        from .backends import _dezero_import

        return _dezero_import.import_dezero().Function
    return None


def _guarded(label: str, method):
    """``method`` whose exceptions become UserCodeError with the user's traceback."""

    def call(*args, **kwargs):
        try:
            with _CLOCK.running():
                return method(*args, **kwargs)
        except (ExampleTimeout, UserCodeError):
            raise
        except Exception as e:  # noqa: BLE001 - anything the user's code raises is a finding
            err = UserCodeError(f"{label} raised {type(e).__name__}: {e}")
            # the traceback from the user's frame down (this wrapper's own frame left out)
            err.trigrad_traceback = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next)).rstrip()
            raise err from e

    return call


def guarded_function(cls):
    """A subclass of Function class ``cls`` whose forward and backward report what they raise."""
    name = cls.__name__
    namespace = {
        "forward": lambda self, *xs: _guarded(f"{name}.forward", super(sub, self).forward)(*xs),
        "backward": lambda self, *gys: _guarded(f"{name}.backward", super(sub, self).backward)(*gys),
    }
    sub = type(name, (cls,), namespace)
    sub.__qualname__, sub.__module__ = cls.__qualname__, cls.__module__
    return sub


def layer_function(layer_cls, base=None):
    """A Function class (of ``base``, default the built-in core's) running the book-1 style layer
    ``layer_cls``: a new layer per call (its constructor gets the op's params); forward on the
    inputs' arrays, backward on the output gradient's array, returning the layer's input gradients."""
    if base is None:
        import trigrad.autograd as autograd

        base = autograd.Function
    name = layer_cls.__name__
    forward = _guarded(f"{name}.forward", lambda layer, *xs: layer.forward(*xs))
    backward = _guarded(f"{name}.backward", lambda layer, gy: layer.backward(gy))

    class LayerFunction(base):
        def __init__(self, **params):
            self.params = params

        def forward(self, *xs):
            self.layer = layer_cls(**self.params)
            return forward(self.layer, *xs)

        def backward(self, gy):
            # the gradient's own array: a layer that writes into it is caught by the purity check
            return backward(self.layer, gy.data)

    LayerFunction.__name__ = LayerFunction.__qualname__ = f"{name}Function"
    return LayerFunction


@dataclass
class Target:
    """The function under test: its name in formulas, kind, op-table entry and how to call it."""

    name: str
    kind: str  # "function", "layer" or "callable"
    obj: object
    op: spec.Op
    call: Callable
    twin: str  # the twin as the user gave it (or "like OP")
    where: str | None = None  # "module:NAME" for reproducers
    first_order_only: bool = False

    def source(self) -> str:
        args = ", ".join("{%d}" % j for j in range(self.op.arity))
        params = ", ".join(f"{p.name}={{{p.name}}}" for p in self.op.params)
        if self.kind == "function":
            return f"{self.name}({params})({args})"
        if self.kind == "layer":
            return f"layer_function({self.name})({params})({args})"
        return f"{self.name}({args}{', ' + params if params else ''})"

    def imports(self) -> str:
        lines = []
        if self.kind == "layer":
            lines.append("from trigrad.properties.fuzzing import layer_function")
        if self.where:
            module, _, attr = self.where.rpartition(":")
            if module.endswith(".py"):
                folder, file = os.path.split(os.path.abspath(module))
                lines += ["import sys", f"sys.path.insert(0, {folder!r})", f"from {file[:-3]} import {attr} as {self.name}"]
            else:
                lines.append(f"from {module} import {attr}" + (f" as {self.name}" if attr != self.name else ""))
        else:
            lines.append(f"# {self.name}: the fuzzed {self.kind}, defined in your code")
        return "\n".join(lines)


def make_target(obj, backend: Backend, *, sympy: str | None = None, like: str | None = None, domain=None,
                name: str | None = None, where: str | None = None, ulps: float | None = None) -> Target:
    """Everything the fuzzer needs to know about ``obj`` on ``backend``; UsageError when it cannot
    be fuzzed as asked."""
    if (sympy is None) == (like is None):
        raise UsageError("give the twin as exactly one of sympy=EXPR (--sympy) or like=OP (--like)")
    base_name = name or getattr(obj, "__name__", None) or type(obj).__name__
    op_name = base_name if base_name not in spec.OPS else f"{base_name}_fuzzed"
    if sympy is not None:
        expr = parse_twin(sympy)
        arity = twin_arity(expr)
        op = twin_op(op_name, expr, parse_domain(domain, arity), ulps=spec.ULPS_LIBM if ulps is None else ulps)
    else:
        arity = spec.get(like).arity if like in spec.OPS else 1
        op = like_op(op_name, like, parse_domain(domain, arity))
        if ulps is not None:
            op = dataclasses.replace(op, ulps=ulps)
    fn_base = _function_base(backend.name)
    if isinstance(obj, type):
        if fn_base is not None and issubclass(obj, fn_base):
            kind, method = "function", obj.forward
            guarded = guarded_function(obj)
            call = lambda *xs, **params: guarded(**params)(*xs)  # noqa: E731 - a new Function per call
        elif callable(getattr(obj, "forward", None)) and callable(getattr(obj, "backward", None)):
            if fn_base is None:
                raise UsageError(f"{base_name} is a layer class (forward/backward); layers run on the backends "
                                 f"with DeZero's API (builtin, dezero), not {backend.name}")
            if any(issubclass(obj, b) for b in _other_function_bases(backend)):
                raise UsageError(f"{base_name} is a Function of another library than {backend.name}'s; "
                                 f"choose the backend it belongs to with --backend")
            kind, method = "layer", obj.forward
            layer_fn = layer_function(obj, fn_base)
            call = lambda *xs, **params: layer_fn(**params)(*xs)  # noqa: E731
        else:
            raise UsageError(f"{base_name} is a class but neither a Function subclass of {backend.name} "
                             f"nor a layer with forward and backward methods")
    elif callable(obj):
        kind, method = "callable", obj
        guarded = _guarded(base_name, obj)

        def call(*xs, **params):
            # constant arguments arrive as floats: give the callable the backend's own values
            return guarded(*[backend.asarray(np.asarray(a, dtype=float)) if isinstance(a, float) else a for a in xs],
                           **params)
    else:
        raise UsageError(f"{base_name} is a {type(obj).__name__}, not a Function class, a layer class or a callable")
    _check_arity(base_name, method, op.arity, skip_self=kind != "callable")
    return Target(op_name, kind, obj, op, call, sympy if sympy is not None else f"like {like}", where,
                  first_order_only=kind == "layer")


def _other_function_bases(backend):
    """The Function classes of the other libraries with DeZero's API, where already imported (a
    class that subclasses one was defined with its library loaded)."""
    modules = {"builtin": "trigrad.autograd", "dezero": "dezero"}
    return [sys.modules[m].Function for name, m in modules.items() if name != backend.name and m in sys.modules]


def _check_arity(name, method, arity, skip_self):
    try:
        params = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):  # builtins and ufuncs may have no signature
        return
    if skip_self and params:
        params = params[1:]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if not len(required) <= arity <= len(positional):
        raise UsageError(f"arity mismatch: {name} takes {len(required)} argument(s), the twin {arity} "
                         f"({', '.join(VARIABLES[:arity])})")


class FuzzBackend(Backend):
    """``base`` with the function under test as one more op."""

    def __init__(self, base: Backend, target: Target):
        self.base, self.target = base, target
        self.name, self.version, self.dtype = base.name, base.version, base.dtype
        self.ops = frozenset(base.ops) | {target.name}
        self.complex_ops = frozenset(base.complex_ops)  # the new function is not assumed to take complex input
        self.constant_args = dict(base.constant_args)
        from . import known

        self.known_differences = known.path_for(base)  # its differences in other ops stay masked
        self.preamble = base.preamble + "\n" + target.imports()

    def asarray(self, x):
        return self.base.asarray(x)

    def tonumpy(self, v):
        return self.base.tonumpy(v)

    def op(self, name):
        return self.target.call if name == self.target.name else self.base.op(name)

    def vjp(self, fn, xs, cotangent):
        return self.base.vjp(fn, xs, cotangent)

    def jvp(self, fn, xs, tangents):
        return self.base.jvp(fn, xs, tangents)

    def hvp(self, fn, xs, cotangent, tangents):
        return self.base.hvp(fn, xs, cotangent, tangents)

    def capable(self, what):
        return self.base.capable(what) and not self.target.first_order_only

    def source(self, name):
        return self.target.source() if name == self.target.name else self.base.source(name)

    def leaf_source(self, array):
        return self.base.leaf_source(array)

    def vjp_source(self, *args):
        return self.base.vjp_source(*args)

    def hvp_source(self, *args):
        return self.base.hvp_source(*args)

    def describe(self):
        return f"{self.target.name} (twin {self.target.twin}) on {self.base.describe()}"


def properties_for(backend: FuzzBackend) -> list[str]:
    """The suite's properties that apply to the function on this backend."""
    return [p for p in suite.PROPERTIES if suite.status(backend, p, backend.target.name) is None]


# --- a campaign ---------------------------------------------------------------------------------------


class _BudgetSpent(BaseException):
    """Stops Hypothesis when the time is up (a BaseException, so it is not taken for a failure)."""


class _ShrinkingStopped(BaseException):
    """Stops Hypothesis shrinking after SHRINK_SECONDS, or after MAX_HANGS examples ran out of time
    (each costs the whole time limit); the smallest failing example so far is the report, and the
    structural pass (properties.minimize) still makes it smaller."""


@dataclass
class Outcome:
    """What a campaign did: examples by property, the ops the function was combined with, the
    failure (None when nothing was found)."""

    target: str
    backend: str
    examples: int = 0
    seconds: float = 0.0
    by_property: dict = field(default_factory=dict)
    combined_with: set = field(default_factory=set)
    found_after: int | None = None  # examples until the first failing one
    seconds_to_find: float | None = None
    report: Report | None = None  # its op is in the table only during the campaign: use text / json
    text: str = ""  # the report as text ("" when nothing was found)
    json: dict | None = None
    seed: int | None = None

    def summary(self) -> str:
        props = ", ".join(f"{p} {n}" for p, n in self.by_property.items())
        return (f"{self.examples} examples in {self.seconds:.1f} s ({self.examples / max(self.seconds, 1e-9):.0f}/s); "
                f"by property: {props}; combined with {len(self.combined_with)} ops")


class _State:
    """Counts, the time budget, progress output, and the failures seen while Hypothesis shrinks
    (so that shrinking can be cut short)."""

    def __init__(self, outcome: Outcome, seconds: float | None, progress: Callable | None):
        self.outcome, self.progress = outcome, progress
        self.start = time.perf_counter()
        self.end = None if seconds is None else self.start + seconds
        self.last_progress = self.start
        self.smallest = None  # the smallest failing report so far
        self.found_at = None
        self.hangs = 0  # examples that ran out of time

    @property
    def failed(self) -> bool:
        return self.smallest is not None

    def begin(self, prop: str, example, target: str):
        if self.end is not None and not self.failed and time.perf_counter() >= self.end:
            raise _BudgetSpent()
        if self.failed and (self.hangs > MAX_HANGS or time.perf_counter() - self.found_at > SHRINK_SECONDS):
            raise _ShrinkingStopped()
        o = self.outcome
        o.examples += 1
        o.by_property[prop] = o.by_property.get(prop, 0) + 1
        o.combined_with.update(n.op for n in example.comp.nodes if n.op != target)
        now = time.perf_counter()
        o.seconds = now - self.start
        if self.progress is not None and now - self.last_progress >= PROGRESS_SECONDS:
            self.last_progress = now
            self.progress(o)

    def failing(self, failure: Failure, hung: bool):
        """Record a failing example (the first one is when the function was found wrong)."""
        o = self.outcome
        if o.found_after is None:
            self.found_at = time.perf_counter()
            o.found_after, o.seconds_to_find = o.examples, self.found_at - self.start
        self.hangs += hung
        report = failure.report
        if self.smallest is None or _size(report) <= _size(self.smallest):  # later is more shrunk
            self.smallest = report


def _size(report: Report) -> tuple:
    comp = report.example.comp
    return (len(comp.nodes), len(comp.inputs), sum(int(np.prod(i.shape)) for i in comp.inputs))


def _user_failure(backend, prop, example, kwargs, e) -> Failure:
    """A Failure for the user's code raising or hanging where no check caught it (in a forward the
    numeric oracle differentiates, say)."""
    detail = f"{e}\n{getattr(e, 'trigrad_traceback', '')}".rstrip()
    vectors = {}
    if "cotangent" in kwargs:
        vectors["cotangent"] = kwargs["cotangent"]
    vectors.update({f"tangent {n}": t for n, t in kwargs.get("tangents", {}).items()})
    return Failure(Report(prop, backend, example, None, detail, vectors))


def campaign_test(backend: FuzzBackend, props: list[str], settings: hypothesis.settings, state: _State):
    """The campaign's Hypothesis test (a function of no arguments): each example draws a property,
    a composition size and a composition containing the function, and checks it."""
    name = backend.target.name

    @settings
    @hypothesis.given(st.data())
    def test(data):
        prop = data.draw(st.sampled_from(props), label="property")
        # a shared node needs two nodes at least
        budgets = NODE_BUDGETS[1:] if suite.PROPERTIES[prop].shared else NODE_BUDGETS
        nodes = data.draw(st.sampled_from(budgets), label="at most this many nodes")
        example, kwargs = suite.draw_case(data, backend, prop, name, max_nodes=nodes)
        state.begin(prop, example, name)
        try:
            suite._check(backend, prop, example, kwargs)
        except (UserCodeError, ExampleTimeout) as e:  # raised where no check catches it
            failure = _user_failure(backend, prop, example, kwargs, e)
            state.failing(failure, hung=isinstance(e, ExampleTimeout))
            raise failure from None
        except Failure as f:
            state.failing(f, hung=isinstance(f.__cause__, ExampleTimeout))
            raise

    test.hypothesis.inner_test._hypothesis_internal_add_digest = (
        f"fuzz:{backend.describe()}:{backend.target.where or name}:{backend.target.twin}".encode())
    return test


def run(target: Target, base: Backend, *, max_examples: int | None = None, seconds: float | None = None,
        seed: int | None = None, database=hypothesis.settings.default.database, timeout: float | None = DEFAULT_TIMEOUT,
        derandomize: bool = False, progress: Callable | None = None) -> Outcome:
    """Fuzz ``target`` on ``base`` until ``max_examples`` examples (default DEFAULT_MAX_EXAMPLES, or
    unlimited with ``seconds``) or ``seconds`` have run, or a failure is found and shrunk."""
    backend = FuzzBackend(base, target)
    outcome = Outcome(target.name, base.describe(), seed=seed)
    state = _State(outcome, seconds, progress)
    limit = max_examples or (10**9 if seconds is not None else DEFAULT_MAX_EXAMPLES)
    settings = hypothesis.settings(hypothesis.settings.default, max_examples=limit, database=database,
                                   derandomize=derandomize, report_multiple_bugs=False, deadline=None)
    # the user's code, and compositions with it, may overflow or divide by zero: findings, not warnings
    with spec.registered(target.op), import_independent_draws(), np.errstate(all="ignore"), \
            warnings.catch_warnings(), _CLOCK.limit(timeout):
        warnings.simplefilter("ignore", RuntimeWarning)
        props = properties_for(backend)
        try:
            for prop in props:  # the function alone at the borrowed op's edge points, if any
                with contextlib.suppress(UserCodeError, ExampleTimeout):  # code that raises: found below
                    try:
                        judged = suite.run_edge_case(backend, prop, target.name)
                    except Failure as f:
                        state.failing(f, hung=False)
                        raise
                    outcome.examples += judged
                    outcome.by_property[prop] = outcome.by_property.get(prop, 0) + judged
            test = campaign_test(backend, props, settings, state)
            if seed is not None:
                test = hypothesis.seed(seed)(test)
                # @seed also turns the example database off (it is meant for reproducing one run);
                # a campaign's seed only makes generation distinct, saved failures still come first
                test._hypothesis_internal_use_settings = settings
            test()
        except Failure as f:
            outcome.report = f.report
        except _ShrinkingStopped:
            outcome.report = state.smallest
        except _BudgetSpent:
            pass
        except hypothesis.errors.Unsatisfiable as e:
            raise UsageError(f"no example of {target.name} could be drawn and judged ({e}); "
                             f"is the domain right?") from None
        if outcome.report is not None:
            outcome.report = outcome.report.minimized()
            outcome.text, outcome.json = outcome.report.text(), outcome.report.to_json()
    outcome.seconds = time.perf_counter() - state.start
    return outcome


# --- the Python API -------------------------------------------------------------------------------------


def fuzz(obj, *, sympy: str | None = None, like: str | None = None, domain=None, backend: str | None = "builtin",
         max_examples: int | None = None, timeout: float | None = DEFAULT_TIMEOUT, ulps: float | None = None):
    """A pytest test that fuzzes ``obj`` against its twin; assign it to a ``test_`` name::

        test_sinh = fuzz(Sinh, sympy="sinh(x)")
        test_softsign = fuzz(Softsign, sympy="x / (1 + Abs(x))", domain=["x=-4:4"])

    The budget is the Hypothesis profile's examples per cell times EXAMPLES_PER_CELL (300 under dev
    and ci, 5,000 under thorough) unless ``max_examples`` says; the profile also decides whether
    examples are derandomized (ci) and saved in the example database (dev, thorough). A finding
    fails the test with the minimal counterexample's report. Bad arguments raise UsageError at once,
    when the module defining the test is imported.
    """
    base = resolve(backend)
    target = make_target(obj, base, sympy=sympy, like=like, domain=domain,
                         where=_where(obj), ulps=ulps)
    valid_or_fail(target)

    def test():
        profile = hypothesis.settings.default
        outcome = run(target, base, max_examples=max_examples or profile.max_examples * EXAMPLES_PER_CELL,
                      database=profile.database, derandomize=profile.derandomize, timeout=timeout)
        if outcome.report is not None:
            raise AssertionError(outcome.text)

    test.__name__ = test.__qualname__ = f"test_fuzz_{target.name}"
    test.__doc__ = f"{target.name} against its twin {target.twin}, alone and in random compositions."
    return test


def _where(obj) -> str | None:
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    return f"{module}:{qualname}"


def valid_or_fail(target: Target):
    """UsageError when the function's domain is mostly outside where the twin is defined."""
    fraction = valid_fraction(target.op)
    if fraction < MIN_VALID_FRACTION:
        where = ", ".join(f"{v}={iv.lo:g}:{iv.hi:g}" for v, iv in zip(VARIABLES, target.op.draw))
        raise UsageError(f"the twin {target.twin} is finite, real and not too steep at only {fraction:.0%} of "
                         f"{where}; give a --domain where it is defined")


def random_seed() -> int:
    return random.SystemRandom().randrange(2**32)


# --- the command ------------------------------------------------------------------------------------


def add_parser(sub):
    """``trigrad fuzz``'s arguments (``sub``: the command's subparsers)."""
    f = sub.add_parser("fuzz", help="fuzz a new Function class, a book-1 layer or a callable against its sympy twin",
                       description="Fuzz a new Function class, a book-1 style layer or a callable of the backend "
                                   "against its mathematical twin, alone and inside random compositions.")
    f.add_argument("target", metavar="MODULE:NAME", help="what to fuzz (MODULE may be a path/to/file.py)")
    twin = f.add_mutually_exclusive_group(required=True)
    twin.add_argument("--sympy", metavar="EXPR", help="the twin in x (and y, z), with sympy's functions, e.g. 'sinh(x)'")
    twin.add_argument("--like", metavar="OP", help="borrow the twin, domain and kinks of an op of the spec table")
    f.add_argument("--domain", action="append", default=[], metavar="VAR=LO:HI",
                   help=f"where argument VAR is drawn and evaluated (default {DEFAULT_DOMAIN.lo:g}:{DEFAULT_DOMAIN.hi:g}, "
                        "or the --like op's domain); repeat for each variable")
    f.add_argument("--backend", default=None, metavar="NAME", help="builtin (default), torch, jax, dezero or module:object")
    budget = f.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, default=None, metavar="N", help="run for this long")
    budget.add_argument("--max-examples", type=int, default=None, metavar="N",
                        help=f"run this many examples (default {DEFAULT_MAX_EXAMPLES})")
    f.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (default: a fresh one, printed)")
    f.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes, with seeds SEED, SEED+1, ..., sharing one example database")
    f.add_argument("--database", default=None, metavar="URL",
                   help="example database: a directory (default .hypothesis/examples), redis://HOST:PORT, or none")
    f.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"seconds one example may take before it counts as a hang (default {DEFAULT_TIMEOUT:g})")
    f.add_argument("--ulps", type=float, default=None, metavar="N",
                   help=f"rounding allowance of the function, in ulps (default {spec.ULPS_LIBM})")
    f.add_argument("--json", default=None, metavar="FILE", help="also write the outcome as JSON")
    f.add_argument("--quiet", action="store_true", help="no progress line")
    return f


def open_database(url: str | None):
    """An example database from the command line: None for the profile's, ``none``, a directory,
    ``:memory:`` or ``redis://HOST:PORT``."""
    from hypothesis.database import DirectoryBasedExampleDatabase, InMemoryExampleDatabase

    if url is None:
        return hypothesis.settings.default.database
    if url.lower() == "none":
        return None
    if url == ":memory:":
        return InMemoryExampleDatabase()
    if url.startswith("redis://"):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError:
            raise UsageError("--database redis://... needs the redis client: pip install 'trigrad[redis]'") from None
        client = redis.Redis.from_url(url)
        try:
            client.ping()
        except redis.RedisError as e:
            raise UsageError(f"cannot reach the redis server at {url}: {e}") from None
        return RedisExampleDatabase(client)
    return DirectoryBasedExampleDatabase(url)


def _load(args) -> tuple[Target, Backend]:
    """The target and backend the command line names (UsageError or BackendError otherwise)."""
    from .backends import _import

    module_name, sep, attr = args.target.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"expected MODULE:NAME (or path/to/file.py:NAME), got {args.target!r}")
    base = resolve(args.backend)
    try:
        module = _import(module_name)
    except Exception as e:  # noqa: BLE001 - ImportError, or the module failing as it loads
        raise UsageError(f"cannot import {module_name!r}: {type(e).__name__}: {e}") from None
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{module_name!r} has no {attr!r}") from None
    target = make_target(obj, base, sympy=args.sympy, like=args.like, domain=args.domain, name=attr.split(".")[-1],
                         where=args.target, ulps=args.ulps)
    valid_or_fail(target)
    return target, base


def _progress_line(examples, seconds, combined, workers=1):
    ws = f", {workers} workers" if workers > 1 else ""
    return (f"{examples} examples ({examples / max(seconds, 1e-9):.0f}/s){ws}, combined with {combined} ops, "
            f"{seconds:.0f} s")


def _printer(quiet):
    tty = sys.stderr.isatty()

    def show(line):
        if not quiet:
            print(f"\r{line:<90}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    return show, tty


def command(args) -> int:
    """``trigrad fuzz``: exit 0 when nothing was found, 1 with the minimal counterexample, 2 on bad usage."""
    from .backends import BackendError

    try:
        if args.workers < 1:
            raise UsageError(f"--workers must be at least 1, got {args.workers}")
        if args.seconds is not None and not args.seconds > 0:
            raise UsageError(f"--seconds must be positive, got {args.seconds}")
        if args.max_examples is not None and args.max_examples < 1:
            raise UsageError(f"--max-examples must be at least 1, got {args.max_examples}")
        if args.timeout is not None and not args.timeout > 0:
            raise UsageError(f"--timeout must be positive, got {args.timeout}")
        target, base = _load(args)
        database = open_database(args.database)
    except (UsageError, BackendError) as e:
        print(f"trigrad fuzz: error: {e}", file=sys.stderr)
        return 2
    seed = random_seed() if args.seed is None else args.seed
    show, tty = _printer(args.quiet)
    print(f"trigrad fuzz: {target.name} ({target.kind}, twin {target.twin}) on {base.describe()}, seed {seed}"
          + (f", {args.workers} workers" if args.workers > 1 else ""), flush=True)
    if args.workers == 1:
        outcome = _campaign(args, target, base, seed, database,
                            lambda o: show(_progress_line(o.examples, o.seconds, len(o.combined_with))))
        results = [_result(outcome)]
    else:
        try:
            results = _run_workers(args, seed, show)
        except UsageError as e:
            print(f"trigrad fuzz: error: {e}", file=sys.stderr)
            return 2
    if tty and not args.quiet:
        print(file=sys.stderr)
    return _finish(args, target, base, results)


def _campaign(args, target, base, seed, database, progress) -> Outcome:
    """``run`` with the command line's budget and time limit."""
    return run(target, base, max_examples=args.max_examples, seconds=args.seconds, seed=seed, database=database,
               timeout=args.timeout, progress=progress)


def _result(outcome: Outcome) -> dict:
    """A campaign's outcome as plain data (what a worker process sends back)."""
    return {"examples": outcome.examples, "seconds": outcome.seconds, "by_property": outcome.by_property,
            "combined_with": sorted(outcome.combined_with), "seed": outcome.seed, "report": outcome.text or None,
            "report_json": outcome.json}


def _finish(args, target, base, results) -> int:
    examples = sum(r["examples"] for r in results)
    seconds = max(r["seconds"] for r in results)
    by_prop = {}
    for r in results:
        for p, n in r["by_property"].items():
            by_prop[p] = by_prop.get(p, 0) + n
    combined = sorted(set().union(*[r["combined_with"] for r in results]))
    found = [r for r in results if r["report"]]
    found.sort(key=lambda r: len(r["report_json"]["composition"]["nodes"]))
    if found:
        print(found[0]["report"])
        print(f"\nfound by seed {found[0]['seed']} after {examples} examples in {seconds:.1f} s; "
              f"replay: the example database holds it, or rerun with --seed {found[0]['seed']}")
    else:
        print(f"no finding: {examples} examples in {seconds:.1f} s ({examples / max(seconds, 1e-9):.0f}/s per "
              f"process); by property: {', '.join(f'{p} {n}' for p, n in by_prop.items())}; combined with "
              f"{len(combined)} ops: {', '.join(combined)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"target": target.name, "kind": target.kind, "twin": target.twin, "backend": base.describe(),
                       "examples": examples, "seconds": seconds, "by_property": by_prop, "combined_with": combined,
                       "seeds": [r["seed"] for r in results],
                       "finding": found[0]["report_json"] if found else None}, f, indent=2)
    return 1 if found else 0


def _worker(args, seed, queue):
    """One process of ``--workers``: the campaign with its own seed, progress and outcome on ``queue``."""
    try:
        target, base = _load(args)
        outcome = _campaign(args, target, base, seed, open_database(args.database),
                            lambda o: queue.put(("progress", seed, o.examples, sorted(o.combined_with))))
        queue.put(("done", seed, _result(outcome)))
    except BaseException as e:  # noqa: BLE001 - told to the parent, which reports it
        queue.put(("error", seed, f"{type(e).__name__}: {e}"))


def _run_workers(args, seed, show) -> list[dict]:
    """``args.workers`` processes with seeds seed, seed + 1, ...; the first finding stops the others."""
    import multiprocessing
    import queue as queues

    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    seeds = [seed + k for k in range(args.workers)]
    procs = {s: ctx.Process(target=_worker, args=(args, s, q), daemon=True) for s in seeds}
    for p in procs.values():
        p.start()
    start = time.perf_counter()
    counts, combined, results = {s: 0 for s in seeds}, set(), {}
    while len(results) < len(procs):
        try:
            kind, s, *rest = q.get(timeout=1.0)
        except queues.Empty:
            dead = [s for s, p in procs.items() if s not in results and not p.is_alive()]
            for s in dead:
                results[s] = {"examples": counts[s], "seconds": time.perf_counter() - start, "by_property": {},
                              "combined_with": [], "seed": s, "report": None, "report_json": None,
                              "error": f"worker with seed {s} exited with status {procs[s].exitcode}"}
            continue
        if kind == "progress":
            counts[s], _ = rest[0], combined.update(rest[1])
            show(_progress_line(sum(counts.values()), time.perf_counter() - start, len(combined), args.workers))
        elif kind == "error":
            raise UsageError(f"worker with seed {s}: {rest[0]}")
        else:
            results[s] = rest[0]
            if results[s]["report"]:  # found: the others stop
                for other, p in procs.items():
                    if other not in results:
                        p.terminate()
                        results[other] = {"examples": counts[other], "seconds": time.perf_counter() - start,
                                          "by_property": {}, "combined_with": [], "seed": other, "report": None,
                                          "report_json": None}
    for p in procs.values():
        p.join(timeout=5)
    return list(results.values())


__all__ = ["fuzz", "run", "make_target", "Target", "FuzzBackend", "Outcome", "UsageError", "parse_twin",
           "parse_domain", "twin_op", "like_op", "layer_function", "guarded_function", "properties_for",
           "VARIABLES", "DEFAULT_MAX_EXAMPLES"]
