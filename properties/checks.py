"""The properties: each judges one example on one backend and raises ``Failure`` with a report.

Each check runs the backend, asks the symbolic oracle for the exact answer and its error bound, and
consults the numeric oracle (finite differences or the complex step of the backend's own forward)
where a verdict needs confirming. A wrong answer raises ``Failure`` (an AssertionError carrying a
``Report``); an example the oracles cannot judge (oracle unsure, a point too close to a kink, three
answers that all disagree) is rejected with ``hypothesis.reject()`` after recording the reason with
``event()``, so it is neither passed silently nor reported as a bug.

Every check takes ``oracle``: a function of no arguments returning the example's symbolic ``Oracle``.
Several properties judging one example (the suite's fused runs) pass the same one, so that the
exact evaluation is done once; by default each check builds its own.
"""

from __future__ import annotations

import functools
import traceback
from typing import Callable

import numpy as np
from hypothesis import event, reject

from trigrad.oracle import numeric, spec
from trigrad.oracle.compare import Judgement, Verdict, judge, judge_value
from trigrad.oracle.symbolic import Oracle

from .backends import Backend, Unsupported
from .report import Failure, Report
from .example import Example


class _Run:
    """One example on one backend: leaves, the forward as a function of leaves, the oracle."""

    def __init__(self, backend: Backend, example: Example, oracle: Callable[[], Oracle] | None = None):
        self.backend = backend
        self._shared_oracle = oracle
        self.example = example
        self.comp = example.comp
        self.names = [i.name for i in self.comp.inputs]
        self.arrays = [example.values[n] for n in self.names]
        self.u = backend.unit_roundoff
        live = [self.comp.nodes[k].op for k in self.comp.live()]
        self.complex_step = all(spec.get(op).analytic and op in backend.complex_ops for op in live)

    @functools.cached_property
    def oracle(self) -> Oracle:
        if self._shared_oracle is not None:  # one example judged by several properties shares one
            return self._shared_oracle()
        return Oracle(self.comp, self.example.values)

    def fn(self, *xs):
        return self.comp.evaluate(dict(zip(self.names, xs)), self.backend.op)

    def leaves(self):
        return [self.backend.asarray(a) for a in self.arrays]

    def forward_numpy(self, arrays):
        """The backend's forward on a list of numpy arrays (what the numeric oracle differentiates)."""
        value = self.backend.forward(self.comp, dict(zip(self.names, arrays)))
        if not _numbers(value, complex_ok=True):
            raise Failure(self.report(self.prop, None, self.vectors,
                                      f"the backend's forward returned {_described(value)}, not an array of numbers"))
        return value

    def call(self, prop, what, vectors, *args, own=False):
        """Run a backend method; an exception from the library is a finding, not a crash. The
        backend gets its own copies of the cotangent and tangents (a backward that writes into them
        must not change what the oracles are asked), unless ``own`` (the purity check's own arrays)."""
        if not own:
            args = [_copied(a) for a in args]
        self.prop, self.vectors = prop, vectors  # for a forward_numpy that returns what is not numbers
        try:
            result = what(*args)
        except Unsupported as e:  # this example needs something the backend lacks: not judged
            event(f"not judged (unsupported): {e}")
            reject()
        except Exception as e:  # noqa: BLE001 - anything the library raises is reported
            where = getattr(e, "trigrad_traceback", None)  # code under fuzzing: says what raised, and where
            detail = (f"{e}\n{where}" if where is not None else
                      f"the backend raised {traceback.format_exception_only(type(e), e)[-1].strip()}")
            raise Failure(self.report(prop, None, vectors, detail)) from e
        wrong = self._malformed(what, result)
        if wrong:
            raise Failure(self.report(prop, None, vectors, f"the backend's {wrong}"))
        return result

    def _malformed(self, what, result) -> str | None:
        """What is wrong with the value ``what`` returned (a backend method, or the forward), or None:
        the protocol's structure (``Backend``) with numbers, an array or nested lists of them, where
        arrays belong."""
        b, n = self.backend, len(self.names)
        if what == b.vjp or what == b.jvp:
            name = "vjp" if what == b.vjp else "jvp"
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                return f"{name} returned {_described(result)}, not a pair (value, {'gradients' if name == 'vjp' else 'JVP'})"
            value, rest = result
            parts = [("value", value)] + ([("JVP", rest)] if name == "jvp" else [])
            if name == "vjp":
                if not isinstance(rest, (tuple, list)) or len(rest) != n:
                    return f"vjp returned {_described(rest)} for the gradients, not a list of {n} (one per input)"
                parts += [(f"gradient wrt {x}", g) for x, g in zip(self.names, rest)]
        elif what == b.hvp:
            name = "hvp"
            if not isinstance(result, (tuple, list)) or len(result) != n:
                return f"hvp returned {_described(result)}, not a list of {n} (one per input)"
            parts = [(f"second order wrt {x}", h) for x, h in zip(self.names, result)]
        else:
            name, parts = "forward", [("value", result)]
        for label, v in parts:
            if not _numbers(v):
                return f"{name} returned {_described(v)} for the {label}, not an array of numbers"
        return None

    def report(self, prop, judgement, vectors, detail=""):
        return Report(prop, self.backend, self.example, judgement, detail, dict(vectors))

    # --- numeric estimates for one element ---------------------------------------------------------
    def partial(self, name, cotangent):
        """index -> numeric d<cotangent, f>/d input[name][index]."""

        def estimate(index):
            us = [np.zeros_like(a) for a in self.arrays]
            us[self.names.index(name)][index] = 1.0
            step = self.oracle.safe_step(dict(zip(self.names, us)))
            return numeric.directional(self.forward_numpy, self.arrays, us, cotangent,
                                       complex_step=self.complex_step, max_step=step)

        return estimate

    def directional(self, tangents):
        """index -> numeric derivative of output[index] along tangents."""

        def estimate(index):
            v = np.zeros(self.comp.output_shape)
            v[index] = 1.0
            step = self.oracle.safe_step(dict(zip(self.names, tangents)))
            return numeric.directional(self.forward_numpy, self.arrays, tangents, v,
                                       complex_step=self.complex_step, max_step=step)

        return estimate

    def second(self, name, cotangent, tangents):
        """index -> numeric derivative along tangents of d<cotangent, f>/d input[name][index]."""

        def estimate(index):
            ws = [np.zeros_like(a) for a in self.arrays]
            ws[self.names.index(name)][index] = 1.0
            step = min(self.oracle.safe_step(dict(zip(self.names, tangents))),
                       self.oracle.safe_step(dict(zip(self.names, ws))))
            return numeric.second_directional(self.forward_numpy, self.arrays, tangents, ws, cotangent, max_step=step)

        return estimate


