"""Backend adapters: how trigrad talks to an autograd library.

An adapter is one small class (see ``Backend``): it turns numpy arrays into the library's values and
back, looks up an op of the spec table by name (or says it is unsupported), and computes a value and
its vector-Jacobian product for a cotangent; optionally forward mode (JVP) and second order (HVP).
Everything else (drawing compositions, the oracles, verdicts, reports) is trigrad's.

Backends are named ``builtin``, ``torch``, ``jax``, ``dezero``, ``hips`` (HIPS autograd), ``mygrad``,
``tinygrad``, ``chainer``, ``tensorflow``, ``paddle``, ``mlx``, or ``package.module:object`` for a
user's adapter (a Backend instance, or a class or factory that returns one).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import operator
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from trigrad.oracle import spec

from ..environment import BACKEND as ENV_VAR
from . import _trial_import

BUILTIN_NAMES = ("builtin", "torch", "jax", "dezero", "hips", "mygrad", "tinygrad", "chainer", "tensorflow", "paddle", "mlx")


# The ops written as Python operators (spec Notation.operator), which every array library overloads.
OPERATORS = {name: op.notation.operator for name, op in spec.OPS.items() if op.notation.operator is not None}


@dataclass(frozen=True)
class Row:
    """One spec op in an adapter's table (see ``OpTable``): how the library computes it and how a
    reproducer snippet writes it.

    call: the op on the library's values, ``call(*args, **params)`` with the spec's params by name;
        or a string, the dotted name of a library function that takes them as they are (``"jnp.sum"``),
        looked up in the table's namespace.
    source: the snippet's format string (as ``Backend.source`` returns); None: a call of the dotted
        name when ``call`` is one, else the spec's notation.
    complex: the library's forward takes complex input correctly (``Backend.complex_ops``).
    constant: argument positions the library takes as constants only (``Backend.constant_args``).
    missing: "jvp" or "hvp" -> the reason the library has no forward-mode or second-order rule for
        this op (``Backend.missing_rules``).
    """

    call: Callable | str
    source: str | None = None
    complex: bool = False
    constant: tuple[int, ...] = ()
    missing: Mapping[str, str] = field(default_factory=dict, hash=False)


class OpTable:
    """An adapter's ops: spec op name -> Row, or None where the library has no such op (unsupported,
    never a failure). ``namespace`` maps the first part of dotted names to modules, as the snippets'
    preamble names them (``{"torch": torch}``); ``prefix`` goes before the spec's calls in snippets
    (``"F."``: the library's functions are those of the spec, in module F)."""

    def __init__(self, rows: dict[str, Row | None], namespace: dict | None = None, prefix: str = ""):
        self.rows = {name: row for name, row in rows.items() if row is not None}
        self.calls = {name: _function(row.call, namespace or {}) if isinstance(row.call, str) else row.call
                      for name, row in self.rows.items()}
        self.ops = frozenset(self.rows)
        self.complex_ops = frozenset(name for name, row in self.rows.items() if row.complex)
        self.constant_args = {name: row.constant for name, row in self.rows.items() if row.constant}
        self.missing_rules: dict[str, dict[str, str]] = {}
        for name, row in self.rows.items():
            for what, reason in row.missing.items():
                self.missing_rules.setdefault(what, {})[name] = reason
        self.prefix = prefix

    def source(self, name: str) -> str:
        """How a snippet writes op ``name`` (see ``Backend.source``): its row's source, a call of its
        row's dotted name, or the spec's notation (a call after ``prefix``)."""
        row, op = self.rows.get(name), spec.get(name)
        if row is not None and row.source is not None:
            return row.source
        if row is not None and isinstance(row.call, str):
            return op.call_source(row.call)
        return op.source() if op.notation.template is not None else self.prefix + op.source()


def _function(dotted: str, namespace: dict) -> Callable:
    head, _, rest = dotted.partition(".")
    return operator.attrgetter(rest)(namespace[head]) if rest else namespace[head]


def dezero_api_hvp_source(variable: str, functions: str, out, inputs, cotangent, tangents, body) -> str:
    """``hvp_source`` for libraries with DeZero's API (``y.grad = Variable(...)``,
    ``backward(create_graph=True)``, ``cleargrad``): the built-in core and DeZero."""
    lines = body + [f"{out}.grad = {variable}({cotangent})", f"{out}.backward(create_graph=True)",
                    f"inner = sum({functions}.sum(x.grad * np.asarray(t)) for x, t in zip([{', '.join(inputs)}], "
                    f"[{', '.join(tangents)}]) if x.grad is not None)"]
    lines += [f"{x}.cleargrad()" for x in inputs] + ["inner.backward()"]
    lines += [f"print('second order wrt {x}:', {x}.grad.data if {x}.grad is not None else 0.0)" for x in inputs]
    return "\n".join(lines)


def function_source(out: str, args: str, body: list[str]) -> list[str]:
    """A snippet's composition as a function ``f`` of its inputs, for libraries that differentiate
    functions (JAX, HIPS autograd)."""
    return ["# the composition as a function of its inputs", f"def f({args}):", *[f"    {line}" for line in body],
            f"    return {out}", ""]


def missing_rules(backend, what: str) -> dict[str, str]:
    """The ops ``backend`` has no ``what`` ("jvp" or "hvp") rule for, with the reasons: its
    ``missing_rules`` declaration, else its op table's (``Row.missing``), see ``Backend``; none when
    it declares none."""
    declared = getattr(backend, "missing_rules", None)
    if declared is None:
        declared = getattr(getattr(backend, "table", None), "missing_rules", None)
    return (declared or {}).get(what, {})


class Unsupported(Exception):
    """The backend has no such op or capability; reported as "unsupported", never as a failure."""


class BackendError(ValueError):
    """A backend name that cannot be resolved, with a one-line message that says how to fix it."""


class Backend:
    """The adapter protocol. Subclass it and override what your library does.

    Required:
        name, version: shown in reports.
        ops: the spec op names the library implements (see ``oracle.spec.OPS``).
        asarray(x): numpy float64 array -> the library's value (a leaf it can differentiate).
        tonumpy(v): the library's value -> numpy array.
        op(name): a callable ``f(*args, **params)`` on library values implementing spec op ``name``
            (constant arguments arrive as Python floats; params always include the op's defaults,
            e.g. ``sum(x, axis=None, keepdims=False)``); raise ``Unsupported`` if there is none.
        vjp(fn, xs, cotangent): (value, gradients): run ``fn(*xs)`` on library values and return its
            output and the gradient of sum(cotangent * output) for each of ``xs``, all as numpy arrays.

    Optional (raise ``Unsupported``, the default, when the library cannot):
        jvp(fn, xs, tangents): (value, directional derivative along ``tangents``).
        hvp(fn, xs, cotangent, tangents): the derivative along ``tangents`` of the gradients of
            sum(cotangent * fn(*xs)), one array per input (a Hessian-vector product).

    Declarations:
        dtype: the floating type the library computes in (float64 unless it says otherwise); the
            error bounds scale with its unit roundoff, so a correct float32 library passes too.
        complex_ops: ops whose forward accepts complex input correctly (enables the complex step in
            the numeric oracle, for analytic compositions of these ops only).
        constant_args: op -> argument positions that must be constants (DeZero's pow takes a
            constant exponent only); compositions draw those arguments as constants.
        missing_rules: "jvp" or "hvp" -> {op: reason}: ops the library computes but cannot
            differentiate in forward mode or to second order (it has no such rule for them); the
            cells of the properties that need it are unsupported with the reason, and the other
            cells of those properties leave the ops out of their compositions. Read through
            ``missing_rules(backend, what)`` (a wrapper of the adapter passes the adapter's on). An
            adapter with an op table (``self.table``, an ``OpTable``) declares them in the ops' rows
            instead (``Row(..., missing={"jvp": reason})``), so that each op is named once.
        known_differences: path of the known-differences file (default properties/known/<name>.txt).
        fork_safe: whether a process forked from one that has used the library can go on using it
            (JAX cannot: XLA's threads hold locks that a fork copies, so a forked worker hangs in its
            compiler). A backend that is not is supervised in a fresh interpreter made from its
            ``recipe``; without one it runs in trigrad's process, unsupervised.
        recipe: a picklable zero-argument callable that makes this backend again in a fresh
            interpreter (``resolve`` sets ``functools.partial(resolve, name)``); None: it cannot be.
        source(name): how op ``name`` is written in a reproducer snippet: a format string with the
            arguments as {0}, {1} and the params by name, e.g. ``"F.sum({0}, axis={axis})"``.
        preamble: the lines a reproducer snippet starts with (imports).
        leaf_source(array): the snippet's source for an input leaf made from numpy source ``array``.
        vjp_source(out, inputs, cotangent, body): the snippet's lines that run ``body`` (one
            assignment per node, the last one to ``out``) and print the value of ``out`` and the
            gradients of sum(cotangent * out) for the named inputs.
        hvp_source(out, inputs, cotangent, tangents, body): the same for second order: print the
            derivative along ``tangents`` (one source per input) of those gradients (default: the
            VJP snippet and a note).
    """

    name = "backend"
    version = "unknown"
    ops: frozenset = frozenset()
    dtype = np.dtype(np.float64)
    complex_ops: frozenset = frozenset()
    constant_args: dict = {}
    known_differences: str | None = None
    fork_safe = True
    recipe = None
    preamble = "import numpy as np"

    # --- required ---------------------------------------------------------------------------------
    def asarray(self, x: np.ndarray) -> Any:
        raise NotImplementedError

    def tonumpy(self, v) -> np.ndarray:
        raise NotImplementedError

    def op(self, name: str) -> Callable:
        raise Unsupported(f"{self.name} has no op {name!r}")

    def vjp(self, fn: Callable, xs: Sequence, cotangent: np.ndarray):
        raise NotImplementedError

    # --- optional ---------------------------------------------------------------------------------
    def jvp(self, fn: Callable, xs: Sequence, tangents: Sequence[np.ndarray]):
        raise Unsupported(f"{self.name} has no forward mode")

    def hvp(self, fn: Callable, xs: Sequence, cotangent: np.ndarray, tangents: Sequence[np.ndarray]):
        raise Unsupported(f"{self.name} has no second order")

    def source(self, name: str) -> str:
        table = getattr(self, "table", None)  # an adapter's OpTable, which knows its rows' sources
        return table.source(name) if table is not None else spec.get(name).source()

    def leaf_source(self, array: str) -> str:
        return array

    def vjp_source(self, out: str, inputs: list[str], cotangent: str, body: list[str]) -> str:
        return "\n".join(body) + (f"\nprint('value:', {out})\n"
                f"# the gradient of sum({cotangent} * {out}) wrt {', '.join(inputs)}: use your library's reverse mode")

    def hvp_source(self, out: str, inputs: list[str], cotangent: str, tangents: list[str], body: list[str]) -> str:
        return (self.vjp_source(out, inputs, cotangent, body) + "\n# second order: differentiate "
                f"the sum over inputs of <gradient, tangent> again, tangents {', '.join(tangents)}")

    # --- derived ----------------------------------------------------------------------------------
    @property
    def unit_roundoff(self) -> float:
        """u for the error bounds: 2**-53 for float64, 2**-24 for float32."""
        return float(np.finfo(self.dtype).eps) / 2

    def supports(self, op: str) -> bool:
        return op in self.ops

    def capable(self, what: str) -> bool:
        """Whether the adapter overrides the optional ``jvp`` or ``hvp``."""
        return getattr(type(self), what) is not getattr(Backend, what)

    def forward(self, comp, values: dict[str, np.ndarray]) -> np.ndarray:
        """Evaluate a composition on numpy inputs, returning numpy: what the numeric oracle differentiates."""
        xs = {k: self.asarray(v) for k, v in values.items()}
        return self.tonumpy(comp.evaluate(xs, self.op))

    def describe(self) -> str:
        return f"{self.name} {self.version} ({np.dtype(self.dtype).name})"

    def run_check(self, prop: str, check: Callable, example, kwargs: dict, oracle=None):
        """Judge one example by property ``prop``: ``check(self, example, oracle=oracle, **kwargs)``
        (``oracle``: the example's shared exact evaluation, see ``checks``). A supervised backend
        (``properties.fuzzing.supervise``) runs it in its worker process instead, which keeps the
        oracle of the example it last judged."""
        return check(self, example, oracle=oracle, **kwargs)

    def close(self):
        """Release what the backend holds while checks run (a supervised backend: its worker)."""


def resolve(name: str | None = None) -> Backend:
    """The backend called ``name`` (default: $TRIGRAD_BACKEND, else builtin).

    ``name`` is one of builtin, torch, jax, dezero, or ``package.module:object`` (or
    ``path/to/file.py:object``) naming a Backend instance, or a class or zero-argument factory
    returning one. Its ``recipe`` (unless it has its own) makes it again by the same name.
    """
    name = name or os.environ.get(ENV_VAR) or "builtin"
    backend = _resolve(name)
    if backend.recipe is None:
        with contextlib.suppress(AttributeError, TypeError):  # an object that takes no attributes: no recipe
            backend.recipe = functools.partial(resolve, name)
    return backend


def _resolve(name: str) -> Backend:
    base, _, options = name.partition("[")
    if base in BUILTIN_NAMES:
        if options and not options.endswith("]"):
            raise BackendError(f"backend options go in brackets: {base}[option,...], not {name!r}")
        try:
            module = importlib.import_module(f".{base}", __name__)
            return module.make(options[:-1]) if options else module.make()
        except ImportError as e:
            raise BackendError(f"backend {base!r} needs a library that is not installed ({e}); "
                               f"pip install 'trigrad[{base}]'") from None
        except ValueError as e:
            raise BackendError(f"backend {name!r}: {e}") from None
    if ":" not in name:
        raise BackendError(f"unknown backend {name!r}; expected {', '.join(BUILTIN_NAMES[:-1])} or "
                           f"{BUILTIN_NAMES[-1]}, or module:object for your own adapter")
    module_name, _, attr = name.rpartition(":")
    try:
        module = _import(module_name)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - ImportError, or the user's module failing (or exiting) as it loads
        raise BackendError(f"cannot import {module_name!r} for backend {name!r}: {type(e).__name__}: {e}") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise BackendError(f"module {module_name!r} has no attribute {attr!r} (backend {name!r})") from None
    if isinstance(obj, type) and not issubclass(obj, Backend):
        raise BackendError(f"{name!r} is the class {obj.__name__}, not a properties.backends.Backend")
    try:
        backend = obj() if isinstance(obj, type) or (callable(obj) and not isinstance(obj, Backend)) else obj
    except Exception as e:  # noqa: BLE001 - the user's constructor failing
        raise BackendError(f"making the backend {name!r} failed: {type(e).__name__}: {e}") from None
    if not isinstance(backend, Backend):
        raise BackendError(f"{name!r} is a {type(backend).__name__}, not a properties.backends.Backend")
    return backend


def parse_options(text: str, known: dict) -> dict:
    """Bracket options (``cuda,float32``) -> keyword arguments, through ``known``: option -> (key, value)."""
    out = {}
    for word in filter(None, (w.strip() for w in text.split(","))):
        if word not in known:
            raise ValueError(f"unknown option {word!r}; expected some of {', '.join(known)}")
        key, value = known[word]
        out[key] = value
    return out


def _import(module_name: str):
    """A module by dotted name, or by file path when it ends with .py (path/to/adapter.py). A module not
    imported yet is first imported in a forked child (``_trial_import``): one that ends the process as
    it loads is an ImportError saying how, not trigrad ending."""
    loaded = module_name in sys.modules if not module_name.endswith(".py") else _loaded_file(module_name)
    if not loaded:
        ended = _trial_import.trial(lambda: _load(module_name))
        if ended is not None:
            how, printed = ended
            raise ImportError(f"the module {how} as it was imported (in a trial import in a child process)"
                              + (f"; its last output: {printed}" if printed else ""))
    return _load(module_name)


def _loaded_file(module_name: str) -> bool:
    path = os.path.abspath(module_name)
    name = os.path.splitext(os.path.basename(path))[0]
    return name in sys.modules and getattr(sys.modules[name], "__file__", None) == path


def _load(module_name: str):
    if not module_name.endswith(".py"):
        return importlib.import_module(module_name)
    path = os.path.abspath(module_name)
    if not os.path.exists(path):
        raise ImportError(f"no file {path}")
    name = os.path.splitext(os.path.basename(path))[0]
    if _loaded_file(path):
        return sys.modules[name]
    loader = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(loader)
    sys.modules[name] = module  # as an import would: its classes must find their module
    loader.loader.exec_module(module)
    return module


__all__ = ["Backend", "Unsupported", "OPERATORS", "Row", "OpTable", "dezero_api_hvp_source", "function_source", "missing_rules", "BackendError", "resolve", "parse_options", "BUILTIN_NAMES", "ENV_VAR"]
