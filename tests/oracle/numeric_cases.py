"""The fixed benchmark set of the numeric oracle, with exact answers, and how to measure on it.

`numeric_benchmark_cases()` is a fixed list of 309 (function, point, direction, output weights)
cases from 61 templates, with exact directional derivatives computed by mpmath at 50 significant
digits. Each function is written once over a numpy-like namespace, so the same code runs on float64
arrays (what the numeric oracle differentiates), on complex128 arrays (the complex step) and on
mpmath values (the exact answer, by a complex step of ~1e-45 relative size at 50 digits, cross-checked
at 80 digits). Other seeds draw other points from the same templates (hold-out sets: the oracle's
constants were tuned on the fixed one).

Relative error is |estimate - exact| / max(|exact|, function scale), where the function scale is
sum|v f(x)| over the t-distance in which the inputs change by O(1) (see `_scale`): near a stationary
point no float64 method resolves the derivative better than that. The plain |error| / |exact| median
is reported too.

`accuracy_table(seed)` and `format_table` give the comparison (ours, complex step, textbook eps=1e-4,
torch.autograd.gradcheck's eps=1e-6, numdifftools when installed); tests/oracle/test_numeric.py
asserts the targets on it and `python -m bench accuracy` reports it.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import mpmath
import numpy as np

from trigrad.oracle.numeric import Estimate, directional, second_directional

# Fixed-step central differences to compare against: the textbook step (DeZero's numerical_diff,
# about 4e-9 median relative error) and torch.autograd.gradcheck's default eps.
TEXTBOOK_EPS = 1e-4
GRADCHECK_EPS = 1e-6

# Exact derivatives: working precisions (decimal digits) of the two mpmath evaluations, the size
# of the complex step relative to the direction at each, and how closely they must agree.
EXACT_DPS = (50, 80)
EXACT_STEP_EXPONENT = (-150, -250)  # the step is 2**exponent / max|u|

EXACT_AGREEMENT = 1e-30

# Seed of the benchmark's points and directions (fixed: the set is part of the specification).
BENCHMARK_SEED = 20240603


# --- namespaces: one definition of each function, three kinds of numbers ---------------------------

def _np_log1p(z):
    # numpy's complex log1p loses the real part for tiny |z|; use the exact identity
    # log(1+z) = log1p(a) + log1p((b/(1+a))**2)/2 + i*atan2(b, 1+a) for z = a + ib.
    if not np.iscomplexobj(z):
        return np.log1p(z)
    a, b = np.real(z), np.imag(z)
    return np.log1p(a) + 0.5 * np.log1p((b / (1 + a)) ** 2) + 1j * np.arctan2(b, 1 + a)


class NumpyNS:
    """float64 or complex128 arrays; stabilised where it matters (analytically exact rewrites)."""

    sin, cos, tan, exp, log, sqrt, tanh = np.sin, np.cos, np.tan, np.exp, np.log, np.sqrt, np.tanh
    sum, matmul, log1p = staticmethod(np.sum), staticmethod(np.matmul), staticmethod(_np_log1p)

    @staticmethod
    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def softplus(x):
        # log(1 + e^x) = x + log(1 + e^-x): pick the branch with the non-positive exponent.
        with np.errstate(over="ignore", invalid="ignore"):
            return np.where(np.real(x) > 0, x + _np_log1p(np.exp(-x)), _np_log1p(np.exp(x)))

    @staticmethod
    def logsumexp(x, axis=-1):
        m = np.max(np.real(x), axis=axis, keepdims=True)  # any constant shift is exact
        return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))

    @staticmethod
    def softmax(x, axis=-1):
        e = np.exp(x - np.max(np.real(x), axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)


def _vec(fn):
    return np.frompyfunc(fn, 1, 1)


class MpNS:
    """numpy object arrays of mpmath numbers at the current mpmath precision."""

    sin, cos, tan, exp = _vec(mpmath.sin), _vec(mpmath.cos), _vec(mpmath.tan), _vec(mpmath.exp)
    log, sqrt, tanh, log1p = _vec(mpmath.log), _vec(mpmath.sqrt), _vec(mpmath.tanh), _vec(mpmath.log1p)
    sum, matmul = staticmethod(np.sum), staticmethod(np.matmul)

    @staticmethod
    def sigmoid(x):
        return 1 / (1 + MpNS.exp(-x))

    @staticmethod
    def softplus(x):
        return MpNS.log(1 + MpNS.exp(x))

    @staticmethod
    def logsumexp(x, axis=-1):
        return MpNS.log(np.sum(MpNS.exp(x), axis=axis))

    @staticmethod
    def softmax(x, axis=-1):
        e = MpNS.exp(x)
        return e / np.sum(e, axis=axis, keepdims=True)


# --- the functions ------------------------------------------------------------------------------
# (name, fn(ns, *xs), input shapes, domain letter per input, magnitudes, largest |x|, singular set)
# Each template yields one case per magnitude; elements are magnitude * U(0.5, 1.5), clipped to
# the largest |x| (where the function overflows or has a pole), with a random sign unless the
# domain letter is "p". Domain letters: "r" smooth on the real line, "p" positive (singular at
# 0), "z" real but singular at 0. The distance from the point to the singular set (0 for "p" and
# "z" inputs, or the template's own rule) is what trigrad's op table gives the numeric oracle as
# max_step; cases are run both with and without it.

def _mlp(ns, x, w1, b1, w2, b2):
    return ns.tanh(ns.matmul(w2, ns.tanh(ns.matmul(w1, x) + b1)) + b2)


def _attention(ns, q, k, vv):
    return ns.matmul(ns.softmax(ns.matmul(q, k.T) / math.sqrt(3.0)), vv)


def _layernorm(ns, x):
    mu = ns.sum(x) / x.shape[0]
    d = x - mu
    return d / ns.sqrt(ns.sum(d * d) / x.shape[0] + 1e-5)


def _shared_sin(ns, x):
    a = ns.sin(x)
    return a * a + ns.exp(a)


def _shared_ratio(ns, x):
    b = x * x
    return b / (1 + b) + ns.log(1 + b)


def _shared_exp(ns, x):
    c = ns.exp(-x)
    return c * (1 - c) + ns.sqrt(c + 1)


def _shared_deep(ns, x, y):
    a = ns.sin(x * y)
    b = a * ns.exp(-a * a)
    return ns.log(1 + b * b) + b * a


WIDE = (1e-3, 1e-1, 1.0, 10.0, 1e2, 1e3)
MID = (1e-3, 1e-1, 1.0, 10.0)
SMALL = (1e-3, 1e-1, 1.0)
S, V3, V4, V5 = (), (3,), (4,), (5,)

TEMPLATES = [
    # elementary functions
    ("sin(x)", lambda ns, x: ns.sin(x), [S], "r", WIDE, None),
    ("cos(x)", lambda ns, x: ns.cos(x), [S], "r", WIDE, None),
    ("tan(x)", lambda ns, x: ns.tan(x), [S], "r", SMALL + (0.5,), 1.45,
     lambda x: math.pi / 2 - float(np.max(np.abs(x)))),
    ("exp(x)", lambda ns, x: ns.exp(x), [S], "r", WIDE, 600.0),
    ("log(x)", lambda ns, x: ns.log(x), [S], "p", WIDE, None),
    ("sqrt(x)", lambda ns, x: ns.sqrt(x), [S], "p", WIDE, None),
    ("tanh(x)", lambda ns, x: ns.tanh(x), [S], "r", MID, None),
    ("sigmoid(x)", lambda ns, x: ns.sigmoid(x), [S], "r", MID, 30.0),
    ("softplus(x)", lambda ns, x: ns.softplus(x), [S], "r", WIDE, 100.0),
    ("x**3", lambda ns, x: x ** 3, [S], "r", WIDE, None),
    ("x**-2", lambda ns, x: x ** -2, [S], "z", WIDE, None),
    ("x**2.5", lambda ns, x: x ** 2.5, [S], "p", WIDE, None),
    ("x**(1/3)", lambda ns, x: x ** (1 / 3), [S], "p", WIDE, None),
    ("1/x", lambda ns, x: 1 / x, [S], "z", WIDE, None),
    # scalar compositions, 2-6 deep
    ("x*sin(x)", lambda ns, x: x * ns.sin(x), [S], "r", WIDE, None),
    ("exp(sin(x))", lambda ns, x: ns.exp(ns.sin(x)), [S], "r", WIDE, None),
    ("log(1+x*x)", lambda ns, x: ns.log(1 + x * x), [S], "r", WIDE, None),
    ("sqrt(1+x*x)", lambda ns, x: ns.sqrt(1 + x * x), [S], "r", WIDE, None),
    ("sin(x)/x", lambda ns, x: ns.sin(x) / x, [S], "z", WIDE, None),
    ("tanh(exp(x))", lambda ns, x: ns.tanh(ns.exp(x)), [S], "r", SMALL, 3.0),
    ("sin(exp(x))", lambda ns, x: ns.sin(ns.exp(x)), [S], "r", SMALL + (4.0,), 6.0),
    ("exp(-x*x)*cos(3x)", lambda ns, x: ns.exp(-x * x) * ns.cos(3 * x), [S], "r", SMALL, 4.0),
    ("log(sigmoid(x))", lambda ns, x: ns.log(ns.sigmoid(x)), [S], "r", MID, 30.0),
    ("sigmoid(tanh(sin(exp(x/10))))",
     lambda ns, x: ns.sigmoid(ns.tanh(ns.sin(ns.exp(x / 10)))), [S], "r", MID + (40.0,), 50.0),
    ("log(1+exp(sin(x)**2))", lambda ns, x: ns.log(1 + ns.exp(ns.sin(x) ** 2)), [S], "r", WIDE, None),
    ("sqrt(log(2+cos(x))+x*x)", lambda ns, x: ns.sqrt(ns.log(2 + ns.cos(x)) + x * x), [S], "r", WIDE, None),
    ("exp(sin(log(1+sqrt(x*x+1))))",
     lambda ns, x: ns.exp(ns.sin(ns.log(1 + ns.sqrt(x * x + 1)))), [S], "r", WIDE, None),
    ("tan(sin(x))", lambda ns, x: ns.tan(ns.sin(x)), [S], "r", WIDE, None),
    ("x**x", lambda ns, x: ns.exp(x * ns.log(x)), [S], "p", MID + (100.0,), 140.0),
    ("log(log(x))", lambda ns, x: ns.log(ns.log(x)), [S], "p", (2.0, 10.0, 1e2, 1e3), None,
     lambda x: float(x) - 1.0),
    ("softplus(sin(3x))*tanh(x/2)", lambda ns, x: ns.softplus(ns.sin(3 * x)) * ns.tanh(x / 2),
     [S], "r", MID, None),
    ("cos(sqrt(1+x**4))/(2+x*x)", lambda ns, x: ns.cos(ns.sqrt(1 + x ** 4)) / (2 + x * x),
     [S], "r", MID, None),
    ("a=sin(x); a*a+exp(a)", _shared_sin, [S], "r", WIDE, None),
    ("b=x*x; b/(1+b)+log(1+b)", _shared_ratio, [S], "r", WIDE, None),
    ("c=exp(-x); c*(1-c)+sqrt(c+1)", _shared_exp, [S], "r", MID + (100.0,), 300.0),
    # functions of two scalars
    ("x*y", lambda ns, x, y: x * y, [S, S], "rr", WIDE, None),
    ("x/y", lambda ns, x, y: x / y, [S, S], "rz", WIDE, None),
    ("x**y", lambda ns, x, y: ns.exp(y * ns.log(x)), [S, S], "pr", SMALL + (3.0,), 4.0),
    ("sqrt(x*x+y*y)", lambda ns, x, y: ns.sqrt(x * x + y * y), [S, S], "rr", WIDE, None,
     lambda x, y: max(abs(float(x)), abs(float(y)))),
    ("sin(x*y)", lambda ns, x, y: ns.sin(x * y), [S, S], "rr", MID, None),
    ("exp(x)*log(y)", lambda ns, x, y: ns.exp(x) * ns.log(y), [S, S], "rp", MID, None),
    ("log(x)/(1+y*y)", lambda ns, x, y: ns.log(x) / (1 + y * y), [S, S], "pr", WIDE, None),
    ("tanh(x-y)*sigmoid(x*y)", lambda ns, x, y: ns.tanh(x - y) * ns.sigmoid(x * y), [S, S], "rr", SMALL, 3.0),
    ("a=sin(xy); b=a*exp(-a*a); log(1+b*b)+b*a", _shared_deep, [S, S], "rr", MID, None),
    # array functions
    ("sum(sin(x)*y)", lambda ns, x, y: ns.sum(ns.sin(x) * y), [V4, V4], "rr", WIDE, None),
    ("x @ W", lambda ns, x, w: ns.matmul(x, w), [V3, (3, 2)], "rr", WIDE, None),
    ("tanh(W @ x + b)", lambda ns, w, x, b: ns.tanh(ns.matmul(w, x) + b), [(3, 4), V4, V3], "rrr",
     SMALL, 2.0),
    ("mlp", _mlp, [V4, (3, 4), V3, (2, 3), (2,)], "rrrrr", SMALL, 2.0),
    ("softmax(x)", lambda ns, x: ns.softmax(x), [V5], "r", MID + (30.0,), None),
    ("logsumexp(x)", lambda ns, x: ns.logsumexp(x), [V5], "r", WIDE, None),
    ("logsumexp(z)-z[2]", lambda ns, z: ns.logsumexp(z) - z[2], [V5], "r", MID, None),
    ("x/|x|", lambda ns, x: x / ns.sqrt(ns.sum(x * x)), [V4], "r", WIDE, None,
     lambda x: float(np.max(np.abs(x)))),
    ("sum(x*(A@x))", lambda ns, x, a: ns.sum(x * ns.matmul(a, x)), [V3, (3, 3)], "rr", WIDE, None),
    ("sum(log(softplus(x)))", lambda ns, x: ns.sum(ns.log(ns.softplus(x))), [V4], "r", MID, 30.0),
    ("swish(x)", lambda ns, x: x * ns.sigmoid(x), [V4], "r", MID, 30.0),
    ("attention", _attention, [(2, 3), (4, 3), (4, 3)], "rrr", SMALL, 2.0),
    ("layernorm", _layernorm, [V5], "r", MID, None),
    ("A@B@C", lambda ns, a, b, c: ns.matmul(ns.matmul(a, b), c), [(2, 3), (3, 3), (3, 2)], "rrr",
     WIDE, None),
    ("exp(x)/sum(exp(x))", lambda ns, x: ns.exp(x) / ns.sum(ns.exp(x)), [V4], "r", SMALL, 5.0),
    ("sum(x**3-2x**2+x)", lambda ns, x: ns.sum(x ** 3 - 2 * x ** 2 + x), [V4], "r", WIDE, None),
    ("sqrt(x)*log(x)", lambda ns, x: ns.sqrt(x) * ns.log(x), [V3], "p", WIDE, None),
]


@dataclass(frozen=True)
class NumericCase:
    """One benchmark case: d/dt sum(v * fn(*(x + t u))) at t = 0, and its exact value."""

    name: str
    fn: Callable
    xs: tuple
    us: tuple
    v: np.ndarray | None
    exact: float
    scale: float  # denominator of the relative error: max(|exact|, function scale), see _scale
    max_step: float  # distance to the singular set along any coordinate (inf: none)

    def f(self, xs):
        """The float64 (or complex128) forward, as the numeric oracle sees a backend."""
        return self.fn(NumpyNS, *xs)

    def rel_error(self, value: float) -> float:
        return abs(value - self.exact) / self.scale


def _singular_distance(template, xs) -> float:
    """What the op table would give as max_step: distance to the nearest singular point."""
    domains, rule = template[3], (template[6] if len(template) > 6 else None)
    dist = [float(np.min(np.abs(x))) for x, d in zip(xs, domains) if d in "pz"]
    if rule is not None:
        dist.append(rule(*xs))
    return min(dist, default=math.inf)


def _draw(rng, shape, domain, mag, hi):
    x = mag * rng.uniform(0.5, 1.5, size=shape)
    if hi is not None:
        x = np.minimum(x, hi)
    if domain in "rz":
        x = x * rng.choice([-1.0, 1.0], size=shape)
    return np.asarray(x, dtype=np.float64)


def _direction(rng, x, variant):
    u = rng.standard_normal(x.shape)
    if variant == 1:  # a direction of unusual size: the step must follow it
        u = u * 10.0 ** rng.uniform(-3, 3)
    elif variant == 2 and x.size > 1:  # one coordinate only
        u = np.zeros(x.shape)
        u.flat[rng.integers(x.size)] = 1.0
    elif variant == 3:  # along the point itself (a relative perturbation)
        u = np.array(x, dtype=np.float64)
    return np.asarray(u, dtype=np.float64)


def _exact(fn, xs, us, v, dps, step_exponent):
    """(d/dt phi(0), phi(0)) by a complex step in mpmath at dps digits."""
    with mpmath.workdps(dps):
        umax = max(float(np.max(np.abs(u))) for u in us)
        h = mpmath.mpf(2) ** step_exponent / umax
        mk = np.frompyfunc(lambda a, b: mpmath.mpc(a, h * mpmath.mpf(b)), 2, 1)
        out = fn(MpNS, *[np.asarray(mk(x, u), dtype=object).reshape(x.shape) for x, u in zip(xs, us)])
        out = np.asarray(out, dtype=object)
        w = np.ones(out.shape) if v is None else v
        phi = sum((mpmath.mpf(float(wi)) * oi for wi, oi in zip(w.flat, out.flat)), mpmath.mpc(0))
        phi_abs = sum((abs(mpmath.mpf(float(wi)) * mpmath.re(oi)) for wi, oi in zip(w.flat, out.flat)),
                      mpmath.mpf(0))
        return mpmath.im(phi) / h, phi_abs


def _scale(exact, phi_abs, xs, us):
    """max(|exact|, function scale): the function scale is sum|v f(x)| divided by the t-distance
    over which the inputs change by O(1) relative to max(|x|, 1). Near a stationary point no
    float64 method can resolve the derivative better than the function's rounding over that
    distance, so relative error is measured against this floor there."""
    xmax = max(1.0, max(float(np.max(np.abs(x))) for x in xs))
    umax = max(float(np.max(np.abs(u))) for u in us)
    return max(abs(exact), phi_abs * umax / xmax)


@lru_cache(maxsize=4)
def numeric_benchmark_cases(seed: int = BENCHMARK_SEED) -> tuple[NumericCase, ...]:
    """The fixed benchmark set: 309 cases with exact derivatives (50 digits, checked at 80).

    Another seed draws other points and directions from the same templates (a hold-out set).
    """
    rng = np.random.default_rng(seed)
    cases = []
    for template in TEMPLATES:
        name, fn, shapes, domains, mags, hi = template[:6]
        for mag in mags:
            xs = tuple(_draw(rng, s, d, mag, hi) for s, d in zip(shapes, domains))
            variant = len(cases) % 4
            us = tuple(_direction(rng, x, variant) for x in xs)
            out_shape = np.shape(fn(NumpyNS, *xs))
            v = None if out_shape == () else rng.standard_normal(out_shape)
            (d1, phi_abs), (d2, _) = (_exact(fn, xs, us, v, dps, e)
                                      for dps, e in zip(EXACT_DPS, EXACT_STEP_EXPONENT))
            scale = _scale(float(d1), float(phi_abs), xs, us)
            assert abs(d1 - d2) <= EXACT_AGREEMENT * scale, f"exact derivative unsure for {name}"
            cases.append(NumericCase(f"{name} @ {mag:g}", fn, xs, us, v, float(d1), scale,
                                     _singular_distance(template, xs)))
    return tuple(cases)


# --- second directional derivatives ----------------------------------------------------------------

@dataclass(frozen=True)
class SecondCase:
    """d^2/ds dt sum(v * fn(*(x + s u + t w))) at 0, and its exact value."""

    name: str
    fn: Callable
    xs: tuple
    us: tuple
    ws: tuple
    v: np.ndarray | None
    exact: float
    scale: float
    max_step: float

    def f(self, xs):
        return self.fn(NumpyNS, *xs)


def _exact_second(fn, xs, us, ws, v, dps):
    """Complex step along w (exact to working precision) differentiated along u by mpmath.diff."""
    with mpmath.workdps(dps):
        h = mpmath.mpf(2) ** EXACT_STEP_EXPONENT[0] / max(float(np.max(np.abs(w))) for w in ws)

        def along_w(s):
            mk = np.frompyfunc(lambda a, b, c: mpmath.mpc(mpmath.mpf(a) + s * mpmath.mpf(b),
                                                          h * mpmath.mpf(c)), 3, 1)
            out = fn(MpNS, *[np.asarray(mk(x, u, w), dtype=object).reshape(x.shape)
                             for x, u, w in zip(xs, us, ws)])
            out = np.asarray(out, dtype=object)
            wt = np.ones(out.shape) if v is None else v
            return mpmath.im(sum((mpmath.mpf(float(a)) * o for a, o in zip(wt.flat, out.flat)),
                                 mpmath.mpc(0))) / h

        return mpmath.diff(along_w, 0)


@lru_cache(maxsize=1)
def second_benchmark_cases() -> tuple[SecondCase, ...]:
    """The first-derivative benchmark's points with a second direction w (w = u for every third
    case: a pure second derivative), exact by a complex step in w and mpmath.diff in u."""
    rng = np.random.default_rng(BENCHMARK_SEED + 1)
    cases = []
    for i, c in enumerate(numeric_benchmark_cases()):
        ws = c.us if i % 3 == 0 else tuple(
            rng.standard_normal(u.shape) * float(np.max(np.abs(u))) for u in c.us)
        d1, d2 = (_exact_second(c.fn, c.xs, c.us, ws, c.v, dps) for dps in EXACT_DPS)
        xmax = max(1.0, max(float(np.max(np.abs(x))) for x in c.xs))
        wmax = max(float(np.max(np.abs(w))) for w in ws)
        scale = max(abs(float(d1)), c.scale * wmax / xmax)  # the same function-scale floor
        assert abs(d1 - d2) <= EXACT_AGREEMENT * scale, f"exact second derivative unsure: {c.name}"
        reach = max(float(np.max(np.abs(u) + np.abs(w))) for u, w in zip(c.us, ws))
        umax = max(float(np.max(np.abs(u))) for u in c.us)
        # the first-derivative case's max_step bounds |t| max|u|; here |h| max(|u| + |w|) counts
        cases.append(SecondCase(c.name, c.fn, c.xs, c.us, ws, c.v, float(d1), scale,
                                c.max_step * reach / umax if math.isfinite(c.max_step) else math.inf))
    return tuple(cases)


# --- measuring -------------------------------------------------------------------------------------

def _phi(case, t):
    out = np.asarray(case.f([x + t * u for x, u in zip(case.xs, case.us)]))
    return np.sum(out if case.v is None else case.v * out)


def _central(eps: float):
    """The central difference with a fixed step ``eps`` (2 evaluations)."""

    def estimate(case) -> Estimate:
        with np.errstate(all="ignore"):
            value = float((_phi(case, eps) - _phi(case, -eps)) / (2 * eps))
        return Estimate(value, math.inf, 2, f"central eps={eps:g}", eps)

    return estimate


def _numdifftools(case) -> Estimate:
    """numdifftools' default Derivative (central differences with Richardson), for comparison."""
    import numdifftools as nd  # optional: only for the comparison table

    calls = [0]

    def phi(t):
        ts = np.atleast_1d(t)
        calls[0] += ts.size
        with np.errstate(all="ignore"):
            values = np.array([float(_phi(case, float(s))) for s in ts])
        return values if np.ndim(t) else values[0]

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(nd.Derivative(phi)(0.0))
    except Exception:  # it does not know max_step: steps may leave the domain
        value = math.nan
    return Estimate(value, math.inf, calls[0], "numdifftools", math.nan)


