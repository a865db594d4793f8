"""The op specification table: what every op *is*, written once.

Each entry gives an op's name, arity, its sympy twin (written from mathematics, never from a backward
rule), a float64 numpy reference forward, the shape rule, where each argument is drawn and where the
op is smooth and finite (its domain, with margins), its kinks and the derivatives accepted there, and
the rounding allowance a correct float64 implementation needs. Strategies, the sympy translation, the
oracles and the backend adapters all read this table; adding an op is one entry in ``OPS``.

Twins come in two forms. An *elementwise* op's twin takes sympy scalars (the oracle broadcasts it
over arrays with numpy's rules); an *array* op's twin takes numpy object arrays of sympy expressions
and returns one (``np.sum``, ``np.matmul`` and indexing work on object arrays unchanged).

Arguments that are not differentiated (an axis, a target shape, labels) are *params*, declared with a
``Param`` of a known kind so that strategies can draw them and JSON can carry them.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import operator
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import sympy

# --- margins and limits -------------------------------------------------------------------------
# Values are drawn at magnitudes where float64 answers are meaningful: |values| of order 1, and no
# intermediate larger than MAX_MAGNITUDE (exp(9.2) ~ 1e4), so that products of a few derivatives stay
# far from overflow and relative errors are judged at a sane scale.
MAX_MAGNITUDE = 1e4
# Distance kept from a pole or a branch point (log at 0, a divisor at 0, tan at pi/2 + k*pi, sqrt at
# 0, a pow base at 0). At 0.05 the local derivatives are at most ~1/0.05**2 = 400 (tan, div), so the
# conditioning of one op stays moderate; a finite-difference step also fits between point and pole.
POLE_MARGIN = 0.05
# Distance kept from a kink (abs and relu at 0, clip at its bounds, ties in max/min). A correct
# float64 forward is within ~1e-12 of the exact value at these magnitudes, so 1e-3 leaves no doubt
# about which side of the kink the implementation is on, and a numeric step of ~1e-4 never crosses.
KINK_MARGIN = 1e-3
# Exponents of exp, and of pow via y*log(x), are kept below this so values stay under MAX_MAGNITUDE.
MAX_EXPONENT = math.log(MAX_MAGNITUDE)

# --- rounding allowances (in units of the backend's unit roundoff u) ------------------------------
# IEEE 754 makes + - * / sqrt correctly rounded: 1 ulp, doubled for implementations that compose two
# of them (e.g. x - y after broadcasting a converted constant).
ULPS_EXACT = 2
# libm and vector-math implementations of exp, log, sin, ... are within a few ulps (glibc <= 1-2,
# SLEEF's u35 variants <= 3.5, NumPy's SIMD kernels <= 4); 4 covers them all.
ULPS_LIBM = 4


def _reduction_ulps(shapes, params, *, extra=ULPS_LIBM):
    """Allowance for an op that sums n terms: naive summation is off by up to (n - 1) u times the sum
    of absolute values; pairwise or blocked summation only does better."""
    shape = shapes[0]
    n = int(np.prod([shape[a] for a in normalize_axis(params.get("axis"), len(shape))]))
    return n + extra


@dataclass(frozen=True)
class Interval:
    """An interval [lo, hi] for drawing one argument's leaf values."""

    lo: float
    hi: float


@dataclass(frozen=True)
class Param:
    """A non-differentiated argument of an op (an axis, a target shape, bounds, labels).

    ``kind`` tells JSON how to carry it and, unless ``options`` says otherwise, strategies how to
    draw it (see ``PARAM_KINDS``). ``options(shape, drawn)``: the values this param may take when the
    op's first argument has ``shape`` and its earlier params were drawn as ``drawn`` (a dict), plainest
    first; an empty list when the shape admits none.
    """

    name: str
    kind: str
    default: Any = None
    options: Callable[[tuple, dict], Sequence] | None = None

    def choices(self, shape: tuple, drawn: dict) -> list:
        """The values strategies may draw for this param, plainest first (choice 0 is what examples
        shrink toward): ``options`` when given, else its kind's rule."""
        rule = self.options or _KIND_OPTIONS.get(self.kind)
        if rule is None:
            raise ValueError(f"param {self.name!r} of kind {self.kind!r} needs options: that kind has no default")
        return list(rule(tuple(shape), drawn))


PARAM_KINDS = {
    "axis": "None, an int or a tuple of ints (negative allowed): the axes a reduction runs over",
    "axis1": "None or one int: the axis of max/min",
    "axis_int": "one int: the axis an op works along (softmax-like ops normalise over it)",
    "keepdims": "bool: keep reduced axes with length 1",
    "reshape": "a tuple of ints with the same product as the input's shape",
    "perm": "None or a permutation of the input's axes",
    "broadcast": "a shape the input broadcasts to",
    "sum_to": "a shape the input is summed down to (the inverse of broadcasting)",
    "index": "a tuple of items, each an int, a slice or a tuple of ints (integer-array indexing)",
    "bound": "a float (clip's lower or upper bound)",
    "labels": "a tuple of ints, one class label per row",
    "approximate": "'none' or 'tanh': GELU exactly, or its tanh approximation",
    "coefficient": "a float: a slope, scale or offset (leaky_relu's negative slope, elu's alpha, layer_norm's eps)",
    "diagonal": "one int: the diagonal tril and triu keep from (0 the main one, > 0 above it)",
    "ddof": "one int: the delta degrees of freedom of var and std (divide by n - ddof)",
    "axis_new": "one int in [0, ndim]: where stack inserts its new axis",
    "mask": "nested tuples of bools shaped like the first argument: where's condition (x where True, y elsewhere)",
    "pad_width": "one (before, after) pair of ints per axis: how many zeros pad adds on each side",
    "reps": "a tuple of ints: how often tile repeats the input along each axis (numpy's rules for its length)",
    "indices": "nested tuples of ints shaped like the first argument but for the axis, along which they pick entries",
    "subscripts": "an einsum string of two operands with distinct letters per operand, e.g. 'ij,jk->ik'",
    "probabilities": "nested tuples of floats shaped like the (N, C) logits: each row a distribution over classes",
}


# How each kind is drawn by default (Param.choices): its values for an argument of ``shape``, plainest
# first. Few options per kind keep the oracle's compiled programs (one per op, params and shape) few.
def _axis_options(shape, drawn):
    d = len(shape)
    return [None] + list(range(d)) + ([-1] if d else []) + ([tuple(range(d))] if d > 1 else [])


def _axis1_options(shape, drawn):
    return [None] + list(range(len(shape)))


def _axis_int_options(shape, drawn):
    return [-1] + list(range(len(shape) - 1)) if shape else []


def _reshape_options(shape, drawn):
    n = int(np.prod(shape))
    opts = [(n,), tuple(reversed(shape)), (1,) + shape, shape + (1,)]
    return [o for o in dict.fromkeys(opts) if o != shape]


def _perm_options(shape, drawn):
    d = len(shape)
    return [None] + [p for p in itertools.permutations(range(d)) if d > 2]


def _broadcast_options(shape, drawn):
    return [(2,) + shape] + ([tuple(2 if n == 1 else n for n in shape)] if 1 in shape else [])


def _sum_to_options(shape, drawn):
    opts = [shape[1:], tuple(1 for _ in shape), (1,) + shape[1:]] if shape else []
    return [o for o in dict.fromkeys(opts) if o != shape]


def _index_options(shape, drawn):
    if not shape:
        return []
    n = shape[0]
    opts = [(0,), (slice(1, None),), ((0, 0, n - 1),), (n - 1,)]
    if len(shape) > 1:
        opts += [(slice(None), shape[1] - 1), ((n - 1, 0), slice(0, 1))]
    return opts


def _labels_options(shape, drawn):
    # one label per row; option k shifts row i's label to (k + i) mod the number of classes
    if len(shape) != 2:
        return []
    return [tuple((k + i) % shape[1] for i in range(shape[0])) for k in range(shape[1])]


def nested(a, item=None):
    """An array as nested tuples (hashable, and what JSON's nested lists turn back into); ``item``
    converts each entry (bool, int, float)."""
    a = np.asarray(a)
    if a.ndim == 0:
        return item(a.item()) if item else a.item()
    return tuple(nested(v, item) for v in a)


def _mask_options(shape):
    # alternate entries in C order (the first taken from x), then the complement, then only the first
    n = int(np.prod(shape))
    first = np.arange(n) % 2 == 0
    only = np.arange(n) == 0
    masks = [first, ~first, only] if n > 1 else [first, ~first]
    return [nested(m.reshape(shape), bool) for m in masks]


def _pad_width_options(shape):
    d = len(shape)
    if not d:
        return []
    opts = [((1, 1),) * d, ((0, 2),) + ((0, 0),) * (d - 1), ((0, 0),) * (d - 1) + ((1, 0),)]
    return list(dict.fromkeys(opts))


def _reps_options(shape):
    d = len(shape)
    if not d:
        return [(2,)]
    opts = [(2,) + (1,) * (d - 1), (1,) * (d - 1) + (2,), (2,) * d, (2,) + (1,) * d]
    return list(dict.fromkeys(opts))


def _indices_options(shape, axis):
    # along the axis: reversed, all the first entry (repeats accumulate), one longer than the axis
    if not shape:
        return []
    k = axis % len(shape)
    n = shape[k]

    def along(picks):
        m = len(picks)
        idx = np.reshape(np.asarray(picks, dtype=int), (1,) * k + (m,) + (1,) * (len(shape) - k - 1))
        return nested(np.broadcast_to(idx, shape[:k] + (m,) + shape[k + 1:]), int)

    return [along(range(n - 1, -1, -1)), along([0] * n), along([(i + 1) % n for i in range(n + 1)])]


# einsum's subscripts, by the number of axes of the first operand (a few fixed ones keep the
# oracle's compiled programs few): contractions, batched products, outer products.
EINSUM_SUBSCRIPTS = {
    1: ("i,i->", "i,j->ij", "i,ij->j"),
    2: ("ij,jk->ik", "ij,ij->i", "ij,kj->ik", "ij,j->i"),
    3: ("bij,bjk->bik", "bij,bij->b", "ijk,k->ij"),
}


def _probabilities_options(shape):
    # row i: 0.75 on class (k + i) mod C and the rest spread evenly (label smoothing), or uniform
    if len(shape) != 2:
        return []
    n, c = shape
    if c == 1:
        return [((1.0,),) * n]
    opts = []
    for k in range(min(c, 2)):
        p = np.full(shape, 0.25 / (c - 1))
        p[np.arange(n), (k + np.arange(n)) % c] = 0.75
        opts.append(nested(p, float))
    return opts + [nested(np.full(shape, 1.0 / c), float)]


_KIND_OPTIONS = {
    "axis": _axis_options,
    "axis1": _axis1_options,
    "axis_int": _axis_int_options,
    "keepdims": lambda shape, drawn: [False, True],
    "reshape": _reshape_options,
    "perm": _perm_options,
    "broadcast": _broadcast_options,
    "sum_to": _sum_to_options,
    "index": _index_options,
    "labels": _labels_options,
    "approximate": lambda shape, drawn: list(GELU_FORMS),
    "diagonal": lambda shape, drawn: [0, 1, -1],
    "ddof": lambda shape, drawn: [0, 1],
    "axis_new": lambda shape, drawn: list(range(len(shape) + 1)),
    "mask": lambda shape, drawn: _mask_options(shape),
    "pad_width": lambda shape, drawn: _pad_width_options(shape),
    "reps": lambda shape, drawn: _reps_options(shape),
    "indices": lambda shape, drawn: _indices_options(shape, drawn.get("axis", -1)),
    "subscripts": lambda shape, drawn: list(EINSUM_SUBSCRIPTS.get(len(shape), ())),
    "probabilities": lambda shape, drawn: _probabilities_options(shape),
}


