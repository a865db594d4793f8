"""A verdict shows the numeric estimate's own error bar, and says "numeric inconclusive" when that bar
cannot separate autograd from exact (a verdict said "numeric agrees with exact (autograd wrong)"
while the numeric estimate was 125 times further from exact than autograd's value)."""

import re
from dataclasses import dataclass

import numpy as np

from trigrad.oracle.compare import NUMERIC_FACTOR, Verdict, judge
from trigrad.oracle.ir import Composition, Input, Node
from trigrad.oracle.symbolic import Oracle


@dataclass
class Estimate:
    value: float
    error: float


def test_the_verdict_shows_the_numeric_error_bar_and_says_when_numeric_is_inconclusive():
    comp = Composition([Input("x0")], [Node("mul", ("x0", "x0")), Node("sin", ("n0",))])
    exact = Oracle(comp, {"x0": np.array(0.7)}).vjp(1.0)["x0"]
    e = float(exact.value)
    off = 1e-9  # autograd's error: far above the allowed error, a failure whatever numeric says

    sharp = judge(e + off, exact, numeric=Estimate(e, 1e-13))  # numeric sees the difference
    assert sharp.verdict is Verdict.FAIL
    bar = float(re.search(r"numeric agrees with exact \(autograd wrong\), within its error bar ± (\S+)",
                          sharp.reason).group(1))
    assert bar < off

    # the probe's case: numeric 125 times further from exact than autograd, inside its own wide bar
    wide = Estimate(e + 125 * off, 130 * off / NUMERIC_FACTOR)
    vague = judge(e + off, exact, numeric=wide)
    assert vague.verdict is Verdict.FAIL  # exact decides
    assert "numeric agrees" not in vague.reason
    assert f"numeric inconclusive: its estimate {wide.value!r} ± " in vague.reason
    assert "holds both exact and autograd" in vague.reason
