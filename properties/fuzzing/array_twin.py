"""Array-valued twins: an expression over the spec table's ops, for functions such as a fused layer
norm, a softmax variant or a loss, whose mathematics is a composition of ops the table already has::

    (x - mean(x, axis=-1, keepdims=True)) / sqrt(mean((x - mean(x, axis=-1, keepdims=True))**2, axis=-1, keepdims=True) + 1e-5)

``parse_array_twin`` checks the text as ``parse_twin`` checks a sympy twin (an AST whitelist: numbers,
the variables x, y, z, arithmetic, and calls of spec ops by name with literal keyword params; no code
runs) and turns it into a tree of spec ops. ``array_twin_op`` makes its spec table entry: an array op
whose twin applies each node's own twin (so the symbolic oracle differentiates the exact expression),
whose float forward applies each node's numpy reference, whose shape rule is the nodes' rules in turn
(so strategies draw only argument shapes that fit, or the shapes ``--shape`` fixes), and which is
valid where every node is inside its op's domain with its margins.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

import numpy as np

from trigrad.oracle import spec
from trigrad.oracle.ir import apply_twin

from ..errors import UsageError
from .twin import DEFAULT_DOMAIN, VARIABLES

# Python's operators, as spec ops write them (their Notation templates): the op a twin's operator
# stands for is the one written that way.
BINARY = {ast.Add: "{0} + {1}", ast.Sub: "{0} - {1}", ast.Mult: "{0} * {1}", ast.Div: "{0} / {1}",
          ast.Pow: "{0} ** {1}", ast.MatMult: "{0} @ {1}"}
UNARY = {ast.USub: "-{0}"}


def _written(template: str) -> str:
    """The spec op whose notation is ``template``."""
    return next(name for name, op in spec.OPS.items() if op.notation.template == template)
_LITERAL_NODES = (ast.Constant, ast.Tuple, ast.List, ast.UnaryOp, ast.USub, ast.Load)


@dataclass(frozen=True)
class Node:
    """A node of a parsed array twin: a variable (``op`` None, ``var`` its index), a number (``op``
    None, ``value``), or a spec op applied to ``args`` with ``params``."""

    op: str | None = None
    args: tuple = ()
    params: tuple = ()  # (name, value) pairs
    var: int | None = None
    value: float | None = None

    def nodes(self):
        """This node and every node below it."""
        yield self
        for a in self.args:
            yield from a.nodes()


def parse_array_twin(text: str) -> Node:
    """The tree of spec ops an array twin's text describes (see the module docstring); UsageError
    naming what is not allowed. Nothing in the text is executed."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise UsageError(f"the twin {text!r} does not parse: {e.msg}") from None
    node = _node(text, tree.body)
    if not any(n.var is not None for n in node.nodes()):
        raise UsageError(f"the twin {text!r} does not use any of the variables {', '.join(VARIABLES)}")
    return node


def _node(text, e) -> Node:
    if isinstance(e, ast.Name):
        if e.id not in VARIABLES:
            raise UsageError(f"the twin {text!r} uses {e.id!r}, which is not a variable ({', '.join(VARIABLES)})")
        return Node(var=VARIABLES.index(e.id))
    if isinstance(e, ast.Constant) and isinstance(e.value, (int, float)) and not isinstance(e.value, bool):
        return Node(value=float(e.value))
    if isinstance(e, ast.BinOp) and type(e.op) in BINARY:
        return Node(_written(BINARY[type(e.op)]), (_node(text, e.left), _node(text, e.right)))
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.UAdd):
        return _node(text, e.operand)
    if isinstance(e, ast.UnaryOp) and type(e.op) in UNARY:
        inner = _node(text, e.operand)
        return Node(value=-inner.value) if inner.value is not None else Node(_written(UNARY[type(e.op)]), (inner,))
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Name):
        op = spec.OPS.get(e.func.id)
        if op is None:
            raise UsageError(f"the twin {text!r} calls {e.func.id!r}, which is not an op of the spec table; "
                             f"known ops: {', '.join(spec.OPS)}")
        if len(e.args) != op.arity:
            raise UsageError(f"the twin {text!r}: {op.name} takes {op.arity} argument(s), got {len(e.args)}")
        names = {p.name for p in op.params}
        params = []
        for k in e.keywords:
            if k.arg not in names:
                raise UsageError(f"the twin {text!r}: {op.name} takes params {sorted(names) or 'none'}, not {k.arg!r}")
            params.append((k.arg, _literal(text, k.value)))
        try:
            spec.check_params(op, dict(params))
        except ValueError as err:
            raise UsageError(f"the twin {text!r}: {err}") from None
        return Node(op.name, tuple(_node(text, a) for a in e.args), tuple(params))
    raise UsageError(f"the twin {text!r} may only use numbers, {', '.join(VARIABLES)}, arithmetic and calls of "
                     f"the spec table's ops with literal params (found {type(e).__name__})")


def _literal(text, e):
    """A param's value: a number, a bool, None or a tuple of them, read without running code."""
    if not all(isinstance(n, _LITERAL_NODES) for n in ast.walk(e)):
        raise UsageError(f"the twin {text!r}: a param must be a literal (a number, True/False/None or a tuple)")
    value = ast.literal_eval(e)
    return tuple(value) if isinstance(value, list) else value


