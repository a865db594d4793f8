"""The symbolic oracle: exact values and derivatives of a composition, with error bounds.

Exact means: the sympy twins of the spec table, differentiated by sympy, evaluated in ball arithmetic
(``oracle.ball``: python-flint's Arb, every result an interval proven to contain the exact value) and
only then rounded to float64; mpmath at two high precisions where python-flint is absent. Two rules
shape the implementation.

**Linear cost in DAG size.** A chain of n squarings that share nodes is a tree of 2^n terms when
expanded. The oracle never expands: it differentiates each node *locally* (the exact first, second and
third partial derivatives of one op, from sympy, compiled once per op and shape and cached) and
combines the local derivatives along the DAG in high precision, exactly as reverse mode (VJP),
forward mode (JVP) and forward-over-reverse (Hessian-vector products) do. The cost is linear in the
number of nodes.

**Know when it does not know.** In balls, a pass starts at ``START_BITS`` and runs again at twice the
bits until every enclosure decides its correctly rounded float64 (Ziv's strategy; an enclosure of 0
far inside the tolerance also settles), up to ``MAX_BITS``. In mpmath everything is computed at two
precisions (``PRECISIONS`` decimal digits). When an enclosure is still wider, or the two precisions
disagree by more, than a small fraction of the tolerance the verdict will use, or when a kink of the
composition is closer to the point than float64 rounding can resolve, the result carries an
``unsure`` reason and is not judged.

Each result also carries the error bound a *correct* float64 (or float32) implementation must meet,
derived from the example itself: a first-order running error analysis (Wilkinson's, as in Higham,
"Accuracy and Stability of Numerical Algorithms", ch. 3) along the same DAG, using the exact local
derivatives. See ``Exact.bound`` and ``_ErrorModel`` for what goes into it.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import linecache
import math
import operator
from dataclasses import dataclass
from typing import Mapping, Sequence

import mpmath
import numpy as np
import sympy
from sympy.printing.pycode import MpmathPrinter

from . import ball, program_cache, spec
from .ir import Composition, Const, apply_twin

# mpmath (without python-flint, or for an op Arb lacks): working precisions in decimal digits. 50 digits
# leave > 30 digits of headroom over float64's 16 for cancellation inside the composition; the
# 100-digit run checks the 50-digit one.
PRECISIONS = (50, 100)
# Inputs far below 1 need more: f(x) - f(0) for x = 1e-150 cancels about 150 digits (a twin written
# exp(x) - 1 is 0 at both precisions), so inputs whose smallest nonzero magnitude is 10**-k add
# k - HEADROOM_DIGITS digits to both.
HEADROOM_DIGITS = 20
# Unit roundoff of float64 and float32 (half an ulp of 1.0).
U64 = 2.0**-53
U32 = 2.0**-24
# The smallest normal number of the IEEE formats by unit roundoff (bfloat16, u = 2**-8, has float32's
# range): the absolute slack below which results may underflow.
TINY = {U64: 2.0**-1022, U32: 2.0**-126, 2.0**-11: 2.0**-14, 2.0**-8: 2.0**-126}
# The running error analysis is first order and assumes each op is within its allowance; SAFETY
# covers second-order terms and the freedom implementations have in ordering sums. Measured: the
# long false-positive runs (bench/false_positives) see no failure on correct backends with 4.
SAFETY = 4.0
# Second order gets more: implementations differentiate their own backward formulas (PyTorch's
# sigmoid'' is (1 - 2y) y (1 - y) from the rounded output y), which the magnitude of the twin's
# second derivative only approximates; measured on torch's sigmoid near x = 0.3, the error reached
# 4.7 units of SAFETY's bound. Second-order bugs are rarely small, so the lost sensitivity costs
# little.
SAFETY_SECOND_ORDER = 16.0
# A result is "unsure" when the two precisions differ by more than this fraction of the bound the
# verdict uses: then the oracle's own error could change a verdict.
UNSURE_FRACTION = 1 / 16
# A kink closer to the exact point than this many times the forward error bound of its arguments may
# be on the other side for a correct float64 implementation: not judged.
NEAR_KINK = 4.0
# Digits for evaluating formula magnitudes (only their size matters).
MAGNITUDE_DIGITS = 20
MAGNITUDE_BITS = 64
# Ball arithmetic (oracle.ball, Ziv's strategy): the first pass runs at START_BITS; a quantity whose
# enclosure is not settled runs again at twice the bits, up to MAX_BITS (past the 1,260 bits that inputs
# near 1e-300 needed in mpmath). Measured (python -m bench oracle, bench growth): starting at 64 bits
# (float64's 53 and a margin) ran 6% of drawn compositions and every deep shared DAG of bench growth
# twice; a pass at 128 bits costs about what one at 64 does (Arb's cost per op is flat over a few
# words), and the oracle was 10-40% faster starting there.
START_BITS = 128
MAX_BITS = 4096
# An enclosure is settled when every point in it rounds to the same float64 (the correctly rounded value
# is known), or when it holds 0 and its radius is at most SETTLED_FRACTION of the float64 bound the
# verdict uses: an exact 0 reached by cancellation ([0 +/- r]) never rounds uniquely.
SETTLED_FRACTION = 2.0**-10

_MODULES = [
    {
        # Away from its root DiracDelta is 0; at the root the point is at a kink and is never judged.
        "DiracDelta": lambda x, k=0: mpmath.mpf(0) if x != 0 else mpmath.inf,
        # Printed as a call, not rewritten as a Piecewise first: sympy's rewrite of each Heaviside
        # (max's, min's and maximum's derivatives) was a quarter of compiling those ops.
        "Heaviside": lambda x, h0=0.5: mpmath.mpf(0) if x < 0 else mpmath.mpf(1) if x > 0 else mpmath.mpf(h0),
        "ipow": operator.pow,
    },
    "mpmath",
]


class _Printer(MpmathPrinter):
    """mpmath code as sympy writes it, with integer powers as ``ipow(x, n)``: Arb's ``**`` is NaN on a
    ball around 0 (x - x squared), so oracle.ball binds ``ipow`` to repeated multiplication."""

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Integer:
            return f"ipow({self._print(expr.base)}, {int(expr.exp)})"
        return super()._print_Pow(expr, rational)


# what lambdify itself passes its printer for the modules in _MODULES
_PRINTER = _Printer({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                     "user_functions": {k: k for k in _MODULES[0]}})


# --- local derivative programs --------------------------------------------------------------------


@dataclass(frozen=True)
class _Program:
    """Compiled exact local derivatives of one op for given params, shapes and constant arguments.

    For an elementwise op, ``fn`` takes one scalar per argument and returns [value, first partials
    (one per variable argument), second partials (pairs j <= k), third partials (j <= k <= l)]. For an
    array op ``fn`` takes every element of every argument (flattened, in order) and returns the output
    elements followed by the nonzero entries listed in ``jac`` (i, j, p) and ``hess`` (i, j, p, k, q).
    """

    elementwise: bool
    fn: object
    var: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...] = ()
    triples: tuple[tuple[int, int, int], ...] = ()
    n_out: int = 0
    jac: tuple = ()
    hess: tuple = ()
    # The magnitudes of the first and second derivatives' formulas (see _magnitude), in the order of
    # ``fn``'s first and second partials (elementwise) or of ``jac`` and ``hess`` (array ops).
    magnitudes: object = None
    # ``fn`` and ``magnitudes`` on Arb's balls (oracle.ball.rebind); None where the code calls
    # something Arb lacks (the oracle then runs in mpmath)
    fn_ball: object = None
    magnitudes_ball: object = None


def _magnitude(e):
    """The size of the terms floating-point evaluation of ``e`` adds up: sums become sums of the
    terms' magnitudes, products multiply them, anything else (a function value, a denominator) is
    its absolute value. A few ulps of it bound the rounding error of evaluating ``e`` as written,
    e.g. sigmoid'' = 2e^-2x/(1+e^-x)^3 - e^-x/(1+e^-x)^2 cancels near 0 where both terms are ~1/4."""
    if e.is_Add:
        return sympy.Add(*[_magnitude(a) for a in e.args])
    if e.is_Mul:
        return sympy.Mul(*[_magnitude(a) for a in e.args])
    if e.is_Pow and e.exp.is_number and e.exp.is_positive:
        return _magnitude(e.base) ** e.exp
    return sympy.Abs(e)


def _param_key(op: spec.Op, params: dict) -> str:
    if not params:  # most ops have none
        return "{}"
    kinds = {p.name: p.kind for p in op.params}
    return json.dumps({k: spec.param_to_json(kinds[k], v) for k, v in params.items()}, sort_keys=True)


# Compiled programs by (op, params, argument shapes (array ops only), constants). An elementwise op's
# constant arguments are substituted into its twin as exact Rationals before differentiating, so that
# x ** 2 differentiates to 2 x (not 2 x**2 / x, which fails at x = 0); strategies draw constants from a
# short list, so this keeps the cache small.
# Compiling costs milliseconds (sympy differentiation and lambdify); compositions reuse a handful of
# keys, so after warm-up nearly every node is a cache hit.
_PROGRAMS: dict[tuple, tuple[spec.Op, _Program]] = {}


def _program(op: spec.Op, params: dict, shapes: tuple, const: tuple) -> _Program:
    """``const``: per argument, None for a variable or the constant's float value."""
    if not op.elementwise:  # array ops take constants as runtime arguments
        const = tuple(c is not None for c in const)
    key = (op.name, _param_key(op, params), tuple(shapes) if not op.elementwise else (), const)
    cached = _PROGRAMS.get(key)
    if cached is None or cached[0] is not op:  # an op registered for a while (spec.registered) may reuse a name
        builtin = _BUILTIN.get(op.name) is op
        prog = _loaded(key) if builtin else None
        if prog is None:
            prog = _compile(op, params, shapes, const)
            if builtin:
                _keep(key, prog)
        cached = _PROGRAMS[key] = (op, prog)
    return cached[1]


