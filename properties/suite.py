"""The catalogue of properties, and how one (property, op) cell of the conformance table is run.

Both faces of trigrad use it: the pytest suites (``properties/test_properties.py``) run each cell as
a parametrized Hypothesis test, and ``trigrad check`` runs the same cells programmatically and
tabulates them. A cell first checks its op alone at the spec's edge points (saturating tails,
thresholds, x ** 0: deterministic, see ``edge_case``), then draws compositions that contain its op
(or, for the ``all ops`` row, any mix of the backend's ops) and judges every example by the cell's
property.

**Fused runs.** A row's cells whose examples are the row's plain compositions (every property but
``fanout`` and ``kink``, see ``fusable``) are run together (``run_row``): each drawn composition,
with one cotangent and one set of tangents, is judged by every one of them, and they share one
symbolic evaluation (``Oracle``: value, first and second order). Each property still fails and
shrinks on its own: a failure ends that property's part of the run (Hypothesis shrinks it, slipping
only to smaller failures, whose property the report names), and the others run again without it, so
that one failing property never hides another. The pytest suites and ``trigrad check`` both run
rows this way, so under a derandomized profile they judge the same examples. ``run_cell`` still runs
one cell alone.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Callable

import hypothesis
import numpy as np
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption

from trigrad.oracle import spec
from trigrad.oracle.ir import Composition, Input, Node
from trigrad.oracle.symbolic import Oracle

from . import checks, known
from ._hypothesis_compat import set_test_digest
from .determinism import import_independent_draws
from .backends import Backend, Unsupported, missing_rules
from .piece import interruption_point, report
from .minimize import MINIMIZE_SECONDS, Deadline
from .report import Failure, Report
from .example import Example
from .strategies import _params, compositions, cotangents

ALL_OPS = "all ops"  # the row whose compositions mix every op the backend supports
# The kink row draws its op alone on an argument of one of these shapes (simplest first), with some
# entries exactly on a kink; KINK_ENTRIES is the most entries any of them has.
KINK_SHAPES = ((3,), (2, 3), (4,))
KINK_ENTRIES = max(int(np.prod(s)) for s in KINK_SHAPES)
# How a cell's status is written in the conformance table (trigrad check's text, trigrad report's page);
# "unsupported: ..." and "n/a: ..." are written unsup and n/a (``mark``).
STATUS_MARK = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "known": "known", "not reached": "-"}


@dataclass(frozen=True)
class Property:
    name: str
    doc: str
    check: Callable
    vectors: tuple = ("cotangent",)  # what to draw beside the example: "cotangent", "tangents"
    needs: str | None = None  # "jvp" or "hvp": an optional backend capability
    shared: bool = False  # examples must have a shared node (fan-out)
    kinks: bool = False  # drawn at the op's kinks (kinked ops only)


PROPERTIES = {p.name: p for p in [
    Property("value", "forward value against exact", checks.check_value, vectors=()),
    Property("vjp", "VJP against exact (numeric confirms)", checks.check_vjp),
    Property("vjp_numeric", "<VJP, u> against numeric differences of the forward", checks.check_vjp_numeric,
             vectors=("cotangent", "tangents")),
    Property("jvp", "JVP against exact", checks.check_jvp, vectors=("tangents",), needs="jvp"),
    Property("adjoint", "<v, J u> from JVP equals <J^T v, u> from VJP", checks.check_adjoint,
             vectors=("cotangent", "tangents"), needs="jvp"),
    Property("hvp", "Hessian-vector product against exact", checks.check_hvp,
             vectors=("cotangent", "tangents"), needs="hvp"),
    Property("fanout", "VJP against exact where a value feeds several consumers", checks.check_vjp, shared=True),
    Property("purity", "backward leaves its inputs and cotangent unchanged", checks.check_purity),
    Property("determinism", "the same example twice gives identical results", checks.check_determinism),
    Property("shapes", "gradient shapes equal input shapes under broadcasting", checks.check_shapes),
    Property("kink", "at kinks the VJP lies in the subdifferential", checks.check_kink, kinks=True),
]}


def rows(backend: Backend) -> list[str]:
    """The table's rows: every op of the spec table, then the mixed row."""
    return list(spec.OPS) + [ALL_OPS]


