"""A campaign: Hypothesis draws compositions containing the fuzzed function and checks each by a
property of the suite that applies, until the budget is spent or a failure is found and shrunk."""

from __future__ import annotations

import contextlib
import random
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import hypothesis
import numpy as np
from hypothesis import strategies as st

from trigrad.oracle import spec

from .. import suite
from .._hypothesis_compat import seeded, set_test_digest
from ..backends import Backend
from ..determinism import import_independent_draws
from ..errors import UsageError
from ..minimize import MINIMIZE_SECONDS
from ..report import Failure, Report
from ..piece import interruption_point
from .diagnosis import Diagnosis, diagnose
from .database import database_key, open_database  # noqa: F401 - open_database: where it was, for its importers
from .sandbox import CLOCK, DEFAULT_TIMEOUT, ExampleTimeout, UserCodeError
from .supervise import Supervised, can_supervise, user_failure
from .target import FuzzBackend, Target, properties_for, unsupported_for

# Composition sizes a campaign draws: the function alone, in a small composition, in a large one.
NODE_BUDGETS = (1, 3, 10)
MAX_INPUTS = 3  # inputs of a composition at fixed shapes (compositions' default)
DEFAULT_MAX_EXAMPLES = 1000  # the command's default budget (examples over all properties)
MAX_HANGS = 5  # examples that may hang (while Hypothesis shrinks the first) before shrinking stops
# Hypothesis shrinks for at most this long (it would go on trying smaller floats for minutes; the
# composition's structure is usually minimal within seconds).
SHRINK_SECONDS = 10.0
PROGRESS_SECONDS = 2.0  # a running campaign reports its progress at most this often


class _BudgetSpent(BaseException):
    """Stops Hypothesis when the time is up (a BaseException, so it is not taken for a failure)."""


class _ShrinkingStopped(BaseException):
    """Stops Hypothesis shrinking after SHRINK_SECONDS, or after MAX_HANGS examples ran out of time
    (each costs the whole time limit); the smallest failing example so far is the report, and the
    structural pass (properties.minimize) still makes it smaller."""


@dataclass
class Outcome:
    """What a campaign did: examples by property, the ops the function was combined with, the
    failure (None when nothing was found)."""

    target: str
    backend: str
    unsupported: dict = field(default_factory=dict)  # property -> why the function cannot take part
    examples: int = 0
    seconds: float = 0.0
    by_property: dict = field(default_factory=dict)
    combined_with: set = field(default_factory=set)
    found_after: int | None = None  # examples until the first failing one
    seconds_to_find: float | None = None
    report: Report | None = None  # its op is in the table only during the campaign: use text / json
    text: str = ""  # the report as text ("" when nothing was found)
    json: dict | None = None
    seed: int | None = None
    diagnosis: Diagnosis | None = None  # how far off, and wrong rule or lost accuracy
    interrupted: bool = False  # SIGINT (Ctrl-C) while shrinking: the report is the smallest failure so far

    def summary(self) -> str:
        props = ", ".join(f"{p} {n}" for p, n in self.by_property.items())
        return (f"{self.examples} examples in {self.seconds:.1f} s ({self.examples / max(self.seconds, 1e-9):.0f}/s); "
                f"by property: {props}; combined with {len(self.combined_with)} ops"
                + "".join(f"\n{line}" for line in unsup_lines(self.unsupported)))


def unsup_lines(unsupported: dict) -> list[str]:
    """``unsup`` properties grouped by reason, one line per reason."""
    reasons = {}
    for prop, why in unsupported.items():
        reasons.setdefault(why, []).append(prop)
    return [f"unsup: {', '.join(props)} ({why})" for why, props in reasons.items()]


class _State:
    """Counts, the time budget, progress output, and the failures seen while Hypothesis shrinks
    (so that shrinking can be cut short)."""

    def __init__(self, outcome: Outcome, seconds: float | None, progress: Callable | None):
        self.outcome, self.progress = outcome, progress
        self.start = time.perf_counter()
        self.end = None if seconds is None else self.start + seconds
        self.last_progress = self.start
        self.smallest = None  # the smallest failing report so far
        self.found_at = None
        self.hangs = 0  # examples that ran out of time

    @property
    def failed(self) -> bool:
        return self.smallest is not None

    def begin(self, prop: str, example, target: set):
        if self.end is not None and time.perf_counter() >= self.end:  # --seconds is a cap, shrinking included
            raise _ShrinkingStopped() if self.failed else _BudgetSpent()
        if self.failed and (self.hangs > MAX_HANGS or time.perf_counter() - self.found_at > SHRINK_SECONDS):
            raise _ShrinkingStopped()
        o = self.outcome
        o.examples += 1
        o.by_property[prop] = o.by_property.get(prop, 0) + 1
        o.combined_with.update(n.op for n in example.comp.nodes if n.op not in target)
        now = time.perf_counter()
        o.seconds = now - self.start
        if self.progress is not None and now - self.last_progress >= PROGRESS_SECONDS:
            self.last_progress = now
            self.progress(o)

    def failing(self, failure: Failure, hung: bool):
        """Record a failing example (the first one is when the function was found wrong)."""
        o = self.outcome
        if o.found_after is None:
            self.found_at = time.perf_counter()
            o.found_after, o.seconds_to_find = o.examples, self.found_at - self.start
        self.hangs += hung
        report = failure.report
        first = self.smallest is None
        if first or _size(report) <= _size(self.smallest):  # later is more shrunk
            self.smallest = report
        if first and self.progress is not None:  # said at once (shrinking can take a while), once the
            self.last_progress = self.found_at  # failure is kept: a Ctrl-C from here on reports it
            self.progress(o)


