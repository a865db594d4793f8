"""A replayed or shrunk example is judged at the backend's precision, as a drawn one is: an input
value that float32 cannot hold (a subgraph's float64 value that shrinking put in its place) is
rounded before the oracle sees it. Without that, a correct float32 library failed ``tril`` of its own
input (MLX in float32: value 0.27632638812065125, "exact" 0.2763263901682369, allowed 1.2e-38)."""

import numpy as np
import pytest

from trigrad.oracle.ir import Composition, Input, Node
from trigrad.properties import suite
from trigrad.properties.backends import BackendError, resolve
from trigrad.properties.example import Example

NOT_FLOAT32 = 0.2763263901682369  # float32 rounds it to 0.27632638812065125


@pytest.fixture(scope="module")
def float32():
    try:
        return resolve("torch[float32]")
    except BackendError as e:
        pytest.skip(str(e))


def test_a_correct_float32_library_passes_at_an_input_float32_cannot_hold(float32):
    assert suite.replay(float32, "vjp", _tril(), {"cotangent": np.ones((2, 2))}) is None


def test_a_wrong_value_is_still_caught_there(float32):
    """The rounding is the library's only: tril (exact, no rounding allowed) of a value off by one
    unit of float32's roundoff still fails."""

    class Off(type(float32)):
        def vjp(self, fn, xs, cotangent):
            value, grads = super().vjp(fn, xs, cotangent)
            return value * (1 + 2 ** -23), grads

    off = Off.__new__(Off)
    off.__dict__.update(float32.__dict__)
    report = suite.replay(off, "vjp", _tril(), {"cotangent": np.ones((2, 2))})
    assert report is not None and "forward wrong" in report.text(), report


def _tril():
    comp = Composition([Input("x0", (2, 2))], [Node("tril", ("x0",), {"k": 0})])
    return Example(comp, {"x0": np.full((2, 2), NOT_FLOAT32)})
