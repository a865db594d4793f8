"""A structural pass after Hypothesis's shrinking: make a failing composition smaller while it fails.

Hypothesis shrinks the choices a composition was drawn from; a DAG encoded as choices has local
minima (deleting one node shifts what later nodes refer to). This pass works on the composition
itself, greedily, keeping any change after which the same check still fails:

- cut: replace a node by a new input holding its value (the subgraph above it disappears);
- bypass: replace a node by one of its arguments of the same shape;
- merge: replace an input by another input of the same shape;
- and each of these after swapping the arguments of one binary node (a swap alone is no smaller,
  but the order in which a node's inputs are visited is what some bugs depend on).

Every candidate must still be a valid example (every op inside its domain with the spec's margins),
so the result is as trustworthy as what Hypothesis drew.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from trigrad.oracle.ir import Composition, Input, Node

from .example import Example, is_valid
from .piece import interruption_point

# Wall-clock budget of the pass (each candidate reruns the failing check: oracle, backend, numeric).
MINIMIZE_SECONDS = 10.0


class Deadline:
    """A wall-clock budget: ``Deadline(seconds).passed`` turns true once it is spent."""

    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds

    @property
    def passed(self) -> bool:
        return self.end <= time.perf_counter()

    @property
    def left(self) -> float:
        """Seconds left (0 once it has passed)."""
        return max(0.0, self.end - time.perf_counter())

    def __reduce__(self):
        # perf_counter is one machine's clock: another process, maybe on another machine of a cluster,
        # gets the same end on the wall clock (synchronized between machines) as its own deadline
        return _deadline_at, (time.time() + self.left,)


def _deadline_at(wall_end: float) -> Deadline:
    """The Deadline that passes at ``wall_end`` (``time.time()``)."""
    return Deadline(wall_end - time.time())


class _Running(threading.local):
    active = False  # a pass is running in this thread


_RUNNING = _Running()


def minimize(example: Example, still_fails: Callable[[Example], bool], *,
             seconds: float = MINIMIZE_SECONDS) -> Example:
    """The smallest example found by greedy cut / bypass / merge steps for which ``still_fails``.

    Never re-entered: called while a pass runs (from inside ``still_fails``: formatting an exception
    that carries the failure being shrunk once did this, 37 levels deep), it returns ``example`` as
    it is."""
    if _RUNNING.active:
        return example
    _RUNNING.active = True
    try:
        return _minimize(example, still_fails, seconds)
    finally:
        _RUNNING.active = False


def _minimize(example: Example, still_fails: Callable[[Example], bool], seconds: float) -> Example:
    deadline = Deadline(seconds)
    improved = True
    while improved and not deadline.passed:
        improved = False
        for cand in sorted(_candidates(example), key=_size):
            interruption_point()  # Ctrl-C noted (trigrad check): the example as small as it got so far
            if _size(cand) >= _size(example) or not is_valid(cand):
                continue
            if deadline.passed:
                break
            if still_fails(cand):
                example, improved = cand, True
                break
    if all(i.name == f"x{k}" for k, i in enumerate(example.comp.inputs)):
        return example
    renamed = _renamed(example)  # (also when nothing was cut: pruning at the draw can leave gaps)
    return renamed if renamed is not None and still_fails(renamed) else example


def _renamed(example: Example) -> Example:
    """Inputs renamed x0, x1, ... in order (cuts add new names; pruning leaves gaps)."""
    rename = {i.name: f"x{k}" for k, i in enumerate(example.comp.inputs)}
    return _rebuild(example.comp, example.values, rename, [], rename_inputs=True)


def _size(example: Example):
    comp = example.comp
    return (len(comp.nodes), len(comp.inputs), sum(int(np.prod(i.shape)) for i in comp.inputs))


def _rebuild(comp: Composition, values: dict, rename: dict[str, str], extra: list[tuple[Input, np.ndarray]],
             rename_inputs: bool = False):
    """The composition with argument refs renamed (and new inputs added), pruned; None if invalid.
    With ``rename_inputs`` the inputs themselves take their new names too."""
    nodes = [Node(n.op, tuple(rename.get(a, a) if isinstance(a, str) else a for a in n.args), n.params)
             for n in comp.nodes]
    inputs = list(comp.inputs) + [i for i, _ in extra]
    vals = dict(values) | {i.name: v for i, v in extra}
    if rename_inputs:
        inputs = [Input(rename.get(i.name, i.name), i.shape) for i in inputs]
        vals = {rename.get(k, k): v for k, v in vals.items()}
    try:
        new = Composition(inputs, nodes, rename.get(comp.output, comp.output)).pruned()
    except ValueError:
        return None
    if not new.nodes:
        return None
    return Example(new, {i.name: np.asarray(vals[i.name], dtype=float) for i in new.inputs})


def _candidates(example: Example):
    out = _reductions(example)
    comp = example.comp
    for k in sorted(comp.live()):
        a = comp.nodes[k].args
        if len(a) == 2 and isinstance(a[0], str) and isinstance(a[1], str) and a[0] != a[1]:
            nodes = list(comp.nodes)
            nodes[k] = Node(nodes[k].op, (a[1], a[0]), nodes[k].params)
            try:
                swapped = Example(Composition(comp.inputs, nodes, comp.output), example.values)
            except ValueError:  # the swapped shapes do not fit
                continue
            out.extend(_reductions(swapped))
    return out


def _reductions(example: Example):
    comp, values = example.comp, example.values
    with np.errstate(all="ignore"):
        trace = comp.evaluate_numpy(values, trace=True)
    names = {i.name for i in comp.inputs}
    fresh = next(f"x{k}" for k in range(len(names) + len(comp.nodes) + 1) if f"x{k}" not in names)
    out = []
    for k in sorted(comp.live()):
        ref = f"n{k}"
        if ref != comp.output:
            value = np.asarray(trace[ref], dtype=float)
            out.append(_rebuild(comp, values, {ref: fresh}, [(Input(fresh, value.shape), value)]))
        for a in comp.nodes[k].args:
            if isinstance(a, str) and comp.shape(a) == comp.shape(ref):
                out.append(_rebuild(comp, values, {ref: a}, []))
    for i in comp.inputs:
        for j in comp.inputs:
            if i.name != j.name and i.shape == j.shape:
                out.append(_rebuild(comp, values, {i.name: j.name}, []))
    return [c for c in out if c is not None]


__all__ = ["minimize", "Deadline", "MINIMIZE_SECONDS"]
