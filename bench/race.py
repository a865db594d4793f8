"""The race: trigrad's full verification of a composition against the tools a user would pick instead,
on the same compositions.

``python -m bench throughput`` runs it after its own tables (``--race N`` compositions, 0 to skip).
One derandomized draw of ``compositions(max_nodes=12)`` gives N compositions with their input values,
a cotangent and tangents; every tool then checks the same ones:

- trigrad: ``check_value``, ``check_vjp``, ``check_jvp``, ``check_adjoint`` and ``check_hvp`` (each
  three-way with the exact answer, sharing one exact evaluation as the suite's fused runs do) on the
  torch backend, and on the built-in one as a reference;
- ``torch.autograd.gradcheck`` + ``gradgradcheck`` (float64, default tolerances), ``fast_mode`` off
  and on, on the composition's torch forward as a function of its inputs;
- JAX's ``check_grads(f, args, order=2, modes=("fwd", "rev"))`` on its jax forward.

Rates are compositions per CPU second of this process (``bench.common.cpu_seconds``), without
generation (the draw is timed apart) and warm: each tool first runs once over the whole set (filling
trigrad's cache of compiled derivatives, torch's and JAX's dispatch caches), and the second pass is
the one timed. trigrad's time is inside its checks: Hypothesis's engine, which the checks need for
``event`` and ``reject``, is left out, as the draw is. torch runs on one thread (CPU time of idle
worker threads is not work). A composition with an op that some installed tool lacks is skipped for
every tool.
"""

from __future__ import annotations

import contextlib
import functools
import time
import warnings
from dataclasses import dataclass

import hypothesis
import numpy as np
from hypothesis import strategies as st

from bench.common import cpu_seconds, table, timed_outcome
from trigrad.oracle.symbolic import Oracle
from trigrad.properties import suite
from trigrad.properties.backends import BackendError, resolve
from trigrad.properties.strategies import compositions, cotangents

COMPOSITIONS = 150  # the hand race
QUICK_COMPOSITIONS = 10
MAX_NODES = 12
SEED = 18  # of the one draw (hypothesis.seed): the number
# trigrad's full verification: the suite's properties, in the order a wrong forward is caught first
TRIGRAD_PROPERTIES = ("value", "vjp", "jvp", "adjoint", "hvp")
OUTCOMES = ("passed", "failed", "not judged", "error")


@dataclass(frozen=True)
class Case:
    """One composition to check: the example (composition and input values), a cotangent, tangents."""

    example: object
    cotangent: np.ndarray
    tangents: dict

    @property
    def arrays(self):
        return [self.example.values[i.name] for i in self.example.comp.inputs]

    def forward(self, backend):
        """The composition's forward on ``backend`` as a function of its inputs, in input order."""
        comp = self.example.comp
        names = [i.name for i in comp.inputs]
        return lambda *xs: comp.evaluate(dict(zip(names, xs)), backend.op)