def _numbers(v, complex_ok: bool = False) -> bool:
    """Whether ``v`` is numbers: an array of them, one, or nested lists of them (not None, a str,
    objects, or complex where a real result belongs)."""
    if v is None or isinstance(v, (str, bytes)):
        return False
    try:
        a = np.asarray(v)
    except Exception:  # noqa: BLE001 - ragged nested lists, objects numpy cannot hold
        return False
    return a.dtype.kind in ("biufc" if complex_ok else "biuf")


def _described(v) -> str:
    """A value the backend returned, briefly: its type, and its repr when short."""
    text = repr(v)
    return f"a value of type {type(v).__name__}" + (f" ({text})" if len(text) <= 60 else "")


def _copied(arg):
    if isinstance(arg, np.ndarray):
        return arg.copy()
    if isinstance(arg, list) and arg and all(isinstance(a, np.ndarray) for a in arg):
        return [a.copy() for a in arg]
    return arg


def _tangent_list(run: _Run, tangents: dict):
    """Tangents by input name -> (the same dict of float arrays, a list in input order)."""
    tan = {n: np.asarray(tangents[n], dtype=float) for n in run.names}
    return tan, [tan[n] for n in run.names]


def _settle(run: _Run, prop: str, judgements: list[Judgement], vectors: dict):
    """Raise for a failure, reject what cannot be judged, record the rest."""
    for j in judgements:
        if j.failed:
            raise Failure(run.report(prop, j, vectors))
    for j in judgements:
        if not j.verdict.judged:
            event(f"not judged ({j.verdict.value}): {j.reason.split(':')[0]}")
            reject()
    for j in judgements:
        if j.verdict is Verdict.ILL_CONDITIONED:
            event("numeric disagreed with exact (ill-conditioned for differences); autograd agreed")


def _check_forward(run, prop, value, vectors):
    """A wrong forward makes every derivative check meaningless: report it first."""
    j = judge_value(value, run.oracle.value(), u=run.u)
    if j.failed:
        raise Failure(run.report(prop, j, vectors))


# --- the properties ------------------------------------------------------------------------------------


