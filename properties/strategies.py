"""Hypothesis strategies for compositions: DAGs of spec'd ops with input values inside every domain.

``compositions()`` draws an ``Example``: a ``Composition`` (oracle.ir) and the values of its inputs.
It is built so that failures shrink to something a person can read:

- Nodes are a Hypothesis list of abstract choices (op index, argument choices, param choices),
  resolved one by one against the inputs and earlier nodes. Shrinking deletes list elements (fewer
  nodes) and moves every choice toward 0: op 0 is the simplest op (the spec table lists ops simplest
  first), argument choice 0 is the most recent value (a chain), param choice 0 the plainest param.
- Input shapes come from ``mutually_broadcastable_shapes`` (they broadcast against each other) and
  shrink toward scalars; values shrink toward 0.5, 1.5, -0.5 (inside most domains, away from kinks).
- A node's arguments are the chosen ones if the op's shape rule (spec) accepts them, else the nearest
  other choice it does; an op no arguments fit, or whose domain or margins they miss, falls back to
  the next simpler op. So every drawn example is valid without filtering: every op's argument lies
  inside its domain, away from kinks and poles by the spec's margins, and every value below
  MAX_MAGNITUDE; params are drawn by the spec's rules (``Param.choices``).
- Shared nodes are common (an argument choice reaches back to an older value), because gradients
  overwritten instead of accumulated, wrong visiting order and in-place writes into a shared gradient
  only show there; ``event()`` records whether each example has one.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Sequence

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import assume, event
from hypothesis import strategies as st

from trigrad.oracle import spec
from trigrad.oracle.ir import Composition, Const, Input, Node

from .example import Example, op_value, out_shape

# Values are drawn in VALUE_RANGE and shifted by VALUE_SHIFT, so they shrink toward 0.5 (inside the
# domain of every op, 0.45 away from the kinks at 0) instead of toward 0 (a pole of log and a kink).
VALUE_RANGE = 2.5
VALUE_SHIFT = 0.5
# Exact special points (where rules often have a special case: x ** 0, log at 1, clip at a bound,
# a tie) are drawn for one value in SPECIAL_ODDS; random floats almost never hit them.
SPECIAL_VALUES = (0.0, 1.0, -1.0, 2.0, 0.5)
SPECIAL_ODDS = 5
# Magnitudes below this become exact zeros: the shift turns draws near -0.5 into values like 1e-119,
# which are valid but read as noise in a counterexample, and starve finite differences of scale.
TINY = 1e-6
# Scalar constants a binary op may take as its second argument (x ** 2, x * 0.5, ...).
CONSTANTS = (2.0, 3.0, 0.5, -1.0, 1.5)
# Argument choices (see _arguments), as drawn: mostly chains and merges, often a fan-out.
FIRST_ARG = (0, 1, 1, 1, 2)
SECOND_ARG = (0, 0, 1, 1, 2, 3)
PARAM_CHOICES = 8
# Shapes: up to MAX_DIMS axes of length up to MAX_SIDE (at most 9 elements an input by default: the
# oracle's high-precision cost grows with the number of elements).
MAX_DIMS = 2
MAX_SIDE = 3


# --- params --------------------------------------------------------------------------------------


def _params(op, shapes, choices):
    """Resolve an op's params from integer choices (one per param, cycled) among what the spec lets
    each take for the first argument's shape, or None when that shape admits none."""
    params = {}
    for p, c in zip(op.params, itertools.cycle(choices)):
        opts = p.choices(shapes[0], params)
        if not opts:
            return None
        params[p.name] = opts[c % len(opts)]
    return params


# --- resolving node choices ------------------------------------------------------------------------


@dataclass
class _State:
    inputs: list
    values: dict
    nodes: list = field(default_factory=list)
    env: dict = field(default_factory=dict)

    @property
    def refs(self):
        return [i.name for i in self.inputs] + [f"n{k}" for k in range(len(self.nodes))]

    def shape(self, ref):
        return np.shape(self.env[ref])