METHODS = {
    "richardson": lambda c: directional(c.f, c.xs, c.us, c.v, max_step=c.max_step),
    "richardson (no max_step)": lambda c: directional(c.f, c.xs, c.us, c.v),
    "complex-step": lambda c: directional(c.f, c.xs, c.us, c.v, complex_step=True, max_step=c.max_step),
    "textbook eps=1e-4": _central(TEXTBOOK_EPS),
    "gradcheck-style eps=1e-6": _central(GRADCHECK_EPS),
    "numdifftools": _numdifftools,
}


@lru_cache(maxsize=None)
def run_method(name: str, seed: int = BENCHMARK_SEED) -> tuple:
    """(case, estimate) for every benchmark case, by one of METHODS."""
    return tuple((c, METHODS[name](c)) for c in numeric_benchmark_cases(seed))


@lru_cache(maxsize=1)
def run_second() -> tuple:
    return tuple((c, second_directional(c.f, c.xs, c.us, c.ws, c.v, max_step=c.max_step))
                 for c in second_benchmark_cases())


def summarize(results) -> dict:
    """Relative errors (against max(|exact|, function scale)), evaluations and how often the
    reported error was exceeded, for a list of (case, estimate)."""
    rel = np.array([abs(e.value - c.exact) / c.scale if math.isfinite(e.value) else math.inf
                    for c, e in results])
    plain = np.array([abs(e.value - c.exact) / abs(c.exact) if math.isfinite(e.value) else math.inf
                      for c, e in results if c.exact])
    evals = np.array([e.evaluations for _, e in results])
    exceeded = sum(not abs(e.value - c.exact) <= e.error for c, e in results)
    estimated = any(math.isfinite(e.error) for _, e in results)
    return {
        "cases": len(results),
        "median": float(np.median(rel)), "p90": float(np.quantile(rel, 0.9)),
        "p99": float(np.quantile(rel, 0.99)), "max": float(np.max(rel)),
        "median_plain": float(np.median(plain)),
        "mean_evaluations": float(np.mean(evals)), "max_evaluations": int(np.max(evals)),
        "error_exceeded": exceeded if estimated else None,
        "error_exceeded_share": exceeded / len(results) if estimated else None,
    }


