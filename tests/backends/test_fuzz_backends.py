"""trigrad fuzz on the other backends: a DeZero Function subclass and book-1 layer on DeZero, and
special functions of PyTorch and JAX as plain callables differentiated by their own autodiff
(docs/findings/special-functions.md). A library that is not installed is skipped with the reason."""

import numpy as np
import pytest

from trigrad.properties import fuzzing
from trigrad.properties.backends import BackendError, resolve


def backend_or_skip(name):
    try:
        return resolve(name)
    except BackendError as e:
        pytest.skip(str(e))


def campaign(obj, backend, max_examples, **twin):
    target = fuzzing.make_target(obj, backend, **twin)
    return fuzzing.run(target, backend, max_examples=max_examples, database=None, derandomize=True)


def test_a_dezero_function_and_layer_are_fuzzed_on_dezero():
    backend = backend_or_skip("dezero")
    dezero = backend.dezero

    # sinh' = cosh and cosh' = sinh as Functions: differentiated again, (e^x - e^-x) / 2 would lose
    # digits near 0 (a finding: "lost accuracy")
    class Sinh(dezero.Function):
        def forward(self, x):
            return np.sinh(x)

        def backward(self, gy):
            x, = self.inputs
            return gy * Cosh()(x)

    class Cosh(dezero.Function):
        def forward(self, x):
            return np.cosh(x)

        def backward(self, gy):
            x, = self.inputs
            return gy * Sinh()(x)

    outcome = campaign(Sinh, backend, 200, sympy="sinh(x)")
    assert outcome.report is None, outcome.text
    assert {"hvp", "purity"} <= set(outcome.by_property)  # DeZero has second order

    class SinhWrongSign(Sinh):
        def backward(self, gy):
            return -super().backward(gy)

    found = campaign(SinhWrongSign, backend, 200, sympy="sinh(x)").json
    assert found is not None and found["formula"].startswith("SinhWrongSign(") and found["verdict"] == "fail"

    class Square:  # a book-1 layer, run inside DeZero's graph
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, dout):
            return 2 * self.x * dout

    outcome = campaign(Square, backend, 200, sympy="x ** 2")
    assert outcome.report is None, outcome.text
    assert "hvp" not in outcome.by_property  # a layer's backward works on arrays: first order only


@pytest.mark.parametrize("name, twin", [
    ("erf", dict(sympy="erf(x)")),
    ("logaddexp", dict(sympy="log(exp(x) + exp(y))")),
])
def test_torch_special_functions_pass(name, twin):
    backend = backend_or_skip("torch")
    import torch

    fn = getattr(torch.special, name, None) or getattr(torch, name)
    outcome = campaign(fn, backend, 200, **twin)
    assert outcome.report is None, outcome.text
    assert outcome.by_property.get("hvp") and outcome.by_property.get("jvp")


def test_the_jax_i0_finding_is_still_there():
    """jax.scipy.special.i0'(0) is 1, not 0 (docs/findings/special-functions.md; jax-ml/jax#40628).
    When JAX fixes it, this fails: update the finding."""
    backend = backend_or_skip("jax")
    from jax.scipy.special import i0

    found = campaign(i0, backend, 1000, sympy="besseli(0, x)").json
    assert found is not None and found["property"] in ("vjp", "vjp_numeric", "fanout", "hvp", "jvp", "adjoint")
    assert len(found["composition"]["nodes"]) <= 3