def check_value(backend: Backend, example: Example, oracle=None):
    """The forward value against the exact value."""
    run = _Run(backend, example, oracle)
    value = run.call("value", lambda: backend.tonumpy(run.fn(*run.leaves())), {})
    _settle(run, "value", [judge_value(value, run.oracle.value(), u=run.u)], {})


def check_vjp(backend: Backend, example: Example, cotangent, oracle=None):
    """The VJP for a random cotangent against exact, elementwise; numeric confirms a disagreement."""
    run = _Run(backend, example, oracle)
    vec = {"cotangent": cotangent}
    value, grads = run.call("vjp", backend.vjp, vec, run.fn, run.leaves(), cotangent)
    _check_forward(run, "vjp", value, vec)
    exact = run.oracle.vjp(cotangent)
    js = [judge(g, exact[n], numeric=run.partial(n, cotangent), u=run.u, what=f"VJP wrt {n}")
          for n, g in zip(run.names, grads)]
    _settle(run, "vjp", js, vec)


def check_vjp_numeric(backend: Backend, example: Example, cotangent, tangents, oracle=None):
    """<VJP, u> against the numeric directional derivative <v, J u> of the backend's own forward
    (and the exact one): the backend's backward must agree with its forward."""
    run = _Run(backend, example, oracle)
    tan, tangents = _tangent_list(run, tangents)
    vec = {"cotangent": cotangent, **{f"tangent {n}": t for n, t in zip(run.names, tangents)}}
    value, grads = run.call("vjp_numeric", backend.vjp, vec, run.fn, run.leaves(), cotangent)
    _check_forward(run, "vjp_numeric", value, vec)
    projected = sum(float(np.sum(np.asarray(g, dtype=float) * t)) for g, t in zip(grads, tangents))
    est = numeric.directional(run.forward_numpy, run.arrays, tangents, cotangent,
                              complex_step=run.complex_step, max_step=run.oracle.safe_step(tan))
    event(f"numeric by {est.method}")
    j = judge(projected, run.oracle.projection(cotangent, tan), numeric=est, u=run.u, what="<VJP, u>")
    _settle(run, "vjp_numeric", [j], vec)


def check_jvp(backend: Backend, example: Example, tangents, oracle=None):
    """The JVP (forward mode) against exact; numeric confirms a disagreement."""
    run = _Run(backend, example, oracle)
    tan, tangents = _tangent_list(run, tangents)
    vec = {f"tangent {n}": t for n, t in zip(run.names, tangents)}
    value, jvp = run.call("jvp", backend.jvp, vec, run.fn, run.leaves(), tangents)
    _check_forward(run, "jvp", value, vec)
    exact = run.oracle.jvp(tan)
    _settle(run, "jvp", [judge(jvp, exact, numeric=run.directional(tangents), u=run.u, what="JVP")], vec)


def check_adjoint(backend: Backend, example: Example, cotangent, tangents, oracle=None):
    """The adjoint identity <v, J u> (from the backend's JVP) = <J^T v, u> (from its VJP)."""
    run = _Run(backend, example, oracle)
    tan, tangents = _tangent_list(run, tangents)
    vec = {"cotangent": cotangent, **{f"tangent {n}": t for n, t in zip(run.names, tangents)}}
    _, jvp = run.call("adjoint", backend.jvp, vec, run.fn, run.leaves(), tangents)
    _, grads = run.call("adjoint", backend.vjp, vec, run.fn, run.leaves(), cotangent)
    forward_side = float(np.sum(np.asarray(cotangent) * np.asarray(jvp, dtype=float)))
    reverse_side = sum(float(np.sum(np.asarray(g, dtype=float) * t)) for g, t in zip(grads, tangents))
    proj = run.oracle.projection(cotangent, tan)
    jvp_exact = run.oracle.jvp(tan)
    allowed = float(proj.bound(run.u)) + float(np.sum(np.abs(cotangent) * jvp_exact.bound(run.u)))
    if proj.unsure(run.u) or jvp_exact.unsure(run.u):
        event("not judged (oracle unsure)")
        reject()
    if not abs(forward_side - reverse_side) <= allowed:
        j = Judgement(Verdict.FAIL, f"<v, J u> by forward mode is {forward_side!r} and <J^T v, u> by reverse mode is "
                      f"{reverse_side!r}: they differ by {abs(forward_side - reverse_side):.3g}, more than the "
                      f"{allowed:.3g} rounding allows", "adjoint identity", None, reverse_side,
                      float(proj.value), forward_side, allowed)
        raise Failure(run.report("adjoint", j, vec, "the 'numeric' column holds the forward-mode side"))


