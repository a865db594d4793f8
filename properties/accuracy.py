"""Gradient accuracy profiles: how far a backend's derivatives are from exact, in ULPs, across each
op's whole domain.

Conformance (``trigrad check``) answers "right or wrong" at ordinary arguments. A profile answers
"how accurate, and where does it break down": every elementwise op of the spec table is swept across
its ``extent`` (the whole float64 range, tails included: sigmoid and tanh out to several hundred,
exp up to its overflow, log down to the smallest subnormal), uniformly and log-spaced, and at each
point the backend's first derivative (and second, where the backend has second order) is compared
with the exact one from the symbolic oracle. Array ops (their spec entries' ``sweeps``) are swept in one entry of
a small argument, the other entries fixed, with the derivative of one output entry (or of their sum)
with respect to it, exact from the oracle on the one-node composition (``oracle.symbolic.along``).

**How errors are counted.** The exact derivative is evaluated at 50 and 100 digits and rounded to
the backend's format (float64, or float32 for float32 backends). The error of a computed value c is
|c - e| / ulp(e), with e the correctly rounded exact value and ulp(e) the spacing of the format at
|e| (``numpy.spacing``): 0 means correctly rounded, 1 one unit in the last place off. Subnormal
results are measured with the subnormal spacing (the smallest subnormal), as IEEE gradual underflow
defines it, so a result flushed to 0 where the exact value is a subnormal counts as many ULPs. An
exact value that rounds to 0 in the format is met by 0 (error 0) and missed by anything else (error
|c| / smallest subnormal). Points where the exact value overflows the format are not measured
(counted as ``overflow``), nor points exactly on a kink (``kink``: there any element of the
subdifferential is right, which ``trigrad check``'s kink property judges), nor points where the oracle's precision, raised as far as
``oracle.symbolic.MAX_DIGITS``, did not settle the exact value (``unsure``).

**Findings** are the ranges of the swept argument where the computed derivative is inf or NaN while
the exact value is finite, is 0 while the exact value is not, or is off by more than a factor of
``FACTOR`` (a wrong sign included). A finding whose range covers one of the op's ordinary arguments
(``ORDINARY`` evenly spaced points of the spec's draw interval, where ``trigrad check`` tests it,
which every sweep includes) is a wrong rule; one that covers none (a tail, the neighbourhood of 0)
is an accuracy finding.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np

from trigrad.oracle import spec
from trigrad.oracle.ir import Composition, Input, Node
from trigrad.oracle.symbolic import along, pointwise

from .backends import Backend, Unsupported

# Points per sweep by default: half evenly spaced over the extent, half log-spaced in magnitude.
POINTS = 400
# Smallest magnitude of the log-spaced points (float32 backends see their own smallest values).
SMALLEST = 1e-300
# "Within a few ULPs": what a libm-grade implementation meets (glibc's exp, log, sin are within 1-2
# ulps; a derivative formula adds a rounding or two).
FEW_ULPS = 4
# The error levels whose exceedance the summary reports (fraction of points above each).
LEVELS = (1, 4, 1000)
# A computed derivative off by more than this factor (or of the wrong sign) is a finding.
FACTOR = 2.0
# Evenly spaced points over the op's draw interval (its ordinary arguments, where trigrad check tests
# it) that every sweep includes: a finding that covers one of them is a wrong rule, not a tail effect.
ORDINARY = 16
# Where the fixed argument of a two-argument sweep sits: this fraction of its draw interval's upper end
# (pow(x, 2.25), pow(3.0, y), div(x, 2.25), ...): a typical value, neither 0 nor 1.
FIXED_AT = 0.75

CLASSES = {
    "nonfinite": "inf or NaN where the exact value is finite",
    "zero": "0 where the exact value is not",
    "factor": f"off by more than a factor of {FACTOR:g} (or of the wrong sign)",
}


def profiled_ops(backend: Backend | None = None) -> list[str]:
    """The ops accuracy profiles sweep: the spec table's ops with an extent (the elementwise ones),
    then those with array sweeps."""
    names = [name for name, op in spec.OPS.items() if op.extent] + [name for name, op in spec.OPS.items() if op.sweeps]
    return [name for name in names if backend is None or backend.supports(name)]


# --- sampling ------------------------------------------------------------------------------------


def sample(lo: float, hi: float, n: int, dtype=np.float64, edges: Sequence[float] = ()) -> np.ndarray:
    """Sorted distinct points of [lo, hi] representable in ``dtype``: n // 2 evenly spaced, the rest
    log-spaced in magnitude from SMALLEST (or the format's smallest positive number) to the ends, on
    each side of 0 the interval covers, plus the ``edges`` inside it."""
    if not lo < hi:
        raise ValueError(f"the range needs LO < HI, got {lo:g}:{hi:g}")
    info = np.finfo(dtype)
    lo, hi = max(lo, -float(info.max)), min(hi, float(info.max))
    smallest = max(SMALLEST, float(info.smallest_subnormal))
    even = np.linspace(lo, hi, max(n - n // 2, 2))
    sides = [(s, a, b) for s, a, b in ((1.0, max(lo, smallest), hi), (-1.0, max(-hi, smallest), -lo)) if b > a]
    logs = [s * np.geomspace(a, b, max((n // 2) // len(sides), 2)) for s, a, b in sides]
    pts = np.concatenate([even, *logs, np.asarray(edges, dtype=float)])
    with np.errstate(over="ignore"):
        pts = pts.astype(dtype).astype(np.float64)
    pts = pts[np.isfinite(pts) & (pts >= lo) & (pts <= hi)]
    return np.unique(pts)


@dataclass(frozen=True)
class Sweep:
    """One op swept along one argument, the others fixed: ``label`` names it (``pow(x, 2.25)``,
    ``softmax([x, 0, 1])[0]``)."""

    op: str
    arg: int
    # elementwise ops: per argument its fixed value, None for the swept one; array ops: per argument
    # its entries as nested tuples, None at the one swept entry
    fixed: tuple
    lo: float
    hi: float
    params: tuple = ()  # array ops: (name, value) pairs given to the op (the rest are its defaults)
    # array ops: the output entry whose derivative is measured (a one-hot cotangent); None: the sum of
    # the outputs (a cotangent of ones)
    pick: tuple | None = None

    @property
    def label(self) -> str:
        o = spec.get(self.op)
        if not o.elementwise:
            names = [_nested(a, _VAR[j]) for j, a in enumerate(self.fixed)]
            names += [f"{k}={_nested(v, '')}" for k, v in self.params]
            return f"{self.op}({', '.join(names)})" + ("" if self.pick is None else str(list(self.pick)))
        if o.arity == 1:
            return self.op
        names = [_VAR[j] if v is None else f"{v:g}" for j, v in enumerate(self.fixed)]
        return f"{self.op}({', '.join(names)})"

    @property
    def at(self) -> tuple:
        """Array ops: the index of the swept entry in its argument."""
        return tuple(int(i) for i in np.argwhere(np.isnan(_array(self.fixed[self.arg])))[0])


_VAR = ("x", "y")


def _nested(a, var: str) -> str:
    """Nested tuples as a list literal, ``var`` at the None entry: ((None, 1.0),) -> "[[x, 1]]"."""
    if isinstance(a, tuple):
        return "[" + ", ".join(_nested(b, var) for b in a) + "]"
    return var if a is None else f"{a:g}"


def _array(a, x: float = math.nan, dtype=np.float64) -> np.ndarray:
    """Nested tuples as an array, ``x`` at the None entry."""
    return np.array([x if v is None else v for v in np.array(a, dtype=object).ravel()],
                    dtype=dtype).reshape(np.shape(np.array(a, dtype=object)))


def _array_sweeps(op: spec.Op) -> list[Sweep]:
    """An array op's sweeps (its spec entry's ``sweeps``) across their reach."""
    out = []
    for sw in op.sweeps:
        arg = next(j for j, a in enumerate(sw.fixed) if None in np.array(a, dtype=object).ravel().tolist())
        out.append(Sweep(op.name, arg, sw.fixed, -sw.reach, sw.reach, sw.params, sw.pick))
    return out


def sweeps(op: str, lo: float | None = None, hi: float | None = None) -> list[Sweep]:
    """The sweeps of an op: each argument across its extent (or [lo, hi]), the others fixed at a
    typical value (FIXED_AT of their draw interval's upper end); an array op's are its spec entry's."""
    o = spec.get(op)
    if o.sweeps:
        return [replace(sw, lo=sw.lo if lo is None else lo, hi=sw.hi if hi is None else hi) for sw in _array_sweeps(o)]
    if not o.extent:
        raise ValueError(f"{op} has no extent in the spec table; profiled ops: {', '.join(profiled_ops())}")
    out = []
    for j in range(o.arity):
        fixed = tuple(None if k == j else FIXED_AT * o.draw[k].hi for k in range(o.arity))
        a = o.extent[j].lo if lo is None else lo
        b = o.extent[j].hi if hi is None else hi
        out.append(Sweep(op, j, fixed, a, b))
    return out


# --- measuring -----------------------------------------------------------------------------------


def ulp_error(computed, exact, dtype=np.float64) -> np.ndarray:
    """|computed - e| / ulp(e) with e = ``exact`` (float64, correctly rounded) rounded to ``dtype``
    and ulp the format's spacing at |e| (subnormal spacing below the smallest normal number). inf
    where ``computed`` is not finite; NaN where e overflows the format (not measurable)."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.asarray(exact, dtype=np.float64).astype(dtype)
        c = np.asarray(computed, dtype=np.float64)
        spacing = np.spacing(np.abs(e)).astype(np.float64)
        err = np.abs(c - e.astype(np.float64)) / spacing
    err = np.where(np.isfinite(c), err, np.inf)
    return np.where(np.isfinite(e), err, np.nan)


def classify(computed, exact, dtype=np.float64) -> np.ndarray:
    """Per point: "nonfinite", "zero", "factor" (see CLASSES) or "" (none of these)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.asarray(exact, dtype=np.float64).astype(dtype).astype(np.float64)
        c = np.asarray(computed, dtype=np.float64)
        ratio = np.where(e != 0, c / np.where(e != 0, e, 1.0), np.where(c == 0, 1.0, np.inf))
    out = np.full(c.shape, "", dtype=object)
    out[~((ratio >= 1 / FACTOR) & (ratio <= FACTOR))] = "factor"
    out[(c == 0) & (e != 0)] = "zero"
    out[~np.isfinite(c)] = "nonfinite"
    return out


@dataclass
class Series:
    """One derivative along one sweep: d/dx or d2/dx2 with respect to argument ``wrt``."""

    name: str  # "d/dx", "d2/dy2"
    order: int
    wrt: int
    x: np.ndarray  # the swept argument at every point
    exact: np.ndarray  # correctly rounded float64 exact values (NaN: not measured)
    computed: np.ndarray  # what the backend returned (NaN where not measured)
    excluded: dict = field(default_factory=dict)  # reason -> number of points
    error: str = ""  # why the whole series could not be measured (unsupported, the backend raised)
    dtype: np.dtype = np.dtype(np.float64)
    ordinary: np.ndarray | None = None  # which points are ordinary arguments (rule vs accuracy)

    @property
    def measured(self) -> np.ndarray:
        return ~np.isnan(self.exact)

    @property
    def ulps(self) -> np.ndarray:
        """ULP error per point (NaN where not measured)."""
        err = np.full(self.x.shape, np.nan)
        m = self.measured
        err[m] = ulp_error(self.computed[m], self.exact[m], self.dtype)
        return err

    def summary(self) -> dict:
        """median and max ULP error (with where the max is), the fraction of points above each of
        LEVELS, and the findings as ranges of x."""
        if self.error:
            return {"points": 0, "error": self.error}
        m = self.measured
        err = self.ulps[m]
        if not err.size:
            return {"points": 0, "excluded": dict(self.excluded), "error": "no point could be measured"}
        worst = int(np.argmax(err))
        normal = np.abs(self.exact[m]) >= float(np.finfo(self.dtype).smallest_normal)
        return {
            "points": int(err.size),
            "excluded": dict(self.excluded),
            "median_ulps": float(np.median(err)),
            "max_ulps": float(err[worst]),
            "max_at": float(self.x[m][worst]),
            # where the exact value is a normal number: subnormal results have absolute, not relative,
            # accuracy in IEEE arithmetic (a product with a subnormal factor k is off by up to k/2 ulps)
            "max_normal_ulps": float(np.max(err[normal])) if normal.any() else None,
            "above": {str(k): float(np.mean(err > k)) for k in LEVELS},
            "findings": self.findings(),
        }

    def findings(self) -> list[dict]:
        """Runs of consecutive measured points with the same class, as ranges of x."""
        m = self.measured
        x, c, e = self.x[m], self.computed[m], self.exact[m]
        kinds = classify(c, e, self.dtype)
        out = []
        for kind in CLASSES:
            hit = kinds == kind
            k = 0
            while k < len(hit):
                if not hit[k]:
                    k += 1
                    continue
                j = k
                while j + 1 < len(hit) and hit[j + 1]:
                    j += 1
                lo, hi = float(x[k]), float(x[j])
                rule = self.ordinary is not None and bool(self.ordinary[m][k:j + 1].any())
                i = k + int(np.argmax(np.abs(e[k:j + 1])))  # the largest exact value in the range
                subnormal = bool(np.all(np.abs(e[k:j + 1]) < np.finfo(self.dtype).smallest_normal))
                out.append({"class": kind, "kind": "wrong rule" if rule else "accuracy", "lo": lo, "hi": hi,
                            "points": j - k + 1, "subnormal": subnormal,
                            "example": {"x": float(x[i]), "computed": float(c[i]), "exact": float(e[i])}})
                k = j + 1
        return sorted(out, key=lambda f: f["lo"])

    def to_json(self) -> dict:
        ulps = self.ulps
        return {"name": self.name, "order": self.order, "wrt": self.wrt, "summary": self.summary(),
                "x": self.x.tolist(), "ulps": [None if np.isnan(v) else v for v in ulps.tolist()],
                "exact": _floats_json(self.exact), "computed": _floats_json(self.computed)}


def _floats_json(a) -> list:
    """Floats for JSON: NaN and inf as the strings "nan", "inf", "-inf" (JSON has no such numbers)."""
    return [v if math.isfinite(v) else str(v) for v in np.asarray(a, dtype=float).tolist()]


@dataclass
class Profile:
    sweep: Sweep
    series: list[Series]

    def to_json(self) -> dict:
        s = self.sweep
        return {"op": s.op, "label": s.label, "arg": s.arg, "fixed": list(s.fixed), "lo": s.lo, "hi": s.hi,
                "series": [x.to_json() for x in self.series]}


def profile_sweep(backend: Backend, sweep: Sweep, *, points: int = POINTS, order: int = 2) -> Profile:
    """Measure one sweep on a backend: the first derivatives with respect to every argument, and the
    second with respect to the swept one when ``order`` is 2 and the backend has second order (an
    array op: the first and second derivative with respect to the swept entry)."""
    o = spec.get(sweep.op)
    if not o.elementwise:
        return _profile_array_sweep(backend, sweep, points=points, order=order)
    dtype = np.dtype(backend.dtype)
    iv = o.draw[sweep.arg]
    grid = np.linspace(iv.lo, iv.hi, ORDINARY).astype(dtype).astype(float)
    x = sample(sweep.lo, sweep.hi, points, dtype, [e[sweep.arg] for e in o.edges] + grid.tolist())
    args = [x if v is None else np.full(x.shape, float(np.asarray(v, dtype=dtype))) for v in sweep.fixed]
    exact = pointwise(sweep.op, args, o.defaults())
    const = backend.constant_args.get(sweep.op, ())
    wanted = [(1, j, exact.first[j]) for j in range(o.arity)]
    if order > 1 and backend.capable("hvp"):
        # piecewise-linear ops have no second partials in the oracle: 0 away from their kinks
        wanted.append((2, sweep.arg, exact.second.get((sweep.arg, sweep.arg), np.zeros(x.shape))))
    # at a kink any element of the subdifferential is right (the kink property judges it): not measured
    kink = np.zeros(x.shape, dtype=bool) if o.kink is None else o.kink.distance(*args, **o.defaults()) == 0
    series = []
    for d, j, e in wanted:
        e = e.copy()
        with np.errstate(over="ignore"):
            over = ~np.isfinite(e.astype(dtype))
        excluded = {"overflow": int(over.sum()), "kink": int((kink & ~over).sum()),
                    "unsure": int((exact.unsure & ~over & ~kink).sum())}
        e[over | kink | exact.unsure] = np.nan
        name = f"d/d{_VAR[j]}" if d == 1 else f"d2/d{_VAR[j]}2"
        s = Series(name, d, j, x, e, np.full(x.shape, np.nan), {k: v for k, v in excluded.items() if v},
                   dtype=dtype, ordinary=np.isin(x, grid))
        if j in const or sweep.arg in const:
            s.error = f"{backend.name} takes argument {j} of {sweep.op} as a constant only"
        series.append(s)
    _computed(backend, sweep, args, [s for s in series if not s.error], const)
    return Profile(sweep, series)


def _profile_array_sweep(backend: Backend, sweep: Sweep, *, points: int, order: int) -> Profile:
    o = spec.get(sweep.op)
    dtype = np.dtype(backend.dtype)
    params = spec.check_params(o, dict(sweep.params))
    # where trigrad check draws the swept entry, and the points of the other entries (ties of max)
    grid = np.linspace(o.draw[0].lo, o.draw[0].hi, ORDINARY).astype(dtype).astype(float)
    others = np.unique([v for a in sweep.fixed for v in np.array(a, dtype=object).ravel() if v is not None])
    x = sample(sweep.lo, sweep.hi, points, dtype, grid.tolist() + others.tolist())
    comp = _array_composition(sweep, params)
    ct = _cotangent(sweep, comp.output_shape)
    second = order > 1 and backend.capable("hvp")
    kink = np.zeros(x.shape, dtype=bool)
    if o.kink is not None:
        kink = np.array([np.min(o.kink.distance(*_arrays(sweep, xi), **params)) == 0 for xi in x])
    values = {f"x{j}": a for j, a in enumerate(_arrays(sweep, 0.0))}
    exact = along(comp, values, (f"x{sweep.arg}", sweep.at), x[~kink], ct, second=second)
    name = _VAR[sweep.arg]
    wanted = [(1, f"d/d{name}", exact.first[0])] + ([(2, f"d2/d{name}2", exact.second[(0, 0)])] if second else [])
    series = []
    for d, label, values_ in wanted:
        e = np.full(x.shape, np.nan)
        e[~kink] = values_
        unsure = np.zeros(x.shape, dtype=bool)
        unsure[~kink] = exact.unsure
        with np.errstate(over="ignore"):
            over = ~kink & ~np.isfinite(e.astype(dtype))
        excluded = {"overflow": int(over.sum()), "kink": int(kink.sum()), "unsure": int((unsure & ~over).sum())}
        e[over | unsure] = np.nan
        s = Series(label, d, sweep.arg, x, e, np.full(x.shape, np.nan), {k: v for k, v in excluded.items() if v},
                   dtype=dtype, ordinary=np.isin(x, grid))
        if sweep.arg in backend.constant_args.get(sweep.op, ()):
            s.error = f"{backend.name} takes argument {sweep.arg} of {sweep.op} as a constant only"
        series.append(s)
    _computed_array(backend, sweep, params, ct, [s for s in series if not s.error])
    return Profile(sweep, series)


def _arrays(sweep: Sweep, x: float, dtype=np.float64) -> list[np.ndarray]:
    """An array sweep's arguments with the swept entry at ``x``."""
    return [_array(a, x if j == sweep.arg else math.nan, dtype) for j, a in enumerate(sweep.fixed)]


def _array_composition(sweep: Sweep, params: dict) -> Composition:
    shapes = [np.shape(np.array(a, dtype=object)) for a in sweep.fixed]
    inputs = [Input(f"x{j}", s) for j, s in enumerate(shapes)]
    return Composition(inputs, [Node(sweep.op, tuple(i.name for i in inputs), params)])


def _cotangent(sweep: Sweep, shape: tuple) -> np.ndarray:
    if sweep.pick is None:
        return np.ones(shape)
    ct = np.zeros(shape)
    ct[sweep.pick] = 1.0
    return ct


def _op_or_errors(backend: Backend, op: str, series: list[Series]):
    """The backend's callable for ``op``; None when there are no series to fill or it has none (the
    series then say why)."""
    if not series:
        return None
    try:
        return backend.op(op)
    except Unsupported as e:
        for s in series:
            s.error = str(e)
        return None


def _computed_array(backend: Backend, sweep: Sweep, params: dict, ct: np.ndarray, series: list[Series]):
    """What the backend computes at each point: the swept entry's gradient from a VJP with every
    argument a variable (constant-only ones excepted), its second derivative from an HVP with only the
    swept argument a variable and a one-hot tangent at the swept entry."""
    f = _op_or_errors(backend, sweep.op, series)
    if f is None:
        return
    dtype = np.dtype(backend.dtype)
    const = backend.constant_args.get(sweep.op, ())
    arity = len(sweep.fixed)
    variable = [j for j in range(arity) if j not in const]
    tangent = np.zeros(np.shape(np.array(sweep.fixed[sweep.arg], dtype=object)))
    tangent[sweep.at] = 1.0
    for s in series:
        for i in np.flatnonzero(s.measured):
            args = _arrays(sweep, s.x[i], dtype)

            def fn(*xs, wrt=variable if s.order == 1 else [sweep.arg], args=args):
                given = dict(zip(wrt, xs))
                return f(*[given[j] if j in given else backend.asarray(args[j]) for j in range(arity)], **params)

            try:
                with np.errstate(all="ignore"):
                    if s.order == 1:
                        _, grads = backend.vjp(fn, [backend.asarray(args[j]) for j in variable], ct)
                        g = grads[variable.index(sweep.arg)]
                    else:
                        (g,) = backend.hvp(fn, [backend.asarray(args[sweep.arg])], ct, [tangent])
            except Unsupported as e:
                s.error = str(e)
                break
            except Exception as e:  # noqa: BLE001 - whatever the library raises is what it did
                s.error = f"the backend raised {type(e).__name__}: {e}"
                break
            s.computed[i] = float(np.asarray(g, dtype=float)[sweep.at])


def _computed(backend: Backend, sweep: Sweep, args, series: list[Series], const):
    """Fill in what the backend computes for each series (or the series' error). First derivatives
    come from one VJP with every argument a variable (the library's constant-only arguments
    excepted); a second derivative from an HVP with only the swept argument a variable, so that
    nothing the other arguments' gradients do (an overflow times a zero tangent) leaks into it."""
    f = _op_or_errors(backend, sweep.op, series)
    if f is None:
        return
    o = spec.get(sweep.op)
    params = o.defaults()

    def call(variable):
        def fn(*xs):
            given = dict(zip(variable, xs))
            return f(*[given[j] if j in given else float(sweep.fixed[j]) for j in range(o.arity)], **params)
        return fn, [backend.asarray(args[j]) for j in variable]

    ones = np.ones(len(args[0]))
    results = {}
    with np.errstate(all="ignore"):
        variable = [j for j in range(o.arity) if j not in const]
        try:
            _, grads = backend.vjp(*call(variable), ones)
            results.update({(1, j): g for j, g in zip(variable, grads)})
        except Exception as e:  # noqa: BLE001 - whatever the library raises is what it did
            results[1] = f"the backend raised {type(e).__name__}: {e}"
        if any(s.order == 2 for s in series):
            try:
                (h,) = backend.hvp(*call([sweep.arg]), ones, [ones])
                results[(2, sweep.arg)] = h
            except Unsupported as e:
                results[2] = str(e)
            except Exception as e:  # noqa: BLE001
                results[2] = f"the backend raised {type(e).__name__}: {e}"
    for s in series:
        r = results.get((s.order, s.wrt), results.get(s.order, "not computed"))
        if isinstance(r, str):
            s.error = r
        else:
            s.computed = np.where(s.measured, np.broadcast_to(np.asarray(r, dtype=float), s.x.shape), np.nan)


# --- a run over several ops and backends ---------------------------------------------------------


@dataclass
class Run:
    """Profiles of one backend."""

    backend: str
    dtype: str
    points: int
    profiles: list[Profile]

    def to_json(self) -> dict:
        return {"backend": self.backend, "dtype": self.dtype, "points": self.points,
                "profiles": [p.to_json() for p in self.profiles]}


def profile(backend: Backend, ops: Sequence[str] | None = None, *, lo: float | None = None,
            hi: float | None = None, points: int = POINTS, order: int = 2,
            progress: Callable[[str], None] | None = None) -> Run:
    """Accuracy profiles of ``backend`` for ``ops`` (default: every profiled op it supports)."""
    ops = list(ops) if ops is not None else profiled_ops(backend)
    out = []
    for op in ops:
        for sw in sweeps(op, lo, hi):
            if progress:
                progress(sw.label)
            out.append(profile_or_unsupported(backend, sw, points=points, order=order))
    return Run(backend.describe(), np.dtype(backend.dtype).name, points, out)


def profile_or_unsupported(backend: Backend, sweep: Sweep, *, points: int = POINTS, order: int = 2) -> Profile:
    """``profile_sweep``, or a profile that says the backend lacks the op."""
    if not backend.supports(sweep.op):
        return unmeasured(sweep, f"unsupported: {backend.name} has no {sweep.op}")
    return profile_sweep(backend, sweep, points=points, order=order)


def unmeasured(sweep: Sweep, why: str) -> Profile:
    """A profile of ``sweep`` that measured nothing, saying ``why`` (an op the backend lacks, a backend
    that crashed or hung while measuring it)."""
    return Profile(sweep, [Series("d/d" + _VAR[sweep.arg], 1, sweep.arg, np.zeros(0), np.zeros(0), np.zeros(0),
                                  error=why)])


def to_json(runs: Sequence[Run]) -> dict:
    """The JSON document of ``trigrad accuracy --json`` (``trigrad report`` reads it)."""
    return {"trigrad": "accuracy", "levels": list(LEVELS), "few_ulps": FEW_ULPS, "factor": FACTOR,
            "classes": CLASSES, "runs": [r.to_json() for r in runs]}


def dumps(runs: Sequence[Run]) -> str:
    return json.dumps(to_json(runs), indent=1)


# --- text ----------------------------------------------------------------------------------------


def fmt_ulps(v) -> str:
    """An ULP count for a table: integers as such, large ones in exponent form."""
    if v is None:
        return "-"
    if v == math.inf:
        return "inf"
    if v < 1e4:
        return f"{v:.0f}" if v == int(v) or v >= 10 else f"{v:.2g}"
    return f"{v:.1e}"


def fmt_fraction(f) -> str:
    return "0" if f == 0 else "<0.1%" if f < 0.001 else f"{100 * f:.1f}%"


def rows(run: dict) -> list[dict]:
    """One row per (sweep, derivative) of a run's JSON: label, name, and the summary."""
    return [{"label": p["label"], "op": p["op"], "name": s["name"], **s["summary"]}
            for p in run["profiles"] for s in p["series"]]


def table(run: dict) -> str:
    """A run's summary as a text table, then its findings."""
    head = ["op", "derivative", "points", "median", "max", "at x", "max normal"] + [f">{k}" for k in LEVELS]
    lines = [head + ["findings"]]
    for r in rows(run):
        if r.get("error"):
            lines.append([r["label"], r["name"]] + ["-"] * (len(head) - 2) + [r["error"]])
            continue
        kinds = sorted({f["class"] for f in r["findings"]})
        lines.append([r["label"], r["name"], str(r["points"]), fmt_ulps(r["median_ulps"]), fmt_ulps(r["max_ulps"]),
                      f"{r['max_at']:.4g}", fmt_ulps(r["max_normal_ulps"])]
                     + [fmt_fraction(r["above"][str(k)]) for k in LEVELS] + [", ".join(kinds)])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    text = [" ".join(c.ljust(w) for c, w in zip(row, widths)) + " " + row[-1] for row in lines]
    found = [(r, f) for r in rows(run) if not r.get("error") for f in r["findings"]]
    if found:
        text += ["", "findings:"] + [f"  {finding_text(r['label'], r['name'], f)}" for r, f in found]
    return "\n".join(t.rstrip() for t in text)


def finding_text(label: str, name: str, f: dict) -> str:
    """``sigmoid d/dx: 0 where the exact value is not for x in [40, 742.5] (95 points; accuracy); e.g.
    at x = 40.0: 0.0, exact 4.248354255291589e-18`` (the example: the largest exact value there)."""
    ex = f["example"]
    where = f"x = {f['lo']:.4g}" if f["lo"] == f["hi"] else f"x in [{f['lo']:.4g}, {f['hi']:.4g}]"
    kind = f["kind"] + ("; exact values subnormal" if f.get("subnormal") else "")
    return (f"{label} {name}: {CLASSES[f['class']]} for {where} ({f['points']} points; {kind}); "
            f"e.g. at x = {ex['x']!r}: {ex['computed']!r}, exact {ex['exact']!r}")


def worst_by_op(run: dict) -> dict[str, tuple[float, float]]:
    """op -> (max ULPs where the exact value is normal, max ULPs anywhere), over all its derivatives."""
    worst: dict[str, tuple[float, float]] = {}
    for r in rows(run):
        if not r.get("error"):
            a, b = worst.get(r["op"], (0.0, 0.0))
            worst[r["op"]] = (max(a, r["max_normal_ulps"] or 0.0), max(b, r["max_ulps"]))
    return worst


def overview(runs: Sequence[dict]) -> str:
    """One line per backend: the ops within FEW_ULPS on every derivative wherever the exact value is
    a normal number, the worst ops there, and the worst in the subnormal range."""
    out = []
    for run in runs:
        worst = worst_by_op(run)
        good = [op for op, (v, _) in worst.items() if v <= FEW_ULPS]
        bad = sorted(((v, op) for op, (v, _) in worst.items() if v > FEW_ULPS), reverse=True)
        sub = sorted(((w, op) for op, (v, w) in worst.items() if w > max(v, FEW_ULPS)), reverse=True)
        line = (f"{run['backend']}: {len(good)} of {len(worst)} ops within {FEW_ULPS} ulps (normal results); "
                f"worst: {', '.join(f'{op} {fmt_ulps(v)}' for v, op in bad[:6]) or 'none'}")
        if sub:
            line += f"; subnormal results: {', '.join(f'{op} {fmt_ulps(w)}' for w, op in sub[:4])}"
        out.append(line)
    return "\n".join(out)


# --- the command ---------------------------------------------------------------------------------


__all__ = ["profile", "profile_sweep", "sweeps", "sample", "ulp_error", "classify", "profiled_ops", "to_json",
           "dumps", "table", "overview", "rows", "Run", "Profile", "Series", "Sweep", "CLASSES", "LEVELS",
           "FEW_ULPS", "POINTS"]