def status(backend: Backend, prop: str, op: str) -> str | None:
    """Why a cell is not run ("unsupported: ..." or "n/a: ..."), or None when it is."""
    p = PROPERTIES[prop]
    if op != ALL_OPS and not backend.supports(op):
        return f"unsupported: {backend.name} has no {op}"
    if p.needs and not backend.capable(p.needs):
        return f"unsupported: {backend.name} has no {'forward mode' if p.needs == 'jvp' else 'second order'}"
    if p.needs and op in missing_rules(backend, p.needs):
        return f"unsupported: {missing_rules(backend, p.needs)[op]}"
    if p.kinks and (op == ALL_OPS or spec.get(op).kink is None):
        return "n/a: no kink"
    return None


@functools.lru_cache(maxsize=None)
def _kinked(op: str):
    """A single-op composition with some arguments exactly on the op's kinks: its arguments (one per
    arity, all of one shape) drawn, then the op's kink snaps the selected entries onto a kink (for a
    binary op such as maximum: y equal to x there)."""
    o = spec.get(op)
    # an entry: its values, one per argument, and whether it is moved onto a kink
    entry = st.tuples(st.tuples(*[st.floats(iv.lo, iv.hi, allow_subnormal=False) for iv in o.draw]), st.booleans())

    @st.composite
    def draw(draw):
        shape = draw(st.sampled_from(KINK_SHAPES))
        # always KINK_ENTRIES entries, the shape taking the first ones: no size drawn before a list of
        # that size, so shrinking the shape leaves the entries' draws where they were
        entries = draw(st.tuples(*[entry] * KINK_ENTRIES))[:int(np.prod(shape))]
        select = np.array([on for _, on in entries]).reshape(shape)
        hypothesis.assume(select.any())
        args = [np.array([v[i] for v, _ in entries]).reshape(shape) for i in range(o.arity)]
        params = _params(o, [shape] * o.arity, draw(st.tuples(*[st.integers(0, 7)] * 3))) if o.params else {}
        hypothesis.assume(params is not None)
        args = o.kink.snap(args, select, **spec.check_params(o, params))
        inputs = [Input(f"x{i}", shape) for i in range(o.arity)]
        comp = Composition(inputs, [Node(op, tuple(i.name for i in inputs), params)])
        return Example(comp, {i.name: a for i, a in zip(inputs, args)})

    return draw()


def draw_case(data, backend: Backend, prop: str, op: str, max_nodes: int = 10, shapes=None) -> tuple[Example, dict]:
    """Draw an example (and its cotangent and tangents) for a cell from Hypothesis ``data``; its
    composition has at most ``max_nodes`` drawn nodes (``shapes``: its input shapes, as for
    ``compositions``)."""
    p = PROPERTIES[prop]
    if p.kinks:
        example = data.draw(_kinked(op), label="example")
        return _at_precision(backend, example, _draw_vectors(data, example, p.vectors))
    return _draw(data, backend, op, _ops(backend, prop, op), p.vectors, shared=p.shared, max_nodes=max_nodes,
                 shapes=shapes)


def _ops(backend: Backend, prop: str, op: str) -> tuple[str, ...]:
    """The ops cell (prop, op) draws its compositions from: the backend's, less those known to fail
    ``prop`` elsewhere, and those it cannot differentiate as ``prop`` needs (``missing_rules``)."""
    lacking = set(missing_rules(backend, PROPERTIES[prop].needs)) if PROPERTIES[prop].needs else set()
    return tuple(sorted(set(backend.ops) - known.masked_ops(known.load(backend), prop, op) - lacking))


def _draw(data, backend: Backend, op: str, ops, vectors, *, shared=False, max_nodes=10,
          shapes=None) -> tuple[Example, dict]:
    """A composition of ``ops`` containing ``op`` (any mix for the mixed row), and ``vectors``
    (``shapes``: the composition's input shapes, as for ``compositions``)."""
    strategy = _compositions_of(tuple(ops), None if op == ALL_OPS else op, max_nodes, 1 if shared else 0,
                                _frozen(backend.constant_args), shapes)
    example = data.draw(strategy, label="example")
    return _at_precision(backend, example, _draw_vectors(data, example, vectors))


