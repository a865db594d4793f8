"""trigrad fuzz on the built-in core: linear and constant derivatives, several outputs, array twins,
the target's own params, MODULE:NAME from the current folder, and how far off a finding is (ULPs,
wrong rule or lost accuracy). Planted bugs prove each is checked, not just accepted."""

import os
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import trigrad.autograd as F
from trigrad.autograd import Function
from trigrad.properties import fuzzing
from trigrad.properties.backends import resolve
from trigrad.properties.errors import UsageError

ROOT = pathlib.Path(__file__).parents[2]
EXAMPLES = 30  # per campaign here: every property a few times


def campaign(obj, max_examples=EXAMPLES, **twin):
    builtin = resolve("builtin")
    target = fuzzing.make_target(obj, builtin, **twin)
    fuzzing.valid_or_fail(target)
    return fuzzing.run(target, builtin, max_examples=max_examples, database=None, derandomize=True)


def _sum_to(g, shape):
    return F.sum_to(g, shape) if g.shape != shape else g


class Scale(Function):
    def forward(self, x):
        return 2 * x

    def backward(self, gy):
        return 2 * gy


class Add(Function):
    def forward(self, x, y):
        return x + y

    def backward(self, gy):
        x, y = self.inputs
        return _sum_to(gy, x.shape), _sum_to(gy, y.shape)


class SinhPlus(Function):
    def forward(self, x, y):
        return np.sinh(x) + y

    def backward(self, gy):
        x, y = self.inputs
        return _sum_to(gy * F.cosh(x) if hasattr(F, "cosh") else gy * (F.exp(x) + F.exp(-x)) / 2, x.shape), \
            _sum_to(gy, y.shape)