def accuracy_table(seed: int = BENCHMARK_SEED, with_numdifftools: bool | None = None) -> dict:
    """{method: summarize(...)} on the benchmark (numdifftools only when installed)."""
    if with_numdifftools is None:
        try:
            import numdifftools  # noqa: F401
            with_numdifftools = True
        except ImportError:
            with_numdifftools = False
    names = [n for n in METHODS if with_numdifftools or n != "numdifftools"]
    return {n: summarize(run_method(n, seed)) for n in names}


def format_table(table: dict) -> str:
    """A text table: relative error quantiles (against max(|exact|, function scale)), the plain
    median |error| / |exact|, evaluations (mean, max) and how often the error estimate was
    exceeded ("-" when the method gives none)."""
    head = (f"{'method':26} {'median':>9} {'p90':>9} {'p99':>9} {'max':>9} {'plain med':>9} "
            f"{'evals':>6} {'max':>4} {'err>est':>8}")
    rows = [head] + [
        f"{n:26} {s['median']:9.2e} {s['p90']:9.2e} {s['p99']:9.2e} {s['max']:9.2e} "
        f"{s['median_plain']:9.2e} {s['mean_evaluations']:6.2f} {s['max_evaluations']:4d} "
        + (f"{s['error_exceeded']:4d}/{s['cases']}" if s["error_exceeded"] is not None else f"{'-':>8}")
        for n, s in table.items()]
    return "\n".join(rows)