@functools.lru_cache(maxsize=1024)
def _compositions_of(ops, include, max_nodes, min_shared, constant_args, shapes):
    """One strategy object per cell's arguments, built once: Hypothesis validates a new strategy and
    writes its repr (each time an example is rejected) on first use, which per example cost a tenth
    of the generation time."""
    return compositions(ops=list(ops), include=include, max_nodes=max_nodes, min_shared=min_shared,
                        constant_args=dict(constant_args), shapes=shapes)


def _frozen(constant_args) -> tuple:
    return tuple(sorted((k, tuple(v)) for k, v in (constant_args or {}).items()))


def _draw_vectors(data, example: Example, vectors) -> dict:
    kwargs = {}
    if "cotangent" in vectors:
        kwargs["cotangent"] = data.draw(cotangents(example.comp.output_shape), label="cotangent")
    if "tangents" in vectors:
        kwargs["tangents"] = {i.name: data.draw(cotangents(i.shape), label=f"tangent {i.name}")
                              for i in example.comp.inputs}
    return kwargs


def edge_case(backend: Backend, prop: str, op: str) -> tuple[Example, dict] | None:
    """The cell's deterministic case: the op alone at its spec ``edges`` (one point per element of
    a vector input), cotangent and tangents all ones. None where the op has no edges, or the cell
    needs what a single node cannot give (a shared node, a kink) or an argument the backend only
    takes as a constant."""
    p = PROPERTIES[prop]
    if p.shared or p.kinks:
        return None
    return _edge(backend, op, p.vectors)


def _edge(backend: Backend, op: str, vectors) -> tuple[Example, dict] | None:
    o = spec.OPS.get(op)
    if o is None or not o.edges or backend.constant_args.get(op):
        return None
    points = np.array(o.edges, dtype=float)  # (n points, arity)
    inputs = [Input(f"x{j}", (len(points),)) for j in range(o.arity)]
    comp = Composition(inputs, [Node(op, tuple(i.name for i in inputs))])
    example = Example(comp, {f"x{j}": points[:, j].copy() for j in range(o.arity)})
    kwargs = {}
    if "cotangent" in vectors:
        kwargs["cotangent"] = np.ones(comp.output_shape)
    if "tangents" in vectors:
        kwargs["tangents"] = {i.name: np.ones(i.shape) for i in inputs}
    return example, kwargs


def run_edge_case(backend: Backend, prop: str, op: str) -> bool:
    """Check the cell's edge case, if it has one (raises ``Failure`` like ``run_case``). True when
    it was judged; False when there is none or it could not be judged (the backend lacks
    something, or the oracle is unsure)."""
    case = edge_case(backend, prop, op)
    if case is None:
        return False
    example, kwargs = _at_precision(backend, *case)

    # inside a one-example Hypothesis test, where the checks' event() and reject() work
    @hypothesis.settings(hypothesis.settings.default, max_examples=1, database=None, derandomize=True, deadline=None,
                         phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate), report_multiple_bugs=False)
    @hypothesis.given(st.just(None))
    def once(_):
        _check(backend, prop, example, kwargs)

    try:
        once()
    except Failure as f:  # handled here, as in cell_test: the report made as small as it gets
        f.minimize()
        raise
    except (Unsupported, hypothesis.errors.Unsatisfiable):
        return False
    return True


def _at_precision(backend: Backend, example: Example, kwargs: dict) -> tuple[Example, dict]:
    """A lower-precision backend computes at rounded inputs and vectors: the oracle must judge
    those exact values."""
    if backend.dtype == np.float64:
        return example, kwargs
    example = Example(example.comp, {k: _rounded(v, backend.dtype) for k, v in example.values.items()})
    kwargs = {k: ({n: _rounded(t, backend.dtype) for n, t in v.items()} if k == "tangents" else
                  _rounded(v, backend.dtype)) for k, v in kwargs.items()}
    return example, kwargs


def _rounded(v, dtype):
    return np.asarray(v).astype(dtype).astype(np.float64)


class OutOfTime(BaseException):
    """Stops a cell's test when the run's ``Deadline`` has passed (a BaseException, so that
    Hypothesis does not take it for a failure)."""