# The table's own ops, whose programs are kept on disk (oracle.program_cache); a function being fuzzed
# (spec.registered) is compiled in each process.
_BUILTIN = dict(spec.OPS)
_FUNCTIONS = ("fn", "magnitudes", "fn_ball", "magnitudes_ball")
_PROGRAM_FIELDS = tuple(f.name for f in dataclasses.fields(_Program) if f.name not in _FUNCTIONS)  # what JSON holds


def _lambdify(symbols, exprs):
    """mpmath code for ``exprs`` (common subexpressions named once), as every program is compiled."""
    return sympy.lambdify(symbols, exprs, modules=_MODULES, cse=True, printer=_PRINTER, docstring_limit=0)


@functools.lru_cache(maxsize=1)
def _lambdify_globals() -> dict:
    """The namespace ``lambdify`` gives the code it compiles for _MODULES (the same for every program)."""
    x = sympy.Symbol("x")
    return _lambdify([x], [x]).__globals__


def _source(fn) -> str | None:
    """The code ``lambdify`` compiled ``fn`` from; None when ``fn`` needs names that code cannot carry."""
    ref, g = _lambdify_globals(), fn.__globals__
    if any(n in g and ref.get(n) is not g[n] for n in fn.__code__.co_names):
        return None
    text = "".join(linecache.getlines(fn.__code__.co_filename))
    return text or None


def _from_source(text: str, label: str):
    namespace = dict(_lambdify_globals())
    exec(compile(text, f"<trigrad program {label}>", "exec"), namespace)  # noqa: S102 - lambdify's own code
    return namespace["_lambdifygenerated"]


def _keep(key: tuple, prog: _Program):
    fn, mags = _source(prog.fn), _source(prog.magnitudes)
    if fn is None or mags is None:
        return
    fields = {name: getattr(prog, name) for name in _PROGRAM_FIELDS}
    program_cache.store(key, dict(fields, fn=fn, magnitudes=mags))


def _loaded(key: tuple) -> _Program | None:
    """The program kept on disk for ``key``, rebuilt; None when there is none (or it cannot be read)."""
    record = program_cache.load(key)
    if record is None:
        return None
    try:
        fn, mags = _from_source(record["fn"], key[0]), _from_source(record["magnitudes"], key[0])
        fields = {name: record[name] for name in _PROGRAM_FIELDS}
    except Exception:  # noqa: BLE001 - a damaged file is compiled again (and rewritten)
        return None
    as_tuple = lambda v: tuple(as_tuple(x) for x in v) if isinstance(v, list) else v  # noqa: E731
    fields = {name: as_tuple(v) for name, v in fields.items()}
    return _Program(fn=fn, magnitudes=mags, fn_ball=ball.rebind(fn), magnitudes_ball=ball.rebind(mags), **fields)


def _compile(op: spec.Op, params: dict, shapes: tuple, const: tuple) -> _Program:
    var = tuple(j for j in range(op.arity) if const[j] is None or const[j] is False)
    if op.elementwise:
        syms = [sympy.Symbol(f"s{j}", real=True) for j in range(op.arity)]
        args = [s if j in var else spec._rational(const[j]) for j, s in enumerate(syms)]
        f = op.twin(*args, **params)
        first = [sympy.diff(f, syms[j]) for j in var]
        pairs = () if op.piecewise_linear else tuple((j, k) for a, j in enumerate(var) for k in var[a:])
        second = [sympy.diff(f, syms[j], syms[k]) for j, k in pairs]
        triples = tuple((j, k, m) for j, k in pairs for m in var if m >= k)
        third = [sympy.diff(f, syms[j], syms[k], syms[m]) for j, k, m in triples]
        fn = _lambdify(syms, [f, *first, *second, *third])
        mags = _lambdify(syms, [_magnitude(d) for d in first + second])
        return _Program(True, fn, var, pairs, triples, magnitudes=mags, fn_ball=ball.rebind(fn),
                        magnitudes_ball=ball.rebind(mags))
    arrays, flat = [], []
    for j, shape in enumerate(shapes):
        a = np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            a[idx] = sympy.Symbol(f"a{j}_" + "_".join(map(str, idx)), real=True)
        arrays.append(a)
        flat.extend((j, p, s) for p, s in enumerate(a.flat))
    out = apply_twin(op, arrays, params).ravel()
    where = {s: (j, p) for j, p, s in flat}
    jac, hess, jexprs, hexprs = [], [], [], []
    for i, y in enumerate(out):
        for s in sorted(y.free_symbols & where.keys(), key=lambda s: where[s]):
            j, p = where[s]
            if j not in var:
                continue
            d = sympy.diff(y, s)
            if d == 0:
                continue
            jac.append((i, j, p))
            jexprs.append(d)
            if op.piecewise_linear:
                continue
            for t in sorted(d.free_symbols & where.keys(), key=lambda s: where[s]):
                k, q = where[t]
                if k not in var or (k, q) < (j, p):
                    continue
                dd = sympy.diff(d, t)
                if dd != 0:
                    hess.append((i, j, p, k, q))
                    hexprs.append(dd)
    symbols = [s for _, _, s in flat]
    fn = _lambdify(symbols, [*out, *jexprs, *hexprs])
    mags = _lambdify(symbols, [_magnitude(d) for d in jexprs + hexprs])
    return _Program(False, fn, var, n_out=len(out), jac=tuple(jac), hess=tuple(hess), magnitudes=mags,
                    fn_ball=ball.rebind(fn), magnitudes_ball=ball.rebind(mags))


# --- the arithmetic of one pass ---------------------------------------------------------------------


class _Digits:
    """mpmath at ``digits`` decimal digits: a pass's numbers are mpf; two passes estimate the error."""

    def __init__(self, digits: int):
        self.digits = digits
        self.key = ("digits", digits)

    def context(self):
        return mpmath.workdps(self.digits)

    def magnitude_context(self):
        return mpmath.workdps(MAGNITUDE_DIGITS)

    number = staticmethod(mpmath.mpf)

    @staticmethod
    def run(prog: _Program, args, magnitudes: bool = False):
        return (prog.magnitudes if magnitudes else prog.fn)(*args)