@dataclass(frozen=True)
class ArraySweep:
    """How accuracy profiles (properties.accuracy) sweep an array op: one entry of a small argument
    across [-reach, reach] with the other entries fixed, measuring the derivative of one output entry
    (``pick``, a one-hot cotangent) or, when ``pick`` is None, of the sum of the outputs.

    fixed: per argument, its entries as nested tuples, None at the one swept entry.
    params: (name, value) pairs given to the op; the others take their defaults.
    """

    fixed: tuple
    reach: float
    pick: tuple | None = None
    params: tuple = ()


@dataclass(frozen=True)
class Kink:
    """Where an op is not differentiable and which derivatives are acceptable there.

    distance(*args, **params) -> array: for each element of the output, how far its arguments are
        from the nearest kink (in argument units). Compositions keep this above KINK_MARGIN.
    snap(args, select, **params) -> args: a copy of the float arguments with the entries chosen by the
        boolean mask ``select`` (shaped like args[0]) moved exactly onto a kink.
    check(args, cotangent, grads, u, **params) -> str | None: None when ``grads`` (one array per
        argument, the backend's vector-Jacobian product for ``cotangent``) lies in the subdifferential's
        image, else a sentence saying which entry is outside and what was allowed. Entries away from
        kinks must equal the ordinary derivative up to rounding at unit roundoff ``u`` (2**-53 for
        float64, 2**-24 for float32).
    """

    description: str
    distance: Callable[..., np.ndarray]
    snap: Callable[..., list]
    check: Callable[..., str | None]


# Python's operator precedence (higher binds tighter), for printing source with no more parentheses
# than needed: x + y * z, -(x + y), (-x) ** 2, x ** -y.
ADDITIVE = 10
MULTIPLICATIVE = 20
UNARY = 30
POWER = 40
ATOM = 100


@dataclass(frozen=True)
class Notation:
    """How an op is written in Python source: in formulas (``Composition.formula``) and in reproducer
    snippets (the default of ``Backend.source``), so both always agree.

    template: the source with ``{0}``, ``{1}`` for the arguments and ``{name}`` for params (an index
        param as its items, ``1:3, 0``), e.g. ``"{0} + {1}"``; None writes a call ``name({0}, p={p})``.
    precedence: how tightly the result binds (ATOM for a call or an indexing).
    binds: per argument, the least precedence it may have without parentheses (a call's arguments
        never need them).
    operator: the Python operator computing the op on any array library's values (they all overload
        it), for adapters that call ops through Python's operators; None where that is not so.
    """

    template: str | None = None
    precedence: int = ATOM
    binds: tuple[int, ...] = ()
    operator: Callable | None = None


def infix(symbol: str, precedence: int, function: Callable | None = None) -> Notation:
    """A left-associative binary operator: ``x - y - z`` is ``(x - y) - z``."""
    return Notation(f"{{0}} {symbol} {{1}}", precedence, (precedence, precedence + 1), function)


CALL = Notation()
INDEX = Notation("{0}[{index}]", ATOM, (ATOM,))
# ** is right-associative and binds tighter than a unary minus on its left: (-x) ** 2, x ** -y.
POWER_OPERATOR = Notation("{0} ** {1}", POWER, (POWER + 1, UNARY), operator.pow)
NEGATION = Notation("-{0}", UNARY, (UNARY,), operator.neg)


@dataclass(frozen=True)
class Op:
    """One entry of the table. See the module docstring for the conventions."""

    name: str
    arity: int
    twin: Callable[..., Any]
    numpy: Callable[..., np.ndarray]
    shape: Callable[..., tuple]
    draw: tuple[Interval, ...]
    valid: Callable[..., bool] | None = None
    kink: Kink | None = None
    elementwise: bool = True
    analytic: bool = True
    # Linear between its kinks (abs, relu, clip, max, min): second and higher derivatives are 0 away
    # from the kinks, so the oracle does not differentiate its twin twice (for max over many entries
    # sympy's second derivatives of Max are large DiracDelta expressions that only ever evaluate to 0).
    piecewise_linear: bool = False
    # Has a pole or branch point that ``valid`` keeps POLE_MARGIN away from (log, sqrt, div, tan,
    # pow): numeric steps must not get there.
    pole: bool = False
    params: tuple[Param, ...] = ()
    notation: Notation = CALL
    # f(a, b) == f(b, a) for every implementation, so argument order is not worth showing (DOT edges).
    commutative: bool = False
    # Its arguments are different values: op(x, x) is trivial (mean_squared_error(x, x) is 0).
    distinct_args: bool = False
    ulps: float | Callable[..., float] = ULPS_LIBM
    # The size of the terms a standard formula for the value adds and cancels, per output entry,
    # where that exceeds what the derivatives see: x - logsumexp(x) computed as x - (m + log sum e**(x - m))
    # loses u * |logsumexp(x)| however small the result (e.g. log_softmax near 0 for a dominant logit).
    value_scale: Callable[..., np.ndarray] | None = None
    jacobian_scale: Callable[..., np.ndarray] | None = None
    # hessian_scale(float args, float output, **params): the size of the terms a conventional
    # second-derivative formula adds, where the twin's own Hessian does not show them and they exceed
    # the floor every op gets (the first derivative's terms, symbolic._hessian_floor): one value per
    # output element for elementwise ops, a dense (output size, input size, input size) array for
    # array ops.
    hessian_scale: Callable[..., np.ndarray] | None = None
    # Points (one value per argument) where implementations take special branches or lose accuracy:
    # saturating tails, thresholds, x ** 0. Every cell of the op checks them first, deterministically
    # (properties.suite.edge_case), since random compositions reach them only by chance.
    edges: tuple[tuple[float, ...], ...] = ()
    # The whole float64 range of each argument, tails included, that accuracy profiles sweep
    # (properties.accuracy): where the op is defined, up to where its value or derivatives overflow
    # or underflow for good. Empty for array ops, which ``sweeps`` profiles instead.
    extent: tuple[Interval, ...] = ()
    # Array ops: the sweeps of accuracy profiles, two-argument ops in each argument as elementwise ones
    # are. Empty with no extent either: the op is not profiled (the shape ops copy or sum the
    # cotangent's entries, exactly in one entry's case).
    sweeps: tuple[ArraySweep, ...] = ()
    doc: str = ""

    def allowance(self, shapes, params) -> float:
        """Rounding allowance in ulps for one evaluation of this op on arguments of these shapes."""
        return float(self.ulps(shapes, params) if callable(self.ulps) else self.ulps)

    def out_shape(self, shapes, params) -> tuple:
        """The output shape for argument shapes ``shapes``; raises ValueError when they do not fit."""
        return tuple(self.shape(*[tuple(s) for s in shapes], **params))

    def accepts(self, args, params, const=None) -> bool:
        """True when float64 argument values lie inside the domain with its margins.

        ``const`` flags which arguments are constants (not differentiated); a constant integer
        exponent lets pow take a negative base.
        """
        const = tuple(const or (False,) * self.arity)
        if self.valid is not None and not self.valid(*args, const=const, **params):
            return False
        if self.kink is not None:
            d = self.kink.distance(*args, **params)
            if np.size(d) and not np.all(d > KINK_MARGIN):
                return False
        return True

    def defaults(self) -> dict:
        """The op's params with their default values."""
        return {p.name: p.default for p in self.params}

    def source(self, params=None) -> str:
        """The op's source template (see ``Notation``); a call shows the params named in ``params``
        (default: all of the op's), e.g. ``"sum({0}, axis={axis}, keepdims={keepdims})"``."""
        if self.notation.template is not None:
            return self.notation.template
        return self.call_source(self.name, params)

    def call_source(self, function: str, params=None) -> str:
        """The op as a call of ``function`` with its arguments and the params named in ``params``
        (default: all), as a template: ``call_source("jnp.sum")`` is ``"jnp.sum({0}, axis={axis},
        keepdims={keepdims})"``."""
        names = [p.name for p in self.params] if params is None else list(params)
        args = ", ".join("{%d}" % i for i in range(self.arity))
        return f"{function}({args}{''.join(f', {n}={{{n}}}' for n in names)})"


# --- shape rules ----------------------------------------------------------------------------------


def _broadcast(*shapes):
    return np.broadcast_shapes(*shapes)


