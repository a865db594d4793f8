"""trigrad runs a library's reproducer in a fresh interpreter (properties.findings.verify): PyTorch's
known second derivative of x ** y at y == 0 (pytorch/pytorch#89757) is printed by its snippet, the
tensors read back at full precision. Costs one interpreter that imports torch (a few seconds)."""

import numpy as np
import pytest

from trigrad.oracle.ir import Composition, Input, Node
from trigrad.properties import findings, suite
from trigrad.properties.backends import BackendError, resolve
from trigrad.properties.example import Example
from trigrad.properties.report import Failure


def test_torch_reproducer_prints_the_wrong_second_derivative():
    try:
        backend = resolve("torch")
    except BackendError as e:
        pytest.skip(str(e))
    comp = Composition([Input("x0", ()), Input("x1", ())], [Node("pow", ("x0", "x1"))])
    example = Example(comp, {"x0": np.array(1.5), "x1": np.array(0.0)})
    ones = {"x0": np.array(1.0), "x1": np.array(1.0)}
    with pytest.raises(Failure) as failed:
        suite.PROPERTIES["hvp"].check(backend, example, cotangent=np.array(1.0), tangents=ones)
    j = failed.value.report.judgement
    run = findings.verify(failed.value.report)
    assert run.status == "reproduced", run
    assert run.detail == f"it prints second order wrt x1 = {j.autograd!r} (exact {j.exact!r})"
