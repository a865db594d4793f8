"""Accuracy profiles: ULP errors, their classification, planted inaccuracies, float32, the CLI."""

import json
import math
import sys

import mpmath
import numpy as np
import pytest

import trigrad.autograd as F
from trigrad.properties import accuracy
from trigrad.properties.backends import resolve
from trigrad.properties.backends.builtin import Builtin
from trigrad.properties.cli import main

FEW_POINTS = 60  # per sweep: enough to reach every tail, quick enough for every commit
# softmax's second derivative s (1 - s)(1 - 2 s) has a root at s = 1/2 (x = log(1 + e) in the sweep
# [x, 0, 1]): near it the rounding of e**x is magnified by x / (x - root), for every library alike
# (torch 19, jax 12 ulps at x = 1.4; see docs/findings/accuracy.md)
SOFTMAX_SECOND_ULPS = 16


class Builtin32(Builtin):
    """The built-in core computing in float32."""

    name = "builtin32"
    dtype = np.dtype(np.float32)

    def asarray(self, x):
        return F.Variable(np.array(x, dtype=np.float32))


def _series(run, label, name):
    profile = next(p for p in run.profiles if p.sweep.label == label)
    return next(s for s in profile.series if s.name == name)


# --- ULPs and classes ----------------------------------------------------------------------------


def test_ulps_count_floats_between_computed_and_the_correctly_rounded_exact_value():
    e = np.array([1.0, 1e-300, 3.0, -2.5])
    assert accuracy.ulp_error(e, e).tolist() == [0, 0, 0, 0]
    assert accuracy.ulp_error(np.nextafter(e, np.inf), e).tolist() == [1, 1, 1, 1]
    up3 = np.nextafter(np.nextafter(np.nextafter(1.0, 2), 2), 2)
    assert accuracy.ulp_error([up3], [1.0]).tolist() == [3]


def test_float32_is_measured_in_float32_ulps():
    exact = np.array([1 / 3, 4.2e-18, 1e-40])  # the last one is a float32 subnormal
    f32 = exact.astype(np.float32)
    assert accuracy.ulp_error(f32.astype(float), exact, np.float32).tolist() == [0, 0, 0]
    off = np.nextafter(f32, np.float32(np.inf)).astype(float)
    assert accuracy.ulp_error(off, exact, np.float32).tolist() == [1, 1, 1]
    # the float64 result is 2**29 float64 ulps away for the same error
    assert accuracy.ulp_error(off[:1], exact[:1])[0] > 2**28


def test_zero_subnormal_overflow_and_nan_are_counted_as_documented():
    tiny = 5e-324
    # exact 0 met by 0: no error; missed: counted in subnormal spacing
    assert accuracy.ulp_error([0.0, 3 * tiny], [0.0, 0.0]).tolist() == [0, 3]
    # a subnormal exact value flushed to 0 is as many ulps off as it has subnormal steps
    assert accuracy.ulp_error([0.0], [1000 * tiny]).tolist() == [1000]
    # NaN or inf computed: infinitely far; exact beyond the format: not measured
    err = accuracy.ulp_error([np.nan, np.inf, 1.0], [1.0, 1.0, 1e300], np.float32)
    assert err[0] == err[1] == math.inf and math.isnan(err[2])


def test_classes():
    exact = np.array([4.2e-18, 1.0, 1.0, 1.0, 2.0, 0.0, 1.0])
    computed = np.array([0.0, np.nan, np.inf, -1.0, 4.5, 1e-300, 1.9])
    assert accuracy.classify(computed, exact).tolist() == ["zero", "nonfinite", "nonfinite", "factor", "factor",
                                                            "factor", ""]


def test_samples_cover_both_tails_and_the_neighbourhood_of_zero():
    x = accuracy.sample(-750.0, 750.0, 40, edges=[40.0])
    assert x[0] == -750.0 and x[-1] == 750.0 and 40.0 in x
    assert np.min(np.abs(x)) <= 1e-299 and np.all(np.diff(x) > 0)
    x32 = accuracy.sample(-750.0, 750.0, 40, np.float32)
    assert np.all(x32.astype(np.float32).astype(float) == x32) and np.min(np.abs(x32)) >= 1e-45
    with pytest.raises(ValueError, match="LO < HI"):
        accuracy.sample(1.0, -1.0, 10)


# --- planted inaccuracies in the core are found and classified -------------------------------------