class _Bits:
    """Arb at ``bits`` bits (oracle.ball): a pass's numbers are balls that enclose the exact values."""

    def __init__(self, bits: int):
        self.bits = bits
        self.key = ("bits", bits)

    def context(self):
        return ball.workprec(self.bits)

    def magnitude_context(self):
        return ball.workprec(MAGNITUDE_BITS)

    number = staticmethod(ball.arb) if ball.AVAILABLE else None

    @staticmethod
    def run(prog: _Program, args, magnitudes: bool = False):
        return ball.call(prog.magnitudes_ball if magnitudes else prog.fn_ball, args)


def _numbers(x, ar) -> np.ndarray:
    """Float array -> flat object array of the exact numbers of arithmetic ``ar``."""
    return np.array([ar.number(float(v)) for v in np.asarray(x, dtype=float).ravel()], dtype=object)


def _zeros(n: int, ar) -> np.ndarray:
    return np.array([ar.number(0)] * n, dtype=object)


# --- one node evaluated at one precision ----------------------------------------------------------


@dataclass
class _Local:
    """Exact value and local partial derivatives of one node, as sparse blocks.

    jac: list of (j, out_idx, in_idx, vals); hess: list of (j, k, out_idx, in_j, in_k, vals) with each
    unordered pair of argument entries once; third: the same with three entries (elementwise ops only).
    ``vals`` are object arrays of mpf or of Arb balls (``ar``, the arithmetic of the pass).
    """

    value: np.ndarray
    jac: list
    hess: list
    third: list
    prog: _Program = None
    args: list = None
    # elementwise ops: per argument, the flat index of its element broadcast to each output element
    # (see _broadcast_index); None for array ops
    broadcast: list | None = None
    ar: object = None

    def magnitudes(self) -> tuple[list, list]:
        """Float magnitudes (see _magnitude) of the first and second derivatives, as value arrays
        aligned with ``jac`` and ``hess``."""
        with self.ar.magnitude_context():
            if self.prog.elementwise:
                n = self.value.size
                rows = [self.ar.run(self.prog, [a[idx[i]] for a, idx in zip(self.args, self.broadcast)], True)
                        for i in range(n)]
                cols = list(np.abs(np.array([[float(v) for v in row] for row in rows], dtype=float)).T) if n else []
                k = len(self.jac)
                return cols[:k], cols[k:]
            res = np.abs(_floats(np.array(self.ar.run(self.prog, [v for a in self.args for v in a], True),
                                          dtype=object)))
            k = len(self.prog.jac)
            return ([v.astype(float) for _, _, v in _group(self.prog.jac, res[:k], 2)],
                    [v.astype(float) for _, _, v in _group(self.prog.hess, res[k:], 4)])


def _broadcast_index(arg_shape, out_shape) -> np.ndarray:
    """For each output element (flat), the flat index of the argument element broadcast to it."""
    n = math.prod(arg_shape)
    return np.broadcast_to(np.arange(n).reshape(arg_shape), out_shape).ravel()


def _evaluate_node(prog: _Program, args: list[np.ndarray], arg_shapes, out_shape, ar) -> _Local:
    """Run a compiled program on arguments (flat object arrays of ``ar``'s numbers) at the current
    precision."""
    if prog.elementwise:
        n = math.prod(out_shape)
        bidx = [_broadcast_index(s, out_shape) for s in arg_shapes]
        rows = [ar.run(prog, [args[j][bidx[j][i]] for j in range(len(args))]) for i in range(n)]
        cols = list(zip(*rows)) if rows else []
        col = iter(cols)
        value = np.array(next(col), dtype=object)
        ar_ = np.arange(n)
        jac = [(j, ar_, bidx[j], np.array(next(col), dtype=object)) for j in prog.var]
        hess = [(j, k, ar_, bidx[j], bidx[k], np.array(next(col), dtype=object)) for j, k in prog.pairs]
        third = [(j, k, m, ar_, bidx[j], bidx[k], bidx[m], np.array(next(col), dtype=object))
                 for j, k, m in prog.triples]
        return _Local(value, jac, hess, third, prog, args, broadcast=bidx, ar=ar)
    flat = [v for a in args for v in a]
    res = ar.run(prog, flat)
    value = np.array(res[: prog.n_out], dtype=object)
    vals = res[prog.n_out:]
    jac, hess = _group(prog.jac, vals[: len(prog.jac)], 2), _group(prog.hess, vals[len(prog.jac):], 4)
    jac = [(key[0], cols[0], cols[1], v) for key, cols, v in jac]
    hess = [(key[0], key[1], cols[0], cols[1], cols[2], v) for key, cols, v in hess]
    return _Local(value, jac, hess, [], prog, args, ar=ar)


def _group(entries, vals, nkeys):
    """Group sparse entries (i, j, p[, k, q]) by their argument positions into index arrays."""
    groups: dict = {}
    for e, v in zip(entries, vals):
        i, rest = e[0], e[1:]
        args = rest[0::2]
        idx = rest[1::2]
        g = groups.setdefault(args, ([], [[] for _ in idx], []))
        g[0].append(i)
        for slot, x in zip(g[1], idx):
            slot.append(x)
        g[2].append(v)
    out = []
    for args, (iis, idxs, vs) in groups.items():
        cols = [np.array(iis)] + [np.array(x) for x in idxs]
        out.append((args, cols, np.array(vs, dtype=object)))
    return out


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exact:
    """One exact quantity (a value, a gradient, a JVP, an HVP) and what it takes to judge it.

    value: the exact result rounded to float64: correctly rounded whenever its enclosure decides the
        rounding (ball arithmetic), else 0 when the enclosure holds 0, else the float nearest its
        midpoint (within ``oracle_error`` of the exact value; see ``oracle.ball.value``); mpmath: the
        higher precision's result.
    scale: the error-model coefficient (units of unit roundoff, before SAFETY): a correct
        implementation with unit roundoff u is expected within ``bound(u)`` of ``value``.
    oracle_error: the oracle's own error: the enclosure's radius, a proven bound (ball arithmetic),
        or |low-precision result - high-precision result|, an estimate (mpmath).
    kink: (where, distance, error coefficient) of the kink nearest to the point relative to the
        forward error of its arguments, or None when the composition has no kinked op.
    digits: the two decimal precisions (mpmath), or (bits,) of the ball pass that settled it.
    enclosure: (lo, hi), float arrays with the exact value proven inside [lo, hi] (ball arithmetic),
        or None (mpmath).
    """

    value: np.ndarray
    scale: np.ndarray
    oracle_error: np.ndarray
    kink: tuple[str, float, float] | None = None
    digits: tuple[int, ...] = PRECISIONS
    safety: float = SAFETY
    enclosure: tuple[np.ndarray, np.ndarray] | None = None

    def bound(self, u: float = U64) -> np.ndarray:
        """Tolerance for a correct implementation with unit roundoff ``u`` (2**-53 for float64,
        2**-24 for float32): safety * u * scale (SAFETY, or SAFETY_SECOND_ORDER for Hessian-vector
        products), plus the format's smallest normal number so that results that underflow (a
        float32 square of 1e-30 is 0) pass."""
        return self.safety * u * self.scale + TINY.get(u, TINY[U64] if u <= U64 else TINY[2.0**-11])

    def unsure(self, u: float = U64) -> str | None:
        """Why this result cannot be judged at unit roundoff ``u``, or None when it can."""
        if self.kink is not None:
            where, distance, coeff = self.kink
            if distance <= NEAR_KINK * self.safety * u * coeff:
                return (f"{where} is {distance:.3g} from a kink, closer than rounding of its arguments "
                        f"(up to {self.safety * u * coeff:.3g}) can resolve")
        over = self.oracle_error > UNSURE_FRACTION * self.bound(u)
        if np.any(over):
            i = tuple(int(k) for k in np.argwhere(over)[0])
            if self.enclosure is not None:
                lo, hi = (float(e[i]) for e in self.enclosure)
                return (f"the exact value at index {i} is only known to lie in [{lo!r}, {hi!r}] "
                        f"(at {self.digits[0]} bits), too wide to judge")
            return (f"the {self.digits[0]}- and {self.digits[1]}-digit evaluations differ by "
                    f"{float(self.oracle_error[i]):.3g} at index {i}, too close to the tolerance to judge")
        return None

    def within(self, index=()) -> tuple[float, float] | None:
        """(lo, hi) with the exact value at ``index`` proven inside, or None (mpmath)."""
        if self.enclosure is None:
            return None
        return float(self.enclosure[0][index]), float(self.enclosure[1][index])