def normalize_axis(axis, ndim) -> tuple[int, ...]:
    """Axis given as None, an int or a tuple of ints -> sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for {ndim}-d input")
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(out))


def _reduced(shape, axis, keepdims):
    axes = normalize_axis(axis, len(shape))
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _reduce_shape(shape, axis=None, keepdims=False):
    return _reduced(shape, axis, keepdims)


def _same_shape(shape, **_):
    return shape


def _axis_shape(shape, axis=-1, **_):
    normalize_axis(axis, len(shape))
    if not shape:
        raise ValueError("softmax-like ops need at least one axis")
    return shape


def _matmul_shape(a, b):
    if not a or not b:
        raise ValueError("matmul operands must be at least 1-d")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ValueError(f"matmul inner dimensions differ: {a} @ {b}")
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _reshape_shape(x, shape):
    if int(np.prod(x)) != int(np.prod(shape)) or any(n < 0 for n in shape):
        raise ValueError(f"cannot reshape {x} to {shape}")
    return tuple(shape)


def _transpose_shape(shape, axes=None):
    axes = _perm(axes, len(shape))
    return tuple(shape[a] for a in axes)


def _perm(axes, ndim):
    if axes is None:
        return tuple(reversed(range(ndim)))
    axes = tuple(int(a) % ndim for a in axes) if ndim else ()
    if sorted(axes) != list(range(ndim)):
        raise ValueError(f"{axes} is not a permutation of {ndim} axes")
    return axes


def _broadcast_to_shape(x, shape):
    try:
        ok = np.broadcast_shapes(x, tuple(shape)) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{x} does not broadcast to {shape}")
    return tuple(shape)


def _sum_to_shape(x, shape):
    try:
        _broadcast_to_shape(tuple(shape), x)
    except ValueError:
        raise ValueError(f"{x} cannot be summed to {shape} ({shape} does not broadcast to {x})") from None
    return tuple(shape)


def sum_to_axes(shape, shape_to) -> tuple[tuple[int, ...], int]:
    """Axes to sum (keepdims) and leading axes to drop so that ``shape`` reduces to ``shape_to``."""
    lead = len(shape) - len(shape_to)
    axes = tuple(lead + i for i, n in enumerate(shape_to) if n == 1 and shape[lead + i] != 1)
    return tuple(range(lead)) + axes, lead


def as_index(index):
    """The JSON-friendly index (ints, slices, tuples of ints) as a numpy index."""
    return tuple(np.asarray(i, dtype=np.intp) if isinstance(i, (tuple, list)) else i for i in index)


def _get_item_shape(shape, index):
    probe = np.empty(shape)
    try:
        return probe[as_index(index)].shape
    except IndexError as e:
        raise ValueError(f"index {format_index(index)} does not fit shape {shape}: {e}") from None


def format_index(index) -> str:
    """Index as Python source: ``[1:3, [0, 0, 2]]``."""

    def item(i):
        if isinstance(i, slice):
            a = "" if i.start is None else str(i.start)
            b = "" if i.stop is None else str(i.stop)
            return f"{a}:{b}" + ("" if i.step in (None, 1) else f":{i.step}")
        if isinstance(i, (tuple, list)):
            return "[" + ", ".join(str(int(k)) for k in i) + "]"
        return str(int(i))

    return "[" + ", ".join(item(i) for i in index) + "]"


def _mse_shape(a, b):
    if a != b:
        raise ValueError(f"mean_squared_error needs equal shapes, got {a} and {b}")
    return ()


def _sce_shape(x, labels):
    if len(x) != 2:
        raise ValueError(f"softmax_cross_entropy needs (N, C) logits, got shape {x}")
    if len(labels) != x[0] or any(not 0 <= int(t) < x[1] for t in labels):
        raise ValueError(f"labels {labels} do not fit logits of shape {x}")
    return ()


def _moment_shape(shape, axis=None, keepdims=False, ddof=0):
    n = int(np.prod([shape[a] for a in normalize_axis(axis, len(shape))]))
    if n <= ddof:
        raise ValueError(f"var and std over {n} entries need ddof < {n}, got {ddof}")
    return _reduced(shape, axis, keepdims)


def _reduce_like_flip(shape, axis=None):
    normalize_axis(axis, len(shape))
    return shape


def _matrix_shape(shape, **_):
    if len(shape) < 2:
        raise ValueError(f"tril and triu need at least 2 axes, got shape {shape}")
    return shape


def _concatenate_shape(a, b, axis=-1):
    if not a or len(a) != len(b):
        raise ValueError(f"concatenate needs arrays of one number (>= 1) of axes, got {a} and {b}")
    k = normalize_axis(axis, len(a))[0]
    if a[:k] + a[k + 1:] != b[:k] + b[k + 1:]:
        raise ValueError(f"concatenate along axis {axis} needs the other axes equal, got {a} and {b}")
    return a[:k] + (a[k] + b[k],) + a[k + 1:]


def _stack_shape(a, b, axis=0):
    if a != b or not 0 <= axis <= len(a):
        raise ValueError(f"stack needs equal shapes and an axis in [0, {len(a)}], got {a}, {b}, axis {axis}")
    return a[:axis] + (2,) + a[axis:]


def _where_shape(x, y, condition):
    return np.broadcast_shapes(x, y, np.shape(condition))


def _pad_shape(shape, widths):
    if len(widths) != len(shape) or any(a < 0 or b < 0 for a, b in widths):
        raise ValueError(f"pad needs one (before, after) pair of non-negative ints per axis of {shape}, got {widths}")
    return tuple(n + a + b for n, (a, b) in zip(shape, widths))


def _tile_shape(shape, reps):
    if any(r < 1 for r in reps):
        raise ValueError(f"tile needs positive repetitions, got {reps}")
    d = max(len(shape), len(reps))
    shape, reps = (1,) * (d - len(shape)) + shape, (1,) * (d - len(reps)) + tuple(reps)
    return tuple(n * r for n, r in zip(shape, reps))


def _take_along_axis_shape(shape, axis=-1, indices=None):
    idx = np.asarray(indices)
    k = normalize_axis(axis, len(shape))[0] if shape else None
    if k is None or idx.ndim != len(shape) or idx.shape[:k] + idx.shape[k + 1:] != shape[:k] + shape[k + 1:]:
        raise ValueError(f"take_along_axis indices of shape {idx.shape} do not fit {shape} along axis {axis}")
    if idx.size and not (0 <= idx.min() and idx.max() < shape[k]):
        raise ValueError(f"take_along_axis indices out of range for length {shape[k]}")
    return idx.shape


def einsum_parts(subscripts):
    """'ij,jk->ik' -> ('ij', 'jk', 'ik'); a ValueError unless it has two operands and an output, each
    letter once per operand, every output letter in an operand."""
    inputs, arrow, out = subscripts.partition("->")
    parts = inputs.split(",")
    if not arrow or len(parts) != 2 or any(len(set(t)) != len(t) for t in (*parts, out)) \
            or not set(out) <= set(parts[0]) | set(parts[1]):
        raise ValueError(f"einsum subscripts {subscripts!r} are not two operands and an output, each letter once")
    return parts[0], parts[1], out


def _einsum_shape(a, b, subscripts):
    sa, sb, out = einsum_parts(subscripts)
    if len(sa) != len(a) or len(sb) != len(b):
        raise ValueError(f"einsum {subscripts!r} does not fit shapes {a} and {b}")
    sizes = {}
    for letter, n in list(zip(sa, a)) + list(zip(sb, b)):
        if sizes.setdefault(letter, n) != n:
            raise ValueError(f"einsum {subscripts!r}: axis {letter!r} has lengths {sizes[letter]} and {n}")
    return tuple(sizes[letter] for letter in out)


def _layer_norm_shape(shape, eps):
    if not shape:
        raise ValueError("layer_norm needs at least one axis")
    return shape


def _cross_entropy_shape(x, target):
    if len(x) != 2 or np.shape(target) != x:
        raise ValueError(f"cross_entropy needs (N, C) logits and target probabilities of their shape, got {x} "
                         f"and {np.shape(target)}")
    return ()


def _clip_shape(shape, lo, hi):
    if not lo < hi:
        raise ValueError(f"clip needs lo < hi, got {lo}, {hi}")
    return shape


# --- helpers shared by twins and numpy forwards ---------------------------------------------------


def _obj(x):
    """Wrap a sympy result (or numpy object scalar) as an object ndarray."""
    if isinstance(x, np.ndarray):
        return x
    a = np.empty((), dtype=object)
    a[()] = x
    return a


def _emap(fn, x):
    """Apply a scalar sympy function to every element of an object array."""
    x = _obj(x)
    out = np.empty(x.shape, dtype=object)
    for i, v in np.ndenumerate(x):
        out[i] = fn(v)
    return out


def _rows(x, axes):
    """x with ``axes`` moved to the end and flattened into one: shape (*kept, n)."""
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    return moved.reshape(moved.shape[: x.ndim - len(axes)] + (-1,))


def _along(x, axis, keepdims, fn):
    """Reduce an object array over ``axis`` with ``fn(list_of_elements)``."""
    x = _obj(x)
    rows = _rows(x, normalize_axis(axis, x.ndim))
    lead = rows.shape[:-1]
    out = np.empty(lead, dtype=object)
    for i in np.ndindex(lead):
        out[i] = fn(list(rows[i]))
    if keepdims:
        out = out.reshape(_reduced(x.shape, axis, True))
    return out


def _rational(c):
    """A float as the exact sympy Rational it represents (so constants never lose precision)."""
    return sympy.Rational(float(c))


def _np_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _np_softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=normalize_axis(axis, np.ndim(x)), keepdims=True)
    y = m + np.log(np.sum(np.exp(x - m), axis=normalize_axis(axis, np.ndim(x)), keepdims=True))
    return y if keepdims else np.squeeze(y, axis=normalize_axis(axis, np.ndim(x)))


def _np_log_softmax(x, axis=-1):
    return x - _np_logsumexp(x, axis=axis, keepdims=True)


def _np_sum_to(x, shape):
    axes, _ = sum_to_axes(np.shape(x), tuple(shape))
    return np.sum(x, axis=axes, keepdims=True).reshape(tuple(shape))


def _np_sce(x, labels):
    ls = _np_log_softmax(x, axis=1)
    return -np.mean(ls[np.arange(len(labels)), np.asarray(labels, dtype=np.intp)])


def _sym_sum_to(x, shape):
    axes, _ = sum_to_axes(x.shape, tuple(shape))
    return _obj(np.sum(x, axis=axes, keepdims=True)).reshape(tuple(shape))


def _sym_mean(x, axis=None, keepdims=False):
    n = int(np.prod(x.shape)) // max(1, int(np.prod(_reduced(x.shape, axis, True))))
    return _emap(lambda s: s / n, _along(x, axis, keepdims, sympy.Add.fromiter))


def _sym_logsumexp(x, axis=None, keepdims=False):
    return _along(x, axis, keepdims, lambda r: sympy.log(sympy.Add.fromiter(sympy.exp(v) for v in r)))


def _sym_log_softmax(x, axis=-1):
    return _obj(x - _sym_logsumexp(x, axis=axis, keepdims=True))


def _sym_softmax(x, axis=-1):
    e = _emap(sympy.exp, x)
    return _obj(e / _along(e, axis, True, sympy.Add.fromiter))


def _sym_sce(x, labels):
    ls = _sym_log_softmax(x, axis=1)
    picked = [ls[i, int(t)] for i, t in enumerate(labels)]
    return _obj(-sympy.Add.fromiter(picked) / len(labels))


def _sym_mse(a, b):
    d = _obj(a - b)
    return _obj(sympy.Add.fromiter(v**2 for v in d.flat) / d.size)



def _np_erf(x):
    return np.vectorize(math.erf, otypes=[float])(x)


# GELU's forms (its param approximate) and the tanh form's cubic coefficient, the float every library writes.
GELU_FORMS = ("none", "tanh")
GELU_CUBIC = 0.044715


def _gelu_tanh_argument(x):
    """u = sqrt(2/pi) (x + 0.044715 x**3): the tanh form is x (1 + tanh(u)) / 2."""
    return math.sqrt(2 / math.pi) * (x + GELU_CUBIC * x**3)


def _np_gelu(x, approximate="none"):
    if approximate == GELU_FORMS[0]:
        # x * Phi(x) with Phi from erfc (1 + erf(x / sqrt 2) cancels for x < 0)
        return x * np.vectorize(math.erfc, otypes=[float])(-np.asarray(x) / math.sqrt(2)) / 2
    # 1 + tanh(u) = 2 sigmoid(2u), which keeps the negative tail
    return x * _np_sigmoid(2 * _gelu_tanh_argument(x))


def _sym_gelu(x, approximate="none"):
    if approximate == GELU_FORMS[0]:
        return x * (1 + sympy.erf(x / sympy.sqrt(2))) / 2
    return x * (1 + sympy.tanh(sympy.sqrt(2 / sympy.pi) * (x + _rational(GELU_CUBIC) * x**3))) / 2


def _np_leaky_relu(x, slope=0.01):
    return np.where(x > 0, x, slope * x)


def _np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _sym_elu(x, alpha=1.0):
    return sympy.Piecewise((x, x > 0), (_rational(alpha) * (sympy.exp(x) - 1), True))


def _np_moment(function):
    """np.var or np.std over the spec's axis."""
    return lambda x, axis=None, keepdims=False, ddof=0: function(
        x, axis=normalize_axis(axis, np.ndim(x)), keepdims=keepdims, ddof=ddof)


def _sym_var(x, axis=None, keepdims=False, ddof=0):
    def var(r):
        m = sympy.Add(*r) / len(r)
        return sympy.Add(*[(v - m) ** 2 for v in r]) / (len(r) - ddof)

    return _along(x, axis, keepdims, var)


def _np_norm(x, axis=None, keepdims=False):
    return np.sqrt(np.sum(np.square(x), axis=normalize_axis(axis, np.ndim(x)), keepdims=keepdims))


def _sym_triangle(x, k, upper):
    n, m = x.shape[-2:]
    keep = ~np.tri(n, m, k - 1, dtype=bool) if upper else np.tri(n, m, k, dtype=bool)
    return _obj(np.where(keep, x, sympy.S.Zero))


