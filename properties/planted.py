"""Bugs planted into the built-in core by editing its source: testing the tester.

A bug is one or more edits of one function's source (the text as it is, the text that replaces it),
compiled in the function's own module namespace and installed in place of the original, the way a
mutation-testing tool does it. ``mutated`` builds the replacement; ``planted`` installs it for the
duration of a ``with`` block. ``CATALOGUE`` is the set of bugs the detection benchmark
(``python -m bench detection``) hunts; trigrad's own tests plant theirs with the same ``mutated``
and check that every catalogue entry still plants. It ships with the package so that both can
import it (the tests never import the benchmarks) and so that a change to the core can be checked
against the same bugs from an installed copy.
"""

from __future__ import annotations

import contextlib
import inspect
import textwrap
from dataclasses import dataclass

import trigrad.autograd as autograd
from trigrad.autograd import core, functions, utils

from .suite import ALL_OPS


def mutated(owner, name: str, edits) -> object:
    """``owner.name`` recompiled with each ``(old, new)`` of ``edits`` applied to its source; each
    ``old`` must occur exactly once."""
    func = inspect.unwrap(getattr(owner, name))
    source = textwrap.dedent(inspect.getsource(func))
    for old, new in edits:
        if source.count(old) != 1:
            raise ValueError(f"the text to mutate is not (once) in {owner.__name__}.{name}: {old!r}")
        source = source.replace(old, new)
    namespace = {}
    exec(compile(source, f"<planted {owner.__name__}.{name}>", "exec"), func.__globals__, namespace)
    return namespace[name]


@dataclass(frozen=True)
class Bug:
    """One planted bug: ``edits`` to ``owner.method``; ``rows`` of the conformance table to hunt in
    (the op it breaks, then the mixed row); ``kind`` groups the catalogue; ``relative`` is the
    relative size of a wrong factor (None for other bugs)."""

    name: str
    kind: str
    owner: object
    method: str
    edits: tuple
    rows: tuple
    relative: float | None = None


@contextlib.contextmanager
def planted(bug: Bug):
    """The core with ``bug`` in it, for the duration of the block."""
    original = vars(bug.owner)[bug.method]
    replacement = mutated(bug.owner, bug.method, bug.edits)
    if isinstance(original, staticmethod):
        replacement = staticmethod(replacement)
    # a module-level function is also re-exported by the autograd package (autograd.mean)
    aliases = [autograd] if getattr(autograd, bug.method, None) is original else []
    for owner in [bug.owner] + aliases:
        setattr(owner, bug.method, replacement)
    try:
        yield
    finally:
        for owner in [bug.owner] + aliases:
            setattr(owner, bug.method, original)


def _bug(name, kind, owner, method, edits, rows, relative=None):
    edits = (edits,) if isinstance(edits[0], str) else tuple(edits)
    return Bug(name, kind, owner, method, edits, tuple(rows), relative)


def factor_bug(op: str, relative: float) -> Bug:
    """The backward of ``op`` (exp, sin or mul) off by a factor 1 + relative."""
    owner, old, new = FACTOR_SITES[op]
    return _bug(f"{op} backward off by a factor 1 + {relative:g}", "wrong factor", owner, "backward",
                (old, new.format(f"(1 + {relative!r})")), [op], relative)


# op -> (Function class, a line of its backward, the line with the factor {} in it).
FACTOR_SITES = {
    "exp": (functions.Exp, "return gy * y", "return gy * y * {}"),
    "sin": (functions.Sin, "return gy * cos(x)", "return gy * cos(x) * {}"),
    "mul": (functions.Mul, "return sum_to(gy * x1, x0.shape), sum_to(gy * x0, x1.shape)",
            "return sum_to(gy * x1 * {0}, x0.shape), sum_to(gy * x0 * {0}, x1.shape)"),
}