def _floats(a: np.ndarray, shape=None) -> np.ndarray:
    """Flat object array of mpf -> float64 array (correctly rounded), optionally reshaped."""
    out = np.fromiter(map(float, a), dtype=float, count=len(a))
    return out if shape is None else out.reshape(shape)


# --- the oracle ----------------------------------------------------------------------------------


def _key(tangents: Mapping[str, np.ndarray]) -> tuple:
    """Tangents (one float array per input, in input order) as a key of ``Oracle._shared``."""
    return tuple(v.tobytes() for v in tangents.values())


def _extra_digits(arrays) -> int:
    """Digits to add for inputs far below 1 (see HEADROOM_DIGITS)."""
    magnitudes = [np.min(np.abs(a[a != 0])) for a in arrays if np.any(a != 0)]
    if not magnitudes:
        return 0
    return max(0, math.ceil(-math.log10(min(magnitudes))) - HEADROOM_DIGITS)


class Oracle:
    """Exact answers for one composition at one point.

        >>> from trigrad.oracle.ir import Composition, Input, Node
        >>> c = Composition([Input("x0")], [Node("square", ("x0",)), Node("exp", ("n0",)),
        ...                                 Node("square", ("n1",))])
        >>> o = Oracle(c, {"x0": np.array(0.5)})
        >>> float(o.vjp(1.0)["x0"].value)
        3.2974425414002564

    With python-flint installed (``oracle.ball.AVAILABLE``) and ``precisions`` not given, every pass
    runs in ball arithmetic (``arithmetic`` is "arb"): construction runs the forward pass and the local
    derivatives at START_BITS, doubling the bits until every node's enclosure is settled (see
    SETTLED_FRACTION); ``value``, ``vjp``, ``jvp`` and ``hvp`` then cost one linear pass each, again
    doubling the bits (up to MAX_BITS) until their enclosures settle: Ziv's strategy. Results carry
    their enclosures (``Exact.enclosure``). Otherwise (``precisions``, two decimal digit counts, or an
    op whose derivatives call something Arb lacks) every pass runs in mpmath at both precisions and
    ``arithmetic`` is "mpmath".

    Each question is answered once per oracle: asked again (the same cotangent or tangents), it returns
    the results it gave, and the passes that questions share (the adjoints of VJP, projection and HVP,
    the tangents of JVP and HVP, and their error bounds) run once (``_shared``).
    """

    def __init__(self, comp: Composition, values: Mapping[str, np.ndarray], *, precisions=None):
        self.comp = comp
        self.values = {}
        for i in comp.inputs:
            if i.name not in values:
                raise ValueError(f"no value given for input {i.name}")
            v = np.asarray(values[i.name], dtype=float)
            if v.shape != i.shape:
                raise ValueError(f"input {i.name} has shape {v.shape}, the composition says {i.shape}")
            if not np.all(np.isfinite(v)):
                raise ValueError(f"input {i.name} is not finite: {v}")
            self.values[i.name] = v
        if precisions is not None and (len(precisions) != 2 or precisions[0] >= precisions[1]):
            raise ValueError(f"precisions must be two increasing digit counts, got {precisions}")
        self._refs = [[None if isinstance(a, Const) else a for a in n.args] for n in comp.nodes]
        self._memo = {}  # see _shared
        self._programs = []
        for k, node in enumerate(comp.nodes):
            const = tuple(a.value if isinstance(a, Const) else None for a in node.args)
            shapes = tuple(() if isinstance(a, Const) else comp.shape(a) for a in node.args)
            self._programs.append((_program(spec.get(node.op), comp.params(k), shapes, const), shapes))
        self.arithmetic = "arb" if precisions is None and ball.AVAILABLE and all(
            p.fn_ball is not None and p.magnitudes_ball is not None for p, _ in self._programs) else "mpmath"
        if self.arithmetic == "arb":
            self.precisions = None
            self._balls = {}
            self.bits = START_BITS
            while True:
                env, local = self._ball_run(self.bits)
                self._float = {ref: _floats(v) for ref, v in env.items()}
                self._model = _ErrorModel(comp, self.values, local, self._float)
                if self.bits >= MAX_BITS or all(self._settled(env[ref], self._model.E[ref], SAFETY) for ref in env):
                    break
                self.bits *= 2
            return
        self.precisions = tuple(d + _extra_digits(self.values.values()) for d in precisions or PRECISIONS)
        self._runs = [self._forward(_Digits(d)) for d in self.precisions]
        self._float = {ref: _floats(v) for ref, v in self._runs[-1][0].items()}
        self._model = _ErrorModel(comp, self.values, self._runs[-1][1], self._float)

    def _forward(self, ar):
        """Values of every ref and each node's local derivatives, in arithmetic ``ar``."""
        comp = self.comp
        with ar.context():
            env = {name: _numbers(v, ar) for name, v in self.values.items()}
            locals_ = []
            for k, node in enumerate(comp.nodes):
                prog, shapes = self._programs[k]
                args = [_numbers(a.value, ar) if isinstance(a, Const) else env[a] for a in node.args]
                loc = _evaluate_node(prog, args, shapes, comp.shape(f"n{k}"), ar)
                env[f"n{k}"] = loc.value
                locals_.append(loc)
        return env, locals_

    def _ball_run(self, bits: int):
        """The forward pass in balls at ``bits`` bits (each precision once)."""
        if bits not in self._balls:
            self._balls[bits] = self._forward(_Bits(bits))
        return self._balls[bits]

    def _settled(self, balls, scale, safety) -> bool:
        """Every enclosure decides its float64 rounding, or holds 0 and is narrow against the float64
        bound (see SETTLED_FRACTION)."""
        bound = SETTLED_FRACTION * (safety * U64 * np.asarray(scale, dtype=float).ravel() + TINY[U64])
        with _Bits(self.bits).context():  # ball's bounds are rounded outward at the working precision
            return all(ball.decided(b) or (b.contains(0) and ball.radius(b) <= t) for b, t in zip(balls, bound))

    def _answer(self, compute) -> dict:
        """Run ``compute(run, ar) -> (numbers, scales)`` (numbers: key -> (flat numbers, shape, safety);
        scales: a function returning key -> the error model's coefficients) in the oracle's arithmetic
        and return key -> Exact: mpmath at both precisions, or balls at doubling bits until settled."""
        if self.arithmetic == "mpmath":
            (low, _), (high, scales) = (compute(run, _Digits(d)) for run, d in zip(self._runs, self.precisions))
            scale = scales()
            with mpmath.workdps(self.precisions[-1]):
                return {key: Exact(_floats(hi, shape), np.asarray(scale[key], dtype=float).reshape(shape),
                                   np.array([float(abs(a - b)) for a, b in zip(low[key][0], hi)],
                                            dtype=float).reshape(shape),
                                   self._model.kink, self.precisions, safety)
                        for key, (hi, shape, safety) in high.items()}
        while True:
            numbers, scales = compute(self._ball_run(self.bits), _Bits(self.bits))
            scale = scales()
            if self.bits >= MAX_BITS or all(self._settled(b, scale[key], safety) for key, (b, _, safety) in numbers.items()):
                break
            self.bits *= 2
        with _Bits(self.bits).context():  # a ball's bounds are rounded outward at the working precision
            return {key: self._exact_balls(balls, shape, scale[key], safety)
                    for key, (balls, shape, safety) in numbers.items()}

    def _exact_balls(self, balls, shape, scale, safety) -> Exact:
        lo, hi = np.array([ball.enclosure(b) for b in balls], dtype=float).reshape(-1, 2).T
        return Exact(np.array([ball.value(b) for b in balls], dtype=float).reshape(shape),
                     np.asarray(scale, dtype=float).reshape(shape),
                     np.array([ball.radius(b) for b in balls], dtype=float).reshape(shape),
                     self._model.kink, (self.bits,), safety, (lo.reshape(shape), hi.reshape(shape)))

    # --- queries ----------------------------------------------------------------------------------

    def value(self) -> Exact:
        """The exact output value."""
        out = self.comp.output
        return self._shared(("value",), lambda: self._answer(
            lambda run, ar: ({out: (run[0][out], self.comp.output_shape, SAFETY)},
                             lambda: {out: self._model.E[out]}))[out])

    def vjp(self, cotangent) -> dict[str, Exact]:
        """Exact gradient of sum(cotangent * output) with respect to every input."""
        ct = self._cotangent(cotangent)
        key = ct.tobytes()

        def compute(run, ar):
            adj = self._adjoints(run, ar, ct, key)
            return ({i.name: (adj[i.name], i.shape, SAFETY) for i in self.comp.inputs},
                    lambda: self._model_vjp(ar, adj, key))

        return dict(self._shared(("vjp", key), lambda: self._answer(compute)))

    def jvp(self, tangents: Mapping[str, np.ndarray]) -> Exact:
        """Exact directional derivative of the output along ``tangents`` (one array per input;
        missing inputs have tangent 0)."""
        tan = self._tangent_inputs(tangents)
        out = self.comp.output
        key = _key(tan)

        def compute(run, ar):
            t = self._tangents(run, ar, tan, key)
            return ({out: (t[out], self.comp.output_shape, SAFETY)}, lambda: self._model_jvp(ar, t, key))

        return self._shared(("jvp", key), lambda: self._answer(compute)[out])

    def projection(self, cotangent, tangents: Mapping[str, np.ndarray]) -> Exact:
        """Exact <cotangent, J tangents>, judged as an implementation gets it from a VJP: the sum over
        inputs of <gradient, tangent>. Its bound is the VJP's error coefficients dotted with
        |tangent|, plus the rounding of the dot product itself."""
        ct = self._cotangent(cotangent)
        tan = self._tangent_inputs(tangents)
        ct_key, tan_key = ct.tobytes(), _key(tan)

        def compute(run, ar):
            adj = self._adjoints(run, ar, ct, ct_key)
            with ar.context():
                total = sum((g * t for name in tan for g, t in zip(adj[name], _numbers(tan[name], ar))), ar.number(0))

            def scales():
                G = self._model_vjp(ar, adj, ct_key)
                terms = [np.abs(_floats(adj[name]) * tan[name].ravel()) for name in tan]
                n = sum(t.size for t in terms)
                return {"": np.array(sum(float(G[name] @ np.abs(tan[name].ravel())) for name in tan)
                                     + n * sum(float(t.sum()) for t in terms))}

            return {"": (np.array([total], dtype=object), (), SAFETY)}, scales

        return self._shared(("projection", ct_key, tan_key), lambda: self._answer(compute)[""])

    def safe_step(self, tangents: Mapping[str, np.ndarray]) -> float:
        """How far along ``tangents`` a finite difference may step: moving the inputs by t * tangent
        moves every node by at most |t| times its absolute tangent (sum of |J| |t| along the DAG);
        compositions keep each kinked op KINK_MARGIN from its kinks and each op with a pole
        POLE_MARGIN from it, so half of margin / (that rate) crosses neither (to first order)."""
        tan = self._tangent_inputs(tangents)
        rate = {name: np.abs(v).ravel() for name, v in tan.items()}
        step = float("inf")
        for k, node in enumerate(self.comp.nodes):
            nd = self._model.nodes[k]
            op = spec.get(node.op)
            margin = spec.KINK_MARGIN if op.kink is not None else spec.POLE_MARGIN if op.pole else None
            speed = max((float(np.max(rate[nd.refs[j]], initial=0.0)) for j in nd.J), default=0.0)
            if margin is not None and speed > 0:
                step = min(step, 0.5 * margin / speed)
            rate[f"n{k}"] = sum((Jj @ rate[nd.refs[j]] for j, Jj in nd.J.items()),
                                np.zeros(math.prod(self.comp.shape(f"n{k}"))))
        return step

    def hvp(self, cotangent, tangents: Mapping[str, np.ndarray]) -> dict[str, Exact]:
        """Exact Hessian-vector product: the derivative along ``tangents`` of the gradient of
        sum(cotangent * output), i.e. H u with H the Hessian of <cotangent, f>."""
        ct = self._cotangent(cotangent)
        tan = self._tangent_inputs(tangents)
        ct_key, tan_key = ct.tobytes(), _key(tan)

        def compute(run, ar):
            adj, dadj, t = self._second(run, ar, ct, tan, ct_key, tan_key)
            return ({i.name: (dadj[i.name], i.shape, SAFETY_SECOND_ORDER) for i in self.comp.inputs},
                    lambda: self._model.hvp(self._floats(ar, "adjoints", ct_key, adj), {r: _floats(v) for r, v in dadj.items()},
                                            self._floats(ar, "tangents", tan_key, t),
                                            G=self._model_vjp(ar, adj, ct_key), T=self._model_jvp(ar, t, tan_key)))

        return dict(self._shared(("hvp", ct_key, tan_key), lambda: self._answer(compute)))

    # --- helpers -------------------------------------------------------------------------------------

    def _shared(self, key, make):
        """``make()``, once per ``key`` for the life of this oracle: the properties that judge one
        example (a fused row: value, VJP, JVP, adjoint, HVP) ask it the same questions (the value,
        the JVP along the same tangents, the adjoints of the same cotangent), and get the same
        answers without recomputing them. Keys name the question and hold its vectors' bytes (and,
        for exact passes, the arithmetic and precision they ran at)."""
        try:
            return self._memo[key]
        except KeyError:
            made = self._memo[key] = make()
            return made

    def _floats(self, ar, name, key, numbers):
        """The float64 values of a pass's ``numbers`` (ref -> flat numbers; ``name`` and ``key`` say
        which pass)."""
        return self._shared((name, "floats", ar.key, key), lambda: {r: _floats(v) for r, v in numbers.items()})

    def _model_vjp(self, ar, adj, key):
        """The error model's VJP coefficients for the adjoints ``adj`` (of cotangent bytes ``key``)."""
        return self._shared(("G", ar.key, key), lambda: self._model.vjp(self._floats(ar, "adjoints", key, adj)))

    def _model_jvp(self, ar, t, key):
        """The error model's JVP coefficients for the tangents ``t`` (of tangent bytes ``key``)."""
        return self._shared(("T", ar.key, key), lambda: self._model.jvp(self._floats(ar, "tangents", key, t)))

    def _cotangent(self, cotangent):
        ct = np.asarray(cotangent, dtype=float)
        try:
            return np.broadcast_to(ct, self.comp.output_shape)
        except ValueError:
            raise ValueError(f"cotangent of shape {ct.shape} does not fit the output shape "
                             f"{self.comp.output_shape}") from None

    def _tangent_inputs(self, tangents):
        unknown = set(tangents) - set(self.values)
        if unknown:
            raise ValueError(f"tangents given for unknown inputs {sorted(unknown)}")
        return {name: np.broadcast_to(np.asarray(tangents.get(name, 0.0), dtype=float), v.shape)
                for name, v in self.values.items()}

    # --- exact passes (every ref, in one arithmetic) ---------------------------------------------------

    def _adjoints(self, run, ar, ct, key=None):
        """The adjoint of every ref for cotangent ``ct`` (its bytes ``key``), in arithmetic ``ar``."""
        key = ct.tobytes() if key is None else key
        return self._shared(("adjoints", ar.key, key), lambda: self._adjoint_pass(run, ar, ct))

    def _adjoint_pass(self, run, ar, ct):
        env, locals_ = run
        with ar.context():
            adj = {ref: _zeros(v.size, ar) for ref, v in env.items()}
            adj[self.comp.output] = adj[self.comp.output] + _numbers(ct, ar)
            for k in reversed(range(len(self.comp.nodes))):
                g, refs = adj[f"n{k}"], self._refs[k]
                for j, out_idx, in_idx, vals in locals_[k].jac:
                    np.add.at(adj[refs[j]], in_idx, g[out_idx] * vals)
        return adj

    def _tangents(self, run, ar, tan, key=None):
        """The tangent of every ref for input tangents ``tan`` (their bytes ``key``), in ``ar``."""
        key = _key(tan) if key is None else key
        return self._shared(("tangents", ar.key, key), lambda: self._tangent_pass(run, ar, tan))

    def _tangent_pass(self, run, ar, tan):
        env, locals_ = run
        with ar.context():
            t = {name: _numbers(v, ar) for name, v in tan.items()}
            for k in range(len(self.comp.nodes)):
                refs = self._refs[k]
                out = _zeros(env[f"n{k}"].size, ar)
                for j, out_idx, in_idx, vals in locals_[k].jac:
                    np.add.at(out, out_idx, vals * t[refs[j]][in_idx])
                t[f"n{k}"] = out
        return t

    def _second(self, run, ar, ct, tan, ct_key=None, tan_key=None):
        """Forward-over-reverse: tangents t of every ref and the adjoints a (the passes of ``jvp`` and
        ``vjp``), then the reverse pass for the adjoint's derivative along t:
        da_j += J_j^T da_n + (H_jm t_m)^T a_n."""
        env, locals_ = run
        t = self._tangents(run, ar, tan, tan_key)
        adj = self._adjoints(run, ar, ct, ct_key)
        with ar.context():
            dadj = {ref: _zeros(v.size, ar) for ref, v in env.items()}
            for k in reversed(range(len(self.comp.nodes))):
                a, da, refs = adj[f"n{k}"], dadj[f"n{k}"], self._refs[k]
                for j, out_idx, in_idx, vals in locals_[k].jac:
                    np.add.at(dadj[refs[j]], in_idx, da[out_idx] * vals)
                for j, m, out_idx, in_j, in_m, vals in locals_[k].hess:
                    w = a[out_idx] * vals
                    np.add.at(dadj[refs[j]], in_j, w * t[refs[m]][in_m])
                    off = ~((j == m) & (in_j == in_m))
                    np.add.at(dadj[refs[m]], in_m[off], w[off] * t[refs[j]][in_j[off]])
        return adj, dadj, t