def run_case(data, backend: Backend, prop: str, op: str, deadline: Deadline | None = None):
    """Draw one case and check it (the body of every property test); OutOfTime instead of the check
    once ``deadline`` has passed (after the draws, which Hypothesis expects a replay to repeat)."""
    example, kwargs = draw_case(data, backend, prop, op)
    if deadline is not None and deadline.passed:
        raise OutOfTime()
    _check(backend, prop, example, kwargs)


def _check(backend: Backend, prop: str, example: Example, kwargs: dict, oracle=None):
    """Judge one case by the property (``oracle``: see ``checks``); a failure carries how to recheck
    smaller versions of it, and the property it belongs to (``failure.property``)."""
    try:
        backend.run_check(prop, PROPERTIES[prop].check, example, kwargs, oracle=oracle)
    except Failure as f:
        f.report.recheck = _rechecker(backend, prop, kwargs)
        f.property = prop
        raise


def _rechecker(backend: Backend, prop: str, kwargs: dict):
    """example -> the report of the same check failing on it (None if it passes or cannot judge it).
    The cotangent is kept (the output shape does not change); inputs keep their tangents and new
    inputs get tangent one (also a new input under an old input's name, whose shape may differ: a
    tangent of the wrong shape made a check of a library's forward mode fail on trigrad's mistake). Like a drawn case, the example is judged at the backend's precision
    (``_at_precision``): a smaller example made by shrinking can have new input values (a subgraph's
    float64 value in its place), which a float32 library rounds."""
    check = PROPERTIES[prop].check

    def again(example: Example):
        kw = dict(kwargs)
        if "tangents" in kw:
            kw["tangents"] = {i.name: _tangent(kwargs["tangents"].get(i.name), i.shape) for i in example.comp.inputs}
        example, kw = _at_precision(backend, example, kw)
        try:
            backend.run_check(prop, check, example, kw)
        except Failure as f:
            return f.report
        except Exception:  # noqa: BLE001 - rejected (hypothesis.reject) or crashed: not this failure
            return None
        return None

    return again


def _tangent(kept, shape) -> np.ndarray:
    """An input's tangent when rechecking: the one it had, if it has that shape, else ones."""
    return kept if kept is not None and np.shape(kept) == tuple(shape) else np.ones(shape)


def replay(backend: Backend, prop: str, example: Example, kwargs: dict) -> Report | None:
    """The report of the property's check failing on ``example`` (with the cotangent and tangents in
    ``kwargs``), or None when it passes or cannot be judged."""
    return _rechecker(backend, prop, kwargs)(example)


# --- running a cell ---------------------------------------------------------------------------------------


def cell_test(backend: Backend, prop: str, op: str, profile: hypothesis.settings | None = None,
              max_examples: int | None = None, deadline: Deadline | None = None):
    """(test, counter): the cell's Hypothesis test, a function of no arguments, and a dict whose
    "n" counts the examples it ran. The pytest suites and ``run_cell`` both run this one test, so
    under a derandomized profile they see the same examples (the seed hashes the test and the cell,
    and no draw depends on which modules are imported: ``properties.determinism``).
    One minimal counterexample per cell: several distinct ones would come back as an ExceptionGroup.
    With a ``deadline`` no example starts once it has passed: the test raises OutOfTime, or, while
    Hypothesis shrinks a failure, the smallest failure so far (minimized in the time left)."""
    profile = profile or hypothesis.settings.default
    counter = {"n": 0, "failure": None}

    @hypothesis.settings(profile, max_examples=max_examples or profile.max_examples, report_multiple_bugs=False)
    @hypothesis.given(st.data())
    def test(data):
        counter["n"] += 1
        try:
            run_case(data, backend, prop, op, deadline)
        except OutOfTime:
            counter["n"] -= 1  # drawn, not checked
            raise
        except Failure as f:  # Hypothesis tries only smaller examples once one fails: the latest is the smallest
            counter["failure"] = f
            raise

    set_test_digest(test, f"{backend.name}:{prop}:{op}".encode())  # a database key and derandomized seed per cell

    def run():
        with import_independent_draws():
            try:
                test()
            except OutOfTime:  # only with a deadline
                if counter["failure"] is None:
                    raise
                counter["failure"].minimize(deadline.left)
                raise counter["failure"] from None
            except Failure as f:  # Hypothesis has shrunk it; the structural pass makes it smaller still
                f.minimize(MINIMIZE_SECONDS if deadline is None else min(MINIMIZE_SECONDS, deadline.left))
                raise

    return run, counter


