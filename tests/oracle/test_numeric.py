"""Tests of the numeric oracle (oracle/numeric.py): the issue's accuracy targets on the fixed
benchmark set (tests/oracle/numeric_cases.py), its error estimates, the complex step, second differences,
and the API's contracts (budgets, max_step, functions that fail).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from numeric_cases import MpNS, format_table, numeric_benchmark_cases, run_method, run_second, summarize
from trigrad.oracle.numeric import Estimate, derivative, directional, second_directional

# --- targets ----------------------------------------------------------------------------------------
# The issue's targets for the real (non complex-step) path: median and 99th percentile of the
# relative error over the benchmark set, and the evaluation budget per estimate.
TARGET_MEDIAN = 1e-13
TARGET_P99 = 1e-10
EVALUATION_BUDGET = 10

# The complex step has no subtraction, so it should be exact to a few float64 rounding errors.
COMPLEX_STEP_TARGET_MEDIAN = 1e-15
COMPLEX_STEP_TARGET_MAX = 1e-13

# The error estimate must bound the true error in at least this share of cases (the brief: < 1%
# exceeded).
ERROR_BOUND_COVERAGE = 0.99

# second_directional: the brief asks for ~1e-8 relative accuracy within about 16 evaluations
# (measured: median ~2e-12, p90 ~3e-10, p99 ~2e-8).
SECOND_TARGET_MEDIAN = 1e-10
SECOND_TARGET_P90 = 1e-8
SECOND_BUDGET = 16


# --- tests: the benchmark ---------------------------------------------------------------------------

def test_benchmark_set_is_large_varied_and_exact():
    cases = numeric_benchmark_cases()
    assert len(cases) >= 200
    assert len({c.name.split(" @ ")[0] for c in cases}) >= 50
    mags = [max(float(np.max(np.abs(x))) for x in c.xs) for c in cases]
    assert min(mags) < 2e-3 and max(mags) > 5e2
    assert any(len(c.xs) > 1 for c in cases) and any(c.v is not None for c in cases)
    # the floor of the relative error (function scale) matters only near stationary points
    assert sum(c.scale > 10 * abs(c.exact) for c in cases) < 0.15 * len(cases)


def test_exact_derivatives_match_mpmath_diff():
    """The complex-step exact values agree with mpmath's own numerical differentiation."""
    for c in numeric_benchmark_cases()[::15]:
        def phi(t):
            xs = [np.frompyfunc(lambda a, b: mpmath.mpf(a) + t * mpmath.mpf(b), 2, 1)(x, u)
                  for x, u in zip(c.xs, c.us)]
            out = np.asarray(c.fn(MpNS, *[np.asarray(x, dtype=object).reshape(x0.shape)
                                          for x, x0 in zip(xs, c.xs)]), dtype=object)
            w = np.ones(out.shape) if c.v is None else c.v
            return sum((mpmath.mpf(float(a)) * o for a, o in zip(w.flat, out.flat)), mpmath.mpf(0))

        with mpmath.workdps(40):
            reference = float(mpmath.diff(phi, 0))
        assert abs(reference - c.exact) <= 1e-25 * c.scale, c.name


def test_real_path_meets_the_issue_targets():
    s = summarize(run_method("richardson"))
    assert s["median"] <= TARGET_MEDIAN, format_table({"richardson": s})
    assert s["p99"] <= TARGET_P99, format_table({"richardson": s})
    assert s["max_evaluations"] <= EVALUATION_BUDGET


def test_real_path_meets_the_targets_without_max_step():
    s = summarize(run_method("richardson (no max_step)"))
    assert s["median"] <= TARGET_MEDIAN and s["p99"] <= TARGET_P99, format_table({"no max_step": s})
    assert s["max_evaluations"] <= EVALUATION_BUDGET


def test_real_path_holds_on_points_it_was_not_tuned_on():
    """Other seeds draw other points from the same templates (the constants were tuned on the
    fixed set); the targets must hold there too, with a small margin on the tail."""
    for seed in (7, 11):
        s = summarize(run_method("richardson", seed))
        assert s["median"] <= TARGET_MEDIAN and s["p99"] <= TARGET_P99, format_table({seed: s})


