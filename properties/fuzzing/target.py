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
from .array_twin import array_twin_op, parse_array_twin, parse_shapes, twin_variables
from .sandbox import CLOCK, DEFAULT_TIMEOUT, UserCodeError, guarded
from .twin import (MIN_VALID_FRACTION, VARIABLES, fitting_shapes, like_op, output_weight, parse_domain, parse_twins,
                   twin_arity, twin_ops, valid_fraction)


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
            # the gradient's own array: a layer that writes into it is caught by the purity check;
            # numpy arithmetic on 0-d arrays gives numpy scalars, which a Function may not return
            gxs = backward(self.layer, gy.data)
            return tuple(_array(g) for g in gxs) if isinstance(gxs, tuple) else _array(gxs)

    LayerFunction.__name__ = LayerFunction.__qualname__ = f"{name}Function"
    return LayerFunction


def _array(g):
    return np.asarray(g) if isinstance(g, np.generic) else g


@dataclass
class Target:
    """The function under test: its name in formulas, kind, op-table entries and how to call them.

    One op per output: a function with one output is the op ``name``; one with several outputs is
    ``name`` (their weighted sum, every output's cotangent at once) and ``name_0``, ``name_1``, ...
    (each output alone). ``unsupported`` maps a capability the target lacks ("jvp": forward mode,
    "hvp": second order) to the reason; the properties that need it are ``unsup``, not failures."""

    name: str
    kind: str  # "function", "layer", "torch.autograd.Function", "jax.custom_vjp", "jax.custom_jvp", "callable"
    obj: object
    ops: list  # spec.Op per op name, the first one is ``name``
    calls: dict  # op name -> how the backend calls it
    twin: str  # the twin as the user gave it (or "like OP")
    where: str | None = None  # "module:NAME" for reproducers
    unsupported: dict = dataclasses.field(default_factory=dict)
    sources: dict = dataclasses.field(default_factory=dict)  # op name -> reproducer template
    shapes: dict = dataclasses.field(default_factory=dict)  # fixed argument shapes of an array twin

    @property
    def op(self) -> spec.Op:
        return self.ops[0]

    @property
    def call(self) -> Callable:
        return self.calls[self.name]

    @property
    def first_order_only(self) -> bool:
        return "hvp" in self.unsupported

    def source(self, name: str | None = None) -> str:
        return self.sources[name or self.name]

    def imports(self) -> str:
        lines = []
        if self.kind == "layer":
            lines.append("from trigrad.properties.fuzzing import layer_function")
        if self.where:
            module, _, attr = self.where.rpartition(":")
            top, _, rest = attr.partition(".")
            if module.endswith(".py"):
                folder, file = os.path.split(os.path.abspath(module))
                lines += ["import sys", f"sys.path.insert(0, {folder!r})", f"from {file[:-3]} import {top}"]
            else:
                lines.append(f"from {module} import {top}")
            if attr != self.name:
                lines.append(f"{self.name} = {attr}" if rest != "apply" else f"{self.name} = {top}")
        else:
            lines.append(f"# {self.name}: the fuzzed {self.kind}, defined in your code")
        return "\n".join(lines)


