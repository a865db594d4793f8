"""Accuracy profiles: ULP errors, their classification, planted inaccuracies, float32, the CLI."""

import json
import math

import numpy as np
import pytest

import autograd as F
from properties import accuracy
from properties.backends import resolve
from properties.backends.builtin import Builtin
from properties.cli import main

FEW_POINTS = 60  # per sweep: enough to reach every tail, quick enough for every commit


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
    from autograd import functions

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
    from autograd import functions

    planted(functions.Sigmoid, "backward", "return gy * _sigmoid_grad(x)", "return 3 * gy * _sigmoid_grad(x)")
    run = accuracy.profile(resolve("builtin"), ["sigmoid"], points=FEW_POINTS, order=1)
    findings = _series(run, "sigmoid", "d/dx").summary()["findings"]
    assert findings and all(f["class"] == "factor" for f in findings)
    assert any(f["kind"] == "wrong rule" and f["lo"] < 0 < f["hi"] for f in findings), findings


def test_an_overflowing_formula_is_inf_or_nan_where_the_exact_value_is_finite(planted):
    from autograd import functions

    planted(functions.SigmoidGrad, "forward", "e = np.exp(_minus_abs(x))", "e = np.exp(-x)")
    run = accuracy.profile(resolve("builtin"), ["sigmoid"], points=FEW_POINTS, order=1)
    findings = _series(run, "sigmoid", "d/dx").summary()["findings"]
    nonfinite = [f for f in findings if f["class"] == "nonfinite"]
    assert nonfinite and nonfinite[0]["lo"] == -750.0 and nonfinite[0]["kind"] == "accuracy", findings


def test_a_second_derivative_that_cancels_near_0_is_found(planted):
    from autograd import functions

    planted(functions.SigmoidGrad, "backward", "return gy * -y * tanh(x / 2)",
            "return gy * y * (sigmoid(-x) - sigmoid(x))")
    run = accuracy.profile(resolve("builtin"), ["sigmoid"], points=FEW_POINTS)
    findings = _series(run, "sigmoid", "d2/dx2").summary()["findings"]
    assert any(f["class"] == "zero" and f["lo"] < 0 < f["hi"] and f["kind"] == "accuracy" for f in findings)


# --- the core's own accuracy -----------------------------------------------------------------------


def test_the_core_is_within_a_few_ulps_on_every_op_wherever_the_exact_derivative_is_normal():
    run = accuracy.profile(resolve("builtin"), points=FEW_POINTS)
    data = accuracy.to_json([run])["runs"][0]
    worst = accuracy.worst_by_op(data)
    assert set(worst) == set(accuracy.profiled_ops())
    assert {op: v for op, (v, _) in worst.items() if v > accuracy.FEW_ULPS} == {}
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


# --- the command ---------------------------------------------------------------------------------


def test_the_command_prints_the_table_and_writes_json(capsys, tmp_path):
    out_file = tmp_path / "acc.json"
    assert main(["accuracy", "--op", "sigmoid", "--op", "exp", "--points", "20", "--json", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "trigrad accuracy: builtin" in out and "ulps of float64" in out
    assert [line.split()[:2] for line in out.splitlines() if line.startswith(("sigmoid ", "exp "))] == [
        ["sigmoid", "d/dx"], ["sigmoid", "d2/dx2"], ["exp", "d/dx"], ["exp", "d2/dx2"]]  # in the order asked
    data = json.loads(out_file.read_text())
    assert data["trigrad"] == "accuracy" and data["runs"][0]["dtype"] == "float64"
    series = data["runs"][0]["profiles"][0]["series"][0]
    assert len(series["x"]) == len(series["ulps"]) == len(series["exact"]) == series["summary"]["points"]


def test_a_range_narrows_the_sweep(capsys, tmp_path):
    out_file = tmp_path / "acc.json"
    assert main(["accuracy", "--op", "tanh", "--range", "10:30", "--points", "12", "--json", str(out_file)]) == 0
    x = json.loads(out_file.read_text())["runs"][0]["profiles"][0]["series"][0]["x"]
    assert min(x) == 10.0 and max(x) == 30.0


@pytest.mark.parametrize("args,message", [
    (["--backend", "tourch"], "unknown backend 'tourch'"),
    (["--op", "sine"], "cannot profile 'sine'"),
    (["--op", "reshape"], "cannot profile 'reshape'"),
    (["--range", "5:1"], "--range needs finite LO < HI"),
    (["--range", "abc"], "--range must be LO:HI"),
    (["--points", "2"], "--points must be at least 4"),
])
def test_bad_usage_is_one_line_and_exits_2(capsys, args, message):
    assert main(["accuracy", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_plots_without_matplotlib_are_bad_usage(capsys, monkeypatch):
    from properties import html_report

    def missing():
        raise ImportError("plots need matplotlib: pip install 'trigrad[plot]'")

    monkeypatch.setattr(html_report, "need_matplotlib", missing)
    assert main(["accuracy", "--op", "exp", "--plot", "somewhere"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'trigrad[plot]'" in err and len(err.strip().splitlines()) == 1