def test_the_textbook_sigmoid_derivative_is_0_where_the_exact_one_is_not(planted):
    from trigrad.autograd import functions

    planted(functions.Sigmoid, "backward", "return gy * _sigmoid_grad(x)",
            "return gy * self.outputs[0]() * (1 - self.outputs[0]())")
    run = accuracy.profile(resolve("builtin"), ["sigmoid"], points=FEW_POINTS, order=1)
    s = _series(run, "sigmoid", "d/dx")
    summary = s.summary()
    zero = [f for f in summary["findings"] if f["class"] == "zero"]
    assert zero and all(f["kind"] == "accuracy" for f in zero)
    assert any(f["lo"] <= 40.0 <= f["hi"] for f in zero), zero  # sigmoid'(40) = 0, exact 4.2e-18
    assert 40.0 in s.x and s.computed[s.x == 40.0][0] == 0.0
    assert s.exact[s.x == 40.0][0] == pytest.approx(4.248354255291589e-18, rel=1e-15)
    assert summary["max_normal_ulps"] > 1e15


def test_a_wrong_factor_is_a_wrong_rule(planted):
    from trigrad.autograd import functions

    planted(functions.Sigmoid, "backward", "return gy * _sigmoid_grad(x)", "return 3 * gy * _sigmoid_grad(x)")
    run = accuracy.profile(resolve("builtin"), ["sigmoid"], points=FEW_POINTS, order=1)
    findings = _series(run, "sigmoid", "d/dx").summary()["findings"]
    assert findings and all(f["class"] == "factor" for f in findings)
    assert any(f["kind"] == "wrong rule" and f["lo"] < 0 < f["hi"] for f in findings), findings


def test_an_overflowing_formula_is_inf_or_nan_where_the_exact_value_is_finite(planted):
    from trigrad.autograd import functions

    planted(functions.SigmoidGrad, "forward", "e = np.exp(_minus_abs(x))", "e = np.exp(-x)")
    run = accuracy.profile(resolve("builtin"), ["sigmoid"], points=FEW_POINTS, order=1)
    findings = _series(run, "sigmoid", "d/dx").summary()["findings"]
    nonfinite = [f for f in findings if f["class"] == "nonfinite"]
    assert nonfinite and nonfinite[0]["lo"] == -750.0 and nonfinite[0]["kind"] == "accuracy", findings


def test_a_second_derivative_that_cancels_near_0_is_found(planted):
    from trigrad.autograd import functions

    planted(functions.SigmoidGrad, "backward", "return gy * -y * tanh(x / 2)",
            "return gy * y * (sigmoid(-x) - sigmoid(x))")
    run = accuracy.profile(resolve("builtin"), ["sigmoid"], points=FEW_POINTS)
    findings = _series(run, "sigmoid", "d2/dx2").summary()["findings"]
    assert any(f["class"] == "zero" and f["lo"] < 0 < f["hi"] and f["kind"] == "accuracy" for f in findings)


# --- the core's own accuracy -----------------------------------------------------------------------


def test_the_core_is_within_a_few_ulps_on_every_op_wherever_the_exact_derivative_is_normal():
    run = accuracy.profile(resolve("builtin"), points=FEW_POINTS)
    data = accuracy.to_json([run])["runs"][0]
    assert {r["op"] for r in accuracy.rows(data)} == set(accuracy.profiled_ops())
    near_root = [r for r in accuracy.rows(data) if r["op"] == "softmax" and r["name"] == "d2/dx2"]
    assert all(r["max_normal_ulps"] <= SOFTMAX_SECOND_ULPS and abs(r["max_at"] - math.log1p(math.e)) < 0.5
               for r in near_root), near_root
    assert {(r["label"], r["name"]): r["max_normal_ulps"] for r in accuracy.rows(data)
            if r not in near_root and (r["max_normal_ulps"] or 0) > accuracy.FEW_ULPS} == {}
    assert not [(r["label"], r["name"], f) for r in accuracy.rows(data) for f in r["findings"]
                if np.abs(f["example"]["exact"]) >= np.finfo(float).smallest_normal]


def test_a_float32_backend_is_judged_in_float32_ulps():
    run = accuracy.profile(Builtin32(), ["exp", "sigmoid"], points=FEW_POINTS)
    assert run.dtype == "float32"
    rows = accuracy.rows(accuracy.to_json([run])["runs"][0])
    # float32 results within a few float32 ulps (in float64 ulps they would be ~2**29 off)
    assert all(r["max_normal_ulps"] <= accuracy.FEW_ULPS for r in rows), rows
    s = _series(run, "exp", "d/dx")
    assert np.all(s.x.astype(np.float32) == s.x) and s.summary()["excluded"]["overflow"] > 0  # e**89 > float32 max