def _sym_pad(x, widths):
    x = _obj(x)
    out = np.full(_pad_shape(x.shape, widths), sympy.S.Zero, dtype=object)
    out[tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, widths))] = x
    return out


def _np_layer_norm(x, eps):
    d = x - np.mean(x, axis=-1, keepdims=True)
    return d / np.sqrt(np.mean(d * d, axis=-1, keepdims=True) + eps)


def _sym_layer_norm(x, eps):
    x = _obj(x)
    out = np.empty(x.shape, dtype=object)
    for i in np.ndindex(x.shape[:-1]):
        row = list(x[i])
        m = sympy.Add(*row) / len(row)
        s = sympy.sqrt(sympy.Add(*[(v - m) ** 2 for v in row]) / len(row) + _rational(eps))
        out[i] = [(v - m) / s for v in row]
    return out


def _np_cross_entropy(x, target):
    return -np.mean(np.sum(np.asarray(target) * _np_log_softmax(x, axis=1), axis=1))


def _sym_cross_entropy(x, target):
    ls = _sym_log_softmax(x, axis=1)
    p = np.asarray(target, dtype=float)
    terms = [_rational(p[i, c]) * ls[i, c] for i, c in np.ndindex(p.shape) if p[i, c] != 0]
    return _obj(-sympy.Add(*terms) / p.shape[0])

# --- domains -------------------------------------------------------------------------------------


def _positive(x, **_):
    return bool(np.all(x > POLE_MARGIN))


def _nonzero(x, y, **_):
    return bool(np.all(np.abs(y) > POLE_MARGIN))


def _exp_ok(x, **_):
    return bool(np.all(x < MAX_EXPONENT))


def _tan_ok(x, **_):
    return bool(np.all(np.abs(np.cos(x)) > POLE_MARGIN))


def _exp_abs_ok(x, **_):
    return bool(np.all(np.abs(x) < MAX_EXPONENT))


def _inside_unit(x, **_):
    return bool(np.all(np.abs(x) < 1 - POLE_MARGIN))


def _above_minus_one(x, **_):
    return bool(np.all(x > -1 + POLE_MARGIN))


def _hypot_ok(x, y, **_):
    # (0, 0) is a cone point: no derivative there, and derivatives of order k grow as 1 / r**(k - 1)
    return bool(np.all(np.hypot(x, y) > POLE_MARGIN))


def _spread(x, axis=None, keepdims=False, ddof=0, **_):
    # std's derivative (x - mean) / (n - ddof) / std is singular where a slice is constant
    return bool(np.all(np.std(x, axis=normalize_axis(axis, np.ndim(x)), ddof=ddof) > POLE_MARGIN))


def _spread_last(x, **_):
    # layer_norm is smooth (eps > 0) but, near a constant row, x - mean cancels and 1 / sqrt(var + eps)
    # magnifies it: its rows keep a spread, as std's slices do
    return bool(np.shape(x)[-1] > 1 and np.all(np.std(x, axis=-1) > POLE_MARGIN))


def _pow_ok(x, y, const=(False, False), **_):
    y = np.asarray(y, dtype=float)
    integer = const[1] and np.all(y == np.round(y))
    if integer:
        # A constant integer exponent is a polynomial (or 1/polynomial) in x: any base, away from 0
        # only when the exponent is negative.
        base_ok = np.all(np.abs(x) > POLE_MARGIN) if np.any(y < 0) else True
    else:
        base_ok = np.all(x > POLE_MARGIN)
    with np.errstate(all="ignore"):
        big = np.abs(y) * np.log(np.maximum(np.abs(x), POLE_MARGIN))
    return bool(base_ok and np.all(big < MAX_EXPONENT))


# --- kinks ---------------------------------------------------------------------------------------


# Slack when checking a gradient against a subdifferential: the backend multiplies the cotangent by
# the slope, which may round by an ulp or two.
KINK_CHECK_ULPS = 4


def _outside(name, grads, lo, hi, where, u):
    """Sentence naming the first entry of grads outside [lo, hi] (with rounding slack at unit
    roundoff u), or None."""
    grads = np.asarray(grads, dtype=float)
    slack = KINK_CHECK_ULPS * 2 * u * np.maximum(np.abs(lo), np.abs(hi))
    lo, hi = lo - slack, hi + slack
    bad = ~((grads >= lo) & (grads <= hi)) | ~np.isfinite(grads)
    if not np.any(bad):
        return None
    i = tuple(int(k) for k in np.argwhere(bad)[0])
    return (
        f"{name} gradient at index {i} is {float(grads[i])!r}, outside the allowed "
        f"[{float(lo[i])!r}, {float(hi[i])!r}] ({where[i]})"
    )


def _zero_kink(name, slope_lo, slope_hi, slope):
    """The kink of a unary elementwise op at x == 0 (abs, relu): there any slope in [slope_lo,
    slope_hi] is accepted, elsewhere slope(x) up to rounding."""

    def distance(x):
        return np.abs(x)

    def snap(args, select):
        (x,) = args
        return [np.where(select, 0.0, x)]

    def check(args, cotangent, grads, u):
        (x,) = args
        (g,) = grads
        ct = np.broadcast_to(np.asarray(cotangent, dtype=float), np.shape(x))
        on = x == 0
        s = slope(x)
        lo = np.where(on, np.minimum(slope_lo * ct, slope_hi * ct), s * ct)
        hi = np.where(on, np.maximum(slope_lo * ct, slope_hi * ct), s * ct)
        return _outside(name, g, lo, hi, np.where(on, "at the kink", "away from the kink"), u)

    return Kink(f"{name} at 0: any slope in [{slope_lo:g}, {slope_hi:g}]", distance, snap, check)


def _clip_kink():
    def distance(x, lo, hi):
        return np.minimum(np.abs(x - lo), np.abs(x - hi))

    def snap(args, select, lo, hi):
        (x,) = args
        nearer_lo = np.abs(x - lo) <= np.abs(x - hi)
        return [np.where(select, np.where(nearer_lo, lo, hi), x)]

    def check(args, cotangent, grads, u, lo, hi):
        (x,) = args
        (g,) = grads
        ct = np.broadcast_to(np.asarray(cotangent, dtype=float), np.shape(x))
        on = (x == lo) | (x == hi)
        inside = (x > lo) & (x < hi)
        a = np.where(on, np.minimum(0, ct), np.where(inside, ct, 0))
        b = np.where(on, np.maximum(0, ct), np.where(inside, ct, 0))
        where = np.where(on, "at a bound", np.where(inside, "inside the bounds", "outside the bounds"))
        return _outside("clip", g, a, b, where, u)

    return Kink("clip at its bounds: any slope in [0, 1]", distance, snap, check)


def _one_sided_kink(name, derivative, limits):
    """The kink at x == 0 of a unary elementwise op with params (leaky_relu, elu): there any slope
    between the one-sided derivatives ``limits(**params)`` is accepted, elsewhere ``derivative(x,
    **params)`` up to rounding."""

    def distance(x, **_):
        return np.abs(x)

    def snap(args, select, **_):
        (x,) = args
        return [np.where(select, 0.0, x)]

    def check(args, cotangent, grads, u, **params):
        (x,) = args
        (g,) = grads
        ct = np.broadcast_to(np.asarray(cotangent, dtype=float), np.shape(x))
        on = x == 0
        left, right = limits(**params)
        s = derivative(x, **params)
        lo = np.where(on, np.minimum(left * ct, right * ct), s * ct)
        hi = np.where(on, np.maximum(left * ct, right * ct), s * ct)
        return _outside(name, g, lo, hi, np.where(on, "at the kink", "away from the kink"), u)

    return Kink(f"{name} at 0: any slope between the one-sided derivatives", distance, snap, check)


_leaky_relu_kink = _one_sided_kink("leaky_relu", lambda x, slope: np.where(x > 0, 1.0, slope),
                                   lambda slope: (slope, 1.0))
_elu_kink = _one_sided_kink("elu", lambda x, alpha: np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))),
                            lambda alpha: (alpha, 1.0))


def _norm_kink():
    """The 2-norm at a zero slice: any gradient whose 2-norm over the slice is at most |cotangent|
    (the unit ball times the cotangent); elsewhere cotangent * x / norm."""

    def distance(x, axis=None, keepdims=False):
        return _np_norm(np.asarray(x, dtype=float), axis, keepdims)

    def snap(args, select, axis=None, keepdims=False):
        (x,) = args
        axes = normalize_axis(axis, np.ndim(x))
        touched = np.any(select, axis=axes, keepdims=True)  # a slice with a selected entry becomes 0
        return [np.where(np.broadcast_to(touched, np.shape(x)), 0.0, x)]

    def check(args, cotangent, grads, u, axis=None, keepdims=False):
        (x,) = args
        g = np.asarray(grads[0], dtype=float)
        axes = normalize_axis(axis, np.ndim(x))
        ct = np.asarray(cotangent, dtype=float)
        if not keepdims:
            ct = np.expand_dims(ct, axes) if axes else ct
        n = _np_norm(x, axis, keepdims=True)
        zero = np.broadcast_to(n == 0, np.shape(x))
        ball = _np_norm(g, axis, keepdims=True)
        slack = KINK_CHECK_ULPS * 2 * u
        if np.any((n == 0) & (ball > np.abs(ct) * (1 + slack))):
            return (f"norm gradient over a zero slice has norm {float(np.max(ball[n == 0]))!r}, more than the "
                    f"cotangent's magnitude {float(np.max(np.abs(np.broadcast_to(ct, n.shape))[n == 0]))!r}")
        expected = np.broadcast_to(ct, np.shape(x)) * np.where(zero, 0.0, x / np.where(n == 0, 1.0, n))
        # x / norm: the norm's sum of squares rounds by up to (entries + 2) u
        entries = int(np.prod([np.shape(x)[a] for a in axes]))
        tol = (entries + ULPS_EXACT) * u * np.abs(np.broadcast_to(ct, np.shape(x)))
        return _outside("norm", np.where(zero, 0.0, g), expected - tol, expected + tol,
                        np.where(zero, "at the kink", "away from the kink"), u)

    return Kink("norm at a zero slice: any gradient in the unit ball times the cotangent", distance, snap, check)