# --- the error model ------------------------------------------------------------------------------


def _dense_hessian(blocks, values, n_out, sizes) -> dict:
    """Sparse second-derivative blocks (each unordered pair of entries once) -> dense symmetric
    (n_out, n_j, n_m) arrays for every ordered pair of arguments (j, m). A node has one block per
    pair j <= m, and a block names each entry (output, entry of j, entry of m) once, so the entries
    are assigned, not summed."""
    H = {}
    for (j, m, out_idx, in_j, in_m, _), v in zip(blocks, values):
        H[(j, m)] = block = np.zeros((n_out, sizes[j], sizes[m]))
        block[out_idx, in_j, in_m] = v
        if j != m:
            H[(m, j)] = mirror = np.zeros((n_out, sizes[m], sizes[j]))
            mirror[out_idx, in_m, in_j] = v
        else:
            off = in_j != in_m
            if off.any():
                block[out_idx[off], in_m[off], in_j[off]] = v[off]
    return H


@dataclass(frozen=True)
class _NodeError:
    """One node's part of the error model: float64 absolute values, dense.

    refs: per argument, the ref it reads (None for a constant).
    J: argument j -> |dy/da_j|, shape (n_out, n_j); only arguments that are refs have one.
    H: (j, m) -> |d2y/(da_j da_m)|, shape (n_out, n_j, n_m), both orders of each pair.
    dJ, dH: the error coefficients of J and H (units of unit roundoff), keyed like J and H.
    """

    refs: tuple
    J: dict
    H: dict
    dJ: dict
    dH: dict