def test_two_argument_ops_are_swept_in_each_argument():
    labels = [s.label for s in accuracy.sweeps("pow")]
    assert labels == ["pow(x, 2.25)", "pow(3, y)"]
    run = accuracy.profile(resolve("builtin"), ["div"], points=20)
    assert [(p.sweep.label, [s.name for s in p.series]) for p in run.profiles] == [
        ("div(x, 2.25)", ["d/dx", "d/dy", "d2/dx2"]), ("div(2.25, y)", ["d/dx", "d/dy", "d2/dy2"])]


def test_constant_only_arguments_and_missing_ops_are_reported_not_measured():
    run = accuracy.profile(resolve("dezero"), ["pow", "sqrt"], points=20) if _has("dezero") else None
    if run is None:
        pytest.skip("dezero is not installed (pip install 'trigrad[dezero]')")
    rows = {(r["label"], r["name"]): r for r in accuracy.rows(accuracy.to_json([run])["runs"][0])}
    assert "constant" in rows[("pow(3, y)", "d/dy")]["error"]
    assert rows[("pow(x, 2.25)", "d/dx")]["points"] > 0
    assert rows[("sqrt", "d/dx")]["error"].startswith("unsupported")


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --- array ops ---------------------------------------------------------------------------------------


def test_array_ops_are_swept_in_one_entry_of_a_small_argument():
    assert {"softmax", "log_softmax", "logsumexp", "sum", "mean", "max", "min", "mean_squared_error",
            "softmax_cross_entropy", "matmul"} <= set(accuracy.profiled_ops())
    assert [s.label for s in accuracy.sweeps("softmax")] == ["softmax([x, 0, 1])[0]", "softmax([x, 0, 1])[1]"]
    assert [s.label for s in accuracy.sweeps("matmul")] == ["matmul([[x, 1]], [[2], [3]])",
                                                            "matmul([[2, 1]], [[y], [3]])"]
    assert accuracy.sweeps("softmax_cross_entropy")[0].label == "softmax_cross_entropy([[x, 0]], labels=[0])"
    assert [(s.lo, s.hi) for s in accuracy.sweeps("logsumexp", -5.0, 5.0)] == [(-5.0, 5.0)]


@pytest.mark.parametrize("op,row,x,exact", [
    # each in mpmath at 400 digits from its closed form: the tails cancel 300 digits in the twin's
    ("logsumexp", [None, 0], 700.0, lambda x: (mpmath.exp(x) / (1 + mpmath.exp(x)) ** 2, 2)),
    ("log_softmax", [None, 0], 700.0, lambda x: (1 / (1 + mpmath.exp(x)), 1)),
    ("softmax", [None, 0, 1], 700.0, lambda x: (_s0(x) * (1 - _s0(x)), 1)),
    ("softmax", [None, 0, 1], -700.0, lambda x: (_s0(x) * (1 - _s0(x)), 1)),
])
def test_the_exact_tails_are_right_to_the_last_bit(op, row, x, exact):
    from trigrad.oracle.ir import Composition, Input, Node
    from trigrad.oracle.symbolic import along

    n = len(row)
    comp = Composition([Input("x0", (n,))], [Node(op, ("x0",))])
    ct = np.eye(n)[0] if op != "logsumexp" else 1.0
    got = along(comp, {"x0": np.array([0.0 if v is None else v for v in row])}, ("x0", (0,)), np.array([x]), ct)
    with mpmath.workdps(400):
        value, order = exact(mpmath.mpf(x))
        assert float(value) != 0.0
        assert (got.first[0] if order == 1 else got.second[(0, 0)])[0] == float(value)
        assert not got.unsure[0]
        # the dominant logit: 1 - softmax cancels about 304 digits, which 50 and 100 do not have
        assert got.digits[0] >= 400 if x > 0 else got.digits[0] == 100


def _s0(x):
    return mpmath.exp(x) / (mpmath.exp(x) + 1 + mpmath.e)


