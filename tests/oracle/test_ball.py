"""The certified oracle: ball arithmetic (python-flint's Arb) encloses the exact answer, at hard points too.

Each enclosure is checked against an independent evaluation: sympy differentiates the op's twin and
plain mpmath evaluates it to REFERENCE_DIGITS digits, sharing nothing with the oracle's compiled Arb
code but the twin. Skipped without python-flint (the oracle then runs in mpmath).
"""

import mpmath
import numpy as np
import pytest
import sympy

from trigrad.oracle import ball, spec
from trigrad.oracle.compare import Verdict, judge
from trigrad.oracle.ir import Composition, Const, Input, Node
from trigrad.oracle.symbolic import MAX_BITS, START_BITS, Oracle

pytestmark = pytest.mark.skipif(not ball.AVAILABLE, reason="python-flint is not installed")

REFERENCE_DIGITS = 200
TINY_DIGITS = 320

# (op, x): near poles, where twins cancel, huge and tiny arguments
HARD_POINTS = [
    ("tan", 1.5707963267948966),  # float nearest pi/2: tan ~ 1.6e16
    ("tan", -1.5707963267948966),
    ("log", 1e-300),
    ("log", 1.0000000000000002),  # log(1 + 2**-52): cancels in 1 - x near 1
    ("arctanh", 0.9999999999999999),  # 1 - 2**-53 from the pole at 1
    ("arctanh", -1e-200),
    ("div", 1e-150),  # 1 / x (see _composition)
    ("expm1", 1e-30),  # exp(x) - 1 cancels 30 digits
    ("expm1", -700.0),
    ("log1p", 1e-300),  # log(1 + x) cancels 300 digits
    ("log1p", -0.9999999999999999),
    ("sigmoid", 1e-12),  # sigmoid'' cancels to -x/8 near 0
    ("sigmoid", -700.0),
    ("tanh", 200.0),  # tanh' = 1 - tanh**2 is 4e-174: 0 at 100 digits
    ("tanh", 1e-300),
    ("sin", 1e22),  # argument reduction
    ("sin", 3.141592653589793),  # sin(float pi) ~ 1.2e-16
    ("exp", 700.0),
    ("exp", -745.0),
    ("erf", 6.0),  # erf'(6) ~ 2.6e-16 beside erf ~ 1 - 2e-17
    ("erf", 1e-300),
    ("sqrt", 1e-300),
]


def _composition(name: str) -> Composition:
    if name == "div":  # 1 / x: the constant numerator
        return Composition([Input("x0")], [Node("div", (Const(1.0), "x0"))])
    return Composition([Input("x0")], [Node(name, ("x0",))])


def _reference(name: str, x: float) -> list:
    """Value, first and second derivative to REFERENCE_DIGITS digits: sympy's derivatives of the twin in
    plain mpmath, with TINY_DIGITS more for the cancellation at the tiny points (log(1 + x) at 1e-300)."""
    s = sympy.Symbol("s", real=True)
    f = 1 / s if name == "div" else spec.get(name).twin(s)
    fn = sympy.lambdify(s, [f, sympy.diff(f, s), sympy.diff(f, s, 2)], "mpmath")
    with mpmath.workdps(REFERENCE_DIGITS + TINY_DIGITS):
        return [mpmath.mpf(v) for v in fn(mpmath.mpf(x))]


@pytest.mark.parametrize("name, x", HARD_POINTS, ids=[f"{n}({x!r})" for n, x in HARD_POINTS])
def test_enclosures_contain_the_exact_value_at_hard_points(name, x):
    o = Oracle(_composition(name), {"x0": np.array(x)})
    assert o.arithmetic == "arb"
    got = [o.value(), o.vjp(1.0)["x0"], o.hvp(1.0, {"x0": 1.0})["x0"]]
    with mpmath.workdps(REFERENCE_DIGITS):
        for what, e, exact in zip(("value", "first", "second"), got, _reference(name, x)):
            lo, hi = e.within()
            assert mpmath.mpf(lo) <= exact <= mpmath.mpf(hi), (what, lo, hi, exact)
            # settled below MAX_BITS: the correctly rounded exact value (or 0 for a [0 +/- r] enclosure)
            assert o.bits < MAX_BITS and e.unsure() is None, (what, e)
            assert float(e.value) == float(exact) or (float(e.value) == 0 and lo <= 0 <= hi), (what, e, exact)


def test_precision_rises_only_where_needed():
    # Ziv's strategy: exp(x) - 1 as two nodes settles at START_BITS at x = 0.5; at x = 1e-60 the first
    # pass's enclosure of the difference is [0 +/- r], and the bits double until it is resolved
    c = Composition([Input("x0")], [Node("exp", ("x0",)), Node("sub", ("n0", Const(1.0))), Node("square", ("n1",))])
    easy = Oracle(c, {"x0": np.array(0.5)})
    easy.value(), easy.vjp(1.0)
    assert easy.bits == START_BITS
    o = Oracle(c, {"x0": np.array(1e-60)})
    v, g = o.value(), o.vjp(1.0)["x0"]
    with mpmath.workdps(REFERENCE_DIGITS):
        e = mpmath.expm1(mpmath.mpf(1e-60))
        assert float(v.value) == float(e ** 2) and float(g.value) == float(2 * e * mpmath.exp(mpmath.mpf(1e-60)))
    assert START_BITS < o.bits < MAX_BITS and v.unsure() is None and g.unsure() is None


