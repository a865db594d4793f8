"""Verdicts: planted mistakes are judged wrong, correct float64 arithmetic is judged right."""

from dataclasses import dataclass

import numpy as np
import pytest

from trigrad.oracle import spec
from trigrad.oracle.compare import Verdict, judge, judge_value
from trigrad.oracle.ir import Composition, Input, Node
from trigrad.oracle.symbolic import U32, Oracle, _Digits, _floats


@dataclass
class Est:
    """A stand-in numeric estimate (value, error), as oracle.numeric returns."""

    value: float
    error: float


def float64_emulation(o: Oracle, ct):
    """The oracle's own reverse pass run at 53-bit precision: every operation rounded as float64
    rounds, every local derivative formula (sympy's) evaluated with correctly rounded functions. A
    correct float64 implementation of reverse mode, with realistic rounding at every step."""
    run = o._forward(_Digits(15))  # 15 digits is mpmath's 53-bit precision
    adj = o._adjoints(run, _Digits(15), np.broadcast_to(ct, o.comp.output_shape))
    value = _floats(run[0][o.comp.output], o.comp.output_shape)
    return value, {i.name: _floats(adj[i.name], i.shape) for i in o.comp.inputs}


def test_correct_float64_rounding_is_judged_right(compositions):
    rng = np.random.default_rng(0)
    judged = 0
    for comp, values in compositions(150, seed=11, max_nodes=6):
        o = Oracle(comp, values)
        ct = rng.uniform(-1, 1, comp.output_shape)
        value, grads = float64_emulation(o, ct)
        j = judge_value(value, o.value())
        assert j.verdict in (Verdict.PASS, Verdict.UNSURE), (comp.formula(), str(j))
        exact = o.vjp(ct)
        for name, g in grads.items():
            j = judge(g, exact[name], what=f"VJP wrt {name}")
            assert j.verdict in (Verdict.PASS, Verdict.UNSURE), (comp.formula(), str(j))
            judged += j.verdict is Verdict.PASS
    assert judged > 200


def test_planted_relative_errors_are_caught(compositions):
    """A gradient off by 1e-6 relative is always wrong; 1e-9 whenever the bound resolves it."""
    rng = np.random.default_rng(1)
    caught_9 = resolvable_9 = tried = 0
    for comp, values in compositions(150, seed=12, max_nodes=6):
        o = Oracle(comp, values)
        ct = rng.uniform(-1, 1, comp.output_shape)
        for name, e in o.vjp(ct).items():
            if e.unsure():
                continue
            # perturb the largest entry (a relative error on a zero entry is no error at all)
            i = np.unravel_index(np.argmax(np.abs(e.value)), e.value.shape)
            if abs(e.value[i]) < 1e-3:
                continue
            tried += 1
            for rel in (1e-6, 1e-9):
                wrong = e.value.copy()
                wrong[i] *= 1 + rel
                j = judge(wrong, e, numeric=Est(float(e.value[i]), 1e-12 * abs(e.value[i])), what=name)
                resolvable = e.bound()[i] < 0.5 * rel * abs(e.value[i])
                if rel == 1e-6:
                    assert resolvable and j.verdict is Verdict.FAIL, (comp.formula(), str(j))
                else:
                    resolvable_9 += resolvable
                    caught_9 += j.verdict is Verdict.FAIL
                    assert j.verdict is Verdict.FAIL or not resolvable, (comp.formula(), str(j))
    # conditioning allows 1e-9 almost always at these magnitudes
    assert tried > 100 and resolvable_9 >= 0.95 * tried and caught_9 == resolvable_9, (tried, resolvable_9)


# --- ops whose standard derivative formulas cancel ---------------------------------------------------


def _tanh_vjp(x, g):
    y = np.tanh(x)
    return g * (1 - y * y)


def _sigmoid_vjp(x, g):
    y = 1 / (1 + np.exp(-x))
    return g * y * (1 - y)


def _softmax_vjp(x, g):
    s = np.exp(x - x.max())
    s /= s.sum()
    return s * (g - np.sum(g * s))


def _log_softmax_vjp(x, g):
    s = np.exp(x - x.max())
    s /= s.sum()
    return g - s * np.sum(g)