def _extreme_kink(pick):
    """Ties in max (pick=np.max) or min (pick=np.min): the gradient over a tied set is the cotangent
    times non-negative weights summing to one; zero for entries that are not extreme."""

    def gap(x, axis=None, keepdims=False):
        # Distance between the extreme and the runner-up of each slice; 0 for a tie, inf for a slice
        # of one element (no kink at all).
        axes = normalize_axis(axis, np.ndim(x))
        rows = _rows(np.asarray(x, dtype=float), axes)
        if rows.shape[-1] < 2:
            d = np.full(rows.shape[:-1], np.inf)
        else:
            r = np.sort(rows, axis=-1)
            d = r[..., -1] - r[..., -2] if pick is np.max else r[..., 1] - r[..., 0]
        return d.reshape(_reduced(np.shape(x), axis, keepdims))

    def snap(args, select, axis=None, keepdims=False):
        (x,) = args
        m = pick(x, axis=normalize_axis(axis, np.ndim(x)), keepdims=True)
        return [np.where(select, np.broadcast_to(m, np.shape(x)), x)]

    def check(args, cotangent, grads, u, axis=None, keepdims=False):
        (x,) = args
        (g,) = grads
        g = np.asarray(g, dtype=float)
        axes = normalize_axis(axis, np.ndim(x))
        ct = np.asarray(cotangent, dtype=float)
        if not keepdims:
            ct = np.expand_dims(ct, axes) if axes else ct
        ct = np.broadcast_to(ct, np.shape(x))
        m = pick(x, axis=axes, keepdims=True)
        extreme = x == m
        eps = KINK_CHECK_ULPS * 2 * u
        if np.any(g[~extreme] != 0):
            i = tuple(int(k) for k in np.argwhere((g != 0) & ~extreme)[0])
            return f"gradient {float(g[i])!r} at index {i}, which is not an extreme entry (must be 0)"
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(extreme, g / ct, 0.0)
        zero_ct = ct == 0
        if np.any(zero_ct & (g != 0)):
            i = tuple(int(k) for k in np.argwhere(zero_ct & (g != 0))[0])
            return f"gradient {float(g[i])!r} at index {i} where the cotangent is 0"
        w = np.where(zero_ct, 0.0, w)
        if np.any(w < -eps):
            i = tuple(int(k) for k in np.argwhere(w < -eps)[0])
            return f"negative weight {float(w[i])!r} on tied entry {i} (weights must be >= 0)"
        total = np.sum(w, axis=axes, keepdims=True)
        needs = ~np.all(zero_ct, axis=axes, keepdims=True)
        off = needs & (np.abs(total - 1) > eps * np.sum(extreme, axis=axes, keepdims=True))
        if np.any(off):
            return f"weights on tied entries sum to {float(total[off].ravel()[0])!r}, not 1"
        return None

    name = "max" if pick is np.max else "min"
    return Kink(f"{name} over tied entries: non-negative weights summing to one", gap, snap, check)


def _tie_kink(pick):
    """Ties x == y of the elementwise maximum (pick=np.maximum) or minimum: there the cotangent may be
    split between x and y in any non-negative shares (half each, all to one side: libraries differ);
    elsewhere it goes to the argument picked. The kink row draws x and y of one shape."""
    name = "maximum" if pick is np.maximum else "minimum"

    def distance(x, y):
        return np.abs(np.asarray(x, dtype=float) - np.asarray(y, dtype=float))

    def snap(args, select):
        x, y = args
        return [x, np.where(select, x, y)]

    def check(args, cotangent, grads, u):
        x, y = (np.asarray(a, dtype=float) for a in args)
        if x.shape != y.shape:
            raise ValueError(f"{name}'s kink check needs x and y of one shape, got {x.shape} and {y.shape}")
        gx, gy = (np.asarray(g, dtype=float) for g in grads)
        ct = np.broadcast_to(np.asarray(cotangent, dtype=float), x.shape)
        tie = x == y
        takes_x = pick(x, y) == x
        where = np.where(tie, "at a tie", "away from a tie")
        zero = np.zeros_like(ct)
        for label, g, mine in (("x", gx, takes_x), ("y", gy, ~takes_x)):
            full = np.where(mine, ct, 0.0)
            lo = np.where(tie, np.minimum(zero, ct), full)
            hi = np.where(tie, np.maximum(zero, ct), full)
            why = _outside(f"{name} (wrt {label})", g, lo, hi, where, u)
            if why:
                return why
        slack = KINK_CHECK_ULPS * 2 * u * np.abs(ct)
        off = tie & (np.abs(gx + gy - ct) > slack)
        if np.any(off):
            i = tuple(int(k) for k in np.argwhere(off)[0])
            return (f"shares at tied index {i} sum to {float(gx[i] + gy[i])!r}, not the cotangent "
                    f"{float(ct[i])!r}")
        return None

    return Kink(f"{name} at ties x == y: the cotangent split between x and y in non-negative shares",
                distance, snap, check)


# --- Jacobian scales where a standard implementation cancels but the twin's derivative does not ---------
# The oracle bounds the rounding of a derivative formula by its magnitude (symbolic._magnitude: the
# terms its evaluation adds up), which covers tanh' = 1 - tanh**2, softmax's s_i (delta_ij - s_j)
# and the like automatically. sympy writes sigmoid' as e**-x / (1 + e**-x)**2, which does not
# cancel, but libraries compute y * (1 - y), which does once y ~ 1: its entry gives that size. A
# function gets (float arguments, float output, params) and returns a dense (output size, input
# size) array.


def _sigmoid_jacobian_scale(args, out):
    y = np.abs(out).ravel()
    return np.diag(y * (1 + y))



def _silu_jacobian_scale(args, out):
    # libraries compute s (1 + x (1 - s)), s = sigmoid(x): 1 - s cancels once s ~ 1
    (x,) = args
    x, s = np.abs(x).ravel(), _np_sigmoid(x).ravel()
    return np.diag(s * (1 + x * (1 + s)))


def _logaddexp_value_scale(args, out):
    # max(x, y) + log1p(e ** -|x - y|): the two terms cancel where the result is near 0. The second
    # is in [0, log 2], so each is at most |out| + log 2 (from the output: a constant argument is None).
    return np.abs(out) + 2 * math.log(2)


def _gelu_terms(x, approximate):
    """The standard GELU formulas' bracket (1 + erf(x / sqrt 2) or 1 + tanh(u)) as the size of its
    terms, which cancel for x < 0, and the size of the bracket's derivative."""
    if approximate == GELU_FORMS[0]:
        return 1 + np.abs(_np_erf(x / math.sqrt(2))), 2 * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    t = np.tanh(_gelu_tanh_argument(x))
    return 1 + np.abs(t), (1 + t * t) * math.sqrt(2 / math.pi) * (1 + 3 * GELU_CUBIC * x * x)


def _gelu_value_scale(args, out, approximate="none"):
    # x * bracket / 2: terms of size |x| (1 + |erf| or 1 + |tanh|) / 2
    x = np.asarray(args[0], dtype=float)
    return np.abs(x) * _gelu_terms(x, approximate)[0] / 2


def _gelu_jacobian_scale(args, out, approximate="none"):
    # (bracket + x bracket') / 2, each bracket a sum of terms of size 1
    x = np.asarray(args[0], dtype=float).ravel()
    terms, slope = _gelu_terms(x, approximate)
    return np.diag((terms + np.abs(x) * slope) / 2)


# Second derivatives of unary elementwise ops, the same way: from the float output, the size of the
# terms a conventional implementation adds up (elementwise, one value per output element).



def _silu_hessian_scale(args, out):
    # silu'' = s (1 - s) (2 + x (1 - 2s)), s = sigmoid(x), as libraries compute it: 1 - s and 1 - 2s
    # cancel once s ~ 1 (PyTorch, at x = 20: relative 4e-8 of a value 4e-8)
    (x,) = args
    x = np.asarray(x, dtype=float)
    s = _np_sigmoid(x)
    return s * (1 + s) * (2 + np.abs(x) * (1 + 2 * s))


def _arctanh_hessian_scale(args, out):
    # JAX's arctanh' is 1 / (1 + x) / (1 - x); differentiated again it is -1 / ((1 + x)**2 (1 - x)) +
    # 1 / ((1 + x) (1 - x)**2): two terms of size ~1 whose difference, 2x / (1 - x**2)**2, is small
    # near 0 (at x = 1e-8 JAX is off by 6e-9 relative: rounding of the terms)
    (x,) = args
    x = np.asarray(x, dtype=float)
    return 1 / ((1 + x) ** 2 * (1 - x)) + 1 / ((1 + x) * (1 - x) ** 2)

# The softmax family needs its entry for another reason: over an axis of length one sympy simplifies
# the twin to a constant (log(e**x) = x), its Jacobian vanishes identically and has no formula to
# measure, while implementations still compute s - s (softmax's s (delta - s), log_softmax's
# delta - s): rounding of size u. These give every entry of a row its size.


def _same_row(shape, axis):
    """(n, n) mask: flat entries i and p lie in the same slice along ``axis``."""
    idx = np.indices(shape).reshape(len(shape), -1)
    keep = [d for d in range(len(shape)) if d != axis % len(shape)]
    return np.all(idx[keep][:, :, None] == idx[keep][:, None, :], axis=0)


def _softmax_jacobian_scale(args, out, axis=-1):
    # s_i * (g_i - sum_p g_p s_p): entry (i, p) is s_i (delta_ip + s_p) in size
    s = out.ravel()
    return _same_row(out.shape, axis) * s[:, None] * (np.eye(s.size) + s[None, :])


def _log_softmax_jacobian_scale(args, out, axis=-1):
    # g_p - s_p * sum_i g_i: entry (i, p) is delta_ip + s_p in size
    s = np.exp(out).ravel()
    return _same_row(out.shape, axis) * (np.eye(s.size) + s[None, :])


def _log_softmax_value_scale(args, out, axis=-1):
    # x - logsumexp(x): the two terms, each as large as the logits
    (x,) = args
    return np.abs(x) + np.abs(_np_logsumexp(x, axis=axis, keepdims=True))


def _cross_entropy_value_scale(args, out, labels):
    # mean over rows of logsumexp(x_i) - x_i[label_i]
    (x,) = args
    picked = x[np.arange(x.shape[0]), np.asarray(labels, dtype=np.intp)]
    return np.asarray(np.mean(np.abs(picked) + np.abs(_np_logsumexp(x, axis=1))))


def _cross_entropy_jacobian_scale(args, out, labels):
    # (softmax(x) - onehot) / N
    (x,) = args
    s = np.exp(_np_log_softmax(x, axis=1))
    onehot = np.zeros_like(s)
    onehot[np.arange(len(labels)), np.asarray(labels, dtype=np.intp)] = 1
    return ((s + onehot) / x.shape[0]).reshape(1, -1)


def _layer_norm_parts(x, eps):
    d = x - np.mean(x, axis=-1, keepdims=True)
    s = np.sqrt(np.mean(d * d, axis=-1, keepdims=True) + eps)
    return d, s


def _layer_norm_value_scale(args, out, eps):
    # (x - mean) / s: the two terms of the difference, each as large as the row's entries, over s
    x = np.asarray(args[0], dtype=float)
    d, s = _layer_norm_parts(x, eps)
    return (np.abs(x) + np.abs(x - d)) / s


def _layer_norm_jacobian_scale(args, out, eps):
    # (delta_ij - 1/n - xhat_i xhat_j / n) / s within a row, as libraries sum those terms; each xhat =
    # (x - mean) / s is itself a difference of terms of size a = (|x| + |mean|) / s, so the product
    # xhat_i xhat_j carries terms of size |xhat_i| a_j + a_i |xhat_j|
    x = np.asarray(args[0], dtype=float)
    d, s = _layer_norm_parts(x, eps)
    n = x.shape[-1]
    a = ((np.abs(x) + np.abs(x - d)) / s).ravel()
    xhat, s = np.abs(d / s).ravel(), np.broadcast_to(s, x.shape).ravel()
    products = xhat[:, None] * a[None, :] + a[:, None] * xhat[None, :]
    return _same_row(x.shape, -1) * (np.eye(x.size) + (1 + products) / n) / s[:, None]


def _soft_cross_entropy_value_scale(args, out, target):
    # mean over rows of sum_c p_c (logsumexp(x_i) - x_ic)
    (x,) = args
    p = np.asarray(target, dtype=float)
    return np.asarray(np.mean(np.sum(p * (np.abs(x) + np.abs(_np_logsumexp(x, axis=1, keepdims=True))), axis=1)))