def _try(state: _State, op: spec.Op, args: list, params: dict) -> bool:
    """Append op(args) to the state if it fits."""
    arrays = [np.asarray(a.value) if isinstance(a, Const) else state.env[a] for a in args]
    out = op_value(op, arrays, params, tuple(isinstance(a, Const) for a in args))
    if out is None:
        return False
    state.env[f"n{len(state.nodes)}"] = out
    state.nodes.append(Node(op.name, tuple(args), params))
    return True


def _arguments(state: _State, op: spec.Op, choices, const_choice, constant=()):
    """The arguments a node's choices select, then the other choices of them, in groups (a generator
    of lists of argument lists).

    Values nothing consumes yet form the frontier. The first argument's choice 0 continues the
    newest frontier value (a chain); choice 1 reaches back to the newest value already consumed (a
    fan-out: that value becomes shared). The second argument's choice 0 merges the next frontier
    value (closing a diamond), else the newest consumed one (sharing); higher choices go further back.
    The first group holds the chosen arguments, then the other values as the first argument with the
    chosen second one; each further group moves the second argument's choice one further.
    """
    used = {a for n in state.nodes for a in n.args if isinstance(a, str)}
    newest = state.refs[::-1]
    frontier = [r for r in newest if r not in used]
    consumed = [r for r in newest if r in used]
    first_order = frontier[:1] + consumed + frontier[1:]
    firsts = [first_order[(choices[0] + k) % len(first_order)] for k in range(len(first_order))]
    if op.arity == 1:
        yield [[first] for first in firsts]
    elif op.elementwise and (const_choice % 4 == 3 or 1 in constant):
        yield [[first, Const(CONSTANTS[const_choice // 4 % len(CONSTANTS)])] for first in firsts]
    else:
        for step in range(len(newest) + len(consumed) + 1):  # the longest second_order
            group = []
            for first in firsts:
                second_order = [r for r in frontier if r != first][:1] + consumed + newest
                group.append([first, second_order[(choices[1] + step) % len(second_order)]])
            yield group


def _fitting(state: _State, op: spec.Op, arg_choices, const_choice, constant, param_choices):
    """The argument choices whose shapes the op's shape rule accepts, with their params, as (args,
    params), in the order of ``_arguments``: those of the first group that has any (a generator).
    Ops whose shape rule few pairs fit (matmul, mean_squared_error) so find one; for the others the
    chosen second argument nearly always fits with some first."""
    for group in _arguments(state, op, arg_choices, const_choice, constant):
        fitted = False
        for args in group:
            refs = [a for a in args if isinstance(a, str)]
            if op.distinct_args and len(set(refs)) < len(refs):
                continue
            shapes = [() if isinstance(a, Const) else state.shape(a) for a in args]
            params = _params(op, shapes, param_choices) if op.params else {}
            if params is not None and out_shape(op, shapes, spec.check_params(op, params)) is not None:
                fitted = True
                yield args, params
        if fitted:
            return


def _resolve(state: _State, ops: Sequence[spec.Op], choice, forced: spec.Op | None = None,
             constant_args: dict | None = None) -> bool:
    """Add the node described by ``choice``: the first arguments (see ``_fitting``) that fit the op's
    shape rule and lie inside its domain with margins; when none do, fall back to simpler ops."""
    op_index, arg_choices, param_code, const_choice = choice
    param_choices = (param_code % PARAM_CHOICES, param_code // PARAM_CHOICES % PARAM_CHOICES,
                     param_code // PARAM_CHOICES**2)
    candidates = [forced] if forced else [ops[(op_index - k) % len(ops)] for k in range(len(ops))]
    for op in candidates:
        constant = (constant_args or {}).get(op.name, ())
        for args, params in _fitting(state, op, arg_choices, const_choice, constant, param_choices):
            if _try(state, op, args, params):
                return True
    return False


def _merge_frontier(state: _State):
    """Add every other unconsumed node into the newest one, so that no drawn node is dead: branches
    that fanned out are joined (diamonds), and a failure's shrunk form keeps only the branches it
    needs. A value whose shape does not broadcast is summed to a scalar first."""
    add, total = spec.get(spec.JOIN_OP), spec.get(spec.TOTAL_OP)
    while True:
        used = {a for n in state.nodes for a in n.args if isinstance(a, str)}
        frontier = [f"n{k}" for k in range(len(state.nodes) - 1, -1, -1) if f"n{k}" not in used]
        if len(frontier) < 2:
            return
        newest, other = frontier[0], frontier[1]
        if not _try(state, add, [newest, other], {}):
            if not (_try(state, total, [other], {}) and _try(state, add, [newest, f"n{len(state.nodes) - 1}"], {})):
                return


# Argument choice pairs, as drawn (repetition weights them); (0, 0) first, so it is what shrinks.
ARG_PAIRS = tuple((a, b) for a in FIRST_ARG for b in SECOND_ARG)


@functools.lru_cache(maxsize=None)
def _node_choices(n_ops):
    """One node as four draws. Few draws per node matter: Hypothesis deletes a list element (fewer
    nodes) reliably only when the element is a short run of choices, so the three param choices
    are one integer (base PARAM_CHOICES digits) and the two argument choices one sampled pair."""
    return st.tuples(
        st.integers(0, n_ops - 1),  # index into the ops, simplest first
        st.sampled_from(ARG_PAIRS),
        st.integers(0, PARAM_CHOICES**3 - 1),  # three param choices, as digits
        st.integers(0, 19),  # 3 in 4 times a variable second argument, else a constant
    )


def _shifted(v):
    v += VALUE_SHIFT
    return 0.0 if abs(v) < TINY else v


# Strategies are cached by their arguments: Hypothesis validates every new strategy object on its
# first draw, which cost more than the draws themselves when they were built anew for each example.
@functools.lru_cache(maxsize=None)
def _values(shape, interval: spec.Interval | None):
    if interval is None:
        lo, hi = VALUE_SHIFT - VALUE_RANGE, VALUE_SHIFT + VALUE_RANGE
        elements = st.floats(-VALUE_RANGE, VALUE_RANGE, allow_subnormal=False).map(_shifted)
    else:
        lo, hi = interval.lo, interval.hi
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        elements = st.floats(-half, half, allow_subnormal=False).map(lambda v: v + mid)
    special = [v for v in SPECIAL_VALUES if lo <= v <= hi]
    if special:  # one draw in SPECIAL_ODDS is a special point (floats first: they are what shrinks)
        elements = st.one_of(*[elements] * (SPECIAL_ODDS - 1), st.sampled_from(special))
    return hnp.arrays(np.float64, shape, elements=elements)


def _check_arguments(ops, max_nodes, max_inputs, include, min_shared, max_side, max_dims):
    unknown = [o for o in (ops or ()) if o not in spec.OPS]
    if unknown:
        raise ValueError(f"unknown ops {unknown}; known ops: {', '.join(spec.OPS)}")
    if ops is not None and not ops:
        raise ValueError("ops must name at least one op (or be None for all of them)")
    if include is not None and include not in spec.OPS:
        raise ValueError(f"include={include!r} is not an op; known ops: {', '.join(spec.OPS)}")
    for name, v, lo in (("max_nodes", max_nodes, 1), ("max_inputs", max_inputs, 1), ("max_side", max_side, 1),
                        ("max_dims", max_dims, 0), ("min_shared", min_shared, 0)):
        if not isinstance(v, int) or v < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")


@st.composite
def _compositions(draw, ops, max_nodes, max_inputs, include, min_shared, shapes, constant_args):
    table = [spec.get(name) for name in spec.OPS if name in ops]
    forced = spec.get(include) if include else None
    input_shapes = draw(shapes)
    inputs = [Input(f"x{i}", s) for i, s in enumerate(input_shapes)]
    # with an op to include, each input is drawn from one of its argument domains
    domains = [draw(st.sampled_from(forced.draw)) if forced else None for _ in inputs]
    values = {i.name: draw(_values(i.shape, d)) for i, d in zip(inputs, domains)}
    state = _State(inputs, values, env=dict(values))
    choices = draw(st.lists(_node_choices(len(table)), min_size=1, max_size=max_nodes))
    at = draw(st.integers(0, len(choices) - 1)) if forced else -1
    for k, choice in enumerate(choices):
        ok = _resolve(state, table, choice, forced if k == at else None, constant_args)
        if k == at and not ok:
            event(f"{include} does not fit the drawn values; example rejected")
            assume(False)
    assume(state.nodes)
    _merge_frontier(state)
    comp = Composition(inputs, state.nodes).pruned()
    if forced and include not in {n.op for n in comp.nodes}:
        assume(False)
    shared = comp.shared()
    event("an op node has two or more consumers" if any(r.startswith("n") for r in shared) else
          "only an input is shared" if shared else "nothing is shared")
    assume(len(shared) >= min_shared)
    return Example(comp, {i.name: values[i.name] for i in comp.inputs})


def compositions(*, ops: Sequence[str] | None = None, max_nodes: int = 10, max_inputs: int = 3,
                 include: str | None = None, min_shared: int = 0, max_dims: int = MAX_DIMS,
                 max_side: int = MAX_SIDE, shapes=None, constant_args: dict | None = None
                 ) -> st.SearchStrategy[Example]:
    """Examples: random compositions (DAGs) of spec'd ops, with input values inside every domain.

    ops: the op names to draw from (default: all of the spec table), e.g. a backend's supported ops.
    max_nodes: at most this many drawn op nodes; branches left open are then joined with ``add``
        (so that no node is dead), which can add up to max_nodes - 1 more.
    max_inputs: at most this many inputs (unused ones are pruned).
    include: an op that every example must contain (to test one op inside random compositions);
        input values are then drawn from its domain.
    min_shared: at least this many inputs or nodes feed two or more argument slots.
    max_dims, max_side: input shapes have at most max_dims axes of length at most max_side; they
        broadcast against each other. ``shapes`` (a strategy of tuples of shapes) overrides them.
    constant_args: op name -> argument positions drawn as constants, e.g. {"pow": (1,)} for a
        library whose pow takes a constant exponent only (only the second argument is supported).

    Shrinks toward fewer nodes, simpler ops (spec table order), fewer inputs, smaller shapes and
    values near 0.5.

    >>> from hypothesis import given
    >>> @given(compositions(ops=["sin", "mul"], max_nodes=3))
    ... def test(example): ...
    """
    _check_arguments(ops, max_nodes, max_inputs, include, min_shared, max_side, max_dims)
    chosen = set(spec.OPS) if ops is None else set(ops)
    if include:
        chosen.add(include)
    if shapes is None:
        shapes = hnp.mutually_broadcastable_shapes(num_shapes=max_inputs, max_dims=max_dims,
                                                    max_side=max_side).map(lambda b: b.input_shapes)
    return _compositions(chosen, max_nodes, max_inputs, include, min_shared, shapes, dict(constant_args or {}))


def cotangents(shape) -> st.SearchStrategy[np.ndarray]:
    """Cotangent (or tangent) arrays of ``shape``: entries in [-0.5, 2.5], shrinking toward 1."""
    return _cotangents(tuple(shape))


@functools.lru_cache(maxsize=None)
def _cotangents(shape):
    return hnp.arrays(np.float64, shape, elements=st.floats(-1.5, 1.5, allow_subnormal=False).map(lambda v: v + 1.0))


__all__ = ["compositions", "cotangents"]
