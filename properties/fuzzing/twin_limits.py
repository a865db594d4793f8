"""What a twin may be before sympy sees it: short, shallow, and without constants that sympy would
evaluate eagerly and at great cost. ``check_twin`` runs once at the entry of the twin's parser
(``twin.parse_twin``) and refuses, in bounded time, with a UsageError that says which limit:

- more than MAX_CHARS characters (a 3,000-term sum crashed Python's parser with a RecursionError);
- an expression nested deeper than MAX_DEPTH (100,000 unary minuses, a 20,000-deep power chain);
- a power of constants whose exponent exceeds MAX_EXPONENT (``10**10**10``: sympy computes the integer);
- a function of a constant larger than MAX_ARGUMENT in magnitude, or of a constant whose size cannot
  be told without sympy (``factorial(10**8)``, ``bell(10**4)``: sympy evaluates them exactly, in C,
  where no time limit can stop it).

``check_interval`` refuses a domain whose width overflows a float (``x=-1e308:1e308``).
"""

from __future__ import annotations

import ast
import math

import sympy

from ..errors import UsageError

MAX_CHARS = 1000  # far above any twin written by hand (sinh(x) is 7; the longest in the docs ~40)
MAX_DEPTH = 100  # nesting of the syntax tree (a sum of n terms is n deep); a twin written by hand stays under 30
MAX_EXPONENT = 1000  # a power of constants: 10**1000 is a 1,000-digit integer, made at once
# A function of a constant: sympy evaluates integer functions (factorial, bell, catalan, harmonic, ...)
# exactly; up to 100 every one of sympy's functions takes under 0.2 s (bell(1000) takes 2.7 s).
MAX_ARGUMENT = 100

# Functions whose value at a constant is estimated (in floats) so that a constant built with them can be
# bounded; a constant made with any other function has no estimate, and may not feed a power or a function.
_ESTIMATES = {f.__name__: estimate for f, estimate in (
    (sympy.sqrt, math.sqrt), (sympy.exp, math.exp), (sympy.log, math.log), (sympy.sin, math.sin),
    (sympy.cos, math.cos), (sympy.tan, math.tan), (sympy.atan, math.atan), (sympy.asin, math.asin),
    (sympy.acos, math.acos), (sympy.sinh, math.sinh), (sympy.cosh, math.cosh), (sympy.tanh, math.tanh),
    (sympy.Abs, abs), (sympy.gamma, math.gamma), (sympy.factorial, lambda n: math.gamma(n + 1)))}
_CONSTANTS = {"pi": math.pi, "E": math.e, "EulerGamma": 0.5772156649015329}
_UNKNOWN = None  # a constant without an estimate
_OPEN = "open"  # not a constant: it depends on a variable (or is not this module's to judge)


def check_twin(text: str, functions) -> ast.Expression:
    """The syntax tree of the twin ``text`` (``^`` read as ``**``), whose calls of ``functions`` (a
    collection of names) are checked; a UsageError when it breaks a limit."""
    if len(text) > MAX_CHARS:
        raise UsageError(f"the twin is {len(text)} characters long; at most {MAX_CHARS} (write it with "
                         "fewer terms, or as a Function of its own)")
    try:  # ^ is a power, right-associative as in sympy's convert_xor (Python's ^ groups from the left)
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as e:
        raise UsageError(f"the twin {_short(text)} does not parse: {e.msg}") from None
    except (RecursionError, MemoryError):
        raise UsageError(f"the twin {_short(text)} is nested too deeply (at most {MAX_DEPTH} levels)") from None
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise UsageError(f"the twin {_short(text)} is nested {depth} levels deep; at most {MAX_DEPTH}")
    _check_constants(tree.body, set(functions), text)
    return tree


def check_interval(lo: float, hi: float, item: str):
    """A UsageError unless [lo, hi] is a finite interval whose width is a finite float."""
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise UsageError(f"domain {item!r} must have finite LO < HI")
    if not math.isfinite(hi - lo):
        raise UsageError(f"domain {item!r} is wider than a float can hold (HI - LO overflows); "
                         "give a narrower one, e.g. x=-1e300:1e300")


def _depth(tree) -> int:
    """The depth of a syntax tree, without recursion."""
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, d = todo.pop()
        deepest = max(deepest, d)
        todo.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _check_constants(node, functions, text: str):
    """Refuse the costly constants below ``node``; its estimated value when it is a constant (a float,
    or _UNKNOWN), else _OPEN. What the twin's parser refuses anyway (other names, attributes,
    strings, ...) is _OPEN here, left for its better message."""
    if isinstance(node, ast.Constant):
        return _float(node.value) if isinstance(node.value, (int, float)) else _OPEN
    if isinstance(node, ast.Name):
        return _CONSTANTS[node.id] if node.id in _CONSTANTS else _OPEN
    if isinstance(node, ast.UnaryOp):
        v = _check_constants(node.operand, functions, text)
        return -v if isinstance(v, float) and isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a = _check_constants(node.left, functions, text)
        b = _check_constants(node.right, functions, text)
        if _OPEN in (a, b):
            return _OPEN
        if isinstance(node.op, ast.Pow) and (b is _UNKNOWN or abs(b) > MAX_EXPONENT):
            raise UsageError(f"the twin {_short(text)} raises a constant to the power {_size(b)}: sympy would "
                             f"compute it exactly (a power of constants takes exponents up to {MAX_EXPONENT})")
        return _arithmetic(node.op, a, b)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
        name = node.func.id
        args = [_check_constants(a, functions, text) for a in node.args]
        for v in args:
            if v is not _OPEN and (v is _UNKNOWN or abs(v) > MAX_ARGUMENT):
                raise UsageError(f"the twin {_short(text)} calls {name} of the constant {_size(v)}: sympy would "
                                 f"evaluate it exactly (functions of constants take arguments up to {MAX_ARGUMENT} "
                                 "in magnitude, each a number or made with arithmetic)")
        return _OPEN if _OPEN in args else _estimate(name, args)
    return _OPEN


def _float(value) -> float | None:
    try:
        return float(value)
    except (OverflowError, TypeError, ValueError):
        return math.inf if isinstance(value, int) else _UNKNOWN


def _arithmetic(op, a, b):
    if a is _UNKNOWN or b is _UNKNOWN:
        return _UNKNOWN
    try:
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            return a / b
        return float(abs(a) ** b)  # a power: its magnitude is what counts
    except (ZeroDivisionError, OverflowError):
        return math.inf
    except (TypeError, ValueError):
        return _UNKNOWN


def _estimate(name: str, args):
    f = _ESTIMATES.get(name)
    if f is None or len(args) != 1:
        return _UNKNOWN
    try:
        return float(f(args[0]))
    except OverflowError:
        return math.inf
    except (TypeError, ValueError):
        return _UNKNOWN


def _size(v) -> str:
    return "whose size sympy alone can tell" if v is _UNKNOWN else f"{v:.3g}"


def _short(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57] + "...")


__all__ = ["check_twin", "check_interval", "MAX_CHARS", "MAX_DEPTH", "MAX_EXPONENT", "MAX_ARGUMENT"]