def _soft_cross_entropy_jacobian_scale(args, out, target):
    # (softmax(x) sum_c p_c - p) / N
    (x,) = args
    p = np.asarray(target, dtype=float)
    s = np.exp(_np_log_softmax(x, axis=1))
    return ((s * np.sum(p, axis=1, keepdims=True) + p) / x.shape[0]).reshape(1, -1)


# --- the table -------------------------------------------------------------------------------------

_S = Interval(-3.0, 3.0)  # default draw for ops that are smooth everywhere
_POS = Interval(0.1, 4.0)
_UNIT = Interval(-0.9, 0.9)  # inside (-1, 1), the domain of arcsin, arccos and arctanh
# Extents for accuracy profiles. _ALL: any float64 argument short of overflow (1e300 leaves room for
# an op's value and first two derivatives, which are at most linear in it for these ops); _ALL_POS:
# every positive float64, subnormals included (log and sqrt); exp, sigmoid, tanh and softplus reach
# past where their values or derivatives overflow or underflow completely (e**709.78 is the largest
# float64, e**-745.13 half the smallest subnormal; sech(x)**2 ~ 4 e**(-2|x|) underflows at |x| ~ 373).
_ALL = Interval(-1e300, 1e300)
_ALL_POS = Interval(5e-324, 1.7e308)
# Array sweeps reach where the standard formulas lose the answer: the softmax family's e**x out to
# +-750 (sigmoid's extent: e**-745 is half the smallest subnormal), mean_squared_error's square to its
# overflow (1e154 squared), the linear ops across float64 (_ALL).
_SOFTMAX_TAILS = 750.0
_SQUARE_OVERFLOW = 1e154
# clip's (lo, hi) pairs drawn: a few fixed ones keep the oracle's compiled programs few.
CLIP_BOUNDS = ((-1.0, 1.0), (-0.5, 0.5), (0.0, 1.5), (-2.0, 0.25))
_abs_kink = _zero_kink("abs", -1.0, 1.0, np.sign)
_relu_kink = _zero_kink("relu", 0.0, 1.0, lambda x: (x > 0).astype(float))