def make_target(obj, backend: Backend, *, sympy: str | list | None = None, like: str | None = None,
                twin: str | None = None, domain=None, shape=None, name: str | None = None, where: str | None = None,
                ulps: float | None = None, params: dict | None = None) -> Target:
    """Everything the fuzzer needs to know about ``obj`` on ``backend``; UsageError when it cannot
    be fuzzed as asked. The twin is one of ``sympy`` (elementwise, in sympy: one twin, or one per
    output, a list or "sin(x), cos(x)"), ``twin`` (array-valued: an expression over the spec table's
    ops, ``properties.fuzzing.array_twin``; ``shape`` fixes its argument shapes, e.g. ["x=2,3"]) or
    ``like`` (a spec op's); ``params``: the target's own parameters (constructor or keyword
    arguments), fixed for the campaign."""
    if sum(t is not None for t in (sympy, like, twin)) != 1:
        raise UsageError("give the twin as exactly one of sympy=EXPR (--sympy), twin=EXPR (--twin) or like=OP (--like)")
    if shape and twin is None:
        raise UsageError("shape (--shape) fixes the shapes of an array twin (--twin) only")
    obj = _unbound_apply(obj)
    base_name = name or getattr(obj, "__name__", None) or type(obj).__name__
    op_name = base_name if base_name not in spec.OPS else f"{base_name}_fuzzed"
    fixed = dict(params or {})
    kind, run, accepts, positional, template, unsupported = _recognise(obj, backend, base_name, fixed)
    shapes = {}
    if twin is not None:
        tree = parse_array_twin(twin)
        arity = twin_variables(tree)
        shapes = parse_shapes(shape, arity)
        ops = [array_twin_op(op_name, tree, twin, parse_domain(domain, arity), shapes=shapes, ulps=ulps)]
    elif sympy is not None:
        exprs = parse_twins(sympy)
        arity = max(twin_arity(e) for e in exprs)
        ops = twin_ops(op_name, exprs, parse_domain(domain, arity), ulps=spec.ULPS_LIBM if ulps is None else ulps)
    else:
        arity = spec.get(like).arity if like in spec.OPS else 1
        ops = [like_op(op_name, like, parse_domain(domain, arity), accepts=accepts)]
        if ulps is not None:
            ops = [dataclasses.replace(ops[0], ulps=ulps)]
    unknown = [p for p in fixed if not accepts(p)]
    if unknown:
        raise UsageError(f"{base_name} takes no parameter {unknown[0]!r}")
    _check_arity(base_name, positional, ops[0].arity, fixed)

    def call(*xs, **op_params):
        return run(*xs, **{**fixed, **op_params})

    calls, sources = {}, {}
    shown = ", ".join(f"{k}={v!r}".replace("{", "{{").replace("}", "}}") for k, v in fixed.items())
    whole = template(ops[0], shown)
    if len(ops) == 1:
        calls[op_name], sources[op_name] = call, whole
    else:
        n = len(ops) - 1
        weights = [float(output_weight(k)) for k in range(n)]
        calls[op_name] = lambda *xs, **p: _weighted(call(*xs, **p), weights)  # noqa: E731
        sources[op_name] = "(lambda o: " + " + ".join(f"o[{k}] * {w!r}" for k, w in enumerate(weights)) + f")({whole})"
        for k, op in enumerate(ops[1:]):
            calls[op.name] = (lambda k: lambda *xs, **p: call(*xs, **p)[k])(k)
            sources[op.name] = f"{whole}[{k}]"
    target = Target(op_name, kind, obj, ops, calls, _twin_text(sympy, like, twin), where, unsupported, sources,
                    shapes)
    if kind == "callable":  # what a plain callable can do shows only when it runs
        target.unsupported.update(probe_capabilities(target, backend))
    return target


# What frameworks say when a custom function lacks a capability (not when it gets one wrong): a
# plain callable built on such a function cannot do what its parts cannot.
MISSING_CAPABILITY = (
    "You must implement the jvp function for custom autograd.Function",  # torch, no jvp staticmethod
    "must override the setup_context staticmethod",  # torch.func on an old-style Function
    "marked with @once_differentiable",  # torch, second order of a once_differentiable backward
    "can't apply forward-mode autodiff (jvp) to a custom_vjp function",  # jax
)
PROBE_POINTS = 50  # random points tried for one inside the target's domain


def probe_capabilities(target: Target, backend: Backend) -> dict[str, str]:
    """Forward mode and second order of the target alone at one point of its domain: those that
    raise one of the MISSING_CAPABILITY messages, with the message as the reason. Anything else
    (a wrong value, another exception) is left for the campaign to report."""
    op = target.op
    rng = np.random.default_rng(0)
    shapes = fitting_shapes(op, target.shapes)
    for _ in range(PROBE_POINTS):
        args = [np.array(rng.uniform(iv.lo, iv.hi, size=s)) for iv, s in zip(op.draw, shapes)]
        if op.accepts(args, op.defaults()):
            break
    else:
        return {}
    fn = target.call
    out = {}
    for what, run in (("jvp", lambda xs: backend.jvp(fn, xs, args)),
                      ("hvp", lambda xs: backend.hvp(fn, xs, np.ones(op.out_shape(shapes, op.defaults())), args))):
        if not backend.capable(what):
            continue
        try:
            with CLOCK.limit(DEFAULT_TIMEOUT), np.errstate(all="ignore"):
                run([backend.asarray(a) for a in args])
        except Exception as e:  # noqa: BLE001 - only the known messages count
            text = str(e.__cause__ or e)
            known = next((m for m in MISSING_CAPABILITY if m in text), None)
            if known is not None:
                out[what] = f"{'no forward mode' if what == 'jvp' else 'first order only'}: {text.splitlines()[0]}"
    return out