def check_hvp(backend: Backend, example: Example, cotangent, tangents, oracle=None):
    """Hessian-vector products (second order) against exact; numeric second differences confirm."""
    run = _Run(backend, example, oracle)
    tan, tangents = _tangent_list(run, tangents)
    vec = {"cotangent": cotangent, **{f"tangent {n}": t for n, t in zip(run.names, tangents)}}
    hvps = run.call("hvp", backend.hvp, vec, run.fn, run.leaves(), cotangent, tangents)
    exact = run.oracle.hvp(cotangent, tan)
    js = [judge(h, exact[n], numeric=run.second(n, cotangent, tangents), u=run.u, what=f"HVP wrt {n}")
          for n, h in zip(run.names, hvps)]
    _settle(run, "hvp", js, vec)


def check_purity(backend: Backend, example: Example, cotangent, oracle=None):
    """Backward modifies neither its inputs nor the cotangent it is given (copies before and after)."""
    run = _Run(backend, example, oracle)
    vec = {"cotangent": cotangent}
    leaves = run.leaves()
    before = [np.array(backend.tonumpy(x), copy=True) for x in leaves]
    ct = np.array(cotangent, copy=True)
    run.call("purity", backend.vjp, vec, run.fn, leaves, ct, own=True)
    for name, x, old in zip(run.names, leaves, before):
        if not np.array_equal(backend.tonumpy(x), old, equal_nan=True):
            raise Failure(run.report("purity", None, vec, f"input {name} was modified by the forward or backward pass: "
                                     f"{old.tolist()} became {np.asarray(backend.tonumpy(x)).tolist()}"))
    if not np.array_equal(ct, cotangent, equal_nan=True):
        raise Failure(run.report("purity", None, vec, f"the cotangent given to backward was modified: "
                                 f"{np.asarray(cotangent).tolist()} became {ct.tolist()}"))


def check_determinism(backend: Backend, example: Example, cotangent, oracle=None):
    """The same example twice gives bitwise identical values and gradients."""
    run = _Run(backend, example, oracle)
    vec = {"cotangent": cotangent}
    first = run.call("determinism", backend.vjp, vec, run.fn, run.leaves(), np.array(cotangent))
    second = run.call("determinism", backend.vjp, vec, run.fn, run.leaves(), np.array(cotangent))
    for label, a, b in [("value", first[0], second[0])] + [
            (f"gradient wrt {n}", g, h) for n, g, h in zip(run.names, first[1], second[1])]:
        if not np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True):
            raise Failure(run.report("determinism", None, vec, f"the {label} differs between two identical runs: "
                                     f"{np.asarray(a).tolist()} then {np.asarray(b).tolist()}"))


def check_shapes(backend: Backend, example: Example, cotangent, oracle=None):
    """The value has the output's shape and each gradient its input's shape (under broadcasting)."""
    run = _Run(backend, example, oracle)
    vec = {"cotangent": cotangent}
    value, grads = run.call("shapes", backend.vjp, vec, run.fn, run.leaves(), cotangent)
    problems = []
    if np.shape(value) != run.comp.output_shape:
        problems.append(f"the value has shape {np.shape(value)}, not {run.comp.output_shape}")
    for n, a, g in zip(run.names, run.arrays, grads):
        if np.shape(g) != a.shape:
            problems.append(f"the gradient wrt {n} has shape {np.shape(g)}, its input {a.shape}")
    if problems:
        raise Failure(run.report("shapes", None, vec, "; ".join(problems)))


def check_kink(backend: Backend, example: Example, cotangent, oracle=None):
    """At its kinks an op's VJP is an element of its subdifferential (spec table), e.g. abs'(0) in
    [-1, 1]; away from them it is the ordinary derivative."""
    comp = example.comp
    (node,) = comp.nodes
    op = spec.get(node.op)
    run = _Run(backend, example, oracle)  # its oracle is never built: the subdifferential check needs none
    vec = {"cotangent": cotangent}
    _, grads = run.call("kink", backend.vjp, vec, run.fn, [backend.asarray(a) for a in run.arrays], cotangent)
    why = op.kink.check(run.arrays, cotangent, [np.asarray(g, dtype=float) for g in grads], run.u, **comp.params(0))
    if why:
        raise Failure(run.report("kink", None, vec, f"{op.kink.description}; but {why}"))


__all__ = ["check_value", "check_vjp", "check_vjp_numeric", "check_jvp", "check_adjoint", "check_hvp",
           "check_purity", "check_determinism", "check_shapes", "check_kink", "Failure"]