def test_a_tiny_value_in_an_enclosure_around_0_is_0_where_more_bits_cannot_change_a_verdict():
    # tanh'(200) = 1 - tanh(200)**2 = 4e-174: at START_BITS its enclosure holds 0 and is far inside the
    # bound a float64 implementation gets (which may compute 1 - 1**2 = 0): the oracle says 0, and the
    # enclosure still holds the exact value
    o = Oracle(_composition("tanh"), {"x0": np.array(200.0)})
    g = o.vjp(1.0)["x0"]
    lo, hi = g.within()
    with mpmath.workdps(REFERENCE_DIGITS):
        assert float(g.value) == 0 and mpmath.mpf(lo) <= mpmath.sech(200) ** 2 <= mpmath.mpf(hi)
    assert g.unsure() is None and o.bits == START_BITS


def test_an_exact_zero_reached_by_cancellation_is_zero():
    # x / x - 1 is 0 everywhere: its enclosure holds 0 and is narrow against the bound, never rounds
    c = Composition([Input("x0", (2,))], [Node("div", ("x0", "x0")), Node("sub", ("n0", Const(1.0)))])
    o = Oracle(c, {"x0": np.array([0.3, 7.0])})
    v, g = o.value(), o.vjp(np.ones(2))["x0"]
    assert np.all(v.value == 0) and np.all(g.value == 0) and v.unsure() is None and g.unsure() is None
    assert np.all(g.enclosure[0] <= 0) and np.all(g.enclosure[1] >= 0)
    assert o.bits == START_BITS  # more bits would change nothing


def test_a_planted_relative_error_of_1e_10_is_caught_and_the_report_shows_the_enclosure():
    c = Composition([Input("x0")], [Node("mul", ("x0", "x0")), Node("sin", ("n0",))])
    o = Oracle(c, {"x0": np.array(0.7)})
    e = o.vjp(1.0)["x0"]
    with mpmath.workdps(REFERENCE_DIGITS):
        x = mpmath.mpf(0.7)
        assert float(e.value) == float(2 * x * mpmath.cos(x * x))
    right = judge(e.value, e, what="VJP wrt x0")
    assert right.verdict is Verdict.PASS
    wrong = judge(e.value * (1 + 1e-10), e, what="VJP wrt x0")
    assert wrong.verdict is Verdict.FAIL
    lo, hi = e.within()
    assert lo <= float(e.value) <= hi and f"in [{lo!r}, {hi!r}]" in str(wrong)


def test_planted_errors_of_1e_10_are_caught_wherever_the_bound_resolves_them(compositions):
    tried = 0
    rng = np.random.default_rng(3)
    for comp, values in compositions(40, seed=21, max_nodes=5):
        o = Oracle(comp, values)
        for name, e in o.vjp(rng.uniform(-1, 1, comp.output_shape)).items():
            i = np.unravel_index(np.argmax(np.abs(e.value)), e.value.shape)
            if e.unsure() or not e.bound()[i] < 0.5e-10 * abs(e.value[i]):
                continue
            wrong = e.value.copy()
            wrong[i] *= 1 + 1e-10
            tried += 1
            assert judge(wrong, e, what=name).verdict is Verdict.FAIL, comp.formula()
            assert e.enclosure[0][i] <= e.value[i] <= e.enclosure[1][i]
    assert tried >= 10


def test_heaviside_is_called_on_balls_and_encloses_both_sides_of_an_undecided_root():
    """max's, min's and maximum's derivatives print Heaviside as a call (not rewritten as a Piecewise,
    which was a quarter of compiling those ops): 0 below the root, 1 above, H(0) = 1/2 at an exact
    root, and on a ball that may hold the root, a ball holding both 0 and 1 (never the side its
    midpoint happens to be on)."""
    from trigrad.oracle import symbolic

    h = ball.namespace["Heaviside"]
    assert h(ball.arb(-1e-30)) == 0 and h(ball.arb(2.0)) == 1 and h(ball.arb(0)) == ball.arb(0.5)
    straddle = h(ball.arb(1e-20, 1e-10))
    assert straddle.contains(0) and straddle.contains(1)
    assert h(ball.arb(1e-20, 1e-30)) == 1  # the whole ball above the root
    mp = symbolic._MODULES[0]["Heaviside"]
    assert (mp(mpmath.mpf(-3)), mp(mpmath.mpf(0)), mp(mpmath.mpf(3))) == (0, 0.5, 1)
    o = spec.get("max")
    prog = symbolic._program(o, spec.check_params(o, {"axis": None, "keepdims": False}), ((3,),), (None,))
    assert "Heaviside" in prog.fn.__code__.co_names and prog.fn_ball is not None
    e = Oracle(Composition([Input("x0", (3,))], [Node("max", ("x0",), {"axis": None, "keepdims": False})]),
               {"x0": np.array([0.5, 2.0, -1.0])}).vjp(np.array(1.5))["x0"]
    assert e.value.tolist() == [0.0, 1.5, 0.0]