def _twin_text(sympy, like, twin) -> str:
    if like is not None:
        return f"like {like}"
    if twin is not None:
        return twin
    return sympy if isinstance(sympy, str) else ", ".join(sympy)


def _weighted(outputs, weights):
    if not isinstance(outputs, (tuple, list)) or len(outputs) != len(weights):
        n = len(outputs) if isinstance(outputs, (tuple, list)) else 1
        raise UserCodeError(f"the function returned {n} output(s), the twin has {len(weights)}")
    total = outputs[0] * weights[0]
    for y, w in zip(outputs[1:], weights[1:]):
        total = total + y * w
    return total


def _unbound_apply(obj):
    """``MyFn.apply`` of a torch.autograd.Function names the class."""
    owner = getattr(obj, "__self__", None)
    torch = sys.modules.get("torch")
    if (torch is not None and getattr(obj, "__name__", None) == "apply" and isinstance(owner, type)
            and issubclass(owner, torch.autograd.Function)):
        return owner
    return obj


def _signature(fn, skip: int = 0):
    """The parameters of ``fn`` after the first ``skip``; None when it has no signature."""
    try:
        return list(inspect.signature(fn).parameters.values())[skip:]
    except (TypeError, ValueError):  # builtins and ufuncs may have no signature
        return None


def _accepting(parameters):
    """A predicate: whether a function with these parameters takes a keyword argument NAME."""
    if parameters is None or any(p.kind is p.VAR_KEYWORD for p in parameters):
        return lambda name: True
    names = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return lambda name: name in names


def _recognise(obj, backend, name, fixed):
    """What ``obj`` is and how it runs: (kind, run(*xs, **params), accepts(param name), its positional
    parameters (None: unknown), template(op, fixed params as source) for reproducers, unsupported)."""
    fn_base = _function_base(backend.name)
    torch, jax = sys.modules.get("torch"), sys.modules.get("jax")
    if isinstance(obj, type) and torch is not None and issubclass(obj, torch.autograd.Function):
        if not backend.name.startswith("torch"):
            raise UsageError(f"{name} is a torch.autograd.Function; fuzz it with --backend torch")
        return _torch_function(obj, backend, name, fixed)
    if jax is not None and isinstance(obj, (jax.custom_vjp, jax.custom_jvp)):
        if not backend.name.startswith("jax"):
            raise UsageError(f"{name} is a {type(obj).__name__} function of JAX; fuzz it with --backend jax")
        kind = f"jax.{type(obj).__name__}"
        unsupported = {}
        if isinstance(obj, jax.custom_vjp):
            unsupported = {"jvp": "no forward mode: a jax.custom_vjp function has only a reverse rule"}
        run, positional, template = _callable(obj, backend, name)
        return kind, run, _accepting(_signature(obj.fun)), _signature(obj.fun), template, unsupported
    if isinstance(obj, type):
        if fn_base is not None and issubclass(obj, fn_base):
            wrapped = guarded_function(obj)
            return ("function", lambda *xs, **params: wrapped(**params)(*xs), _accepting(_signature(obj)),
                    _signature(obj.forward, 1), _class_template(name), {})
        if callable(getattr(obj, "forward", None)) and callable(getattr(obj, "backward", None)):
            if fn_base is None:
                raise UsageError(f"{name} is a layer class (forward/backward); layers run on the backends "
                                 f"with DeZero's API (builtin, dezero), not {backend.name}")
            if any(issubclass(obj, b) for b in _other_function_bases(backend)):
                raise UsageError(f"{name} is a Function of another library than {backend.name}'s; "
                                 f"choose the backend it belongs to with --backend")
            layer_fn = layer_function(obj, fn_base)
            return ("layer", lambda *xs, **params: layer_fn(**params)(*xs), _accepting(_signature(obj)),
                    _signature(obj.forward, 1), _class_template(f"layer_function({name})"),
                    dict.fromkeys(("jvp", "hvp"), _LAYER_FIRST_ORDER))
        raise UsageError(f"{name} is a class but neither a Function subclass of {backend.name}, a "
                         f"torch.autograd.Function, nor a layer with forward and backward methods")
    if callable(obj):
        run, positional, template = _callable(obj, backend, name)
        return "callable", run, _accepting(positional), positional, template, {}
    raise UsageError(f"{name} is a {type(obj).__name__}, not a Function class, a layer class or a callable")


