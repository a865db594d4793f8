"""oracle.symbolic.pointwise: exact derivatives of one elementwise op far out in its tails."""

import mpmath
import numpy as np
import pytest

from trigrad.oracle.symbolic import PRECISIONS, pointwise


def test_tails_where_fixed_precision_cancels_to_0_are_exact():
    # sympy writes tanh' as 1 - tanh**2, 0 at 100 digits once tanh(x) = 1 - 2e**(-2x) rounds to 1
    x = np.array([0.5, 117.0, 300.0])
    p = pointwise("tanh", [x])
    with mpmath.workdps(60):
        want = [float(mpmath.sech(mpmath.mpf(v)) ** 2) for v in x]
    assert p.first[0].tolist() == want and p.first[0][2] > 0
    assert p.digits[0] == PRECISIONS[1] and p.digits[2] > PRECISIONS[1] and not p.unsure.any()


def test_cancellation_near_0_is_resolved():
    # sigmoid'' = -x/8 + O(x**3) near 0, a difference of two terms near 1/4 as sympy writes it
    p = pointwise("sigmoid", [np.array([1e-300, -1e-30, 0.0, 40.0])])
    assert p.second[(0, 0)].tolist()[:3] == [-1.25e-301, 1.25e-31, 0.0]
    assert p.first[0][3] == pytest.approx(4.248354255291589e-18, rel=1e-15)


def test_true_zeros_and_two_arguments():
    p = pointwise("relu", [np.array([-1.0, 2.0])])
    assert p.first[0].tolist() == [0.0, 1.0] and not p.unsure.any() and p.second == {}
    q = pointwise("pow", [np.array([2.0, 3.0]), np.array(2.5)])
    assert q.first[0] == pytest.approx([2.5 * 2**1.5, 2.5 * 3**1.5], rel=1e-15)
    assert q.first[1] == pytest.approx([2**2.5 * np.log(2), 3**2.5 * np.log(3)], rel=1e-15)
    assert set(q.second) == {(0, 0), (0, 1), (1, 1)}


def test_array_ops_are_refused():
    with pytest.raises(ValueError, match="not elementwise"):
        pointwise("sum", [np.ones(3)])
