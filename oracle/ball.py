"""Ball arithmetic for the symbolic oracle: python-flint's ``arb`` (Arb, in C), when it is installed.

An ``arb`` is a midpoint and a radius, and every operation returns a ball proven to contain the exact
result of the exact operation on any points of its arguments' balls. The oracle's compiled local
derivatives (sympy's ``lambdify`` code, written for mpmath) run unchanged on balls through
``namespace``, which maps the names that code calls to Arb's functions; the result of a whole pass
along the DAG is then an enclosure of the exact value, and its radius says how much is known.

``python-flint`` is a core dependency; without it (an environment that cannot install it) the oracle
falls back to mpmath at two precisions (``symbolic.PRECISIONS``), which estimates its own error instead
of bounding it. ``AVAILABLE`` says which one runs.
"""

from __future__ import annotations

import builtins
import math
import types

try:
    from flint import arb, ctx
except ImportError:  # pragma: no cover - exercised in environments without python-flint
    arb = ctx = None

AVAILABLE = arb is not None

# Names the compiled code reads as constants: set to balls at the working precision before each call.
CONSTANTS = {"pi": lambda: arb.pi(), "e": lambda: arb.const_e(), "E": lambda: arb.const_e()}


def _ball(x):
    return x if type(x) is arb else arb(x)


def _mpf(x):
    """mpmath's ``mpf`` as lambdify prints it: an int, a decimal string or the (sign, man, exp, bc)
    tuple of a sympy Float, always exact or rounded at the working precision."""
    if isinstance(x, tuple):
        sign, man, exp, _ = x
        return arb(-man if sign else man) * arb(2) ** exp
    return arb(x)


def _ipow(x, n: int):
    """x ** n for an integer n: Arb's own power where the ball excludes 0 (or is exact), else repeated
    multiplication (Arb's power is NaN on a ball that holds 0)."""
    x = _ball(x)
    if x.is_exact() or not x.contains(0):
        return x ** n
    if n < 0:
        return 1 / _ipow(x, -n)
    out = arb(1)
    for _ in range(n):
        out = out * x
    return out


def _sign(x):
    return _ball(x).sgn()


def _dirac_delta(x, k=0):
    # away from its root DiracDelta is 0; a ball that may hold the root is unbounded (never judged)
    x = _ball(x)
    return arb(0) if not x.contains(0) else arb("inf")


def _heaviside(x, h0=0.5):
    # 0 below the root, 1 above, h0 at an exact root; a ball that may hold the root encloses [0, 1]
    # (the pass then raises its precision, or the point is at a kink and is never judged)
    x = _ball(x)
    if x < 0:
        return arb(0)
    if x > 0:
        return arb(1)
    return _ball(h0) if x.is_exact() else arb(0.5, 0.5)


def _method(method):
    return lambda x: method(_ball(x))


# The names lambdify's mpmath code calls (as keywords: they are mpmath's function names) -> Arb's.
namespace = dict(
    mpf=_mpf, ipow=_ipow, sign=_sign, DiracDelta=_dirac_delta, Heaviside=_heaviside, loggamma=_method(arb.lgamma),
    atan2=lambda y, x: arb.atan2(_ball(y), _ball(x)), hypot=lambda x, y: (_ipow(x, 2) + _ipow(y, 2)).sqrt(),
    exp=_method(arb.exp), expm1=_method(arb.expm1), log=_method(arb.log), log1p=_method(arb.log1p),
    sqrt=_method(arb.sqrt), sin=_method(arb.sin), cos=_method(arb.cos), tan=_method(arb.tan),
    sinh=_method(arb.sinh), cosh=_method(arb.cosh), tanh=_method(arb.tanh), asin=_method(arb.asin),
    acos=_method(arb.acos), atan=_method(arb.atan), asinh=_method(arb.asinh), acosh=_method(arb.acosh),
    atanh=_method(arb.atanh), erf=_method(arb.erf), erfc=_method(arb.erfc), gamma=_method(arb.gamma),
    floor=_method(arb.floor), ceil=_method(arb.ceil),
) if AVAILABLE else {}


def rebind(fn):
    """The compiled mpmath function ``fn`` with its names bound to Arb's instead, or None when its
    code calls something Arb lacks here (the oracle then keeps mpmath)."""
    if not AVAILABLE:
        return None
    names = set(fn.__code__.co_names)
    g = dict(fn.__globals__)
    for name in names & g.keys():
        if name in namespace:
            g[name] = namespace[name]
        elif name in CONSTANTS:
            continue
        elif name != "builtins" and not hasattr(builtins, name):  # Python's abs, max, min work on balls
            return None
    rebound = types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__)
    rebound.constants = tuple(n for n in names if n in CONSTANTS)
    return rebound


def call(fn, args) -> list:
    """Run a rebound function at the working precision (its constants rounded to it); every result a
    ball (the code returns plain ints for constant derivatives)."""
    if fn.constants:
        for name in fn.constants:
            fn.__globals__[name] = CONSTANTS[name]()
    return [v if type(v) is arb else arb(v) for v in fn(*args)]


def workprec(bits: int):
    """Context manager: Arb's working precision in bits."""
    return ctx.workprec(bits)


def radius(x) -> float:
    """An upper bound on the radius of ball ``x``, as a float (inf for a non-finite ball)."""
    if not x.is_finite():
        return math.inf
    r = float(x.rad())
    return math.nextafter(r, math.inf) if r > 0 else r


def decided(x) -> bool:
    """Every point of ball ``x`` rounds to the same float64 (round to nearest): the correctly rounded
    exact value is known. Run at a working precision above 53 bits: Arb rounds the ball's bounds
    outward at the working precision."""
    if not x.is_finite():
        return False
    if x.is_exact():
        return True
    return float(x.lower()) == float(x.upper())


def value(x) -> float:
    """The float64 the oracle reports for ball ``x``: the correctly rounded value when the ball decides
    it, else 0 when the ball holds 0 (an exact 0 reached by cancellation is [0 +/- r]), else the float
    nearest its midpoint."""
    if not decided(x) and x.contains(0):
        return 0.0
    return float(x)


def enclosure(x) -> tuple[float, float]:
    """Floats ``lo <= hi`` with the ball ``x`` inside [lo, hi] (rounded outward; as ``decided``, run
    at a working precision above 53 bits for the tightest floats)."""
    if not x.is_finite():
        return -math.inf, math.inf
    lo, hi = x.lower(), x.upper()
    flo, fhi = float(lo), float(hi)
    if arb(flo) > lo:
        flo = math.nextafter(flo, -math.inf)
    if arb(fhi) < hi:
        fhi = math.nextafter(fhi, math.inf)
    return flo, fhi


__all__ = ["AVAILABLE", "namespace", "rebind", "call", "workprec", "radius", "decided", "value", "enclosure"]