def test_the_textbook_softmax_derivative_is_0_in_the_tail(planted):
    from trigrad.autograd import functions

    planted(functions.Softmax, "backward",
            "gy = gy - sum(gy * _top_mask(y.data, self.axis), axis=self.axis, keepdims=True)", "gy = gy")
    run = accuracy.profile(resolve("builtin"), ["softmax"], points=FEW_POINTS, order=1)
    s = _series(run, "softmax([x, 0, 1])[0]", "d/dx")
    zero = [f for f in s.summary()["findings"] if f["class"] == "zero"]
    assert zero and all(f["kind"] == "accuracy" and f["lo"] > 30 for f in zero), zero
    # y (1 - y) with y rounded to 1; exact (1 + e) e**-x, a normal number
    assert any(f["example"]["exact"] > 1e-300 for f in zero)
    assert _series(run, "softmax([x, 0, 1])[1]", "d/dx").summary()["findings"] == []


def test_a_wrong_log_softmax_rule_is_a_wrong_rule(planted):
    from trigrad.autograd import functions

    planted(functions.LogSoftmax, "backward", "return rest * (gy - g * s) + top * at_top",
            "return rest * (gy - g * s) + 2 * top * at_top")
    run = accuracy.profile(resolve("builtin"), ["log_softmax"], points=FEW_POINTS, order=1)
    findings = _series(run, "log_softmax([x, 0])[0]", "d/dx").summary()["findings"]
    assert any(f["class"] == "factor" and f["kind"] == "wrong rule" and f["lo"] > 0 for f in findings), findings


def test_a_tie_of_max_is_a_kink_not_measured():
    run = accuracy.profile(resolve("builtin"), ["max"], points=20)
    s = _series(run, "max([x, 0.5])", "d/dx")
    assert s.summary()["excluded"] == {"kink": 1} and np.isnan(s.exact[s.x == 0.5]).all()
    assert s.summary()["max_ulps"] == 0


# --- the command ---------------------------------------------------------------------------------


def test_the_command_prints_the_table_and_writes_json(capsys, tmp_path):
    out_file = tmp_path / "acc.json"
    assert main(["accuracy", "--op", "sigmoid", "--op", "exp", "--points", "20", "--json", str(out_file), "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert "trigrad accuracy: builtin" in out and "ulps of float64" in out
    assert [line.split()[:2] for line in out.splitlines() if line.startswith(("sigmoid ", "exp "))] == [
        ["sigmoid", "d/dx"], ["sigmoid", "d2/dx2"], ["exp", "d/dx"], ["exp", "d2/dx2"]]  # in the order asked
    data = json.loads(out_file.read_text())
    assert data["trigrad"] == "accuracy" and data["runs"][0]["dtype"] == "float64"
    series = data["runs"][0]["profiles"][0]["series"][0]
    assert len(series["x"]) == len(series["ulps"]) == len(series["exact"]) == series["summary"]["points"]


def test_profiles_do_not_depend_on_the_number_of_jobs(tmp_path):
    out = []
    for jobs in ("1", "2"):
        out_file = tmp_path / f"acc-{jobs}.json"
        assert main(["accuracy", "--op", "exp", "--op", "sin", "--points", "12", "--json", str(out_file), "-j", jobs]) == 0
        out.append(out_file.read_text())
    assert out[0] == out[1]


def test_a_range_narrows_the_sweep(capsys, tmp_path):
    out_file = tmp_path / "acc.json"
    assert main(["accuracy", "--op", "tanh", "--range", "10:30", "--points", "12", "--json", str(out_file), "-j", "1"]) == 0
    x = json.loads(out_file.read_text())["runs"][0]["profiles"][0]["series"][0]["x"]
    assert min(x) == 10.0 and max(x) == 30.0


@pytest.mark.parametrize("args,message", [
    (["--backend", "tourch"], "unknown backend 'tourch'"),
    (["--op", "sine"], "cannot profile 'sine'"),
    (["--op", "reshape"], "cannot profile 'reshape'"),
    (["--range", "5:1"], "--range needs finite LO < HI"),
    (["--range", "abc"], "--range must be LO:HI"),
    (["--points", "2"], "--points must be at least 4"),
    (["--jobs", "0"], "--jobs must be positive"),
])
def test_bad_usage_is_one_line_and_exits_2(capsys, args, message):
    assert main(["accuracy", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_plots_without_matplotlib_are_bad_usage(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    assert main(["accuracy", "--op", "exp", "--plot", "somewhere"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'trigrad[plot]'" in err and len(err.strip().splitlines()) == 1