def test_error_estimates_bound_the_true_error():
    for name in ("richardson", "richardson (no max_step)", "complex-step"):
        s = summarize(run_method(name))
        assert s["error_exceeded_share"] <= 1 - ERROR_BOUND_COVERAGE, format_table({name: s})


def test_complex_step_is_exact_to_rounding():
    results = run_method("complex-step")
    s = summarize(results)
    assert s["median"] <= COMPLEX_STEP_TARGET_MEDIAN, format_table({"complex-step": s})
    assert s["max"] <= COMPLEX_STEP_TARGET_MAX, format_table({"complex-step": s})
    assert s["max_evaluations"] <= EVALUATION_BUDGET
    assert all(e.method == "complex-step" for _, e in results)


def test_textbook_difference_is_much_worse():
    ours, textbook = summarize(run_method("richardson")), summarize(run_method("textbook eps=1e-4"))
    assert textbook["median"] > 1e-10 and textbook["median"] > 1000 * ours["median"]
    assert textbook["p90"] > 1e4 * ours["p90"]


def test_second_directional_on_known_hessians():
    results = run_second()
    s = summarize(results)
    assert s["median"] <= SECOND_TARGET_MEDIAN, format_table({"second": s})
    assert s["p90"] <= SECOND_TARGET_P90, format_table({"second": s})
    assert s["max_evaluations"] <= SECOND_BUDGET
    assert s["error_exceeded_share"] <= 1 - ERROR_BOUND_COVERAGE, format_table({"second": s})


@pytest.mark.parametrize("n", [3, 4])
def test_second_directional_closed_forms(n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n))
    x, u, w = (rng.standard_normal(n) for _ in range(3))
    est = second_directional(lambda xs: xs[0] @ a @ xs[0], [x], [u], [w])
    assert abs(est.value - w @ (a + a.T) @ u) <= 1e-12 * np.abs(w) @ np.abs(a + a.T) @ np.abs(u)
    y = rng.standard_normal(n)
    est = second_directional(lambda xs: np.sum(np.sin(xs[0]) * xs[1]), [x, y], [u, 0 * u], [0 * w, w])
    exact = np.sum(np.cos(x) * u * w)
    assert abs(est.value - exact) <= 1e-9 * np.sum(np.abs(np.cos(x) * u * w))
    assert est.evaluations <= SECOND_BUDGET


# --- tests: the API and its contracts ---------------------------------------------------------------

def test_derivative_of_scalar_functions():
    for fn, dfn, x in ((math.sin, math.cos, 0.7), (math.exp, math.exp, -2.0), (math.log, lambda t: 1 / t, 3.0)):
        est = derivative(lambda t: fn(x + t), scale=min(abs(x), 1.0))
        assert abs(est.value - dfn(x)) <= 1e-13 * abs(dfn(x)) and est.evaluations <= EVALUATION_BUDGET
        assert abs(est.value - dfn(x)) <= est.error
        est = derivative(lambda t: np.exp(x + t) if isinstance(t, complex) else math.exp(x + t),
                         complex_step=True)
        assert abs(est.value - math.exp(x)) <= 1e-15 * math.exp(x), est


def test_max_step_is_never_exceeded():
    """Every point the function is called at stays within max_step of x (up to the rounding of
    the point itself), on every path: real, complex step, second order, exact directions."""
    for c in numeric_benchmark_cases()[::7]:
        for bound in (c.max_step if math.isfinite(c.max_step) else 1e-3, 1e-6):
            seen = []

            def f(xs, c=c, seen=seen):
                seen.append(max(float(np.max(np.abs(x - x0))) for x, x0 in zip(xs, c.xs)))
                return c.f(xs)

            slack = bound * 1e-12 + max(float(np.max(np.spacing(np.abs(x)))) for x in c.xs)
            directional(f, list(c.xs), list(c.us), c.v, max_step=bound)
            directional(f, list(c.xs), list(c.us), c.v, max_step=bound, complex_step=True)
            second_directional(f, list(c.xs), list(c.us), list(c.us), c.v, max_step=bound)
            assert seen and max(seen) <= bound + slack, (c.name, bound, max(seen))
    ts = []
    derivative(lambda t: ts.append(abs(t)) or math.sin(t), max_step=1e-5, scale=10.0)
    derivative(lambda t: ts.append(abs(t)) or np.sin(t), max_step=1e-5, complex_step=True)
    assert max(ts) <= 1e-5