# A book-1 layer's backward works on arrays, outside the graph: it cannot be differentiated again, and
# the core's (and DeZero's) forward mode is the derivative of the backward with respect to its cotangent.
_LAYER_FIRST_ORDER = "first order only: a book-1 layer's backward works on arrays (and forward mode here differentiates it)"


def _class_template(constructor):
    def template(op, shown):
        args = ", ".join("{%d}" % j for j in range(op.arity))
        params = ", ".join([shown] * bool(shown) + [f"{p.name}={{{p.name}}}" for p in op.params])
        return f"{constructor}({params})({args})"
    return template


def _callable(obj, backend, name):
    """A plain callable of the backend (or a jax.custom_vjp / custom_jvp function)."""
    wrapped = guarded(name, obj)

    def run(*xs, **params):
        # constant arguments arrive as floats: give the callable the backend's own values
        return wrapped(*[backend.asarray(np.asarray(a, dtype=float)) if isinstance(a, float) else a for a in xs],
                       **params)

    def template(op, shown):
        args = ", ".join("{%d}" % j for j in range(op.arity))
        params = ", ".join([shown] * bool(shown) + [f"{p.name}={{{p.name}}}" for p in op.params])
        return f"{name}({args}{', ' + params if params else ''})"

    return run, _signature(obj), template


def _torch_function(cls, backend, name, fixed):
    """A torch.autograd.Function subclass: run with ``cls.apply``, its parameters (a dim, an eps)
    passed by position after the tensors, as ``apply`` takes them."""
    autograd_ = sys.modules["torch"].autograd  # loaded: cls subclasses its Function
    base, once_differentiable = autograd_.Function, autograd_.function.once_differentiable
    new_style = cls.setup_context is not base.setup_context
    parameters = _signature(cls.forward, 0 if new_style else 1)
    unsupported = {}
    if not new_style:
        unsupported["jvp"] = ("no forward mode: old-style forward(ctx, ...) without setup_context "
                              "(torch.func.jvp needs forward(...) + setup_context and a jvp staticmethod)")
    elif cls.jvp is base.jvp:
        unsupported["jvp"] = "no forward mode: no jvp staticmethod"
    marker = once_differentiable(lambda ctx: None).__code__
    if getattr(cls.backward, "__code__", None) is marker:
        unsupported["hvp"] = "first order only: backward is @once_differentiable"
    apply = guarded(name, cls.apply)

    def arguments(xs, params):
        names = [p.name for p in parameters or ()][len(xs):]
        out = list(xs)
        for n in names:
            if n in params:
                out.append(params[n])
            else:
                break
        given = set(params) - set(names[:len(out) - len(xs)])
        if given:
            raise UsageError(f"{name}.forward: the parameter {sorted(given)[0]!r} follows one without a value; "
                             f"give it with --param")
        return out

    def run(*xs, **params):
        xs = [backend.asarray(np.asarray(a, dtype=float)) if isinstance(a, float) else a for a in xs]
        return apply(*arguments(xs, params))

    def template(op, shown):
        args = ["{%d}" % j for j in range(op.arity)]
        names = [p.name for p in parameters or ()][op.arity:]
        drawn = {p.name for p in op.params}
        extra = [repr(fixed[n]).replace("{", "{{").replace("}", "}}") if n in fixed else "{%s}" % n
                 for n in names if n in fixed or n in drawn]
        return f"{name}.apply({', '.join(args + extra)})"

    return "torch.autograd.Function", run, _accepting(parameters), parameters, template, unsupported


def _other_function_bases(backend):
    """The Function classes of the other libraries with DeZero's API, where already imported (a
    class that subclasses one was defined with its library loaded)."""
    modules = {"builtin": "trigrad.autograd", "dezero": "dezero"}
    return [sys.modules[m].Function for name, m in modules.items() if name != backend.name and m in sys.modules]