# op -> (the standard VJP formula, a point near saturation, a cotangent that makes it cancel)
CANCELLING = {
    "tanh": (_tanh_vjp, np.array([6.0, -7.5, 9.0, 0.3]), np.array([1.0, -0.5, 0.25, 2.0])),
    "sigmoid": (_sigmoid_vjp, np.array([9.0, 12.0, -3.0, 0.5]), np.array([1.0, -0.5, 0.25, 2.0])),
    "softmax": (_softmax_vjp, np.array([9.0, -1.0, 0.5, 0.25]), np.array([1.0, 1.0, 1.0, 1.001])),
    "log_softmax": (_log_softmax_vjp, np.array([9.0, -1.0, 0.5, 0.25]), np.array([1.0, 1e-3, -2e-3, 1e-3])),
}


@pytest.mark.parametrize("name", sorted(CANCELLING))
def test_standard_cancelling_formulas_pass(name):
    """Libraries compute tanh' as 1 - y**2, sigmoid' as y(1 - y), softmax's VJP as s(g - sum(gs)):
    correct, but with absolute (not relative) error near saturation. They must pass."""
    vjp, x, g0 = CANCELLING[name]
    comp = Composition([Input("x0", x.shape)], [Node(name, ("x0",))])
    rng = np.random.default_rng(0)
    for trial in range(20):
        g = g0 * (1 + 1e-3 * rng.uniform(-1, 1, g0.shape)) if trial else g0
        exact = Oracle(comp, {"x0": x}).vjp(g)["x0"]
        assert judge(vjp(x, g), exact).verdict is Verdict.PASS, str(judge(vjp(x, g), exact))


def test_sigmoid_needs_its_jacobian_scale():
    """The twin's sigmoid' = e**-x / (1 + e**-x)**2 has no cancellation for the magnitude rule to
    see; without the spec's jacobian_scale the conventional y * (1 - y) would be judged wrong."""
    vjp, x, g0 = CANCELLING["sigmoid"]
    comp = Composition([Input("x0", x.shape)], [Node("sigmoid", ("x0",))])
    op = spec.OPS["sigmoid"]
    failures = 0
    rng = np.random.default_rng(0)
    try:
        spec.OPS["sigmoid"] = spec.Op(**{**op.__dict__, "jacobian_scale": None})
        for trial in range(20):
            g = g0 * (1 + 1e-3 * rng.uniform(-1, 1, g0.shape))
            failures += judge(vjp(x, g), Oracle(comp, {"x0": x}).vjp(g)["x0"]).verdict is Verdict.FAIL
    finally:
        spec.OPS["sigmoid"] = op
    assert failures > 0


def _textbook_log_softmax(x):
    # log_z = m + log(sum(exp(x - m))), then x - log_z: the book's formula, which cancels
    m = x.max(axis=-1, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))


def _textbook_sce(x, labels):
    return -np.mean(_textbook_log_softmax(x)[np.arange(len(labels)), labels])


# Dominant logits: the result is small (about e**-gap) while the terms the formula cancels are as large
# as the logits.
DOMINANT = [np.array([[2.0, -3.0]]), np.array([[30.0, 24.5, 22.0]]), np.array([[-7.0, -12.0], [40.0, 33.0]])]


@pytest.mark.parametrize("x", DOMINANT, ids=["2,-3", "30,24.5,22", "two rows"])
def test_textbook_cancelling_forwards_pass_and_errors_are_still_caught(x):
    """log_softmax and softmax cross-entropy computed as x - (m + log sum e**(x - m)) lose
    u * |logsumexp| absolutely (hundreds of ulps of the small result): correct, and judged so
    thanks to the spec's value_scale; a relative error of 1e-9 is still caught."""
    labels = tuple(int(i) for i in np.argmax(x, axis=1))
    cases = [(Node("log_softmax", ("x0",)), _textbook_log_softmax(x)),
             (Node("softmax_cross_entropy", ("x0",), {"labels": labels}), _textbook_sce(x, np.array(labels)))]
    for node, ours in cases:
        exact = Oracle(Composition([Input("x0", x.shape)], [node]), {"x0": x}).value()
        assert judge_value(ours, exact).verdict is Verdict.PASS, str(judge_value(ours, exact))
        worst = np.unravel_index(np.argmin(np.abs(np.atleast_1d(ours))), np.shape(np.atleast_1d(ours)))
        wrong = np.atleast_1d(np.array(ours, dtype=float)).copy()
        wrong[worst] *= 1 + 1e-9
        assert judge_value(wrong.reshape(np.shape(ours)), exact).verdict is Verdict.FORWARD_WRONG


