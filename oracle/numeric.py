"""The numeric oracle: derivatives of a forward function from its values alone.

Three estimators, all of which call only the function being judged (never its backward):

- central differences D(h) = (phi(h) - phi(-h)) / 2h, extrapolated to h -> 0 by Richardson
  (Neville's scheme in h**2) over a handful of steps chosen adaptively for the point;
- the complex step Im(phi(i h)) / h for functions that are analytic and accept complex input
  (no subtraction, so exact to a few rounding errors), taken at three nearby real points (their
  spread measures the forward's rounding) and cross-checked by a short central difference so
  that a forward which drops the imaginary part is caught, not believed;
- the mixed difference (F(h,h) - F(h,-h) - F(-h,h) + F(-h,-h)) / 4h**2 with the same adaptive
  Richardson, for second directional derivatives (Hessian-vector products).

Every answer is an `Estimate` with an error estimate: the larger of the Richardson table's own
disagreement and the propagated rounding noise, times a safety factor. A function that raises or
returns a non-finite value gives `error=inf` and a `method` that says why; nothing here raises
because of the function being differentiated.

How the step is chosen (`_Richardson`)
--------------------------------------
1. A deliberately small first step from the point: for each moving coordinate min(|x_j|, 1)/|u_j|
   (the t over which the input changes by O(1), or by its own size near zero), the smallest of
   these, times START_FRACTION; and never beyond max_step. A step too small costs accuracy
   linearly (noise ~ eps/h); a step too large costs it as a high power of h, or crosses a
   singularity.
2. A probe PROBE_RATIO times larger. The change of D between the two steps is the h**2 (or
   h**4) coefficient of D(h) = D0 + c2 h**2 + c4 h**4 + ..., which gives the length scale L of
   the function along the line under the model of a pole at distance L (c2 = D0/L**2,
   c4 = D0/L**4), or a lower bound on L when the change is hidden in the noise.
3. Each further step is the next one of the plan (a window of steps h0 * 2**-k, including the
   steps already taken) whose predicted error - truncation of the extrapolation under the pole
   model plus propagated noise - is smallest for the remaining budget. Steps grow by at most
   MAX_GROWTH at a time; a step whose curvature is inconsistent with the smaller steps' is
   dropped as pre-asymptotic; a step where the function fails caps all later steps below it.
   Once three steps are trusted, the three largest give c2 and c4 separately.
4. The answer is the Neville table entry with the smallest estimated error (Ridders' rule).

Rounding of x + t u: steps are powers of two, so t * u is exact, but the sum x + t u is not.
For a direction along one coordinate the realised step ((x + t u) - (x - t u)) / 2u is used.
For several coordinates the rounding (up to eps |x_j| / (t |u_j|) relative) is counted as noise,
unless some |x_j| / |u_j| exceeds DIRECTION_EXACT_RATIO times the point's length scale: then the
direction is rounded to u' so that every x_j +- t u'_j is exact for all planned steps, and the
small remainder <v, J (u - u')> is added from one extra central pair.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = ["Estimate", "derivative", "directional", "second_directional"]

# --- constants ---------------------------------------------------------------------------------

EPS = float(np.finfo(np.float64).eps)  # 2**-52: spacing of float64 numbers at 1
# First step as a fraction of the point's length scale, and the probe ratio above it: the probe
# pair measures the curvature of D(h) from which the rest of the plan follows (measured on the
# benchmark in tests/oracle/test_numeric.py: 2**-4 and 4 are near the best and not sensitive).
START_FRACTION = 2.0 ** -4
PROBE_RATIO = 4.0
# Largest factor by which a planned step may exceed the largest trusted step: the curvature
# seen at small steps says little about much larger ones (a small fast-varying part of the
# function can hide under the noise there).
MAX_GROWTH = 2.0 ** 6
# The plan looks at windows down to this many halvings below the smallest step taken.
PLAN_BELOW = 8
# After the function fails (raises, or is non-finite) at step h, later steps stay below h / this.
FAIL_SHRINK = 8.0
# Steps of a plan are h0 * STEP_RATIO**-k: ratio 2 keeps the Neville weights small (the noise
# amplification of a full table stays below 2) while spreading the steps enough to extrapolate.
STEP_RATIO = 2.0
# Rounding noise of one evaluation of phi, in units of eps * sum|v * f|: compositions of a few
# elementary functions are typically good to a couple of ulps of their result.
NOISE_ULPS = 2.0
# A change of D between two steps counts as curvature, not noise, above this many noise levels.
SIGNIFICANT = 4.0
# For steps a > b > c the ratio of curvatures c(a,b) / c(b,c) is 1 for D - D0 ~ h**2 and
# (a**2 + b**2) / (b**2 + c**2) for ~ h**4; beyond this relative margin of that range the
# largest step is treated as pre-asymptotic.
CONSISTENT = 1.0
# Reported error = max(table disagreement, propagated noise) * this safety factor.
ERROR_SAFETY = 2.0
# Exact directions: used when some coordinate has |x_j| / |u_j| above this multiple of the
# point's length scale. Below it the rounding of x + t u (at most eps * ratio / t, relative) is
# counted as noise: on the benchmark the two evaluations that the correction costs are worth
# more to the extrapolation unless the ratio is this large. The rounded direction u' is exact
# for steps >= scale * 2**DIRECTION_GRID_EXPONENT, so |u - u'| / |u| <~ eps * 2**16 * |x_j| /
# (|u_j| scale), and the remainder is measured by a central pair at CORRECTION_STEP_FRACTION of
# the length scale (truncation ~1e-10 relative; the remainder is itself a small part of the
# derivative, so CORRECTION_REL_ERROR is generous).
DIRECTION_EXACT_RATIO = 1024.0
DIRECTION_GRID_EXPONENT = -16
CORRECTION_STEP_FRACTION = 2.0 ** -16
CORRECTION_REL_ERROR = 1e-6
CORRECTION_EVALUATIONS = 2
# The complex step: h = 2**COMPLEX_STEP_EXPONENT times the point's length scale. Truncation is
# (h/L)**2 ~ 1e-36 relative, and Im parts stay far above the float64 underflow threshold.
COMPLEX_STEP_EXPONENT = -60
# Rounding error of a complex-step derivative, in ulps of sum|v * Im f| / h plus the function
# scale sum|v * Re f| / (length scale) (measured on the benchmark: the median error is below
# 1 ulp of the value).
COMPLEX_NOISE_ULPS = 8.0
# The complex step is taken at t = 0 and at t = +-2**COMPLEX_SHIFT_EXPONENT times the length
# scale: far enough apart that the rounding errors of the forward differ, close enough that the
# derivative changes by < eps between them to second order. Half their second difference,
# times COMPLEX_SPREAD_SAFETY, is a measured floor of the error (it catches ill-conditioned
# forwards, where the imaginary part inherits the rounding of a large real argument).
COMPLEX_SHIFT_EXPONENT = -30
COMPLEX_SPREAD_SAFETY = 4.0
# The complex step is cross-checked by a central difference over this many evaluations when
# the budget allows (3 steps: enough for an error estimate of its own). Disagreement beyond
# both errors means the forward is not analytic in the way the caller said (or drops imaginary
# parts), and the central estimate is returned instead (see COMPLEX_CLOSE).
COMPLEX_CHECK_EVALUATIONS = 6
# A disagreement below this relative size is the central check's optimism, not a non-analytic
# forward (dropping imaginary parts, abs, max, .real change the value at O(1)): the complex
# step is kept, with an error that covers both. Above it the central value is returned.
COMPLEX_CLOSE = 1e-6
# Default budgets: the 10 forward evaluations per first-derivative estimate, and
# about 16 for a second directional derivative (4 mixed-difference steps).
DEFAULT_EVALUATIONS = 10
SECOND_DEFAULT_EVALUATIONS = 16


@dataclass(frozen=True)
class Estimate:
    """A derivative estimate.

    value: the estimate (nan when it failed); error: estimated absolute error of value (inf when
    it failed); evaluations: calls of the function made; method: how it was obtained, or why it
    failed; step: the base step used (in units of t, the multiple of the direction).
    """

    value: float
    error: float
    evaluations: int
    method: str
    step: float

    @property
    def ok(self) -> bool:
        """True when the estimate has a finite value and a finite error."""
        return math.isfinite(self.value) and math.isfinite(self.error)


class _Failed(Exception):
    """The function raised or returned a non-finite value."""


class _OutOfBudget(Exception):
    pass


def _pow2_floor(x: float) -> float:
    """The largest power of two <= x (x > 0): steps that scale directions exactly."""
    m, e = math.frexp(x)
    return math.ldexp(0.5, e)


class _Counter:
    """Counted calls of evaluate(point) -> (value, magnitude) against a budget; a call that
    raises or gives a non-finite value becomes _Failed (with the reason)."""

    def __init__(self, evaluate: Callable, budget: int):
        self.evaluate = evaluate
        self.budget = budget
        self.evaluations = 0

    @property
    def left(self) -> int:
        return self.budget - self.evaluations

    def __call__(self, point):
        if self.evaluations >= self.budget:
            raise _OutOfBudget
        self.evaluations += 1
        try:
            with np.errstate(all="ignore"):  # overflow and nan are checked below
                value, mag = self.evaluate(point)
        except Exception as exc:  # a backend's forward may raise anything
            raise _Failed(f"{type(exc).__name__}: {exc} at t={point!r}") from None
        if not (np.all(np.isfinite(value)) and np.all(np.isfinite(mag))):
            raise _Failed(f"non-finite value {value!r} at t={point!r}")
        return value, mag


# --- stencils: the raw difference quotients at one step ---------------------------------------------

class _Central:
    """D(h) = (phi(h) - phi(-h)) / 2h and its rounding noise."""

    per_step = 2
    noise_power = 1  # noise of D(h) ~ nu / h

    def __init__(self, counter: _Counter, realize=None, direction_noise: Callable = None):
        self.counter = counter
        self.realize = realize or (lambda h: h)
        self.direction_noise = direction_noise or (lambda h: 0.0)

    def __call__(self, h: float) -> tuple[float, float]:
        (p, mp), (m, mm) = self.counter(h), self.counter(-h)
        hr = self.realize(h)
        d = (p - m) / (2 * hr)
        noise = (NOISE_ULPS * EPS * (mp + mm) / 2 + self.direction_noise(h) * EPS * abs(d)) / hr
        return d, noise


class _Mixed:
    """M(h) = (F(h,h) - F(h,-h) - F(-h,h) + F(-h,-h)) / 4h**2; when both directions are the
    same, F depends on s + t only and the centre value is shared by all steps."""

    noise_power = 2

    def __init__(self, counter: _Counter, same: bool, direction_noise: float):
        self.counter = counter
        self.same = same
        self.per_step = 2 if same else 4
        self.direction_noise = direction_noise
        self.cache: dict = {}

    def _f(self, s: float, t: float):
        key = (s + t,) if self.same else (s, t)
        if key not in self.cache:
            self.cache[key] = self.counter((s, t))
        return self.cache[key]

    def __call__(self, h: float) -> tuple[float, float]:
        vals = [self._f(s, t) for s, t in ((h, h), (h, -h), (-h, h), (-h, -h))]
        m = (vals[0][0] - vals[1][0] - vals[2][0] + vals[3][0]) / (4 * h * h)
        mag = sum(v[1] for v in vals) / 4
        noise = (NOISE_ULPS * EPS * mag + self.direction_noise * EPS * abs(m) * h) / (h * h)
        return m, noise


# --- Richardson extrapolation with adaptive steps --------------------------------------------------

def _neville(hs: Sequence[float], ds: Sequence[float], ns: Sequence[float]):
    """Extrapolate D(h) to h = 0 as a polynomial in h**2 (Neville), steps in decreasing order.

    Returns (value, error, step): the entry with the smallest estimated error, where the error
    of T[i][j] is the larger of its differences to the two lower-order entries it is made from
    (Ridders' estimate) and of its propagated rounding noise.
    """
    table = [[d] for d in ds]
    noise = [[n] for n in ns]
    best = (ds[0], math.inf, hs[0])
    for i in range(1, len(hs)):
        for j in range(1, i + 1):
            rho = (hs[i - j] / hs[i]) ** 2
            lo, hi = table[i][j - 1], table[i - 1][j - 1]
            table[i].append(lo + (lo - hi) / (rho - 1))
            noise[i].append(noise[i][j - 1] * rho / (rho - 1) + noise[i - 1][j - 1] / (rho - 1))
            err = max(abs(table[i][j] - lo), abs(table[i][j] - hi), noise[i][j])
            if err < best[1]:
                best = (table[i][j], err, hs[i - j])
    return best


def _predict_error(hs: Sequence[float], length: float, d0: float, nu: float, power: int) -> float:
    """Predicted error of the best Neville entry over steps hs (decreasing), pole model:
    D(h) = D0 / (1 - s/L**2) with s = h**2 is missed by D0 * prod s_i / (L**2 - s_i) when
    extrapolated from nodes s_i; noise nu / h_i**power enters with the Lagrange weights."""
    sigma = length * length
    s = [h * h for h in hs]
    best = math.inf
    for i in range(len(hs)):
        if s[i] >= sigma:
            continue
        for j in range(i + 1, len(hs)):
            nodes = s[i:j + 1]
            trunc = d0 * math.prod(x / (sigma - x) for x in nodes)
            noise = 0.0
            for k, sk in enumerate(nodes):
                w = math.prod(sl / (sl - sk) for l, sl in enumerate(nodes) if l != k)
                noise += abs(w) * nu / hs[i + k] ** power
            best = min(best, trunc + noise)
    return best


class _Richardson:
    """Adaptive Richardson extrapolation of a stencil; see the module docstring for the plan."""

    def __init__(self, stencil, scale: float, t_max: float, method: str):
        self.stencil = stencil
        self.counter = stencil.counter
        self.scale = scale
        self.t_max = t_max
        self.cap = t_max  # no step beyond this (max_step, or below a failed step)
        self.method = method
        self.steps: dict[float, tuple[float, float]] = {}
        self.untrusted: set[float] = set()
        self.failure = ""

    def run(self) -> Estimate:
        if self.counter.left < self.stencil.per_step:
            return self._result()
        h = _pow2_floor(min(START_FRACTION * self.scale, self.cap))
        probe = h * PROBE_RATIO if h * PROBE_RATIO <= self.cap else h / PROBE_RATIO
        queue = [h, probe]
        try:
            while True:
                h = queue.pop(0) if queue else self._plan()
                if h is None:
                    break
                try:
                    self.steps[h] = self.stencil(h)
                except _Failed as exc:
                    self.failure = str(exc)
                    self.cap = min(self.cap, h / FAIL_SHRINK)
                    queue = [] if self.steps else [_pow2_floor(self.cap)]
        except _OutOfBudget:
            pass
        return self._result()

    def _result(self) -> Estimate:
        n = self.counter.evaluations
        hs = self._trusted()
        if not hs:
            why = self.failure or f"a budget of {self.counter.budget} evaluations is too small"
            return Estimate(math.nan, math.inf, n, f"failed: {why}", math.nan)
        if len(hs) == 1:
            why = f" ({self.failure})" if self.failure else ""
            return Estimate(self.steps[hs[0]][0], math.inf, n,
                            f"central (one step, no error estimate){why}", hs[0])
        value, err, step = _neville(hs, [self.steps[h][0] for h in hs], [self.steps[h][1] for h in hs])
        return Estimate(value, ERROR_SAFETY * err, n, self.method, step)

    # the model ----------------------------------------------------------------------------------

    def _curvature(self, a: float, b: float) -> tuple[float, float]:
        """(c, its noise) from D(a) - D(b) = c (a**2 - b**2)."""
        (da, na), (db, nb) = self.steps[a], self.steps[b]
        w = a * a - b * b
        return (da - db) / w, SIGNIFICANT * (na + nb) / w

    def _trusted(self) -> list[float]:
        """Steps in decreasing order without the large ones that look pre-asymptotic.

        For steps a > b > c the curvatures c(a,b) and c(b,c) agree when D - D0 ~ h**2, and c(a,b)
        exceeds c(b,c) by the factor (a**2 + b**2) / (b**2 + c**2) when ~ h**4. Outside that range
        (beyond the CONSISTENT margin and the noise) the largest step is dropped as
        pre-asymptotic, and later steps stay below it. (The other reading, that the smallest
        step is noisy, cannot be told apart from three steps; dropping a large step only costs
        accuracy, trusting a pre-asymptotic one costs correctness.)"""
        hs = sorted((h for h in self.steps if h not in self.untrusted), reverse=True)
        while len(hs) >= 3:
            a, b, c = hs[0], hs[1], hs[2]
            c_ab, s_ab = self._curvature(a, b)
            c_bc, s_bc = self._curvature(b, c)
            quartic = (a * a + b * b) / (b * b + c * c)
            lo, hi = sorted((c_bc / (1 + CONSISTENT), c_bc * quartic * (1 + CONSISTENT)))
            if lo - s_ab - s_bc <= c_ab <= hi + s_ab + s_bc:
                break
            self.untrusted.add(a)
            self.cap = min(self.cap, b)
            hs.pop(0)
        return hs

    def _model(self, hs: list[float]) -> tuple[float, float, float]:
        """(L, |D0|, noise numerator nu) for planning, from the largest trusted steps.

        L is the smaller of sqrt|D0/c2| and |D0/c4|**(1/4). With two steps c4 is unknown and
        the change is also read as pure h**4 (a guard against an accidentally small c2); a
        coefficient hidden in the noise gives only a lower bound on L."""
        power = self.stencil.noise_power
        nu = max(self.steps[h][1] * h ** power for h in hs)
        a, b = hs[0], hs[1]
        (da, na), (db, nb) = self.steps[a], self.steps[b]
        sa, sb = a * a, b * b
        c2, c2_noise = (da - db) / (sa - sb), SIGNIFICANT * (na + nb) / (sa - sb)
        if len(hs) >= 3:
            dc, nc = self.steps[hs[2]]
            sc = hs[2] * hs[2]
            c4 = (c2 - (db - dc) / (sb - sc)) / (sa - sc)
            c4_noise = (c2_noise + SIGNIFICANT * (nb + nc) / (sb - sc)) / (sa - sc)
            c2 = c2 - c4 * (sa + sb)
        else:
            c4 = (da - db) / (sa * sa - sb * sb)
            c4_noise = SIGNIFICANT * (na + nb) / (sa * sa - sb * sb)
        d0 = abs(db - c2 * sb - c4 * sb * sb)
        limit = min(a * MAX_GROWTH, self.t_max)
        if d0 == 0:
            return limit, d0, nu
        k2, k4 = max(abs(c2), c2_noise), max(abs(c4), c4_noise)
        length2 = math.sqrt(d0 / k2) if k2 else math.inf
        length4 = (d0 / k4) ** 0.25 if k4 else math.inf
        return min(length2, length4, limit), d0, nu

    def _plan(self) -> float | None:
        """The next step: the first new step of the plan with the smallest predicted error."""
        remaining = self.counter.left // self.stencil.per_step
        hs = self._trusted()
        if remaining <= 0:
            return None
        if len(hs) < 2:  # after a failure: retreat below the failed step
            h = _pow2_floor(min(hs[0] / FAIL_SHRINK if hs else self.scale * START_FRACTION, self.cap))
            return None if h in self.steps else h
        model = self._model(hs)
        power = self.stencil.noise_power
        best = (math.inf, None)
        anchor = _pow2_floor(min(hs[0] * MAX_GROWTH, self.cap))
        lowest = hs[-1] / 2 ** PLAN_BELOW
        while anchor >= lowest:
            new, h = [], anchor
            while len(new) < remaining and h >= lowest:
                if h not in self.steps:
                    new.append(h)
                h /= STEP_RATIO
            if new:
                predicted = _predict_error(sorted(set(hs) | set(new), reverse=True), *model, power)
                if predicted < best[0]:
                    best = (predicted, new[0])
            anchor /= STEP_RATIO
        return best[1]


# --- public API ---------------------------------------------------------------------------------

def _total(estimator):
    """Make an estimator total: arithmetic that breaks down in the step planning (steps that
    underflow at points of tiny magnitude, or overflow) gives a failed Estimate, not an exception."""

    @functools.wraps(estimator)
    def run(*args, **kwargs):
        try:
            return estimator(*args, **kwargs)
        except (ZeroDivisionError, OverflowError) as exc:
            budget = kwargs.get("max_evaluations", DEFAULT_EVALUATIONS)
            return Estimate(math.nan, math.inf, budget, f"failed: {type(exc).__name__} in step planning: {exc}",
                            math.nan)

    return run


@_total
def derivative(phi: Callable, *, scale: float = 1.0, max_step: float = math.inf,
               complex_step: bool = False, max_evaluations: int = DEFAULT_EVALUATIONS) -> Estimate:
    """d/dt phi(t) at t = 0 for a scalar function phi: float -> float.

    scale: distance in t over which phi changes by O(1) relative (a guess: the step adapts);
    max_step: phi is never evaluated at |t| > max_step (the distance to the nearest kink or
    singularity); complex_step: phi is analytic and accepts complex t (complex -> complex);
    max_evaluations: at most this many calls of phi.

    >>> est = derivative(math.exp)
    >>> abs(est.value - 1.0) < 1e-14, est.evaluations <= 10
    (True, True)
    """
    _check_arguments(max_evaluations, max_step, scale)

    def evaluate(t):
        y = phi(t)
        if isinstance(t, complex):
            y = complex(y)
            return y, (abs(y.imag), abs(y.real))
        y = float(np.real(y))
        return y, abs(y)

    counter = _Counter(evaluate, max_evaluations)
    if complex_step:
        return _complex_step(counter, scale, lambda: _Central(counter), max_step)
    return _Richardson(_Central(counter), scale, max_step, "central-richardson").run()


@_total
def directional(f: Callable, xs: Sequence, us: Sequence, v=None, *, complex_step: bool = False,
                max_step: float = math.inf, max_evaluations: int = DEFAULT_EVALUATIONS) -> Estimate:
    """<v, J_f(xs) us>: d/dt at t = 0 of sum(v * f([x + t*u for x, u in zip(xs, us)])).

    f maps a list of float64 arrays (any shapes) to an array; v (the output weights, broadcast
    against f's output) defaults to ones. The step follows the point, not a global eps.
    max_step bounds |t| * max|u|: the distance to the nearest kink or singularity.
    complex_step: f is analytic and accepts complex arrays.

    >>> est = directional(lambda a: np.sin(a[0]) * a[1], [np.array(0.5), np.array(2.0)],
    ...                   [np.array(1.0), np.array(0.0)])
    >>> abs(est.value - 2 * math.cos(0.5)) < 1e-13
    True
    """
    _check_arguments(max_evaluations, max_step)
    xs, us = _as_arrays(xs, "xs"), _as_arrays(us, "us")
    _check_shapes(xs, us, "us")
    umax = _max_abs(us)
    if umax == 0.0:
        return Estimate(0.0, 0.0, 0, "zero direction", 0.0)
    scale, t_max = _point_scale(xs, us), max_step / umax
    weights = None if v is None else np.asarray(v)

    def along(dirs):
        def evaluate(t):
            out = np.asarray(f([x + t * d for x, d in zip(xs, dirs)]))
            w = out if weights is None else weights * out
            if isinstance(t, complex):
                return complex(np.sum(w)), (float(np.sum(np.abs(w.imag))), float(np.sum(np.abs(w.real))))
            w = np.real(w)
            return float(np.sum(w)), float(np.sum(np.abs(w)))
        return evaluate

    counter = _Counter(along(us), max_evaluations)
    if complex_step:
        return _complex_step(counter, scale, lambda: _Central(counter), t_max)
    moving = [(i, j) for i, u in enumerate(us) for j in np.flatnonzero(u)]
    if len(moving) == 1:  # one coordinate: use the step actually taken
        i, j = moving[0]
        x, u = float(xs[i].flat[j]), float(us[i].flat[j])
        stencil = _Central(counter, realize=lambda h: ((x + h * u) - (x - h * u)) / (2 * u))
        return _Richardson(stencil, scale, t_max, "central-richardson").run()
    ratio = _rounding_ratio(xs, us)
    if ratio <= DIRECTION_EXACT_RATIO * scale or max_evaluations < 2 * CORRECTION_EVALUATIONS + 2:
        stencil = _Central(counter, direction_noise=lambda h: ratio)
        return _Richardson(stencil, scale, t_max, "central-richardson").run()
    return _exact_direction(xs, us, along, max_evaluations, scale, t_max, ratio)


@_total
def second_directional(f: Callable, xs: Sequence, us: Sequence, ws: Sequence, v=None, *,
                       max_step: float = math.inf,
                       max_evaluations: int = SECOND_DEFAULT_EVALUATIONS) -> Estimate:
    """<v, D^2 f(xs)[us, ws]>: d^2/ds dt at (0, 0) of sum(v * f(x + s*u + t*w)), from values
    of f only (a Hessian-vector product, read along ws).

    Mixed differences (F(h,h) - F(h,-h) - F(-h,h) + F(-h,-h)) / 4h**2 (4 evaluations per step;
    2 when us and ws are the same, which share the centre value), extrapolated in h**2 with the
    same adaptive steps as `directional`. max_step bounds |h| * max(|u| + |w|).
    Measured against exact second derivatives on the benchmark (tests/oracle/test_numeric.py):
    median relative error ~2e-12, 90th percentile ~3e-10, 99th ~2e-8, with 16 evaluations.
    """
    _check_arguments(max_evaluations, max_step)
    xs, us, ws = _as_arrays(xs, "xs"), _as_arrays(us, "us"), _as_arrays(ws, "ws")
    _check_shapes(xs, us, "us")
    _check_shapes(xs, ws, "ws")
    reach = max((float(np.max(np.abs(u) + np.abs(w))) for u, w in zip(us, ws) if u.size), default=0.0)
    if reach == 0.0 or _max_abs(us) == 0.0 or _max_abs(ws) == 0.0:
        return Estimate(0.0, 0.0, 0, "zero direction", 0.0)
    weights = None if v is None else np.asarray(v)
    same = all(np.array_equal(u, w) for u, w in zip(us, ws))

    def evaluate(st):
        s, t = st
        out = np.real(np.asarray(f([x + s * u + t * w for x, u, w in zip(xs, us, ws)])))
        out = out if weights is None else weights * out
        return float(np.sum(out)), float(np.sum(np.abs(out)))

    scale = min(_point_scale(xs, us), _point_scale(xs, ws))
    both = [np.abs(u) + np.abs(w) for u, w in zip(us, ws)]
    stencil = _Mixed(_Counter(evaluate, max_evaluations), same, _rounding_ratio(xs, both))
    return _Richardson(stencil, scale, max_step / reach, "mixed-richardson").run()


# --- internals ----------------------------------------------------------------------------------

def _check_arguments(max_evaluations, max_step, scale=1.0) -> None:
    if isinstance(max_evaluations, bool) or not isinstance(max_evaluations, (int, np.integer)) \
            or max_evaluations < 1:
        raise ValueError(f"max_evaluations must be a positive integer, got {max_evaluations!r}")
    if not max_step > 0:
        raise ValueError(f"max_step must be positive (the distance to the nearest kink), got {max_step!r}")
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be positive and finite, got {scale!r}")


def _as_arrays(arrays, name) -> list[np.ndarray]:
    if isinstance(arrays, np.ndarray) or not isinstance(arrays, (list, tuple)):
        raise TypeError(f"{name} must be a list of arrays (one per input of f), got {type(arrays).__name__}")
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _check_shapes(xs, us, name) -> None:
    if len(xs) != len(us) or any(x.shape != u.shape for x, u in zip(xs, us)):
        raise ValueError(f"{name} must match xs: one array of the same shape per input, got shapes "
                         f"{[u.shape for u in us]} for xs of shapes {[x.shape for x in xs]}")


def _max_abs(arrays) -> float:
    return max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)


def _point_scale(xs, us) -> float:
    """min over moving coordinates of min(|x_j|, 1) / |u_j| (|x_j| = 0 counts as 1): the t over
    which some input changes by O(1), or by its own size when it is small."""
    best = math.inf
    for x, u in zip(xs, us):
        x, u = np.abs(x.ravel()), np.abs(u.ravel())
        moving = u > 0
        if moving.any():
            size = np.where(x[moving] > 0, np.minimum(x[moving], 1.0), 1.0)
            best = min(best, float(np.min(size / u[moving])))
    return best


def _rounding_ratio(xs, us) -> float:
    """max over moving coordinates of |x_j| / |u_j|: rounding x_j + t u_j perturbs the
    direction by up to eps * this / t, relative."""
    best = 0.0
    for x, u in zip(xs, us):
        moving = u != 0
        if moving.any():
            best = max(best, float(np.max(np.abs(x[moving]) / np.abs(u[moving]))))
    return best


def _exact_direction(xs, us, along, budget, scale, t_max, ratio) -> Estimate:
    """Central Richardson along a direction u' rounded so that x +- t u' is exact for all steps
    t >= scale * 2**DIRECTION_GRID_EXPONENT, plus <v, J (u - u')> from one central pair."""
    t_min = _pow2_floor(scale) * 2.0 ** DIRECTION_GRID_EXPONENT
    exact, rest = [], []
    for x, u in zip(xs, us):
        grid = np.spacing(np.abs(x)) / t_min  # t * u' is a multiple of ulp(x) for t = t_min 2**k
        with np.errstate(all="ignore"):  # x = 0 (any step is exact there) keeps u as it is
            u_exact = np.where(x != 0, np.round(u / grid) * grid, u)
        exact.append(u_exact)
        rest.append(u - u_exact)
    t_max = min(t_max, t_max * _max_abs(us) / _max_abs(exact) * (1 - EPS))  # |t u'| <= max_step
    main_counter = _Counter(along(exact), budget - CORRECTION_EVALUATIONS)
    stencil = _Central(main_counter, direction_noise=lambda h: ratio if h < t_min else 0.0)
    main = _Richardson(stencil, scale, t_max, "central-richardson+direction-correction").run()
    rest_max = _max_abs(rest)
    if not main.ok or rest_max == 0.0:
        return main
    s = CORRECTION_STEP_FRACTION * scale * _max_abs(us) / rest_max
    s = _pow2_floor(min(s, t_max * _max_abs(us) / rest_max))
    rest_counter = _Counter(along(rest), CORRECTION_EVALUATIONS)
    n = main.evaluations
    try:
        c, c_noise = _Central(rest_counter)(s)
    except _Failed as exc:
        return Estimate(main.value, math.inf, n + rest_counter.evaluations,
                        f"failed: direction correction: {exc}", main.step)
    err = main.error + ERROR_SAFETY * (c_noise + CORRECTION_REL_ERROR * abs(c))
    return Estimate(main.value + c, err, n + rest_counter.evaluations, main.method, main.step)


def _complex_step(counter: _Counter, scale: float, central: Callable, t_max: float) -> Estimate:
    """Im(phi(s + i h)) / h at s = 0 and s = +-shift (their second difference measures the
    rounding noise, their mean is the value), cross-checked by a central difference."""
    unit = _pow2_floor(scale)
    h = unit * 2.0 ** COMPLEX_STEP_EXPONENT
    shift = min(unit * 2.0 ** COMPLEX_SHIFT_EXPONENT, _pow2_floor(t_max) / 2)
    shifts = [0.0, -shift, shift] if counter.left >= 3 else [0.0]
    try:
        results = [counter(s + 1j * h) for s in shifts]
    except _Failed as exc:
        fallback = _Richardson(central(), scale, t_max, "central-richardson").run()
        return _replace_method(fallback, f"{fallback.method} (complex step failed: {exc})")
    slopes = [y.imag / h for y, _ in results]
    value = math.fsum(slopes) / len(slopes)
    mag_im = max(m[0] for _, m in results)
    mag_re = max(m[1] for _, m in results)
    error = COMPLEX_NOISE_ULPS * EPS * (mag_im / h + mag_re / scale)
    if len(slopes) == 3:
        error = max(error, COMPLEX_SPREAD_SAFETY * abs(slopes[1] - 2 * slopes[0] + slopes[2]) / 2)
    if counter.left < 2 * _Central.per_step:
        return Estimate(value, error, counter.evaluations, "complex-step (unchecked)", h)
    stencil = central()
    stencil.counter = _Counter(counter.evaluate, min(counter.left, COMPLEX_CHECK_EVALUATIONS))
    check = _Richardson(stencil, scale, t_max, "central-richardson").run()
    n = counter.evaluations + check.evaluations
    if not check.ok:
        return Estimate(value, error, n, f"complex-step (unchecked: central check {check.method})", h)
    gap = abs(check.value - value)
    if gap <= check.error + error:
        return Estimate(value, error, n, "complex-step", h)
    if gap <= COMPLEX_CLOSE * abs(value):  # the central error estimate was optimistic
        return Estimate(value, gap + check.error, n,
                        f"complex-step (central check off by {gap:.3g}: error widened)", h)
    return Estimate(check.value, check.error, n,
                    f"central-richardson (complex step {value!r} disagrees by {gap:.3g}: is the "
                    f"forward analytic, and does it keep imaginary parts?)", check.step)


def _replace_method(est: Estimate, method: str) -> Estimate:
    return Estimate(est.value, est.error, est.evaluations, method, est.step)