def _dense_jacobian(blocks, values, variables, n_out, sizes) -> dict:
    """Sparse first-derivative blocks (see _Local.jac) -> dense (n_out, n_j) arrays per argument j
    (one block per argument, each entry named once: assigned, not summed)."""
    J = {j: np.zeros((n_out, sizes[j])) for j in variables}
    for (j, out_idx, in_idx, _), v in zip(blocks, values):
        J[j][out_idx, in_idx] = v
    return J


def _hessian_floor(op: spec.Op, params: dict, args: list, terms: dict, Hmag: dict, n_out: int, sizes: list):
    """Raise the size of each argument's second derivative (``Hmag[(j, j)]``, entry (i, p, p)) to at
    least the size of the terms of its first derivative ``terms[j]`` (entry (i, p)) over the distance
    on which that derivative changes: one unit, or the distance to the op's nearest kink where that is
    shorter. Updates ``Hmag`` in place.

    A correct library may compute a first derivative by any formula whose terms are that large, and
    its second derivative by differentiating that formula: HIPS autograd's abs' is x / |x|, whose
    derivative 1/|x| - x sign(x)/x**2 is 0 with rounding of size 1/|x|; a library that computes
    e**x as 2**(x / ln 2) differentiates it as (g ln 2)(1 / ln 2), and softmax over an axis of length
    one (exactly 1, its Hessian exactly 0) keeps that rounding of terms of size s. Where the exact
    Hessian is 0 or cancels, this floor is the rounding such a formula leaves; elsewhere the twin's
    own Hessian is at least as large and the floor changes nothing."""
    reach = np.ones(n_out)
    if op.kink is not None:  # per output element; at the kink itself (0) the point is never judged
        distance = np.asarray(op.kink.distance(*args, **params), dtype=float).ravel()
        if distance.size != n_out:  # one distance for the whole op (a reduction's ties)
            distance = np.full(n_out, np.min(distance, initial=1.0))
        reach = np.clip(distance, TINY[U64], 1.0)
    for j, T in terms.items():
        if sizes[j] == 0 or n_out == 0:
            continue
        block = Hmag.setdefault((j, j), np.zeros((n_out, sizes[j], sizes[j])))
        i, p = np.nonzero(T)
        block[i, p, p] = np.maximum(block[i, p, p], T[i, p] / reach[i])


def _hessian_error(op: spec.Op, params: dict, loc: _Local, Hmag: dict, kappa: float, E: list, args_f: list,
                   out_f: np.ndarray, shape0: tuple) -> dict:
    """The error coefficients of a node's Hessian blocks ``Hmag`` (the size of the terms their formulas
    add; the spec's ``hessian_scale`` raises it where a conventional formula adds larger terms than
    the twin's): elementwise ops add their exact third derivatives times the arguments' forward
    errors E, array ops scale by the largest of E instead. Updates ``Hmag`` in place."""
    if not op.elementwise:
        if op.hessian_scale is not None:  # a conventional formula's size, where the twin's is lost
            size = np.asarray(op.hessian_scale(args_f, out_f, **params), dtype=float)
            Hmag[(0, 0)] = np.maximum(Hmag[(0, 0)], size) if (0, 0) in Hmag else size
        emax = max((float(np.max(e)) for e in E), default=0.0)
        return {key: (kappa + emax) * blk for key, blk in Hmag.items()}
    if op.hessian_scale is not None and (0, 0) in Hmag:  # a conventional formula's size
        size = np.asarray(op.hessian_scale([a.ravel() for a in args_f if a is not None], out_f.ravel()), dtype=float)
        out_idx, in_idx = np.arange(out_f.size), _broadcast_index(shape0, out_f.shape)
        Hmag[(0, 0)][out_idx, in_idx, in_idx] = np.maximum(Hmag[(0, 0)][out_idx, in_idx, in_idx], size)
    dH = {key: kappa * blk for key, blk in Hmag.items()}
    for j, m, l, out_idx, in_j, in_m, in_l, vals in loc.third:
        v = np.abs(_floats(vals))
        idx = {j: in_j, m: in_m, l: in_l}
        for p, q, r in set(itertools.permutations((j, m, l))):
            dH[(p, q)][out_idx, idx[p], idx[q]] += v * E[r][idx[r]]  # one entry per output element
    return dH