def test_the_textbook_sce_needs_its_value_scale():
    """Without value_scale the bound sees only the derivatives (about e**-5 here) and calls the
    book's formula wrong: the case that made trigrad flag DeZero's correct loss."""
    x = DOMINANT[0]
    node = Node("softmax_cross_entropy", ("x0",), {"labels": (0,)})
    comp = Composition([Input("x0", x.shape)], [node])
    op = spec.OPS["softmax_cross_entropy"]
    try:
        spec.OPS["softmax_cross_entropy"] = spec.Op(**{**op.__dict__, "value_scale": None})
        verdict = judge_value(_textbook_sce(x, np.array([0])), Oracle(comp, {"x0": x}).value()).verdict
    finally:
        spec.OPS["softmax_cross_entropy"] = op
    assert verdict is Verdict.FORWARD_WRONG


# --- triage -----------------------------------------------------------------------------------------


@pytest.fixture
def sin_square():
    comp = Composition([Input("x0")], [Node("mul", ("x0", "x0")), Node("sin", ("n0",))])
    return Oracle(comp, {"x0": np.array(0.7)}).vjp(1.0)["x0"]


def test_triage(sin_square):
    e = sin_square
    exact = float(e.value)
    right, wrong = Est(exact, 1e-13), Est(0.81, 1e-13)
    assert judge(exact, e, numeric=right).verdict is Verdict.PASS
    assert judge(exact, e, numeric=wrong).verdict is Verdict.ILL_CONDITIONED
    assert not judge(exact, e, numeric=wrong).failed
    assert judge(0.81, e, numeric=right).verdict is Verdict.FAIL
    assert judge(0.81, e).verdict is Verdict.FAIL  # unconfirmed, still wrong
    assert judge(0.81, e, numeric=wrong).verdict is Verdict.DISPUTED
    assert judge(0.81, e, numeric=Est(-3.0, 1e-13)).verdict is Verdict.UNTRUSTWORTHY
    assert judge(np.nan, e, numeric=right).verdict is Verdict.FAIL
    assert judge(np.array([exact]), e).verdict is Verdict.FAIL  # wrong shape


def test_story_names_the_three_numbers(sin_square):
    j = judge(0.81, sin_square, numeric=Est(float(sin_square.value), 1e-13), what="VJP of sin(x0 * x0) wrt x0")
    text = str(j)
    assert text.startswith("VJP of sin(x0 * x0) wrt x0: autograd 0.81, exact 1.23526600205417")
    assert "numeric" in text and "autograd wrong" in text


def test_numeric_is_consulted_only_for_the_worst_element():
    comp = Composition([Input("x0", (3,))], [Node("sin", ("x0",))])
    e = Oracle(comp, {"x0": np.array([0.1, 0.2, 0.3])}).vjp(np.ones(3))["x0"]
    asked = []

    def numeric(index):
        asked.append(index)
        return Est(float(e.value[index]), 1e-14)

    ad = e.value.copy()
    ad[1] += 1e-6
    ad[2] += 1e-3
    j = judge(ad, e, numeric=numeric)
    assert j.verdict is Verdict.FAIL and asked == [(2,)] and j.index == (2,)


def test_forward_value(sin_square):
    comp = Composition([Input("x0")], [Node("sin", ("x0",))])
    v = Oracle(comp, {"x0": np.array(0.5)}).value()
    assert judge_value(np.sin(0.5), v).verdict is Verdict.PASS
    j = judge_value(np.sin(0.5) * (1 + 1e-10), v)
    assert j.verdict is Verdict.FORWARD_WRONG and "the forward is off" in j.reason


def test_float32_bounds():
    comp = Composition([Input("x0", (4,))], [Node("exp", ("x0",)), Node("sum", ("n0",))])
    x = np.array([0.1, -0.5, 1.5, 2.0], dtype=np.float32).astype(float)
    e = Oracle(comp, {"x0": x}).vjp(1.0)["x0"]
    as32 = np.exp(x.astype(np.float32)).astype(float)  # a correct float32 implementation
    assert judge(as32, e).verdict is Verdict.FAIL  # far outside float64's bound
    assert judge(as32, e, u=2.0**-24).verdict is Verdict.PASS