def twin_variables(node: Node) -> int:
    """Arguments the twin takes: up to its last variable."""
    return max(n.var for n in node.nodes() if n.var is not None) + 1


def _evaluate(node: Node, args, leaf, apply):
    """The tree evaluated bottom up: ``leaf(value)`` for numbers, ``apply(op, values, params, const)``
    for op nodes (``const`` flags the arguments that are numbers)."""
    if node.var is not None:
        return args[node.var]
    if node.op is None:
        return leaf(node.value)
    values = [_evaluate(a, args, leaf, apply) for a in node.args]
    op = spec.get(node.op)
    return apply(op, values, spec.check_params(op, dict(node.params)), tuple(a.value is not None for a in node.args))


class _Invalid(Exception):
    """A node of the twin is outside its op's domain at these arguments."""


def array_twin_op(name: str, node: Node, text: str, domain: dict[int, spec.Interval], *,
                  shapes: dict[int, tuple] | None = None, ulps: float | None = None) -> spec.Op:
    """The spec table entry of a function whose twin is the tree ``node``: an array op (see the
    module docstring). ``shapes`` fixes argument shapes (index -> shape); ``ulps``, when given,
    replaces the sum of the nodes' rounding allowances."""
    arity = twin_variables(node)
    intervals = tuple(domain.get(j, DEFAULT_DOMAIN) for j in range(arity))
    ops = [spec.get(n.op) for n in node.nodes() if n.op is not None]

    def twin(*arrays):
        return _evaluate(node, [spec._obj(a) for a in arrays], lambda c: spec._obj(spec._rational(c)),
                         lambda op, vs, params, const: apply_twin(op, [spec._obj(v) for v in vs], params))

    def forward(*arrays):
        return np.asarray(_evaluate(node, [np.asarray(a, dtype=float) for a in arrays], np.float64,
                                    lambda op, vs, params, const: np.asarray(op.numpy(*vs, **params), dtype=float)))

    def shape(*arg_shapes):
        for j, s in (shapes or {}).items():
            if j < len(arg_shapes) and tuple(arg_shapes[j]) != tuple(s):
                raise ValueError(f"{name} is fuzzed at {VARIABLES[j]} of shape {s}")
        return _evaluate(node, [tuple(s) for s in arg_shapes], lambda c: (),
                         lambda op, ss, params, const: op.out_shape(ss, params))

    def valid(*args, const=(), **_):
        args = [np.asarray(a, dtype=float) for a in args]
        if any(np.any(a < iv.lo) or np.any(a > iv.hi) for a, iv in zip(args, intervals)):
            return False

        def apply(op, vs, params, const):
            if not op.accepts(vs, params, const=const):
                raise _Invalid()
            out = np.asarray(op.numpy(*vs, **params), dtype=float)
            if not np.all(np.isfinite(out)) or np.any(np.abs(out) > spec.MAX_MAGNITUDE):
                raise _Invalid()
            return out

        try:
            with np.errstate(all="ignore"):
                _evaluate(node, args, np.float64, apply)
        except (_Invalid, ValueError):  # ValueError: shapes the twin does not take
            return False
        return True

    def allowance(arg_shapes, params):
        total = []

        def apply(op, ss, p, const):
            total.append(op.allowance(ss, p))
            return op.out_shape(ss, p)

        _evaluate(node, [tuple(s) for s in arg_shapes], lambda c: (), apply)
        return sum(total)

    return spec.Op(name, arity, twin, forward, shape, intervals, valid=valid, elementwise=False,
                   analytic=all(op.analytic for op in ops), pole=any(op.pole for op in ops),
                   ulps=allowance if ulps is None else ulps, doc=f"{name}, fuzzed against the array twin {text}")


def parse_shapes(items, arity: int) -> dict[int, tuple]:
    """``["x=2,3", "y=3"]`` (or ``["2,3"]`` for x) -> argument index -> shape."""
    out = {}
    for item in items or ():
        var, sep, rest = str(item).rpartition("=")
        var = var.strip() or "x"
        try:
            shape = tuple(int(s) for s in rest.replace("(", "").replace(")", "").split(",") if s.strip())
        except ValueError:
            raise UsageError(f"malformed shape {item!r}; expected VAR=N,M,..., e.g. x=2,3") from None
        if var not in VARIABLES[:arity]:
            raise UsageError(f"shape {item!r} names {var!r}, but the function's arguments are "
                             f"{', '.join(VARIABLES[:arity])}")
        if any(n < 1 for n in shape) or math.prod(shape) > MAX_FIXED_SIZE:
            raise UsageError(f"shape {item!r}: sides must be at least 1, and at most {MAX_FIXED_SIZE} entries in all")
        out[VARIABLES.index(var)] = shape
    return out


# The exact oracle differentiates an array twin entry by entry: past a few dozen entries compiling
# its second derivatives takes minutes.
MAX_FIXED_SIZE = 24


__all__ = ["Node", "parse_array_twin", "array_twin_op", "parse_shapes", "twin_variables", "BINARY", "UNARY",
           "MAX_FIXED_SIZE"]