# --- running a cell outside pytest (trigrad check) -----------------------------------------------------


def mark(status: str) -> str:
    """A cell's status as the conformance table writes it: pass, FAIL, ERROR, known, -, unsup or n/a."""
    if status in STATUS_MARK:
        return STATUS_MARK[status]
    return "unsup" if status.startswith("unsupported") else "n/a" if status.startswith("n/a") else status


@dataclass
class Cell:
    prop: str
    op: str
    status: str = "not reached"  # pass | fail | unsupported: ... | n/a: ... | error | not reached
    examples: int = 0
    seconds: float = 0.0
    report: Report | None = None
    error: str = ""


def run_cell(backend: Backend, prop: str, op: str, *, max_examples: int | None = None, cell: Cell | None = None,
             profile: hypothesis.settings | None = None, deadline: Deadline | None = None) -> Cell:
    """Run one cell for up to ``max_examples`` examples (default: the profile's) with the Hypothesis
    settings ``profile`` (default: the current one); a failure is shrunk by Hypothesis and kept as
    the cell's report. No example starts after ``deadline``: a cell it stops passes if it ran
    some examples, all passing, and stays not reached if it ran none."""
    profile = profile or hypothesis.settings.default
    cell = cell or Cell(prop, op)
    why = status(backend, prop, op)
    if why:
        cell.status = why
        return cell
    test, counter = cell_test(backend, prop, op, profile, max_examples, deadline)
    start = time.perf_counter()
    try:
        if deadline is not None and deadline.passed:
            raise OutOfTime()
        counter["n"] += run_edge_case(backend, prop, op)
        test()
        cell.status = "pass" if cell.status in ("not reached", "pass") else cell.status
    except OutOfTime:
        ran = cell.examples + counter["n"] > 0
        cell.status = "pass" if ran and cell.status in ("not reached", "pass") else cell.status
    except Failure as f:
        cell.status, cell.report = "fail", f.report  # minimized by run_edge_case or the cell's test
    except Unsupported as e:
        cell.status = f"unsupported: {e}"
    except hypothesis.errors.Unsatisfiable as e:
        cell.status, cell.error = "error", f"no example could be judged: {e}"
    except Exception as e:  # noqa: BLE001 - a crash in trigrad itself is reported, not hidden
        cell.status, cell.error = "error", f"{type(e).__name__}: {e}"
    cell.examples += counter["n"]
    cell.seconds += time.perf_counter() - start
    return cell


# --- fused runs: a row's cells judged on the same draws ------------------------------------------------

# What a fused run draws beside each composition: every property takes what it needs from these.
FUSED_VECTORS = ("cotangent", "tangents")


def fusable(prop: str) -> bool:
    """Whether ``prop`` is judged in its row's fused run: its examples are the row's plain
    compositions (``fanout`` needs a shared node and ``kink`` draws its op alone at its kinks: they
    run per cell)."""
    p = PROPERTIES[prop]
    return not (p.shared or p.kinks)


def fused_groups(backend: Backend, op: str, props) -> list[tuple[str, ...]]:
    """The cells of row ``op`` among ``props`` that run fused, as groups judged on the same draws:
    the fusable properties the backend runs (``status``), by the ops their compositions may use
    (known differences leave ops out per property), in catalogue order."""
    groups: dict[tuple, list[str]] = {}
    for prop in PROPERTIES:
        if prop in props and fusable(prop) and status(backend, prop, op) is None:
            groups.setdefault(_ops(backend, prop, op), []).append(prop)
    return [tuple(g) for g in groups.values()]


def _vectors(prop: str, kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k in PROPERTIES[prop].vectors}