class _ErrorModel:
    """First-order running error analysis along the DAG, in float64, in units of unit roundoff.

    For node n with exact value y, exact local Jacobians J_j and Hessians H_jm (absolute values,
    dense), the op's allowance kappa (spec: ulps of one evaluation) and the forward error
    coefficients E of its arguments a_j:

      forward    E_n = kappa * |y|                  (elementwise ops: relative to the result)
                 E_n = kappa * (|y| + sum_j J_j|a_j| [+ V]) (ops that sum terms: relative to the terms;
                       V the spec's ``value_scale`` where a standard formula cancels larger terms)
                       + sum_j J_j E_j
      J's error  dJ_j = kappa * S_j + sum_m H_jm E_m, where S_j, the size of the terms a standard
                 formula for J adds, is J_j + sum_m H_jm |a_m| unless the spec gives a
                 ``jacobian_scale`` (tanh's 1 - y**2, softmax's s * (g - sum(g s)), ...)
      VJP        G_j += J_j^T G_n + dJ_j^T |abar_n|; a ref with c consumers adds (c - 1) times the
                 sum of its incoming |abar_n J_j| for the additions that accumulate its gradient
      JVP        T_n = sum_j J_j T_j + dJ_j |t_j|
      HVP        the same recurrences on forward-over-reverse: D_j += J_j^T D_n + dJ_j^T |dabar_n|
                 + (G_n, |abar_n|) through H_jm |t_m|, with H's own error dH = kappa H + |T3| E for
                 elementwise ops (T3 their exact third derivatives), (kappa + max E) H for array ops,
                 where |H| is at least the size of J's terms over the distance J changes on (see
                 _hessian_floor): H = 0 computed as 1/|x| - 1/|x| is not exact.

    A correct implementation is then within SAFETY * u * coefficient of the exact value. This is the
    textbook a-priori bound with the example's exact derivatives in place of worst cases, so it
    follows the example's magnitudes and conditioning instead of one global rtol.
    """

    def __init__(self, comp: Composition, inputs: Mapping[str, np.ndarray], local: Sequence[_Local],
                 floats: Mapping[str, np.ndarray]):
        """comp: the composition; inputs: its input values; local: each node's exact value and local
        derivatives (the higher precision's); floats: the float64 value of every ref, flat."""
        self.comp = comp
        self.inputs = inputs
        self.floats = floats
        self.consumers = comp.consumers()
        self.E = {name: np.zeros(v.size) for name, v in inputs.items()}
        self.nodes = [self._node(k, loc) for k, loc in enumerate(local)]
        self.kink = self._nearest_kink()

    def _node(self, k: int, loc: _Local) -> _NodeError:
        """Node k's absolute derivatives and their error coefficients; records its forward error in E."""
        comp, node = self.comp, self.comp.nodes[k]
        op, params = spec.get(node.op), comp.params(k)
        refs = tuple(None if isinstance(a, Const) else a for a in node.args)
        shapes = [() if r is None else comp.shape(r) for r in refs]
        out_shape = comp.shape(f"n{k}")
        n_out, sizes = math.prod(out_shape), [math.prod(s) for s in shapes]
        kappa = op.allowance(shapes, params)
        a = [np.abs(np.atleast_1d(c.value)) if r is None else np.abs(self.floats[r]) for r, c in zip(refs, node.args)]
        E = [np.zeros(1) if r is None else self.E[r] for r in refs]
        args_f = [None if r is None else self.floats[r].reshape(comp.shape(r)) for r in refs]
        out_f = self.floats[f"n{k}"].reshape(out_shape)
        variables = [j for j in range(op.arity) if refs[j] is not None]
        jmag, hmag = loc.magnitudes()
        J = _dense_jacobian(loc.jac, [np.abs(_floats(b[-1])) for b in loc.jac], variables, n_out, sizes)
        Jmag = _dense_jacobian(loc.jac, jmag, variables, n_out, sizes)
        H = _dense_hessian(loc.hess, [np.abs(_floats(b[-1])) for b in loc.hess], n_out, sizes)
        Hmag = _dense_hessian(loc.hess, hmag, n_out, sizes)
        # forward: relative to the result (elementwise) or to the terms summed (array ops)
        own = np.abs(out_f).ravel() if op.elementwise else np.abs(out_f).ravel() + sum(J[j] @ a[j] for j in J)
        if op.value_scale is not None:
            own = own + np.broadcast_to(op.value_scale(args_f, out_f, **params), out_shape).ravel()
        self.E[f"n{k}"] = kappa * own + sum((J[j] @ E[j] for j in J), np.zeros(n_out))
        # the Jacobian's error: the size of the terms its formula adds, and its arguments' errors
        if op.jacobian_scale is not None:
            S = {0: np.asarray(op.jacobian_scale(args_f, out_f, **params))}
        else:
            S = {j: Jmag[j] + sum((H[(j, m)] @ a[m] for m in J if (j, m) in H), np.zeros_like(J[j])) for j in J}
        dJ = {j: kappa * S[j] + sum((H[(j, m)] @ E[m] for m in J if (j, m) in H), np.zeros_like(J[j])) for j in J}
        consts = [np.asarray(c.value, dtype=float) if r is None else f for r, c, f in zip(refs, node.args, args_f)]
        terms = {0: S[0]} if op.jacobian_scale is not None else Jmag
        _hessian_floor(op, params, consts, terms, Hmag, n_out, sizes)
        dH = _hessian_error(op, params, loc, Hmag, kappa, E, args_f, out_f, shapes[0] if shapes else ())
        return _NodeError(refs, J, H, dJ, dH)

    def _nearest_kink(self):
        """The kinked node whose kink is nearest relative to its arguments' forward error."""
        comp = self.comp
        best = None
        for k, node in enumerate(comp.nodes):
            op = spec.get(node.op)
            if op.kink is None:
                continue
            refs = self.nodes[k].refs
            # a constant argument (ref None, of a binary kinked op: maximum(x, 2.0)) is exact
            args = [np.asarray(c.value, dtype=float) if r is None else self.floats[r].reshape(comp.shape(r))
                    for r, c in zip(refs, node.args)]
            d = float(np.min(op.kink.distance(*args, **comp.params(k)), initial=np.inf))
            coeff = max((float(np.max(self.E[r], initial=0.0)) for r in refs if r is not None), default=0.0)
            ratio = d / coeff if coeff > 0 else np.inf
            if best is None or ratio < best[0]:
                best = (ratio, (f"n{k} ({node.op})", d, coeff))
        return None if best is None else best[1]

    def _settle(self, ref, G, contrib):
        """Add the rounding of accumulating a shared ref's gradient from its consumers."""
        G[ref] += max(self.consumers.get(ref, 0) - 1, 0) * contrib[ref]

    def vjp(self, adj):
        comp = self.comp
        G = {ref: np.zeros(v.size) for ref, v in adj.items()}
        contrib = {ref: np.zeros(v.size) for ref, v in adj.items()}
        for k in reversed(range(len(comp.nodes))):
            n = f"n{k}"
            self._settle(n, G, contrib)
            nd, gn = self.nodes[k], np.abs(adj[n])
            for j, Jj in nd.J.items():
                ref = nd.refs[j]
                G[ref] += Jj.T @ G[n] + nd.dJ[j].T @ gn
                contrib[ref] += Jj.T @ gn
        for i in comp.inputs:
            self._settle(i.name, G, contrib)
        return G

    def jvp(self, t):
        comp = self.comp
        T = {name: np.zeros(v.size) for name, v in self.inputs.items()}
        for k in range(len(comp.nodes)):
            nd = self.nodes[k]
            T[f"n{k}"] = sum((Jj @ T[nd.refs[j]] + nd.dJ[j] @ np.abs(t[nd.refs[j]])
                              for j, Jj in nd.J.items()), np.zeros(t[f"n{k}"].size))
        return T

    def hvp(self, adj, dadj, t, G=None, T=None):
        """``G`` and ``T``: ``vjp(adj)`` and ``jvp(t)`` where the caller has them already."""
        comp = self.comp
        G = self.vjp(adj) if G is None else G
        T = self.jvp(t) if T is None else T
        D = {ref: np.zeros(v.size) for ref, v in adj.items()}
        contrib = {ref: np.zeros(v.size) for ref, v in adj.items()}
        for k in reversed(range(len(comp.nodes))):
            n = f"n{k}"
            self._settle(n, D, contrib)
            nd = self.nodes[k]
            an, dan = np.abs(adj[n]), np.abs(dadj[n])
            for j, Jj in nd.J.items():
                ref = nd.refs[j]
                D[ref] += Jj.T @ D[n] + nd.dJ[j].T @ dan
                contrib[ref] += Jj.T @ dan
                for m in nd.J:
                    if (j, m) not in nd.H and (j, m) not in nd.dH:
                        continue
                    # H may vanish where a library's formula still has an error (_hessian_floor)
                    tm = np.abs(t[nd.refs[m]])
                    Hjm_t = nd.H[(j, m)] @ tm if (j, m) in nd.H else np.zeros(nd.dH[(j, m)].shape[:2])
                    # d(J_j)/dt = H_jm t_m, with the adjoint's error, the tangent's error and H's own
                    D[ref] += G[n] @ Hjm_t
                    if (j, m) in nd.H:
                        D[ref] += an @ (nd.H[(j, m)] @ T[nd.refs[m]])
                    D[ref] += an @ (nd.dH[(j, m)] @ tm)
                    contrib[ref] += an @ Hjm_t
        for i in comp.inputs:
            self._settle(i.name, D, contrib)
        return D


