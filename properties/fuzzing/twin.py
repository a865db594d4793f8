"""The twin: the mathematics a fuzzed function is judged against, as one more op of the spec table.

A twin is a sympy expression in ``x`` (and ``y``, ``z``), checked to be plain arithmetic and calls of
sympy's functions before sympy parses it (``parse_twin``), or the twin of a spec op (``like_op``).
``twin_op`` makes its spec table entry: elementwise, drawn from ``--domain`` (default -3:3), valid
where the twin is finite, real, not too steep and away from where its derivative jumps.
"""

from __future__ import annotations

import ast
import dataclasses
import math

import numpy as np
import sympy
import sympy.functions
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from trigrad.oracle import spec

from ..errors import UsageError
from .twin_limits import check_interval, check_twin

VARIABLES = ("x", "y", "z")  # a twin's variables, one per argument, in order
DEFAULT_DOMAIN = spec.Interval(-3.0, 3.0)  # per variable, when --domain does not say
# Away from a pole or a branch point the twin's first derivatives stay below this (1 / POLE_MARGIN ** 2:
# as steep as 1/x at POLE_MARGIN, the steepest a spec op is drawn); steeper points are not drawn.
MAX_SLOPE = 1 / spec.POLE_MARGIN ** 2
# A twin that is finite, real and not too steep at less than this fraction of its domain needs --domain.
MIN_VALID_FRACTION = 0.2

_SYMBOLS = {v: sympy.Symbol(v, real=True) for v in VARIABLES}


def _sympy_names() -> dict:
    """What a twin may call: sympy's functions and constants, nothing else."""
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
    tree = check_twin(text, _NAMES)  # short, shallow, no costly constants (twin_limits)
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


def parse_twins(twins) -> list[sympy.Expr]:
    """One twin per output of the function: a list of texts, or one text of several expressions
    separated by commas at the top level (``"sin(x), cos(x)"``); each is checked by ``parse_twin``."""
    if isinstance(twins, (list, tuple)):
        if not twins:
            raise UsageError("give at least one twin")
        return [parse_twin(t) for t in twins]
    try:
        tree = ast.parse(twins.strip(), mode="eval")
    except SyntaxError:
        return [parse_twin(twins)]  # which says why
    if not isinstance(tree.body, ast.Tuple):
        return [parse_twin(twins)]
    return [parse_twin(ast.get_source_segment(twins.strip(), e)) for e in tree.body.elts]


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
        check_interval(a, b, item)
        out[VARIABLES.index(var)] = spec.Interval(a, b)
    return out


def _lambdified(syms, exprs):
    """Float evaluation of sympy expressions on numpy arrays, each result broadcast to the arguments'
    shape (a constant derivative, such as 2 for 2*x, lambdifies to a scalar): numpy where it has the
    functions, else mpmath, element by element (special functions such as besseli or erf)."""
    numpy_fn = sympy.lambdify(syms, exprs, modules="numpy")

    def fast(*args):
        shape = np.broadcast_shapes(*[np.shape(a) for a in args])
        return [np.broadcast_to(v, shape) for v in numpy_fn(*args)]

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


def twin_op(name: str, expr: sympy.Expr, domain: dict[int, spec.Interval], *, ulps: float = spec.ULPS_LIBM,
            arity: int | None = None, siblings: tuple = ()) -> spec.Op:
    """A spec table entry for a function whose twin is ``expr``: elementwise (with broadcasting for
    several arguments), drawn from ``domain`` (default -3:3 per argument), valid where every argument
    lies in its interval, the twin is finite, real and below MAX_MAGNITUDE, its first derivatives are
    below MAX_SLOPE (away from poles), and the arguments of non-smooth functions (Abs, Max, ...) are
    POLE_MARGIN from their jumps. ``arity`` (default: up to its last variable) and ``siblings`` (the
    twins of a function's other outputs, which must be valid at the same points) serve functions
    with several outputs."""
    arity = arity or twin_arity(expr)
    syms = [_SYMBOLS[v] for v in VARIABLES[:arity]]
    intervals = tuple(domain.get(j, DEFAULT_DOMAIN) for j in range(arity))
    guarded_exprs = [expr, *siblings]
    jumps = [j for e in guarded_exprs for j in _jumps(e)]
    n = len(guarded_exprs)
    evaluate = _lambdified(syms, guarded_exprs + [sympy.diff(e, s) for e in guarded_exprs for s in syms] + jumps)

    def reference(*args):
        with np.errstate(all="ignore"):
            return np.real(np.asarray(evaluate(*args)[0], dtype=complex))

    def valid(*args, const=(), **_):
        args = [np.asarray(a, dtype=float) for a in args]
        if any(np.any(a < iv.lo) or np.any(a > iv.hi) for a, iv in zip(args, intervals)):
            return False
        with np.errstate(all="ignore"):
            vals = [np.asarray(v, dtype=complex) for v in evaluate(*args)]
        values, slopes, gaps = vals[:n], vals[n:n + n * arity], vals[n + n * arity:]
        if not all(np.all(np.isfinite(v)) and np.all(np.abs(v.imag) <= 1e-12 * (1 + np.abs(v.real))) for v in values):
            return False
        if not all(np.all(np.isfinite(d)) and np.all(np.abs(d) <= MAX_SLOPE) for d in slopes):
            return False
        return all(np.all(np.abs(g.real) > spec.POLE_MARGIN) for g in gaps)

    def twin(*args):
        return expr.xreplace(dict(zip(syms, args)))

    return spec.Op(name, arity, twin, reference, spec._broadcast if arity > 1 else spec._same_shape, intervals,
                   valid=valid, elementwise=True, analytic=not jumps, pole=True, ulps=ulps,
                   doc=f"{name}, fuzzed against the twin {expr}")