class Identity(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


class Half(Function):
    def forward(self, x):
        return x / 2

    def backward(self, gy):
        return gy / 2


@pytest.mark.parametrize("obj, twin", [(Scale, "2*x"), (Add, "x + y"), (Identity, "x"), (Half, "x/2"),
                                       (SinhPlus, "sinh(x) + y")])
def test_linear_and_constant_derivatives_work(obj, twin):
    outcome = campaign(obj, sympy=twin)
    assert outcome.report is None, outcome.text


def test_a_wrong_linear_function_is_found():
    outcome = campaign(Scale, sympy="x/2")
    assert outcome.json is not None and outcome.json["verdict"] != "pass"


def test_the_python_api_takes_a_linear_twin():
    assert callable(fuzzing.fuzz(Scale, sympy="2*x"))


class SinCos(Function):
    def forward(self, x):
        return np.sin(x), np.cos(x)

    def backward(self, g_sin, g_cos):
        x, = self.inputs
        return g_sin * F.cos(x) - g_cos * F.sin(x)


class SinCosSecondWrong(SinCos):
    def backward(self, g_sin, g_cos):
        x, = self.inputs
        return g_sin * F.cos(x) + g_cos * F.sin(x)


@pytest.mark.parametrize("twin", ["sin(x), cos(x)", ["sin(x)", "cos(x)"]])
def test_several_outputs_get_one_twin_each_and_their_weighted_sum(twin):
    target = fuzzing.make_target(SinCos, resolve("builtin"), sympy=twin)
    assert list(target.calls) == ["SinCos", "SinCos_0", "SinCos_1"]
    outcome = campaign(SinCos, sympy=twin)
    assert outcome.report is None, outcome.text


def test_a_wrong_second_output_is_found():
    outcome = campaign(SinCosSecondWrong, max_examples=300, sympy="sin(x), cos(x)")
    assert outcome.json is not None
    assert {n["op"] for n in outcome.json["composition"]["nodes"]} & {"SinCosSecondWrong", "SinCosSecondWrong_1"}


class Softmax(Function):
    """No constructor parameters: --like softmax leaves the axis at its default (-1)."""

    def forward(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def backward(self, gy):
        y = self.outputs[0]()
        gx = y * gy
        return gx - y * F.sum(gx, axis=-1, keepdims=True)


class Centre(Function):
    """x - mean(x) over the last axis, with its constructor's own parameter."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def forward(self, x):
        return self.scale * (x - x.mean(axis=-1, keepdims=True))

    def backward(self, gy):
        return self.scale * (gy - F.sum(gy, axis=-1, keepdims=True) / gy.shape[-1])


class CentreForgetsMean(Centre):
    def backward(self, gy):
        return self.scale * gy


def test_like_passes_only_the_params_the_function_takes():
    outcome = campaign(Softmax, like="softmax")
    assert outcome.report is None, outcome.text


def test_an_array_twin_with_the_functions_own_param():
    outcome = campaign(Centre, twin="2 * (x - mean(x, axis=-1, keepdims=True))", params={"scale": 2.0})
    assert outcome.report is None, outcome.text
    found = campaign(CentreForgetsMean, twin="2 * (x - mean(x, axis=-1, keepdims=True))", params={"scale": 2.0})
    assert found.json is not None and len(found.json["composition"]["nodes"]) <= 3


@pytest.mark.parametrize("text, says", [
    ("__import__('os')", "not an op of the spec table"),
    ("__import__('os').system('true')", "may only use"),
    ("x.real", "may only use"),
    ("mean(x, axis=lambda: 0)", "literal"),
    ("mean(x, bogus=1)", "takes params"),
    ("softmax(x, y)", "takes 1 argument"),
    ("2 + 3", "does not use any of the variables"),
])
def test_array_twins_that_are_not_spec_ops_are_refused(text, says):
    with pytest.raises(UsageError, match=re.escape(says)):
        fuzzing.parse_array_twin(text)


def test_a_fixed_shape_is_used_and_checked():
    builtin = resolve("builtin")
    target = fuzzing.make_target(Centre, builtin, twin="x - mean(x, axis=-1, keepdims=True)", shape=["x=2,3"])
    assert target.shapes == {0: (2, 3)}
    with pytest.raises(ValueError):
        target.op.out_shape([(3,)], {})
    with pytest.raises(UsageError, match="fixes the shapes of an array twin"):
        fuzzing.make_target(Scale, builtin, sympy="2*x", shape=["x=2"])


def test_findings_say_how_far_off_and_whether_the_rule_is_wrong():
    class ScaleOff(Scale):
        def backward(self, gy):
            return 2 * gy * (1 + 1e-7)

    outcome = campaign(ScaleOff, sympy="2*x", max_examples=200)
    d = outcome.diagnosis
    assert d is not None and d.kind == "wrong rule" and 1e8 < d.ulps < 1e10
    assert "ulps of float64" in outcome.text and "(--ulps)" in outcome.text and "wrong rule" in outcome.text


class XMinusSin(Function):
    """x - sin(x), its derivative computed as 1 - cos(x): right, but it cancels for small x."""

    def forward(self, x):
        return x - np.sin(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * (1 - F.cos(x))


def test_lost_accuracy_is_told_apart_from_a_wrong_rule():
    """(x - sin(x))' computed as 1 - cos(x) loses digits near 0 only (cos(x) rounds to a multiple of
    2**-53 and the difference is about x**2 / 2): the gradient fails at x = 0.1 (tens of ulps) and
    holds at ordinary points."""
    from trigrad.oracle import spec
    from trigrad.oracle.ir import Composition, Input, Node
    from trigrad.properties import suite
    from trigrad.properties.example import Example
    from trigrad.properties.fuzzing.diagnosis import diagnose
    from trigrad.properties.report import Failure

    builtin = resolve("builtin")
    target = fuzzing.make_target(XMinusSin, builtin, sympy="x - sin(x)")
    backend = fuzzing.FuzzBackend(builtin, target)
    with spec.registered(target.op):
        example = Example(Composition([Input("x0", ())], [Node("XMinusSin", ("x0",))]), {"x0": np.array(0.1)})
        with pytest.raises(Failure) as failed:
            suite._check(backend, "vjp", example, {"cotangent": np.array(1.0)})
        d = diagnose(failed.value.report, target.op, np.float64)
    # the ordinary arguments diagnose() tries may include one small enough to cancel too
    assert d.kind == "lost accuracy" and d.tried >= 10 and d.failing <= 2
    assert 10 < d.ulps < 1000


def test_module_name_is_found_in_the_current_folder(tmp_path):
    (tmp_path / "userfns.py").write_text(textwrap.dedent("""
        import numpy as np
        from trigrad.autograd import Function

        class Twice(Function):
            def forward(self, x):
                return 2 * x

            def backward(self, gy):
                return 2 * gy
    """))
    done = subprocess.run([sys.executable, "-m", "trigrad.properties", "fuzz", "userfns:Twice", "--sympy", "2*x",
                           "--max-examples", "20", "--quiet", "--database", "none", "--seed", "1"],
                          cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no finding" in done.stdout


def test_params_on_the_command_line_are_literals():
    from trigrad.properties.cli.fuzz import parse_params

    assert parse_params(["dim=-1", "eps=1e-5", "name=mean"]) == (("dim", -1), ("eps", 1e-5), ("name", "mean"))
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_params(["-1"])


@pytest.mark.parametrize("example", ["test_torch_exp.py", "test_jax_layer_norm.py"])
def test_the_readme_shows_the_examples_as_they_are(example):
    code = (ROOT / "docs" / "examples" / example).read_text()
    assert code.strip() in (ROOT / "README.md").read_text()