def _entries():
    E = Op
    return [
        # elementwise arithmetic, simplest first
        E("add", 2, lambda x, y: x + y, np.add, _broadcast, (_S, _S), notation=infix("+", ADDITIVE, operator.add), commutative=True,
          ulps=ULPS_EXACT,
          extent=(_ALL, _ALL), doc="x + y with numpy broadcasting"),
        E("mul", 2, lambda x, y: x * y, np.multiply, _broadcast, (_S, _S), notation=infix("*", MULTIPLICATIVE, operator.mul), commutative=True,
          ulps=ULPS_EXACT,
          extent=(_ALL, _ALL), doc="x * y with numpy broadcasting"),
        E("sub", 2, lambda x, y: x - y, np.subtract, _broadcast, (_S, _S), notation=infix("-", ADDITIVE, operator.sub),
          ulps=ULPS_EXACT, extent=(_ALL, _ALL), doc="x - y with numpy broadcasting"),
        E("neg", 1, lambda x: -x, np.negative, _same_shape, (_S,), notation=NEGATION, ulps=ULPS_EXACT, extent=(_ALL,),
          doc="-x"),
        E("square", 1, lambda x: x**2, np.square, _same_shape, (_S,), ulps=ULPS_EXACT,
          extent=(Interval(-1e154, 1e154),), doc="x ** 2"),
        E("exp", 1, sympy.exp, np.exp, _same_shape, (_S,), valid=_exp_ok, edges=((-30.0,), (9.0,)),
          extent=(Interval(-746.0, 709.7),), doc="e ** x"),
        E("sin", 1, sympy.sin, np.sin, _same_shape, (Interval(-4.0, 4.0),), extent=(_ALL,), doc="sine"),
        E("cos", 1, sympy.cos, np.cos, _same_shape, (Interval(-4.0, 4.0),), extent=(_ALL,), doc="cosine"),
        E("div", 2, lambda x, y: x / y, np.divide, _broadcast, (_S, Interval(0.5, 3.0)), valid=_nonzero, pole=True,
          notation=infix("/", MULTIPLICATIVE, operator.truediv), ulps=ULPS_EXACT, extent=(_ALL, _ALL), doc="x / y with numpy broadcasting; y away from 0"),
        E("log", 1, sympy.log, np.log, _same_shape, (_POS,), valid=_positive, pole=True,
          edges=((1.0,), (1e6,)), extent=(_ALL_POS,), doc="natural log, x > 0"),
        E("sqrt", 1, sympy.sqrt, np.sqrt, _same_shape, (_POS,), valid=_positive, pole=True, ulps=ULPS_EXACT,
          extent=(_ALL_POS,), doc="square root, x > 0"),
        E("tanh", 1, sympy.tanh, np.tanh, _same_shape, (_S,),
          edges=((-20.0,), (20.0,)), extent=(Interval(-400.0, 400.0),), doc="hyperbolic tangent"),
        E("sigmoid", 1, lambda x: 1 / (1 + sympy.exp(-x)), _np_sigmoid, _same_shape, (Interval(-6.0, 6.0),),
          jacobian_scale=_sigmoid_jacobian_scale, edges=((-40.0,), (-20.0,), (20.0,), (40.0,)),
          extent=(Interval(-750.0, 750.0),), doc="logistic sigmoid 1 / (1 + e ** -x)"),
        E("softplus", 1, lambda x: sympy.log(1 + sympy.exp(x)), _np_softplus, _same_shape,
          (Interval(-6.0, 6.0),), edges=((-40.0,), (-20.0,), (25.0,), (40.0,)), extent=(Interval(-750.0, 750.0),),
          doc="log(1 + e ** x)"),
        E("tan", 1, sympy.tan, np.tan, _same_shape, (Interval(-1.2, 1.2),), valid=_tan_ok, pole=True,
          extent=(Interval(-1e4, 1e4),), doc="tangent, away from pi/2 + k*pi"),
        E("arctan", 1, sympy.atan, np.arctan, _same_shape, (_S,), edges=((-20.0,), (0.0,), (1e8,)), extent=(_ALL,),
          doc="inverse tangent, in (-pi/2, pi/2)"),
        E("sinh", 1, sympy.sinh, np.sinh, _same_shape, (_S,), valid=_exp_abs_ok, edges=((-9.0,), (1e-8,), (9.0,)),
          extent=(Interval(-710.0, 710.0),), doc="hyperbolic sine"),
        E("cosh", 1, sympy.cosh, np.cosh, _same_shape, (_S,), valid=_exp_abs_ok, edges=((-9.0,), (0.0,), (9.0,)),
          extent=(Interval(-710.0, 710.0),), doc="hyperbolic cosine"),
        E("arcsin", 1, sympy.asin, np.arcsin, _same_shape, (_UNIT,), valid=_inside_unit, pole=True,
          edges=((0.0,), (-0.9,), (0.9,)), doc="inverse sine, |x| < 1"),
        E("arccos", 1, sympy.acos, np.arccos, _same_shape, (_UNIT,), valid=_inside_unit, pole=True,
          edges=((0.0,), (-0.9,), (0.9,)), doc="inverse cosine, |x| < 1"),
        E("arctanh", 1, sympy.atanh, np.arctanh, _same_shape, (_UNIT,), valid=_inside_unit, pole=True,
          hessian_scale=_arctanh_hessian_scale, edges=((0.0,), (1e-8,), (0.9,)), doc="inverse hyperbolic tangent, |x| < 1"),
        E("log1p", 1, lambda x: sympy.log(1 + x), np.log1p, _same_shape, (Interval(-0.9, 3.0),), valid=_above_minus_one,
          pole=True, edges=((1e-12,), (-1e-12,), (1e6,)), extent=(Interval(-0.999, 1e300),), doc="log(1 + x), x > -1"),
        E("expm1", 1, lambda x: sympy.exp(x) - 1, np.expm1, _same_shape, (_S,), valid=_exp_ok,
          edges=((1e-12,), (-1e-12,), (-40.0,)), extent=(Interval(-1e300, 709.7),), doc="e ** x - 1"),
        E("erf", 1, sympy.erf, _np_erf, _same_shape, (_S,), edges=((0.0,), (-4.0,), (6.0,)), extent=(_ALL,),
          doc="the error function 2 / sqrt(pi) * integral of e ** -t**2 from 0 to x"),
        E("silu", 1, lambda x: x / (1 + sympy.exp(-x)), lambda x: x * _np_sigmoid(x), _same_shape, (Interval(-6.0, 6.0),),
          jacobian_scale=_silu_jacobian_scale, hessian_scale=_silu_hessian_scale, edges=((-40.0,), (-20.0,), (0.0,), (20.0,)),
          doc="x * sigmoid(x) (swish)"),  # no extent: silu' has a root (x = -1.278), where its summed terms lose relative accuracy
        E("logsigmoid", 1, lambda x: -sympy.log(1 + sympy.exp(-x)), lambda x: -_np_softplus(-x), _same_shape,
          (Interval(-6.0, 6.0),), edges=((-40.0,), (-20.0,), (20.0,), (40.0,)), extent=(Interval(-750.0, 750.0),),
          doc="log(sigmoid(x)) = -log(1 + e ** -x)"),
        E("gelu", 1, _sym_gelu, _np_gelu, _same_shape, (_S,), params=(Param("approximate", "approximate", "none"),),
          value_scale=_gelu_value_scale, jacobian_scale=_gelu_jacobian_scale, edges=((-5.0,), (0.0,), (5.0,)),
          # no extent: gelu'' has roots (x = +-sqrt 2), where its summed terms lose relative accuracy
          doc="x * Phi(x), Phi the standard normal distribution function (approximate='none'), or its tanh form "
              "x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3))) / 2 (approximate='tanh')"),
        E("logaddexp", 2, lambda x, y: sympy.log(sympy.exp(x) + sympy.exp(y)), np.logaddexp, _broadcast, (_S, _S),
          commutative=True, value_scale=_logaddexp_value_scale, edges=((1.5, 1.5), (0.0, -40.0), (-750.0, 0.0)), extent=(Interval(-1e300, 1e300), Interval(-1e300, 1e300)),
          doc="log(e ** x + e ** y) with numpy broadcasting (ties x == y included)"),
        E("hypot", 2, lambda x, y: sympy.sqrt(x**2 + y**2), np.hypot, _broadcast, (_S, _S), valid=_hypot_ok, pole=True,
          commutative=True, ulps=ULPS_EXACT + 1, edges=((3.0, 4.0), (-1e30, 1e30), (0.5, -1e-10), (-1.0, 1.0)),
          doc="sqrt(x ** 2 + y ** 2) with numpy broadcasting, away from (0, 0)"),
        E("pow", 2, lambda x, y: x**y, np.power, _broadcast, (_POS, Interval(-2.0, 3.0)), valid=_pow_ok, pole=True,
          notation=POWER_OPERATOR, edges=((2.05, 0.0), (1.5, 1.0), (1.0, 2.5)), extent=(Interval(1e-300, 1e300), Interval(-700.0, 700.0)),
          doc="x ** y; x > 0 unless y is a constant integer"),
        # kinked elementwise ops
        E("abs", 1, sympy.Abs, np.abs, _same_shape, (_S,), kink=_abs_kink, analytic=False, piecewise_linear=True, ulps=ULPS_EXACT,
          extent=(_ALL,), doc="|x|"),
        E("relu", 1, lambda x: sympy.Max(x, 0), lambda x: np.maximum(x, 0.0), _same_shape, (_S,),
          kink=_relu_kink, analytic=False, piecewise_linear=True, ulps=ULPS_EXACT, extent=(_ALL,), doc="max(x, 0)"),
        E("clip", 1, lambda x, lo, hi: sympy.Min(sympy.Max(x, _rational(lo)), _rational(hi)),
          lambda x, lo, hi: np.clip(x, lo, hi), _clip_shape, (_S,), kink=_clip_kink(), analytic=False, piecewise_linear=True,
          params=(Param("lo", "bound", -1.0, options=lambda shape, drawn: [lo for lo, _ in CLIP_BOUNDS]),
                  Param("hi", "bound", 1.0, options=lambda shape, drawn: [dict(CLIP_BOUNDS)[drawn["lo"]]])),
          ulps=ULPS_EXACT,
          extent=(_ALL,), doc="x limited to [lo, hi]"),
        E("leaky_relu", 1, lambda x, slope: sympy.Max(x, _rational(slope) * x), _np_leaky_relu, _same_shape, (_S,),
          kink=_leaky_relu_kink, analytic=False, piecewise_linear=True, ulps=ULPS_EXACT,
          params=(Param("slope", "coefficient", 0.01, options=lambda shape, drawn: [0.01, 0.2]),), extent=(_ALL,),
          doc="x for x > 0, slope * x otherwise"),
        E("elu", 1, _sym_elu, _np_elu, _same_shape, (_S,), kink=_elu_kink, analytic=False,
          params=(Param("alpha", "coefficient", 1.0, options=lambda shape, drawn: [1.0, 0.5]),),
          edges=((-40.0,), (-1e-2,), (2.0,)), extent=(Interval(-750.0, 1e300),),
          doc="x for x > 0, alpha * (e ** x - 1) otherwise"),
        E("maximum", 2, sympy.Max, np.maximum, _broadcast, (_S, _S), kink=_tie_kink(np.maximum), analytic=False,
          piecewise_linear=True, commutative=True, ulps=ULPS_EXACT, extent=(_ALL, _ALL),
          doc="the larger of x and y with numpy broadcasting; at ties any split of the gradient"),
        E("minimum", 2, sympy.Min, np.minimum, _broadcast, (_S, _S), kink=_tie_kink(np.minimum), analytic=False,
          piecewise_linear=True, commutative=True, ulps=ULPS_EXACT, extent=(_ALL, _ALL),
          doc="the smaller of x and y with numpy broadcasting; at ties any split of the gradient"),
        # reductions and shape ops (array twins)
        E("sum", 1, lambda x, axis=None, keepdims=False: _along(x, axis, keepdims, sympy.Add.fromiter),
          lambda x, axis=None, keepdims=False: np.sum(x, axis=normalize_axis(axis, np.ndim(x)), keepdims=keepdims),
          _reduce_shape, (_S,), elementwise=False,
          params=(Param("axis", "axis"), Param("keepdims", "keepdims", False)),
          ulps=lambda s, p: _reduction_ulps(s, p, extra=ULPS_EXACT), sweeps=(ArraySweep(((None, 1.0),), _ALL.hi),),
          doc="sum over axes"),
        E("mean", 1, _sym_mean,
          lambda x, axis=None, keepdims=False: np.mean(x, axis=normalize_axis(axis, np.ndim(x)), keepdims=keepdims),
          _reduce_shape, (_S,), elementwise=False,
          params=(Param("axis", "axis"), Param("keepdims", "keepdims", False)),
          ulps=lambda s, p: _reduction_ulps(s, p, extra=ULPS_EXACT), sweeps=(ArraySweep(((None, 1.0),), _ALL.hi),),
          doc="mean over axes"),
        E("reshape", 1, lambda x, shape: x.reshape(tuple(shape)), lambda x, shape: np.reshape(x, tuple(shape)),
          _reshape_shape, (_S,), elementwise=False, params=(Param("shape", "reshape"),), ulps=0,
          doc="same elements, new shape"),
        E("transpose", 1, lambda x, axes=None: np.transpose(x, _perm(axes, x.ndim)),
          lambda x, axes=None: np.transpose(x, _perm(axes, np.ndim(x))), _transpose_shape, (_S,),
          elementwise=False, params=(Param("axes", "perm"),), ulps=0, doc="permute axes (reverse by default)"),
        E("broadcast_to", 1, lambda x, shape: np.broadcast_to(x, tuple(shape)).copy(),
          lambda x, shape: np.broadcast_to(x, tuple(shape)).copy(), _broadcast_to_shape, (_S,),
          elementwise=False, params=(Param("shape", "broadcast"),), ulps=lambda s, p: _broadcast_ulps(s, p),
          doc="numpy broadcasting to a shape"),
        E("sum_to", 1, _sym_sum_to, _np_sum_to, _sum_to_shape, (_S,), elementwise=False,
          params=(Param("shape", "sum_to"),), ulps=lambda s, p: _sum_to_ulps(s, p),
          doc="sum broadcast axes away (the inverse of broadcast_to)"),
        E("get_item", 1, lambda x, index: _obj(x[as_index(index)]).copy(),
          lambda x, index: np.asarray(x)[as_index(index)].copy(), _get_item_shape, (_S,), elementwise=False,
          params=(Param("index", "index"),), notation=INDEX, ulps=ULPS_EXACT,
          doc="x[index]: basic and integer-array indexing; repeated indices accumulate in the gradient"),
        E("max", 1, lambda x, axis=None, keepdims=False: _along(x, axis, keepdims, lambda r: sympy.Max(*r)),
          lambda x, axis=None, keepdims=False: np.max(x, axis=normalize_axis(axis, np.ndim(x)), keepdims=keepdims),
          _reduce_shape, (_S,), kink=_extreme_kink(np.max), elementwise=False, analytic=False, piecewise_linear=True,
          params=(Param("axis", "axis1"), Param("keepdims", "keepdims", False)), ulps=ULPS_EXACT,
          sweeps=(ArraySweep(((None, 0.5),), _ALL.hi),), doc="maximum over an axis"),
        E("min", 1, lambda x, axis=None, keepdims=False: _along(x, axis, keepdims, lambda r: sympy.Min(*r)),
          lambda x, axis=None, keepdims=False: np.min(x, axis=normalize_axis(axis, np.ndim(x)), keepdims=keepdims),
          _reduce_shape, (_S,), kink=_extreme_kink(np.min), elementwise=False, analytic=False, piecewise_linear=True,
          params=(Param("axis", "axis1"), Param("keepdims", "keepdims", False)), ulps=ULPS_EXACT,
          sweeps=(ArraySweep(((None, 0.5),), _ALL.hi),), doc="minimum over an axis"),
        E("prod", 1, lambda x, axis=None, keepdims=False: _along(x, axis, keepdims, lambda r: sympy.Mul(*r)),
          lambda x, axis=None, keepdims=False: np.prod(x, axis=normalize_axis(axis, np.ndim(x)), keepdims=keepdims),
          _reduce_shape, (_S,), elementwise=False, params=(Param("axis", "axis"), Param("keepdims", "keepdims", False)),
          ulps=lambda s, p: _reduction_ulps(s, p, extra=ULPS_EXACT), edges=((0.0,), (2.0,), (-1.5,)),
          doc="product over axes; at a zero entry its derivative is the product of the others"),
        E("var", 1, _sym_var, _np_moment(np.var), _moment_shape, (_S,), elementwise=False,
          params=(Param("axis", "axis"), Param("keepdims", "keepdims", False), Param("ddof", "ddof", 0)),
          ulps=lambda s, p: 2 * _reduction_ulps(s, p), edges=((1.5,), (1.5,), (1.5,)),
          doc="variance over axes: sum of squared deviations from the mean over n - ddof; 0 at constant input"),
        E("std", 1, lambda x, **p: _emap(sympy.sqrt, _sym_var(x, **p)), _np_moment(np.std), _moment_shape, (_S,),
          elementwise=False, valid=_spread, pole=True,
          params=(Param("axis", "axis"), Param("keepdims", "keepdims", False), Param("ddof", "ddof", 0)),
          ulps=lambda s, p: 2 * _reduction_ulps(s, p) + 1,
          doc="standard deviation sqrt(var) over axes; kept away from constant slices, where it has no derivative"),
        E("norm", 1, lambda x, axis=None, keepdims=False: _along(x, axis, keepdims, lambda r: sympy.sqrt(sympy.Add(*[v**2 for v in r]))),
          _np_norm, _reduce_shape, (_S,), kink=_norm_kink(), elementwise=False, analytic=False,
          params=(Param("axis", "axis"), Param("keepdims", "keepdims", False)),
          ulps=lambda s, p: _reduction_ulps(s, p, extra=ULPS_EXACT + 1),
          doc="2-norm over axes; at a zero slice any gradient of norm at most |cotangent| (the unit ball)"),
        E("cumsum", 1, lambda x, axis=-1: _obj(np.cumsum(x, axis=axis)), lambda x, axis=-1: np.cumsum(x, axis=axis),
          _axis_shape, (_S,), elementwise=False, params=(Param("axis", "axis_int", -1),),
          ulps=lambda s, p: (s[0][p.get("axis", -1)] if s[0] else 1) + ULPS_EXACT, doc="running sums along an axis"),
        E("flip", 1, lambda x, axis=None: _obj(np.flip(x, axis=normalize_axis(axis, x.ndim))).copy(),
          lambda x, axis=None: np.flip(x, axis=normalize_axis(axis, np.ndim(x))).copy(), _reduce_like_flip, (_S,),
          elementwise=False, params=(Param("axis", "axis"),), ulps=0, doc="entries in reverse order along axes"),
        E("tril", 1, lambda x, k=0: _sym_triangle(x, k, upper=False), lambda x, k=0: np.tril(x, k), _matrix_shape, (_S,),
          elementwise=False, params=(Param("k", "diagonal", 0),), ulps=0,
          doc="entries of the last two axes on and below diagonal k, zeros above"),
        E("triu", 1, lambda x, k=0: _sym_triangle(x, k, upper=True), lambda x, k=0: np.triu(x, k), _matrix_shape, (_S,),
          elementwise=False, params=(Param("k", "diagonal", 0),), ulps=0,
          doc="entries of the last two axes on and above diagonal k, zeros below"),
        E("concatenate", 2, lambda a, b, axis=-1: _obj(np.concatenate((a, b), axis=axis)),
          lambda a, b, axis=-1: np.concatenate((a, b), axis=axis), _concatenate_shape, (_S, _S), elementwise=False,
          params=(Param("axis", "axis_int", -1),), ulps=0, doc="x and y joined along an existing axis"),
        E("stack", 2, lambda a, b, axis=0: _obj(np.stack((a, b), axis=axis)), lambda a, b, axis=0: np.stack((a, b), axis=axis),
          _stack_shape, (_S, _S), elementwise=False, params=(Param("axis", "axis_new", 0),), ulps=0,
          doc="x and y (of one shape) stacked along a new axis"),
        E("where", 2, lambda x, y, condition: _obj(np.where(np.asarray(condition, dtype=bool), x, y)),
          lambda x, y, condition: np.where(np.asarray(condition, dtype=bool), x, y), _where_shape, (_S, _S),
          elementwise=False, params=(Param("condition", "mask"),), ulps=lambda s, p: _where_ulps(s, p),
          doc="x where condition (a fixed mask shaped like x) holds, y elsewhere, with numpy broadcasting"),
        E("pad", 1, _sym_pad, lambda x, widths: np.pad(x, widths), _pad_shape, (_S,), elementwise=False,
          params=(Param("widths", "pad_width"),), ulps=0, doc="x with zeros added before and after each axis"),
        E("tile", 1, lambda x, reps: _obj(np.tile(x, tuple(reps))), lambda x, reps: np.tile(x, tuple(reps)), _tile_shape,
          (_S,), elementwise=False, params=(Param("reps", "reps"),), ulps=lambda s, p: int(np.prod(p["reps"])) + ULPS_EXACT,
          doc="x repeated reps times along each axis (numpy's tile); the gradient sums the copies"),
        E("take_along_axis", 1, lambda x, axis=-1, indices=None: _obj(np.take_along_axis(x, np.asarray(indices, dtype=np.intp), axis)),
          lambda x, axis=-1, indices=None: np.take_along_axis(x, np.asarray(indices, dtype=np.intp), axis),
          _take_along_axis_shape, (_S,), elementwise=False,
          params=(Param("axis", "axis_int", -1), Param("indices", "indices")),
          ulps=lambda s, p: np.shape(p["indices"])[p["axis"]] + ULPS_EXACT if s[0] else ULPS_EXACT,
          doc="entries picked along an axis by an index array (numpy's take_along_axis); repeats accumulate"),
        E("einsum", 2, lambda a, b, subscripts: _obj(np.einsum(subscripts, a, b)),
          lambda a, b, subscripts: np.einsum(subscripts, a, b), _einsum_shape, (_S, _S), elementwise=False,
          params=(Param("subscripts", "subscripts"),), ulps=lambda s, p: _matmul_ulps(s),
          doc="a contraction of two operands by einsum subscripts ('ij,jk->ik', 'i,i->', 'bij,bjk->bik', ...)"),
        E("matmul", 2, lambda a, b: _obj(np.matmul(a, b)), np.matmul, _matmul_shape, (_S, _S),
          elementwise=False, notation=infix("@", MULTIPLICATIVE), ulps=lambda s, p: _matmul_ulps(s),
          sweeps=(ArraySweep((((None, 1.0),), ((2.0,), (3.0,))), _ALL.hi),
                  ArraySweep((((2.0, 1.0),), ((None,), (3.0,))), _ALL.hi)),
          doc="matrix product with numpy's rules (1-d operands, batch broadcasting)"),
        E("softmax", 1, _sym_softmax, lambda x, axis=-1: np.exp(_np_log_softmax(x, axis)), _axis_shape,
          (_S,), elementwise=False, params=(Param("axis", "axis_int", -1),),
          ulps=lambda s, p: _axis_ulps(s, p), jacobian_scale=_softmax_jacobian_scale,
          sweeps=(ArraySweep(((None, 0.0, 1.0),), _SOFTMAX_TAILS, pick=(0,)),
                  ArraySweep(((None, 0.0, 1.0),), _SOFTMAX_TAILS, pick=(1,))),
          doc="e ** x / sum(e ** x) over an axis"),
        E("log_softmax", 1, _sym_log_softmax, _np_log_softmax, _axis_shape, (_S,), elementwise=False,
          params=(Param("axis", "axis_int", -1),), ulps=lambda s, p: _axis_ulps(s, p),
          value_scale=_log_softmax_value_scale, jacobian_scale=_log_softmax_jacobian_scale,
          sweeps=(ArraySweep(((None, 0.0),), _SOFTMAX_TAILS, pick=(0,)),), doc="x - logsumexp(x) over an axis"),
        E("logsumexp", 1, _sym_logsumexp, _np_logsumexp, _reduce_shape, (_S,), elementwise=False,
          params=(Param("axis", "axis"), Param("keepdims", "keepdims", False)),
          ulps=lambda s, p: _reduction_ulps(s, p),
          sweeps=(ArraySweep(((None, 0.0),), _SOFTMAX_TAILS),), doc="log(sum(e ** x)) over axes"),
        E("mean_squared_error", 2, _sym_mse, lambda a, b: np.mean((a - b) ** 2), _mse_shape, (_S, _S),
          elementwise=False, distinct_args=True, ulps=lambda s, p: int(np.prod(s[0])) + ULPS_EXACT + 1,
          sweeps=(ArraySweep(((None, 1.0), (0.0, 0.0)), _SQUARE_OVERFLOW),
                  ArraySweep(((2.0, 1.0), (None, 0.0)), _SQUARE_OVERFLOW)),
          doc="mean of (x0 - x1) ** 2 over all elements"),
        E("softmax_cross_entropy", 1, _sym_sce, _np_sce, _sce_shape, (_S,), elementwise=False,
          params=(Param("labels", "labels"),), ulps=lambda s, p: int(np.prod(s[0])) + ULPS_LIBM,
          value_scale=_cross_entropy_value_scale, jacobian_scale=_cross_entropy_jacobian_scale,
          sweeps=(ArraySweep((((None, 0.0),),), _SOFTMAX_TAILS, params=(("labels", (0,)),)),),
          doc="mean over rows of -log_softmax(x)[i, labels[i]]"),
        E("layer_norm", 1, _sym_layer_norm, _np_layer_norm, _layer_norm_shape, (_S,), elementwise=False,
          valid=_spread_last, params=(Param("eps", "coefficient", 1e-5, options=lambda shape, drawn: [1e-5, 0.1]),),
          ulps=lambda s, p: 2 * (s[0][-1] if s[0] else 1) + ULPS_LIBM,
          value_scale=_layer_norm_value_scale, jacobian_scale=_layer_norm_jacobian_scale,
          # one row whose spread (0.08) is small beside its entries (10): mean(x**2) - mean(x)**2 cancels there
          edges=((9.9,), (10.0,), (9.8,)),
          doc="(x - mean) / sqrt(var + eps) over the last axis, no affine part; rows kept away from constant"),
        E("cross_entropy", 1, _sym_cross_entropy, _np_cross_entropy, _cross_entropy_shape, (_S,), elementwise=False,
          params=(Param("target", "probabilities"),), ulps=lambda s, p: int(np.prod(s[0])) + ULPS_LIBM,
          value_scale=_soft_cross_entropy_value_scale, jacobian_scale=_soft_cross_entropy_jacobian_scale,
          doc="mean over rows of -sum_c target[i, c] * log_softmax(x)[i, c]: soft labels (target probabilities)"),
    ]