@pytest.mark.parametrize("budget", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_the_budget_is_respected(budget):
    for c in numeric_benchmark_cases()[::31]:
        calls = []

        def f(xs, c=c):
            calls.append(1)
            return c.f(xs)

        for kwargs in ({}, {"complex_step": True}):
            calls.clear()
            est = directional(f, list(c.xs), list(c.us), c.v, max_evaluations=budget, **kwargs)
            assert est.evaluations == len(calls) <= budget
            assert est.ok or est.error == math.inf
        calls.clear()
        est = second_directional(f, list(c.xs), list(c.us), list(c.us), c.v, max_evaluations=budget)
        assert est.evaluations == len(calls) <= budget


def _nan(xs):
    return xs[0] * np.nan


def _raises(xs):
    raise ValueError("the forward is broken")


def _wrong_type(xs):
    return "not a number"


@pytest.mark.parametrize("f", [_nan, _raises, _wrong_type])
def test_failing_functions_give_infinite_error_not_exceptions(f):
    x, u = [np.array([0.5, 2.0])], [np.array([1.0, -1.0])]
    for est in (directional(f, x, u), directional(f, x, u, complex_step=True),
                second_directional(f, x, u, u), derivative(lambda t: f([np.array(t)]))):
        assert est.error == math.inf and not est.ok and est.method.startswith("failed")
        assert 0 < est.evaluations <= SECOND_BUDGET


def test_functions_that_fail_beyond_a_point_are_handled():
    """log(x) near 0 without max_step: steps that leave the domain give nan; later steps stay
    below them and the estimate is still accurate (and honest)."""
    for x0 in (1e-3, 1e-1):
        est = directional(lambda xs: np.log(xs[0]), [np.array(x0)], [np.array(10.0)])
        assert est.ok and abs(est.value - 10 / x0) <= est.error <= 1e-6 * 10 / x0, est
    est = derivative(lambda t: math.sqrt(1e-4 - t) if t < 1e-4 else 1 / 0)
    assert est.ok and abs(est.value + 0.5 / 1e-2) <= est.error, est


def test_complex_step_falls_back_when_the_forward_rejects_complex_input():
    def f(xs):
        if np.iscomplexobj(xs[0]):
            raise TypeError("real input only")
        return np.sin(xs[0])

    est = directional(f, [np.array([0.3, 1.2])], [np.array([1.0, 2.0])], complex_step=True)
    exact = math.cos(0.3) + 2 * math.cos(1.2)
    assert "complex step failed" in est.method and abs(est.value - exact) <= est.error <= 1e-8


def test_complex_step_catches_a_forward_that_drops_imaginary_parts():
    est = directional(lambda xs: np.sin(np.real(xs[0])), [np.array([0.3, 1.2])],
                      [np.array([1.0, 2.0])], complex_step=True)
    exact = math.cos(0.3) + 2 * math.cos(1.2)
    # the central check has only the budget left after the complex steps (6 evaluations)
    assert "disagrees" in est.method and abs(est.value - exact) <= est.error <= 1e-5, est


def test_zero_direction_and_argument_errors():
    assert directional(np.sin, [np.array(1.0)], [np.array(0.0)]) == Estimate(0.0, 0.0, 0, "zero direction", 0.0)
    with pytest.raises(ValueError, match="max_evaluations"):
        directional(np.sin, [np.array(1.0)], [np.array(1.0)], max_evaluations=0)
    with pytest.raises(ValueError, match="max_step"):
        directional(np.sin, [np.array(1.0)], [np.array(1.0)], max_step=0.0)
    with pytest.raises(ValueError, match="same shape"):
        directional(np.sin, [np.array([1.0, 2.0])], [np.array(1.0)])
    with pytest.raises(TypeError, match="list of arrays"):
        directional(np.sin, np.array(1.0), np.array(1.0))
    with pytest.raises(ValueError, match="scale"):
        derivative(math.sin, scale=-1.0)


def test_results_are_deterministic():
    c = numeric_benchmark_cases()[42]
    runs = [directional(c.f, list(c.xs), list(c.us), c.v) for _ in range(2)]
    assert runs[0] == runs[1]