def test_float32_underflow_is_within_the_bound():
    """float32 squares of 1e-20 are subnormal (1e-40, about 3 significant digits): a correct float32
    result, judged at float32's smallest normal, while a float64-sized floor would call it wrong."""
    comp = Composition([Input("x0", (2,))], [Node("square", ("x0",))])
    x = np.array([1e-20, 3e-23], dtype=np.float32).astype(float)
    v = Oracle(comp, {"x0": x}).value()
    as32 = np.square(x.astype(np.float32)).astype(float)
    assert np.any(as32 != v.value)  # the subnormal results are not correctly rounded to float64
    assert judge_value(as32, v, u=U32).verdict is Verdict.PASS
    assert judge_value(as32 * 1.5, v, u=U32).verdict is Verdict.PASS  # below tiny: noise either way
    big = np.array([1e-10, 3e-12], dtype=np.float32).astype(float)
    vb = Oracle(comp, {"x0": big}).value()
    assert judge_value(np.square(big.astype(np.float32)).astype(float) * (1 + 1e-5), vb, u=U32).verdict \
        is Verdict.FORWARD_WRONG  # normal float32 results are judged relative to their size


def test_broadcast_to_backward_sums_its_copies():
    """broadcast_to's forward is exact, but its VJP sums the cotangent over the copies: the float32
    sum 1 + 0.2307929... rounds, and that must pass."""
    comp = Composition([Input("x0", ())], [Node("broadcast_to", ("x0",), {"shape": (2,)})])
    ct = np.array([1.0, float(np.float32(0.23079295456409454))])
    e = Oracle(comp, {"x0": np.array(0.0)}).vjp(ct)["x0"]
    as32 = float(np.float32(ct[0]) + np.float32(ct[1]))
    assert as32 != float(e.value)
    assert judge(as32, e, u=U32).verdict is Verdict.PASS
    assert judge(as32 * (1 + 1e-5), e, u=U32).verdict is Verdict.FAIL


def test_where_backward_sums_the_copies_of_a_broadcast_argument():
    """where's forward selects (exact), but the VJP of a broadcast argument sums the cotangent
    wherever it was selected: PyTorch's float32 gradient of y (shape ()) in where(c, x, y) with c =
    (False, True, False) and cotangent (1, 1, 1.405068) is 1 + 1.405068 rounded to float32, which must
    pass (it was judged against an allowed error of float32's smallest normal); a wrong sum is still
    caught, and without broadcasting the allowance stays 0."""
    condition = ((False,), (True,), (False,))
    comp = Composition([Input("x0", ()), Input("x1", (3, 1))], [Node("where", ("x1", "x0"), {"condition": condition})])
    ct = np.array([[1.0], [1.0], [float.fromhex("0x1.67b28a0000000p+0")]])
    e = Oracle(comp, {"x0": np.array(0.0), "x1": np.zeros((3, 1))}).vjp(ct)["x0"]
    as32 = float(np.float32(ct[0, 0]) + np.float32(ct[2, 0]))
    assert as32 != float(e.value)
    assert judge(as32, e, u=U32).verdict is Verdict.PASS
    assert judge(as32 * (1 + 1e-5), e, u=U32).verdict is Verdict.FAIL
    assert judge(float(ct[2, 0]), e, u=U32).verdict is Verdict.FAIL  # a term lost
    assert spec.get("where").allowance([(3, 1), (3, 1)], {"condition": condition}) == 0


def test_logsumexp_second_order_allows_the_conventional_cancellation():
    """Over one element logsumexp's twin simplifies to x (no Hessian), but implementations
    differentiate s = e**(x - lse(x)) again and compute 1 - 1: PyTorch's HVP of lse(x) + sin(x) at
    x = 6e-28 is 0, the exact -6e-28 lost to rounding next to terms of size 1. The error model's
    floor for second derivatives (the size of the first derivative's terms) allows it; a real error
    is still caught."""
    comp = Composition([Input("x0", ())], [Node("logsumexp", ("x0",), {"axis": None, "keepdims": False}),
                                           Node("sin", ("x0",)), Node("add", ("n0", "n1"))])
    x = np.array(float.fromhex("0x1.8786020000000p-91"))
    e = Oracle(comp, {"x0": x}).hvp(np.array(1.0), {"x0": np.array(1.0)})["x0"]
    assert float(e.value) == pytest.approx(-6.177151147912331e-28)
    assert judge(0.0, e).verdict is Verdict.PASS and judge(0.0, e, u=U32).verdict is Verdict.PASS
    assert judge(1e-6, e).verdict is Verdict.FAIL
    comp3 = Composition([Input("x0", (3,))], [Node("logsumexp", ("x0",), {"axis": None, "keepdims": False})])
    e3 = Oracle(comp3, {"x0": np.array([0.5, -1.0, 2.0])}).hvp(np.array(1.0), {"x0": np.array([1.0, 0.5, -1.0])})["x0"]
    wrong = e3.value * (1 + 1e-9)
    assert judge(e3.value, e3).verdict is Verdict.PASS and judge(wrong, e3).verdict is Verdict.FAIL