def _check_arity(name, parameters, arity, fixed):
    """UsageError when the function cannot take ``arity`` arguments (besides its ``fixed`` parameters)."""
    if parameters is None or any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in fixed]
    required = [p for p in positional if p.default is p.empty]
    if not len(required) <= arity <= len(positional):
        raise UsageError(f"arity mismatch: {name} takes {len(required)} argument(s), the twin {arity} "
                         f"({', '.join(VARIABLES[:arity])})")


class FuzzBackend(Backend):
    """``base`` with the function under test as one more op."""

    def __init__(self, base: Backend, target: Target):
        self.base, self.target = base, target
        self.name, self.version, self.dtype = base.name, base.version, base.dtype
        self.ops = frozenset(base.ops) | set(target.calls)
        self.complex_ops = frozenset(base.complex_ops)  # the new function is not assumed to take complex input
        self.constant_args = dict(base.constant_args)
        self.known_differences = known.path_for(base)  # its differences in other ops stay masked
        self.preamble = base.preamble + "\n" + target.imports()
        self.fork_safe = getattr(base, "fork_safe", True)
        self.recipe = None  # the campaign's, when it has one (fuzzing.workers.Job)

    def asarray(self, x):
        return self.base.asarray(x)

    def tonumpy(self, v):
        return self.base.tonumpy(v)

    def op(self, name):
        return self.target.calls[name] if name in self.target.calls else self.base.op(name)

    def vjp(self, fn, xs, cotangent):
        return self.base.vjp(fn, xs, cotangent)

    def jvp(self, fn, xs, tangents):
        return self.base.jvp(fn, xs, tangents)

    def hvp(self, fn, xs, cotangent, tangents):
        return self.base.hvp(fn, xs, cotangent, tangents)

    def capable(self, what):
        return self.base.capable(what) and what not in self.target.unsupported

    def source(self, name):
        return self.target.source(name) if name in self.target.calls else self.base.source(name)

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
    fraction = valid_fraction(target.op, shapes=target.shapes)
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


def load_target(text: str, base: Backend, *, sympy: str | list | None = None, like: str | None = None,
                twin: str | None = None, domain=None, shape=None, ulps: float | None = None,
                params: dict | None = None) -> Target:
    """The target named ``MODULE:NAME`` (or ``path/to/file.py:NAME``) on ``base``, as ``trigrad fuzz``
    names it, checked to be fuzzable (UsageError otherwise). MODULE is also looked for in the current
    folder, as ``pytest`` and ``python -m`` do; NAME may be dotted (``MyFn.apply``)."""
    module_name, sep, attr = text.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"expected MODULE:NAME (or path/to/file.py:NAME), got {text!r}")
    try:
        module = import_here(module_name)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - ImportError, or the module failing (or exiting) as it loads
        raise UsageError(f"cannot import {module_name!r}: {type(e).__name__}: {e}") from None
    obj = module
    parts = attr.split(".")
    for part in parts:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{module_name!r} has no {attr!r}") from None
    name = parts[-2] if len(parts) > 1 and _unbound_apply(obj) is not obj else parts[-1]
    target = make_target(obj, base, sympy=sympy, like=like, twin=twin, domain=domain, shape=shape, name=name,
                         where=text, ulps=ulps, params=params)
    valid_or_fail(target)
    return target


def import_here(module_name: str):
    """``_import(module_name)``, with the current folder on the path when the module is not found
    elsewhere (a console script, unlike ``python``, does not put it there)."""
    try:
        return _import(module_name)
    except ModuleNotFoundError as e:
        here = os.getcwd()
        if module_name.endswith(".py") or e.name != module_name.split(".")[0] or here in sys.path:
            raise
    sys.path.insert(0, here)
    return _import(module_name)


def unsupported_for(backend: FuzzBackend) -> dict[str, str]:
    """The suite's properties the function cannot take part in, with the reason (``unsup``)."""
    out = {}
    for p, prop in suite.PROPERTIES.items():
        if prop.needs and backend.base.capable(prop.needs) and prop.needs in backend.target.unsupported:
            out[p] = backend.target.unsupported[prop.needs]
    return out


__all__ = ["Target", "make_target", "load_target", "valid_or_fail", "where_defined", "guarded_function",
           "layer_function", "FuzzBackend", "properties_for", "unsupported_for", "import_here"]