def _judge_all(backend: Backend, props, example: Example, kwargs: dict, tally: dict, *, keep_going=False) -> dict:
    """Judge one example by each of ``props`` with one shared oracle; ``tally`` counts the examples
    each was asked to judge. Returns {property: judged (True) or rejected (False)}. A Failure is
    raised at once, unless ``keep_going``: then it is returned in the property's place."""
    oracle = functools.cache(lambda: Oracle(example.comp, example.values))
    out = {}
    for prop in props:
        tally[prop] += 1
        try:
            _check(backend, prop, example, _vectors(prop, kwargs), oracle=oracle)
            out[prop] = True
        except (UnsatisfiedAssumption, Unsupported):  # this property cannot judge this example
            out[prop] = False
        except Failure as f:
            if not keep_going:
                raise
            out[prop] = f
    return out


def fused_test(backend: Backend, op: str, props: tuple[str, ...], profile: hypothesis.settings | None = None,
               max_examples: int | None = None, deadline: Deadline | None = None):
    """(test, tally): the Hypothesis test that judges each drawn example of row ``op`` by every
    property of ``props`` (one group of ``fused_groups``), and a dict counting the examples each was
    asked to judge. An example is rejected only when no property could judge it. A property's
    Failure ends the test (and is shrunk). The draws depend on the backend, the row and the ops
    drawn from, not on which properties judge them (the derandomized seed hashes those).
    With a ``deadline`` no example is judged once it has passed: the test raises OutOfTime, and
    ``tally["failure"]`` holds the smallest Failure so far if Hypothesis was shrinking one."""
    profile = profile or hypothesis.settings.default
    ops = _ops(backend, props[0], op)
    tally = {p: 0 for p in props}
    tally["failure"] = None

    @hypothesis.settings(profile, max_examples=max_examples or profile.max_examples, report_multiple_bugs=False)
    @hypothesis.given(st.data())
    def test(data):
        interruption_point()  # a Ctrl-C whose KeyboardInterrupt was lost on its way stops the row here
        example, kwargs = _draw(data, backend, op, ops, FUSED_VECTORS)
        if deadline is not None and deadline.passed:  # after the draws, which a replay repeats
            raise OutOfTime()
        try:
            judged = _judge_all(backend, props, example, kwargs, tally)
        except Failure as f:  # Hypothesis tries only smaller examples once one fails: the latest is the smallest
            first, tally["failure"] = tally["failure"] is None, f  # kept before a Ctrl-C can come
            if first:  # the run's progress says a failure is being shrunk
                report(("shrinking", getattr(f, "property", f.report.prop), op))
            raise
        if not any(judged.values()):
            reject()

    set_test_digest(test, f"{backend.name}:fused:{op}:{','.join(ops)}".encode())
    return test, tally


def _edge_fused(backend: Backend, op: str, props, cells: dict[str, Cell]):
    """The row's edge case judged by every property of ``props`` with one shared oracle (see
    ``run_edge_case``); a failing property's cell gets its (minimized) report."""
    case = _edge(backend, op, FUSED_VECTORS)
    if case is None:
        return
    example, kwargs = _at_precision(backend, *case)
    tally = {p: 0 for p in props}
    result = {}

    @hypothesis.settings(hypothesis.settings.default, max_examples=1, database=None, derandomize=True, deadline=None,
                         phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate), report_multiple_bugs=False)
    @hypothesis.given(st.just(None))
    def once(_):
        result.update(_judge_all(backend, props, example, kwargs, tally, keep_going=True))

    once()
    for prop, outcome in result.items():
        cell = cells[prop]
        if isinstance(outcome, Failure):
            outcome.minimize()
            cell.status, cell.report = "fail", outcome.report
        cell.examples += outcome is True