def output_weight(k: int) -> sympy.Rational:
    """The weight of output k in the op that checks a function with several outputs as a whole."""
    return sympy.Rational(1, k + 1)


def twin_ops(name: str, exprs: list, domain: dict[int, spec.Interval], *, ulps: float = spec.ULPS_LIBM) -> list[spec.Op]:
    """The spec table entries of a function with one twin per output: for one output, its op
    ``name``; for several, ``name`` (the outputs' weighted sum, output k weighted ``output_weight(k)``, so
    that one VJP gives every output a cotangent at once) and ``name_0``, ``name_1``, ... (each output
    alone). All take every variable any twin uses, and are valid where every twin is."""
    if len(exprs) == 1:
        return [twin_op(name, exprs[0], domain, ulps=ulps)]
    arity = max(twin_arity(e) for e in exprs)
    whole = sympy.Add(*[output_weight(k) * e for k, e in enumerate(exprs)])
    ops = [twin_op(name, whole, domain, ulps=ulps, arity=arity, siblings=tuple(exprs))]
    return ops + [twin_op(f"{name}_{k}", e, domain, ulps=ulps, arity=arity, siblings=tuple(exprs))
                  for k, e in enumerate(exprs)]


def like_op(name: str, like: str, domain: dict[int, spec.Interval], accepts=lambda param: True) -> spec.Op:
    """A spec table entry that borrows op ``like``'s twin, shapes, params, domain and kinks (the
    domain narrowed to ``domain`` where given). Params the function does not take (``accepts(name)``
    false) are left at their defaults, not drawn: a Softmax without an axis argument is fuzzed as
    softmax over the last axis."""
    try:
        base = spec.get(like)
    except KeyError:
        raise UsageError(f"--like {like!r} is not an op of the spec table; known ops: {', '.join(spec.OPS)}") from None
    op = dataclasses.replace(base, name=name, doc=f"{name}, fuzzed like {like}: {base.doc}",
                             params=tuple(p for p in base.params if accepts(p.name)))
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


def valid_fraction(op: spec.Op, points: int = 400, seed: int = 0, shapes: dict | None = None) -> float:
    """The fraction of random points of the op's draw intervals where it is valid (``shapes``: fixed
    argument shapes, index -> shape)."""
    rng = np.random.default_rng(seed)
    shapes = fitting_shapes(op, shapes or {})
    ok = 0
    for _ in range(points):
        args = [np.array(rng.uniform(iv.lo, iv.hi, size=s)) for iv, s in zip(op.draw, shapes)]
        ok += bool(op.accepts(args, op.defaults()))
    return ok / points


# Argument shapes tried, in order, for an array op's sample points (the first its shape rule takes).
SAMPLE_SHAPES = ((), (3,), (2, 3), (4,), (2, 2), (3, 4), (2, 3, 4))


def fitting_shapes(op: spec.Op, fixed: dict) -> tuple:
    """Argument shapes an op takes: scalars for elementwise ops, else the first of SAMPLE_SHAPES
    (the same for every argument not ``fixed``) that its shape rule accepts."""
    if op.elementwise:
        return ((),) * op.arity
    for s in SAMPLE_SHAPES:
        shapes = tuple(fixed.get(j, s) for j in range(op.arity))
        try:
            op.out_shape(shapes, op.defaults())
            return shapes
        except ValueError:
            continue
    raise UsageError(f"{op.name}: no argument shape among {SAMPLE_SHAPES} fits the twin; fix one with --shape")


__all__ = ["VARIABLES", "DEFAULT_DOMAIN", "MAX_SLOPE", "MIN_VALID_FRACTION", "parse_twin", "parse_twins",
           "twin_arity", "parse_domain", "twin_op", "twin_ops", "output_weight", "like_op", "valid_fraction", "fitting_shapes", "SAMPLE_SHAPES"]