_S, _A = functions, core
CATALOGUE = [
    # --- wrong rules ---------------------------------------------------------------------------------
    _bug("sin backward with the wrong sign", "wrong rule", _S.Sin, "backward",
         ("return gy * cos(x)", "return -gy * cos(x)"), ["sin"]),
    _bug("cos backward as +sin", "wrong rule", _S.Cos, "backward", ("return gy * -sin(x)", "return gy * sin(x)"),
         ["cos"]),
    _bug("tanh backward as 1 - y instead of 1 - y**2", "wrong rule", _S.Tanh, "backward",
         ("return gy * _sech2(x)", "return gy * (1 - self.outputs[0]())"), ["tanh"]),
    _bug("log backward as gy * x", "wrong rule", _S.Log, "backward", ("return gy / x", "return gy * x"), ["log"]),
    _bug("sigmoid backward as sigmoid'(-x) * 2", "wrong rule", _S.Sigmoid, "backward",
         ("return gy * _sigmoid_grad(x)", "return gy * _sigmoid_grad(x) * 2"), ["sigmoid"]),
    _bug("sqrt backward as gy / y", "wrong rule", _S.Sqrt, "backward", ("return gy / (2 * y)", "return gy / y"),
         ["sqrt"]),
    _bug("div backward wrt the divisor with the wrong sign", "wrong rule", _S.Div, "backward",
         ("gx1 = -(gx0 * y)", "gx1 = gx0 * y"), ["div"]),
    _bug("pow backward wrt the exponent as y * log(x) * x", "wrong rule", _S.Pow, "backward",
         ("gx1 = gy * y * log(x0)", "gx1 = gy * y * log(x0) * x0"), ["pow"]),
    _bug("softmax backward without the - y * sum(y * gy) term", "wrong rule", _S.Softmax, "backward",
         ("return gx - y * sum(gx, axis=self.axis, keepdims=True)", "return gx"), ["softmax"]),
    _bug("logsumexp backward as gy * exp(x)", "wrong rule", _S.LogSumExp, "backward",
         ("return gy * softmax(x, self.axis)", "return gy * exp(x)"), ["logsumexp"]),
    # --- wrong factors, 1e-3 down to 1e-10 relative ---------------------------------------------------
    factor_bug("exp", 1e-3),
    factor_bug("sin", 1e-6),
    factor_bug("exp", 1e-8),
    factor_bug("mul", 1e-10),
    # --- accumulation and ordering --------------------------------------------------------------------
    _bug("gradient overwritten instead of accumulated", "accumulation", _A.Variable, "backward",
         ("memory.claim(x.grad + gx, f, ())", "memory.claim(gx, f, ())"), [ALL_OPS]),
    _bug("no generation ordering", "ordering", _A.Variable, "backward",
         ("heapq.heappush(heap, (-f.generation, next(order), f))", "heapq.heappush(heap, (0, next(order), f))"),
         [ALL_OPS]),
    _bug("gradients accumulated in place into shared memory (no copy on claim)", "accumulation", _A.Variable,
         "backward", [("memory.release(x.grad)", "pass"),
                      ("x.grad = memory.claim(x.grad + gx, f, ())", "x.grad.data += gx.data")], [ALL_OPS]),
    _bug("a function's generation taken from its first input only", "ordering", _A.Function, "__call__",
         ("self.generation = max([x.generation for x in inputs], default=0)",
          "self.generation = inputs[0].generation"), [ALL_OPS]),
    # --- broadcasting and shapes ----------------------------------------------------------------------
    _bug("add without sum_to under broadcasting", "broadcasting", _S.Add, "backward",
         ("return sum_to(gy, x0.shape), sum_to(gy, x1.shape)", "return gy, gy"), ["add"]),
    _bug("sum_to forgets the axes of length one", "broadcasting", utils, "sum_to",
         ("y = x.sum(axis=lead_axes + ones_axes, keepdims=True)", "y = x.sum(axis=lead_axes, keepdims=True)"),
         ["sum_to"]),
    _bug("matmul backward reshapes to the other operand's shape", "shape", _S.MatMul, "backward",
         ("return reshape(ga, a.shape), reshape(gb, b.shape)", "return reshape(ga, b.shape), reshape(gb, a.shape)"),
         ["matmul"]),
    _bug("mean divides by the size of the whole array whatever the axis", "shape", _S, "mean",
         ("return sum(x, axis, keepdims) / count", "return sum(x, axis, keepdims) / x.size"), ["mean"]),
    _bug("max gives every tied entry the whole gradient", "shape", _S, "_extremum_grad",
         ("weights = hits / hits.sum(axis=f.axis, keepdims=True)", "weights = hits"), ["max"]),
    _bug("transpose backward applies the permutation instead of its inverse", "shape", _S.Transpose, "backward",
         ("return transpose(gy, tuple(int(axis) for axis in inverse))", "return transpose(gy, self.axes)"),
         ["transpose"]),
    # --- in-place writes ------------------------------------------------------------------------------
    _bug("relu backward writes zeros into the gradient it is given", "in-place", _S.ReLU, "backward",
         ("return gy * (x.data > 0)", "gy.data[x.data <= 0] = 0\n    return gy"), ["relu"]),
    _bug("exp backward multiplies the upstream gradient in place", "in-place", _S.Exp, "backward",
         ("return gy * y", "gy.data *= y.data\n    return gy"), ["exp"]),
    _bug("abs backward takes the sign in place of its input", "in-place", _S.Abs, "backward",
         ("return gy * np.sign(x.data)", "np.sign(x.data, out=x.data)\n    return gy * x.data"), ["abs"]),
    # --- second order only (first derivatives right) --------------------------------------------------
    _bug("sin backward with cos(x) as a constant (no second derivative)", "second order", _S.Sin, "backward",
         ("return gy * cos(x)", "return gy * np.cos(x.data)"), ["sin"]),
    _bug("mul backward with the operands as constants (no mixed second derivative)", "second order", _S.Mul,
         "backward", ("sum_to(gy * x1, x0.shape), sum_to(gy * x0, x1.shape)",
                      "sum_to(gy * x1.data, x0.shape), sum_to(gy * x0.data, x1.shape)"), ["mul"]),
    _bug("tanh's second derivative with the wrong sign", "second order", _S.Sech2, "backward",
         ("return gy * (-2 * y * tanh(x))", "return gy * (2 * y * tanh(x))"), ["tanh"]),
]

# The sweep of wrong factors for the smallest relative error caught.
SWEEP = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14, 1e-15)