def _broadcast_ulps(shapes, params):
    # The forward copies; the backward sums the copies of each input entry (sum_to's forward).
    n = int(np.prod(params["shape"])) // max(1, int(np.prod(shapes[0])))
    return 0 if n == 1 else n + ULPS_EXACT


def _where_ulps(shapes, params):
    # The forward selects (exact); the backward sums the cotangent over the copies of a broadcast
    # argument's entry, as broadcast_to's does: where(c, x, y) with y of shape () gives y the sum of
    # the cotangent wherever c is False, which rounds (in float32 even 1 + 1.405068 does).
    out = int(np.prod(_where_shape(*shapes[:2], params["condition"])))
    n = max(out // max(1, int(np.prod(s))) for s in shapes[:2])
    return 0 if n == 1 else n + ULPS_EXACT


def _sum_to_ulps(shapes, params):
    n = int(np.prod(shapes[0])) // max(1, int(np.prod(params["shape"])))
    return n + ULPS_EXACT


def _matmul_ulps(shapes):
    # The forward sums K products; a backward sums over the output's other dimension instead.
    dims = [n for s in shapes for n in s] or [1]
    return max(dims) + ULPS_EXACT


def _axis_ulps(shapes, params):
    n = shapes[0][params.get("axis", -1)] if shapes[0] else 1
    return n + 2 * ULPS_LIBM


OPS: dict[str, Op] = {op.name: op for op in _entries()}
"""The table: op name -> Op, simplest ops first (strategies shrink toward the front)."""

# The ops compositions are closed with (properties.strategies): branches left open are joined with
# JOIN_OP, after a value whose shape does not broadcast is reduced to a scalar with TOTAL_OP.
JOIN_OP = "add"
TOTAL_OP = "sum"


@contextlib.contextmanager
def registered(op: Op):
    """``op`` is an entry of the table for the duration of the block (``trigrad fuzz`` adds the
    function it fuzzes this way, so that strategies, the IR and the oracles treat it like any other)."""
    if op.name in OPS:
        raise ValueError(f"{op.name!r} is already an op of the table")
    OPS[op.name] = op
    try:
        yield op
    finally:
        del OPS[op.name]


def get(name: str) -> Op:
    """The table entry for ``name``; a KeyError that lists the known ops otherwise."""
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; known ops: {', '.join(OPS)}") from None


def check_params(op: Op, params: dict) -> dict:
    """``params`` completed with the op's defaults; a ValueError naming unknown or missing ones."""
    names = {p.name for p in op.params}
    unknown = set(params) - names
    if unknown:
        raise ValueError(f"{op.name} takes params {sorted(names) or 'none'}, not {sorted(unknown)}")
    full = op.defaults()
    full.update(params)
    missing = [p.name for p in op.params if full[p.name] is None and p.kind not in ("axis", "axis1", "perm")]
    if missing:
        raise ValueError(f"{op.name} needs params {missing}")
    return full


# Params -> JSON and back. Tuples become lists; slices become {"slice": [start, stop, step]}.


# Kinds whose values are nested tuples (arrays), with the type of their entries.
_NESTED_KINDS = {"mask": bool, "pad_width": int, "indices": int, "probabilities": float}


def param_to_json(kind: str, value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return float(value) if kind == "bound" else value
    if kind == "index":
        return [
            {"slice": [i.start, i.stop, i.step]} if isinstance(i, slice) else
            [int(k) for k in i] if isinstance(i, (tuple, list, np.ndarray)) else int(i)
            for i in value
        ]
    if kind in _NESTED_KINDS:
        return np.asarray(value).tolist()
    return [int(v) for v in value]


def param_from_json(kind: str, value):
    if value is None:
        return None
    if kind == "index":
        return tuple(
            slice(*i["slice"]) if isinstance(i, dict) else tuple(int(k) for k in i) if isinstance(i, list) else int(i)
            for i in value
        )
    if kind in ("axis", "axis1") and isinstance(value, list):
        return tuple(int(v) for v in value)
    if kind in _NESTED_KINDS:
        return nested(value, _NESTED_KINDS[kind])
    if kind in ("reshape", "perm", "broadcast", "sum_to", "labels", "reps"):
        return tuple(int(v) for v in value)
    if kind == "bound":
        return float(value)
    return value


__all__ = [
    "OPS", "Op", "Param", "Interval", "ArraySweep", "Kink", "PARAM_KINDS", "get", "registered", "check_params", "normalize_axis",
    "as_index", "format_index", "sum_to_axes", "nested", "einsum_parts", "EINSUM_SUBSCRIPTS", "JOIN_OP", "TOTAL_OP", "param_to_json", "param_from_json",
    "MAX_MAGNITUDE", "POLE_MARGIN", "KINK_MARGIN", "ULPS_EXACT", "ULPS_LIBM", "Notation", "infix", "CALL", "INDEX",
    "POWER_OPERATOR", "NEGATION", "ADDITIVE", "MULTIPLICATIVE", "UNARY", "POWER", "ATOM",
]