def _size(report: Report) -> tuple:
    comp = report.example.comp
    return (len(comp.nodes), len(comp.inputs), sum(int(np.prod(i.shape)) for i in comp.inputs))


def campaign_test(backend: FuzzBackend, props: list[str], settings: hypothesis.settings, state: _State):
    """The campaign's Hypothesis test (a function of no arguments): each example draws a property,
    a composition size and a composition containing the function, and checks it."""
    name = backend.target.name
    names = list(backend.target.calls)  # one op per output and their weighted sum, or just the function
    shapes = None
    if backend.target.shapes:  # an array twin at fixed shapes: every input has one of them
        fixed = sorted(set(backend.target.shapes.values()))
        shapes = st.tuples(*[st.sampled_from(fixed)] * MAX_INPUTS)

    @settings
    @hypothesis.given(st.data())
    def test(data):
        interruption_point()  # a Ctrl-C noted in a worker of --workers: this shard stops here
        prop = data.draw(st.sampled_from(props), label="property")
        op = data.draw(st.sampled_from(names), label="op") if len(names) > 1 else name
        # a shared node needs two nodes at least
        budgets = NODE_BUDGETS[1:] if suite.PROPERTIES[prop].shared else NODE_BUDGETS
        nodes = data.draw(st.sampled_from(budgets), label="at most this many nodes")
        example, kwargs = suite.draw_case(data, backend, prop, op, max_nodes=nodes, shapes=shapes)
        state.begin(prop, example, set(names))
        try:
            suite._check(backend, prop, example, kwargs)
        except (UserCodeError, ExampleTimeout) as e:  # raised where no check catches it
            failure = user_failure(backend, prop, example, kwargs, e)
            state.failing(failure, hung=isinstance(e, ExampleTimeout))
            raise failure from None
        except Failure as f:
            state.failing(f, hung=isinstance(f.__cause__, ExampleTimeout))
            raise

    set_test_digest(test, database_key(backend.base.describe(), backend.target))  # the same function, the same key
    return test


def run(target: Target, base: Backend, *, max_examples: int | None = None, seconds: float | None = None,
        seed: int | None = None, database=hypothesis.settings.default.database, timeout: float | None = DEFAULT_TIMEOUT,
        derandomize: bool = False, progress: Callable | None = None, supervised: bool = True,
        memory: int | None = None, recipe: Callable | None = None) -> Outcome:
    """Fuzz ``target`` on ``base`` until ``max_examples`` examples (default DEFAULT_MAX_EXAMPLES, or
    unlimited with ``seconds``) or ``seconds`` have run, or a failure is found and shrunk.
    ``supervised`` (the default): the checks run in a worker process (``fuzzing.supervise``; its
    address space limited to ``memory`` bytes, default half the machine's), so that an exit, a crash
    or a hang in C of the fuzzed code is a finding too; otherwise (and on a backend that cannot run in
    a forked process, ``Backend.fork_safe``, unless ``recipe`` makes the fuzzed backend again in a
    fresh interpreter) in this process, where only what Python can catch is."""
    fuzzed = FuzzBackend(base, target)
    fuzzed.recipe = recipe
    supervised = supervised and can_supervise(fuzzed)
    backend = Supervised(fuzzed, timeout=timeout, memory=memory) if supervised else fuzzed
    try:
        return _run(backend, target, base, max_examples, seconds, seed, database, timeout, derandomize, progress,
                    unsupported_for(fuzzed))
    finally:
        if supervised:
            backend.close()