def draw(n: int) -> tuple[list[Case], float]:
    """``n`` cases from one seeded Hypothesis run; returns them and the CPU seconds the draw took."""
    cases = []

    @hypothesis.settings(max_examples=n, database=None, deadline=None, derandomize=False,
                         phases=(hypothesis.Phase.generate,), suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.seed(SEED)
    @hypothesis.given(st.data())
    def test(data):
        example = data.draw(compositions(max_nodes=MAX_NODES), label="example")
        cotangent = data.draw(cotangents(example.comp.output_shape), label="cotangent")
        tangents = {i.name: data.draw(cotangents(i.shape), label=f"tangent {i.name}") for i in example.comp.inputs}
        cases.append(Case(example, cotangent, tangents))

    start = cpu_seconds()
    test()
    return cases, cpu_seconds() - start


# --- the tools: each checks one case and says how it went -------------------------------------------


def trigrad_checker(backend):
    """The five checks of trigrad's full verification on ``backend``, sharing one exact evaluation of
    the composition as the suite's fused runs do (built inside the first check, so timed)."""
    def check(case: Case):
        seconds, outcome = 0.0, "passed"
        oracle = functools.cache(lambda: Oracle(case.example.comp, case.example.values))
        for prop in TRIGRAD_PROPERTIES:
            kwargs = {k: getattr(case, k) for k in suite.PROPERTIES[prop].vectors}
            kwargs["oracle"] = oracle
            spent, result = timed_outcome(backend, prop, case.example, kwargs)
            seconds += spent
            if result == "failed" or (result == "not judged" and outcome == "passed"):
                outcome = result
        return seconds, outcome

    return check


def gradcheck_checker(backend, fast_mode: bool):
    """``torch.autograd.gradcheck`` then ``gradgradcheck`` at their defaults (float64)."""
    torch = backend.torch

    def check(case: Case):
        fn = case.forward(backend)
        start = cpu_seconds()
        xs = tuple(torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in case.arrays)
        ok = (torch.autograd.gradcheck(fn, xs, fast_mode=fast_mode, raise_exception=False)
              and torch.autograd.gradgradcheck(fn, xs, fast_mode=fast_mode, raise_exception=False))
        return cpu_seconds() - start, "passed" if ok else "failed"

    return check


def check_grads_checker(backend):
    """``jax.test_util.check_grads`` to second order in both modes, default tolerances."""
    from jax.test_util import check_grads

    def check(case: Case):
        fn = case.forward(backend)
        start = cpu_seconds()
        try:
            check_grads(fn, [backend.jnp.asarray(a) for a in case.arrays], order=2, modes=("fwd", "rev"))
            outcome = "passed"
        except AssertionError:
            outcome = "failed"
        return cpu_seconds() - start, outcome

    return check


def _errors_counted(check):
    """A tool that raises on a case (not a verdict) gets "error" for it, not a crashed benchmark."""

    def guarded(case):
        start = cpu_seconds()
        try:
            return check(case)
        except Exception:  # noqa: BLE001 - the tool, not the benchmark, failed on this case
            return cpu_seconds() - start, "error"

    return guarded


# --- the race ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    checks: str  # what it checks, for the table
    backend: str  # the trigrad backend whose forward it runs
    make: object  # backend -> check(case) -> (CPU seconds, outcome)


TOOLS = (
    Tool("trigrad (torch backend)", "value, VJP, JVP, adjoint, HVP vs exact", "torch", trigrad_checker),
    Tool("trigrad (builtin backend)", "value, VJP, JVP, adjoint, HVP vs exact", "builtin", trigrad_checker),
    Tool("gradcheck + gradgradcheck", "numeric, rtol 1e-3", "torch", lambda b: gradcheck_checker(b, False)),
    Tool("  the same, fast_mode", "numeric, random projections", "torch", lambda b: gradcheck_checker(b, True)),
    Tool("jax check_grads(order=2)", "numeric, fwd and rev", "jax", check_grads_checker),
)
REFERENCE = "trigrad (torch backend)"
RIVAL = "gradcheck + gradgradcheck"


@contextlib.contextmanager
def _one_torch_thread(backends):
    torch = getattr(backends.get("torch"), "torch", None)
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _backends() -> dict:
    """name -> backend, or the reason it is missing."""
    out = {}
    for name in {t.backend for t in TOOLS}:
        try:
            out[name] = resolve(name)
        except BackendError:
            out[name] = "not installed"
    return out


def _pass(check, cases) -> tuple[float, float, list]:
    wall, seconds, outcomes = time.perf_counter(), 0.0, []
    for case in cases:
        spent, outcome = check(case)
        seconds += spent
        outcomes.append(outcome)
    return seconds, time.perf_counter() - wall, outcomes


def run(n: int) -> dict:
    """Draw ``n`` cases and race every tool on them; returns the results (see ``report``)."""
    backends = _backends()
    installed = [b for b in backends.values() if not isinstance(b, str)]
    cases, draw_seconds = draw(n)
    runnable = [c for c in cases if all(b.supports(node.op) for b in installed for node in c.example.comp.nodes)]
    nodes = [len(c.example.comp.nodes) for c in runnable]
    results = {"drawn": len(cases), "runnable": len(runnable), "max_nodes": MAX_NODES, "seed": SEED,
               "draw_seconds": draw_seconds, "draw_per_second": len(cases) / max(draw_seconds, 1e-9),
               "nodes": {"median": float(np.median(nodes)) if nodes else 0.0, "max": max(nodes, default=0)},
               "rates_include_generation": False, "warm": True, "tools": {}}
    with _one_torch_thread(backends), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for tool in TOOLS:
            backend = backends[tool.backend]
            if isinstance(backend, str):
                results["tools"][tool.name] = {"checks": tool.checks, "missing": f"{tool.backend} {backend}"}
                continue
            check = _errors_counted(tool.make(backend))
            cold, _, _ = _pass(check, runnable)  # warm-up: caches filled, not the rate
            seconds, wall, outcomes = _pass(check, runnable)
            results["tools"][tool.name] = {
                "checks": tool.checks, "version": backend.version, "seconds": seconds, "wall_seconds": wall,
                "per_second": len(runnable) / max(seconds, 1e-9),
                "first_pass_per_second": len(runnable) / max(cold, 1e-9),
                "outcomes": {o: outcomes.count(o) for o in OUTCOMES}}
    ref = results["tools"][REFERENCE]
    for r in results["tools"].values():
        if "per_second" in r and "per_second" in ref:
            r["reference_over_this"] = ref["per_second"] / r["per_second"]
    rival = results["tools"][RIVAL]
    results["goal"] = ({"met": ref["per_second"] >= rival["per_second"],
                        "ratio": ref["per_second"] / rival["per_second"]}
                       if "per_second" in ref and "per_second" in rival else {"met": None, "ratio": None})
    return results


def report(results: dict) -> str:
    """The race's table, its generation line and the goal line."""
    rows = []
    for name, r in results["tools"].items():
        if "missing" in r:
            rows.append([name, r["checks"], r["missing"]] + [None] * 6)
            continue
        o = r["outcomes"]
        rows.append([name, r["checks"], f"{o['passed']}/{o['failed']}/{o['not judged']}/{o['error']}",
                     r["first_pass_per_second"], r["per_second"],
                     f"{r['reference_over_this']:.2f}x" if "reference_over_this" in r else None])
    n, drawn = results["runnable"], results["drawn"]
    text = table(["tool", "checks", "passed/failed/not judged/error", "first pass /s", "warm /s",
                  "trigrad (torch) / this"], [r[:6] for r in rows],
                 title=f"the race: {n} compositions (of {drawn} drawn by compositions(max_nodes={MAX_NODES}), seed "
                       f"{SEED}; {drawn - n} skipped for every tool: an op some tool lacks; median "
                       f"{results['nodes']['median']:g} nodes, max {results['nodes']['max']}), compositions per "
                       f"CPU second, warm (second pass over the set), generation NOT included")
    gen = results["draw_per_second"]
    text += (f"\ngeneration (not in the rates above): {drawn} compositions with values, cotangent and tangents "
             f"drawn in {results['draw_seconds']:.2f} s CPU, {gen:.0f}/s")
    ref = results["tools"][REFERENCE]
    if "per_second" in ref:
        with_draw = 1 / (1 / ref["per_second"] + 1 / gen)
        text += f"; trigrad (torch) with generation: {with_draw:.3g}/s"
    goal = results["goal"]
    verdict = ("not measured (torch not installed)" if goal["met"] is None else
               f"{'met' if goal['met'] else 'not met'} ({goal['ratio']:.2f}x)")
    return text + f"\ngoal trigrad's full verification at least as fast as gradcheck + gradgradcheck: {verdict}"