# --- one elementwise op at many points, to full relative accuracy -----------------------------------

# Accuracy profiles (properties.accuracy) need exact derivatives far out in the tails, where a twin's
# derivative as sympy writes it cancels: tanh' = 1 - tanh(x)**2 is 0 at 100 digits for x > 116 while
# the exact value is about 4 e**(-2x); sigmoid'' cancels to -x/8 near 0. Fixed precision cannot know
# this (both precisions agree on 0), so each point is evaluated at doubling precision until two
# successive precisions agree to RELATIVE_AGREEMENT; a result of exactly 0 is only accepted when it
# stays 0 up to MAX_DIGITS (a true zero, as relu' below 0).
RELATIVE_AGREEMENT = 2.0**-70
MAX_DIGITS = 1600


@dataclass(frozen=True)
class Pointwise:
    """Exact value, first partials (argument -> array) and second partials ((j, k) -> array, j <= k)
    of an elementwise op, correctly rounded to float64; ``unsure`` marks points where MAX_DIGITS did
    not settle them; ``digits`` is the precision each point needed."""

    value: np.ndarray
    first: dict
    second: dict
    unsure: np.ndarray
    digits: np.ndarray


def pointwise(name: str, args, params: dict | None = None) -> Pointwise:
    """Exact derivatives of elementwise op ``name`` at the points ``args`` (one float array per
    argument, broadcast together), at whatever precision each point needs (see MAX_DIGITS).

        >>> p = pointwise("tanh", [np.array([0.5, 300.0])])
        >>> p.first[0]
        array([7.86447733e-001, 1.06015862e-260])
    """
    op = spec.get(name)
    if not op.elementwise:
        raise ValueError(f"{name} is not elementwise; use Oracle for array ops")
    params = spec.check_params(op, params or {})
    prog = _program(op, params, (), (None,) * op.arity)
    pts = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args])
    n = pts[0].size
    keep = 1 + len(prog.var) + len(prog.pairs)  # value, first and second partials (not the third)
    out = np.empty((keep, n), dtype=float)
    unsure = np.zeros(n, dtype=bool)
    digits = np.zeros(n, dtype=int)
    flat = [p.ravel() for p in pts]
    for i in range(n):
        prec, prev = PRECISIONS[0], None
        while True:
            with mpmath.workdps(prec):
                res = prog.fn(*[mpmath.mpf(float(a[i])) for a in flat])[:keep]
            if prev is not None and all(_settled(a, b, prec >= MAX_DIGITS) for a, b in zip(prev, res)):
                break
            if prec >= MAX_DIGITS:
                unsure[i] = True
                break
            prev, prec = res, prec * 2
        with mpmath.workdps(prec):
            out[:, i] = [float(v) for v in res]
        digits[i] = prec
    shape = pts[0].shape
    col = iter(out)
    value = next(col).reshape(shape)
    first = {j: next(col).reshape(shape) for j in prog.var}
    second = {pair: next(col).reshape(shape) for pair in prog.pairs}
    return Pointwise(value, first, second, unsure.reshape(shape), digits.reshape(shape))


def along(comp: Composition, values: Mapping[str, np.ndarray], entry: tuple[str, tuple], x, cotangent, *,
          second: bool = True) -> Pointwise:
    """Exact derivatives of <cotangent, comp(...)> with respect to one input entry as it takes each
    value of ``x``, the other entries fixed at ``values``, at whatever precision each point needs (as
    in ``pointwise``: the Oracle's two precisions doubled until they agree to RELATIVE_AGREEMENT, a 0
    accepted only when it stays 0 up to MAX_DIGITS). ``entry`` is (input name, index).

    Returns a Pointwise with ``value`` <cotangent, output>, ``first[0]`` the first derivative and,
    when ``second``, ``second[(0, 0)]`` the second, correctly rounded to float64.

        >>> from trigrad.oracle.ir import Composition, Input, Node
        >>> c = Composition([Input("x0", (2,))], [Node("logsumexp", ("x0",))])
        >>> along(c, {"x0": np.zeros(2)}, ("x0", (0,)), np.array([0.0, 700.0]), 1.0).first[0]
        array([0.5, 1. ])
    """
    name, idx = entry
    base = {k: np.array(v, dtype=float) for k, v in values.items()}
    ct = np.broadcast_to(np.asarray(cotangent, dtype=float), comp.output_shape)
    tangent = np.zeros(base[name].shape)
    tangent[idx] = 1.0
    x = np.asarray(x, dtype=float)
    out = np.full((3, x.size), np.nan)
    unsure = np.zeros(x.size, dtype=bool)
    digits = np.zeros(x.size, dtype=int)
    for i, xi in enumerate(x.ravel()):
        base[name][idx] = xi
        prec = PRECISIONS[0]
        while True:
            with np.errstate(over="ignore"):  # the error model's bounds may overflow; they are not used here
                o = Oracle(comp, base, precisions=(prec, 2 * prec))
            qs = [o.vjp(ct)[name]] + ([o.hvp(ct, {name: tangent})[name]] if second else [])
            pairs = [(float(q.oracle_error[idx]), float(q.value[idx])) for q in qs]
            last = 2 * prec >= MAX_DIGITS
            if all(_settled_by(err, v, last) for err, v in pairs):
                break
            if last:
                unsure[i] = True
                break
            prec *= 2
        with mpmath.workdps(o.precisions[-1]):
            value = float(sum((a * b for a, b in zip(o._runs[-1][0][comp.output], _numbers(ct, _Digits(o.precisions[-1])))),
                              mpmath.mpf(0)))
        out[:1 + len(pairs), i] = [value] + [v for _, v in pairs]
        digits[i] = o.precisions[-1]
    shape = x.shape
    second_ = {(0, 0): out[2].reshape(shape)} if second else {}
    return Pointwise(out[0].reshape(shape), {0: out[1].reshape(shape)}, second_, unsure.reshape(shape),
                     digits.reshape(shape))


def _settled_by(err: float, value: float, last: bool) -> bool:
    """One Oracle's two precisions agree on ``value`` (their difference ``err``): relatively, or
    both exactly 0 at the last precision."""
    if value == 0:
        return err == 0 and last
    return err <= RELATIVE_AGREEMENT * abs(value)


def _settled(a, b, last: bool) -> bool:
    """Two successive precisions agree: relatively, or both exactly 0 at the last precision."""
    if a == 0 or b == 0:
        return a == b and last
    return abs(a - b) <= RELATIVE_AGREEMENT * abs(b)


__all__ = ["Oracle", "Exact", "Pointwise", "pointwise", "along", "PRECISIONS", "SAFETY", "SAFETY_SECOND_ORDER", "U64", "UNSURE_FRACTION", "NEAR_KINK"]