def _run(backend, target, base, max_examples, seconds, seed, database, timeout, derandomize, progress,
         unsupported) -> Outcome:
    outcome = Outcome(target.name, base.describe(), unsupported=unsupported, seed=seed)
    state = _State(outcome, seconds, progress)
    limit = max_examples or (10**9 if seconds is not None else DEFAULT_MAX_EXAMPLES)
    settings = hypothesis.settings(hypothesis.settings.default, max_examples=limit, database=database,
                                   derandomize=derandomize, report_multiple_bugs=False, deadline=None)
    # the user's code, and compositions with it, may overflow or divide by zero: findings, not warnings
    with contextlib.ExitStack() as stack:
        for op in target.ops:
            stack.enter_context(spec.registered(op))
        stack.enter_context(import_independent_draws())
        stack.enter_context(np.errstate(all="ignore"))
        stack.enter_context(warnings.catch_warnings())
        stack.enter_context(CLOCK.limit(timeout))
        warnings.simplefilter("ignore", RuntimeWarning)
        props = properties_for(backend)
        try:
            for prop in props:  # the function alone at the borrowed op's edge points, if any
                with contextlib.suppress(UserCodeError, ExampleTimeout):  # code that raises: found below
                    try:
                        judged = suite.run_edge_case(backend, prop, target.name)
                    except Failure as f:
                        state.failing(f, hung=False)
                        raise
                    outcome.examples += judged
                    outcome.by_property[prop] = outcome.by_property.get(prop, 0) + judged
            test = campaign_test(backend, props, settings, state)
            if seed is not None:  # a campaign's seed keeps workers apart; saved failures still come first
                test = seeded(test, seed, settings)
            test()
        except Failure as f:
            outcome.report = f.report
        except hypothesis.errors.FlakyFailure as group:  # failed, then not the same way again (a crash
            failures = [e for e in group.exceptions if isinstance(e, Failure)]  # that comes and goes)
            if not failures:
                raise
            outcome.report = failures[0].report
        except _ShrinkingStopped:
            outcome.report = state.smallest
        except KeyboardInterrupt:  # Ctrl-C: a failure found is reported as far as it was shrunk, not lost
            if not state.failed:
                raise
            outcome.report, outcome.interrupted = state.smallest, True
        except _BudgetSpent:
            pass
        except hypothesis.errors.Unsatisfiable as e:
            raise UsageError(f"no example of {target.name} could be drawn and judged ({e}); "
                             f"is the domain right?") from None
        if outcome.report is not None and not outcome.interrupted:
            shrunk = outcome.report  # as far as Hypothesis shrank it
            try:
                recheck = outcome.report.recheck
                left = MINIMIZE_SECONDS if state.end is None else max(0.0, state.end - time.perf_counter())
                outcome.report = outcome.report.minimized(min(MINIMIZE_SECONDS, left))
                outcome.text, outcome.json = outcome.report.text(), outcome.report.to_json()
                outcome.diagnosis = diagnose(outcome.report, target.op, base.dtype, recheck)
                if outcome.diagnosis is not None:
                    outcome.text = _with_rows(outcome.text, outcome.diagnosis.lines())
                    outcome.json["diagnosis"] = outcome.diagnosis.to_json()
            except KeyboardInterrupt:  # Ctrl-C in the structural pass or the diagnosis: as Hypothesis left it
                outcome.report, outcome.diagnosis, outcome.interrupted = shrunk, None, True
        if outcome.interrupted:
            _interrupted(outcome, database, database_key(backend.base.describe(), backend.target))
    outcome.seconds = time.perf_counter() - state.start
    return outcome


def _interrupted(outcome: Outcome, database, key: bytes):
    """The report of a campaign interrupted while it shrank a failure (Hypothesis's shrinking, the
    structural pass or the diagnosis): the smallest failure so far, as it is, saying so, and whether
    the example database holds a failure of this campaign (then the next run replays it first and
    goes on shrinking it). Whether it does is looked up, not assumed: Hypothesis does not always
    write a failure the moment it meets it, and a run interrupted early may have saved nothing."""
    outcome.text, outcome.json = outcome.report.text(), outcome.report.to_json()
    saved = database is not None and next(iter(database.fetch(key)), None) is not None
    again = "rerun with its --seed to find it again"
    note = ("interrupted while shrinking: the smallest failure found so far, not fully shrunk"
            + ("; the example database holds it, and the next run replays it first and goes on shrinking" if saved
               else f"; not in an example database yet ({again})" if database is not None
               else f"; no example database ({again})"))
    outcome.text = _with_rows(outcome.text, [("shrinking", note)])
    outcome.json["fully_shrunk"] = False


def _with_rows(text: str, rows) -> str:
    """The report's text with ``rows`` (label, text) after its verdict line."""
    lines = text.split("\n")
    at = next((k + 1 for k, line in enumerate(lines) if line.startswith("  verdict")), 1)
    return "\n".join(lines[:at] + [f"  {label:<12} {value}" for label, value in rows] + lines[at:])


def random_seed() -> int:
    """A fresh seed for a campaign (printed, so that the run can be repeated)."""
    return random.SystemRandom().randrange(2**32)


def progress_line(examples: int, seconds: float, combined: int, workers: int = 1, shrinking: bool = False) -> str:
    """The status line of a running campaign (of ``workers`` processes together); ``shrinking`` once
    one of them found a failure."""
    ws = f", {workers} workers" if workers > 1 else ""
    return (f"{examples} examples ({examples / max(seconds, 1e-9):.0f}/s){ws}, combined with {combined} ops, "
            f"{seconds:.0f} s" + ("; found a failure, shrinking it" if shrinking else ""))


__all__ = ["run", "Outcome", "unsup_lines", "campaign_test", "open_database", "random_seed", "progress_line", "NODE_BUDGETS",
           "DEFAULT_MAX_EXAMPLES", "MAX_HANGS", "SHRINK_SECONDS", "PROGRESS_SECONDS"]
