"""Shared helpers for the oracle's tests: a small deterministic generator of valid compositions.

The property suites draw compositions with Hypothesis (properties/strategies.py); the oracle's own
tests need a fixed, reproducible sample that does not depend on them, so this builds one with numpy's
random generator, using only the spec table's shape rules and domains.
"""

import numpy as np
import pytest

from trigrad.oracle import spec
from trigrad.oracle.ir import Composition, Const, Input, Node

SHAPES = [(), (2,), (3,), (2, 3), (1, 3), (2, 1)]
UNARY = ["neg", "square", "exp", "sin", "cos", "log", "sqrt", "tanh", "sigmoid", "softplus", "tan", "abs", "relu"]
BINARY = ["add", "sub", "mul", "div", "pow"]
ARRAY = ["sum", "mean", "max", "min", "logsumexp", "softmax", "log_softmax", "transpose", "reshape",
         "matmul", "get_item", "clip", "broadcast_to", "sum_to", "mean_squared_error", "softmax_cross_entropy"]


def _params(rng, op, shapes):
    s = shapes[0]
    name = op.name
    if name in ("sum", "mean", "logsumexp"):
        axis = None if not s or rng.random() < 0.4 else int(rng.integers(-len(s), len(s)))
        return {"axis": axis, "keepdims": bool(rng.random() < 0.3)}
    if name in ("max", "min"):
        return {"axis": None if not s or rng.random() < 0.4 else int(rng.integers(0, len(s)))}
    if name in ("softmax", "log_softmax"):
        return {"axis": int(rng.integers(-len(s), len(s)))} if s else None
    if name == "transpose":
        return {"axes": tuple(int(a) for a in rng.permutation(len(s)))} if s else {}
    if name == "reshape":
        return {"shape": (int(np.prod(s)),) if len(s) != 1 else (1, s[0])}
    if name == "get_item":
        if not s:
            return None
        idx = tuple(int(rng.integers(0, n)) if rng.random() < 0.3 else tuple(int(v) for v in rng.integers(0, n, 2))
                    for n in s[:1])
        return {"index": idx}
    if name == "clip":
        return {"lo": -0.5, "hi": 0.75}
    if name == "broadcast_to":
        return {"shape": (2,) + tuple(s)}
    if name == "sum_to":
        if not s:
            return None
        return {"shape": s[1:] if rng.random() < 0.5 else tuple(1 for _ in s)}
    if name == "softmax_cross_entropy":
        if len(s) != 2:
            return None
        return {"labels": tuple(int(v) for v in rng.integers(0, s[1], s[0]))}
    try:
        spec.check_params(op, {})
        return {}
    except ValueError:  # a param without a default (where's condition, pad's widths, ...): one of its choices
        params = {}
        for p in op.params:
            options = p.choices(s, params)
            if not options:
                return None
            params[p.name] = options[int(rng.integers(len(options)))]
        return params


def _fits(op, *shapes):
    try:
        op.out_shape(shapes, {})
        return True
    except ValueError:
        return False


def random_composition(rng, max_nodes=5, ops=None):
    """A composition with values where every op is inside its domain, or None after too many tries."""
    ops = ops or UNARY + BINARY + ARRAY
    n_inputs = int(rng.integers(1, 3))
    inputs = [Input(f"x{i}", SHAPES[int(rng.integers(len(SHAPES)))]) for i in range(n_inputs)]
    values = {i.name: rng.uniform(-2, 2, i.shape) for i in inputs}
    nodes = []
    refs = [i.name for i in inputs]
    target = int(rng.integers(1, max_nodes + 1))
    for _ in range(200):
        if len(nodes) >= target:
            break
        op = spec.get(ops[int(rng.integers(len(ops)))])
        args = [refs[int(rng.integers(len(refs)))] if rng.random() < 0.9 or j == 0 else Const(float(rng.integers(1, 4)))
                for j in range(op.arity)]
        if op.arity == 2 and rng.random() < 0.3:
            args[1] = args[0]  # x op x: a shared argument
        base = Composition(inputs, nodes, output=refs[-1])
        if op.name == "matmul":  # random pairs rarely fit: pick among those that do
            fits = [(a, b) for a in refs for b in refs if _fits(op, base.shape(a), base.shape(b))]
            if not fits:
                continue
            args = list(fits[int(rng.integers(len(fits)))])
        shapes = [() if isinstance(a, Const) else base.shape(a) for a in args]
        params = _params(rng, op, shapes) if op.params else {}
        if params is None:
            continue
        try:
            cand = Composition(inputs, nodes + [Node(op.name, tuple(args), params)])
        except ValueError:
            continue
        with np.errstate(all="ignore"):
            env = cand.evaluate_numpy(values, trace=True)
        k = len(nodes)
        argv = [np.asarray(a.value) if isinstance(a, Const) else env[a] for a in args]
        const = tuple(isinstance(a, Const) for a in args)
        out = env[f"n{k}"]
        if not op.accepts(argv, cand.params(k), const) or not np.all(np.abs(out) < spec.MAX_MAGNITUDE):
            continue
        nodes.append(cand.nodes[-1])
        refs.append(f"n{k}")
    if not nodes:
        return None
    return Composition(inputs, nodes), values


@pytest.fixture
def compositions():
    """``compositions(n, seed)``: n valid (composition, values) pairs, deterministic."""

    def make(n, seed=0, **kw):
        rng = np.random.default_rng(seed)
        out = []
        while len(out) < n:
            r = random_composition(rng, **kw)
            if r is not None:
                out.append(r)
        return out

    return make