def run_row(backend: Backend, op: str, props=None, *, max_examples: int | None = None,
            profile: hypothesis.settings | None = None, cells: dict[str, Cell] | None = None,
            until_failure: bool = False, deadline: Deadline | None = None) -> dict[str, Cell]:
    """Run the cells of row ``op`` for ``props`` (default: every property): the fusable ones in fused
    runs (see the module's docstring), the others one by one (``run_cell``), each for up to
    ``max_examples`` examples with the Hypothesis settings ``profile``. ``cells`` (by property) are
    updated in place when given (a timed ``trigrad check`` runs a row again in growing rounds); only
    cells not yet failed run. ``until_failure``: stop at the first failing cell (a hunt for one
    bug); the cells after it stay "not reached". No example starts after ``deadline`` (as in
    ``run_cell``). Returns the cells by property. A fused cell's ``seconds`` is its share of its
    group's time."""
    profile = profile or hypothesis.settings.default
    props = [p for p in PROPERTIES if props is None or p in props]
    cells = cells if cells is not None else {}
    for prop in props:
        cells.setdefault(prop, Cell(prop, op))
        why = status(backend, prop, op)
        if why:
            cells[prop].status = why
    todo = [p for p in props if cells[p].status in ("not reached", "pass")]
    for group in fused_groups(backend, op, todo):
        start = time.perf_counter()
        remaining = list(group)
        if deadline is not None and deadline.passed:
            break
        if all(cells[p].examples == 0 for p in group):  # the edge case once, before the first round
            _edge_fused(backend, op, remaining, cells)
            remaining = [] if until_failure and _failed(cells) else [p for p in remaining if cells[p].status != "fail"]
        while remaining:
            test, tally = fused_test(backend, op, tuple(remaining), profile, max_examples, deadline)
            done = list(remaining)
            try:
                with import_independent_draws():
                    try:
                        test()
                    except OutOfTime:
                        if tally["failure"] is None:
                            raise
                        raise tally["failure"] from None  # the smallest failure before time ran out
                for p in remaining:
                    cells[p].status = "pass"
                remaining = []
            except OutOfTime:  # a cell that judged some examples, all passing, passes
                for p in remaining:
                    if cells[p].examples + tally[p] > 0:
                        cells[p].status = "pass"
                remaining = []
            except Failure as f:  # Hypothesis has shrunk it; the structural pass makes it smaller still
                failed = getattr(f, "property", f.report.prop)
                try:
                    f.minimize(MINIMIZE_SECONDS if deadline is None else min(MINIMIZE_SECONDS, deadline.left))
                except KeyboardInterrupt:  # Ctrl-C in the structural pass: as Hypothesis left it
                    _interrupted(cells, tally, done, f)
                    raise
                cells[failed].status, cells[failed].report = "fail", f.report
                remaining.remove(failed)
            except KeyboardInterrupt:  # Ctrl-C: a failure being shrunk is kept as far as it was shrunk
                _interrupted(cells, tally, done, tally["failure"])
                raise
            except hypothesis.errors.Unsatisfiable as e:
                for p in remaining:
                    cells[p].status, cells[p].error = "error", f"no example could be judged: {e}"
                remaining = []
            except Exception as e:  # noqa: BLE001 - a crash in trigrad itself is reported, not hidden
                for p in remaining:
                    cells[p].status, cells[p].error = "error", f"{type(e).__name__}: {e}"
                remaining = []
            for p in done:
                cells[p].examples += tally[p]
            if until_failure and _failed(cells):
                break
        seconds = (time.perf_counter() - start) / len(group)
        for p in group:
            cells[p].seconds += seconds
        if until_failure and _failed(cells):
            return cells
    fused = {p for g in fused_groups(backend, op, todo) for p in g}
    for prop in todo:
        if prop not in fused:
            run_cell(backend, prop, op, max_examples=max_examples, cell=cells[prop], profile=profile, deadline=deadline)
            if until_failure and _failed(cells):
                break
    return cells


# The error note of a cell whose failure was being shrunk when the run was interrupted (Ctrl-C).
INTERRUPTED = "interrupted while shrinking: the smallest failure found so far, not fully shrunk"


def _interrupted(cells: dict[str, Cell], tally: dict, judged, failure: Failure | None):
    """A fused run stopped by Ctrl-C: its cells keep the examples they judged, and the failure it was
    shrinking, if any, fails its cell as far as it was shrunk (``INTERRUPTED``)."""
    for p in judged:
        cells[p].examples += tally[p]
    if failure is not None:
        cell = cells[getattr(failure, "property", failure.report.prop)]
        cell.status, cell.report, cell.error = "fail", failure.report, INTERRUPTED


def _failed(cells: dict[str, Cell]) -> bool:
    return any(c.status in ("fail", "error") for c in cells.values())


__all__ = ["PROPERTIES", "Property", "ALL_OPS", "STATUS_MARK", "mark", "rows", "status", "draw_case", "run_case", "edge_case",
           "run_edge_case", "run_cell", "Cell", "OutOfTime", "replay", "fusable", "fused_groups", "fused_test",
           "run_row", "INTERRUPTED"]
