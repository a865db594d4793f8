"""The function under test as one more op of a backend.

``make_target`` finds out what kind of object is fuzzed (a ``Function`` subclass of the backend, a
book-1 style layer class, or a plain callable), wraps its code in the sandbox and makes its spec
table entry from the twin; ``FuzzBackend`` is the backend with that op added.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np

import trigrad.autograd as autograd
from trigrad.oracle import spec

from .. import known, suite
from ..backends import Backend, _import
from ..backends._dezero_import import import_dezero
from ..errors import UsageError
from .sandbox import guarded
from .twin import MIN_VALID_FRACTION, VARIABLES, like_op, parse_domain, parse_twin, twin_arity, twin_op, valid_fraction


def _function_base(backend_name: str):
    """The Function class of a backend with DeZero's API (builtin, dezero), else None."""
    if backend_name == "builtin":
        return autograd.Function
    if backend_name == "dezero":
        return import_dezero().Function
    return None


def guarded_function(cls):
    """A subclass of Function class ``cls`` whose forward and backward report what they raise."""
    name = cls.__name__
    namespace = {
        "forward": lambda self, *xs: guarded(f"{name}.forward", super(sub, self).forward)(*xs),
        "backward": lambda self, *gys: guarded(f"{name}.backward", super(sub, self).backward)(*gys),
    }
    sub = type(name, (cls,), namespace)
    sub.__qualname__, sub.__module__ = cls.__qualname__, cls.__module__
    return sub


def layer_function(layer_cls, base=None):
    """A Function class (of ``base``, default the built-in core's) running the book-1 style layer
    ``layer_cls``: a new layer per call (its constructor gets the op's params); forward on the
    inputs' arrays, backward on the output gradient's array, returning the layer's input gradients."""
    if base is None:
        base = autograd.Function
    name = layer_cls.__name__
    forward = guarded(f"{name}.forward", lambda layer, *xs: layer.forward(*xs))
    backward = guarded(f"{name}.backward", lambda layer, gy: layer.backward(gy))

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
            wrapped = guarded_function(obj)
            call = lambda *xs, **params: wrapped(**params)(*xs)  # noqa: E731 - a new Function per call
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
        wrapped = guarded(base_name, obj)

        def call(*xs, **params):
            # constant arguments arrive as floats: give the callable the backend's own values
            return wrapped(*[backend.asarray(np.asarray(a, dtype=float)) if isinstance(a, float) else a for a in xs],
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


def valid_or_fail(target: Target):
    """UsageError when the function's domain is mostly outside where the twin is defined."""
    fraction = valid_fraction(target.op)
    if fraction < MIN_VALID_FRACTION:
        where = ", ".join(f"{v}={iv.lo:g}:{iv.hi:g}" for v, iv in zip(VARIABLES, target.op.draw))
        raise UsageError(f"the twin {target.twin} is finite, real and not too steep at only {fraction:.0%} of "
                         f"{where}; give a --domain where it is defined")


def where_defined(obj) -> str | None:
    """``module:qualname`` of ``obj`` for reproducers, when it can be imported from there."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    return f"{module}:{qualname}"


def load_target(text: str, base: Backend, *, sympy: str | None = None, like: str | None = None, domain=None,
                ulps: float | None = None) -> Target:
    """The target named ``MODULE:NAME`` (or ``path/to/file.py:NAME``) on ``base``, as ``trigrad fuzz``
    names it, checked to be fuzzable (UsageError otherwise)."""
    module_name, sep, attr = text.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"expected MODULE:NAME (or path/to/file.py:NAME), got {text!r}")
    try:
        module = _import(module_name)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - ImportError, or the module failing (or exiting) as it loads
        raise UsageError(f"cannot import {module_name!r}: {type(e).__name__}: {e}") from None
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{module_name!r} has no {attr!r}") from None
    target = make_target(obj, base, sympy=sympy, like=like, domain=domain, name=attr.split(".")[-1], where=text,
                         ulps=ulps)
    valid_or_fail(target)
    return target


__all__ = ["Target", "make_target", "load_target", "valid_or_fail", "where_defined", "guarded_function",
           "layer_function", "FuzzBackend", "properties_for"]
