"""The symbolic oracle: exact values and derivatives, linear cost, and knowing when it does not know."""

import math
import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy

from trigrad.oracle import spec, symbolic
from trigrad.oracle.ir import Composition, Const, Input, Node
from trigrad.oracle.symbolic import Oracle

mp = mpmath.mp


def chain(*ops, shape=()):
    """x0 -> ops[0] -> ops[1] -> ... as a composition."""
    nodes = [Node(ops[0], ("x0",))] + [Node(op, (f"n{k}",)) for k, op in enumerate(ops[1:])]
    return Composition([Input("x0", shape)], nodes)


# --- the seeds' derivatives ----------------------------------------------------------------------


def test_seed_square_exp_square():
    o = Oracle(chain("square", "exp", "square"), {"x0": np.array(0.5)})
    g = o.vjp(1.0)["x0"]
    # The exact derivative 4 x e^(2x^2) at 0.5, correctly rounded; the seed prints it for
    # 4 * 0.5 * np.exp(0.5) as 3.2974425414002564.
    assert float(g.value) == 3.2974425414002564
    # The seed's float64 backprop printed 3.297442541400256 (one ulp below): a correct
    # implementation, so it must be inside the bound.
    assert abs(3.297442541400256 - g.value) <= g.bound()
    assert float(o.value().value) == float(mpmath.exp(1)) ** 1 * 0 + 1.6487212707001282


def test_seed_exp_exp_exp():
    o = Oracle(chain("exp", "exp", "exp"), {"x0": np.array(0.5)})
    g = o.vjp(1.0)["x0"]
    with mpmath.workdps(60):
        x = mpmath.mpf(0.5)
        exact = mpmath.exp(mpmath.exp(mpmath.exp(x)) + mpmath.exp(x) + x)  # the seed's closed form
    assert float(g.value) == float(exact)
    assert abs(1554.7142341744839 - g.value) <= g.bound()  # the seed's float64 backprop


def test_seed_sympy_sum_squared():
    # diff((x + y)**2, x) == 2x + 2y, at a few points, through the composition IR.
    c = Composition([Input("x"), Input("y")], [Node("add", ("x", "y")), Node("square", ("n0",))])
    x, y = sympy.symbols("x y")
    assert sympy.expand(sympy.diff((x + y) ** 2, x)) == 2 * x + 2 * y
    for xv, yv in [(0.5, 1.5), (-2.0, 0.25), (3.0, -3.5)]:
        g = Oracle(c, {"x": np.array(xv), "y": np.array(yv)}).vjp(1.0)
        assert float(g["x"].value) == 2 * xv + 2 * yv
        assert float(g["y"].value) == 2 * xv + 2 * yv


def test_seed_chain_rule_polynomial():
    # y = (x**2 + x + 100)**3, dy/dx = 3 (x**2 + x + 100)**2 (2x + 1): constants and a const exponent.
    c = Composition([Input("x")], [Node("square", ("x",)), Node("add", ("n0", "x")), Node("add", ("n1", Const(100))),
                                   Node("pow", ("n2", Const(3)))])
    assert c.formula() == "(square(x) + x + 100) ** 3"
    for xv in (0.5, -1.25, 2.0, -7.0):
        g = Oracle(c, {"x": np.array(xv)}).vjp(1.0)["x"]
        with mpmath.workdps(60):
            xm = mpmath.mpf(xv)
            exact = 3 * (xm**2 + xm + 100) ** 2 * (2 * xm + 1)
        assert float(g.value) == float(exact)


# --- closed forms, first and second order ----------------------------------------------------------

# op -> (f', f'') as mpmath functions; written from calculus, independently of the spec's twins.
CLOSED = {
    "neg": (lambda x: -1, lambda x: 0),
    "square": (lambda x: 2 * x, lambda x: 2),
    "exp": (mpmath.exp, mpmath.exp),
    "log": (lambda x: 1 / x, lambda x: -1 / x**2),
    "sqrt": (lambda x: 1 / (2 * mpmath.sqrt(x)), lambda x: -1 / (4 * x * mpmath.sqrt(x))),
    "sin": (mpmath.cos, lambda x: -mpmath.sin(x)),
    "cos": (lambda x: -mpmath.sin(x), lambda x: -mpmath.cos(x)),
    "tan": (lambda x: mpmath.sec(x) ** 2, lambda x: 2 * mpmath.sec(x) ** 2 * mpmath.tan(x)),
    "tanh": (lambda x: mpmath.sech(x) ** 2, lambda x: -2 * mpmath.sech(x) ** 2 * mpmath.tanh(x)),
    "sigmoid": (lambda x: mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2,
                lambda x: mpmath.exp(-x) * (mpmath.exp(-x) - 1) / (1 + mpmath.exp(-x)) ** 3),
    "softplus": (lambda x: 1 / (1 + mpmath.exp(-x)), lambda x: mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2),
    "abs": (mpmath.sign, lambda x: 0),
    "relu": (lambda x: 1 if x > 0 else 0, lambda x: 0),
}
POINTS = [-2.3, -0.7, 0.3, 0.9, 1.7, 2.9]


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_closed_forms(name):
    d1, d2 = CLOSED[name]
    c = chain(name)
    for x in POINTS:
        if name in ("log", "sqrt") and x <= 0:
            continue
        o = Oracle(c, {"x0": np.array(x)})
        with mpmath.workdps(60):
            want1, want2 = float(d1(mpmath.mpf(x))), float(d2(mpmath.mpf(x)))
        assert float(o.vjp(1.0)["x0"].value) == want1, (name, x)
        assert float(o.jvp({"x0": 1.0}).value) == want1, (name, x)
        assert float(o.hvp(1.0, {"x0": 1.0})["x0"].value) == want2, (name, x)


def test_binary_closed_forms():
    c = Composition([Input("x"), Input("y")], [Node("pow", ("x", "y"))])
    for xv, yv in [(0.7, 2.5), (2.0, -1.5), (1.3, 0.5)]:
        o = Oracle(c, {"x": np.array(xv), "y": np.array(yv)})
        g = o.vjp(1.0)
        h = o.hvp(1.0, {"y": 1.0})  # column of the Hessian for y
        with mpmath.workdps(60):
            x, y = mpmath.mpf(xv), mpmath.mpf(yv)
            assert float(g["x"].value) == float(y * x ** (y - 1))
            assert float(g["y"].value) == float(x**y * mpmath.log(x))
            assert float(h["y"].value) == float(x**y * mpmath.log(x) ** 2)
            assert float(h["x"].value) == float(x ** (y - 1) * (1 + y * mpmath.log(x)))


def test_second_derivatives_of_seed_examples():
    # d^2/dx^2 x**4 = 12 x^2 (x**4 as square(square(x)))
    o = Oracle(chain("square", "square"), {"x0": np.array(1.5)})
    assert float(o.hvp(1.0, {"x0": 1.0})["x0"].value) == 12 * 1.5**2


# --- cross-check: per-node route against whole-expression sympy.diff --------------------------------


def _whole_expression(comp, values, ct, tangents):
    """VJP, JVP and HVP by differentiating the whole expanded expression with sympy (small DAGs only).

    Every number enters sympy as the exact Rational of its float: a Python float would become a
    15-digit sympy Float, and sympy rounds when it collects terms with Float coefficients."""
    exact = sympy.Rational
    syms = comp.symbols()
    out = comp.to_sympy(syms)
    loss = sum(exact(float(c)) * e for c, e in zip(np.broadcast_to(ct, out.shape).ravel(), out.ravel()))
    subs = {s: exact(float(v)) for name in syms for s, v in zip(syms[name].ravel(), values[name].ravel())}
    flat = [(name, s) for name in syms for s in syms[name].ravel()]
    grad = {s: sympy.diff(loss, s) for _, s in flat}
    tan = {s: exact(float(t)) for name in syms
           for s, t in zip(syms[name].ravel(), np.broadcast_to(tangents[name], syms[name].shape).ravel())}
    vjp = {name: np.array([float(grad[s].evalf(50, subs=subs)) for s in syms[name].ravel()]).reshape(syms[name].shape)
           for name in syms}
    jvp = np.array([float(sum(sympy.diff(e, s) * tan[s] for _, s in flat).evalf(50, subs=subs)) for e in out.ravel()])
    hvp = {name: np.array([float(sum(sympy.diff(grad[s], t) * tan[t] for _, t in flat).evalf(50, subs=subs))
                           for s in syms[name].ravel()]).reshape(syms[name].shape) for name in syms}
    return vjp, jvp.reshape(out.shape), hvp


def _close(a, b):
    # Both are the same real number correctly rounded (sympy's evalf at 50 digits against the oracle's
    # 100 digits): equal, or one ulp apart when the true value sits within 1e-50 of a rounding tie;
    # exact zeros may come back as tiny noise from either side.
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.all((np.abs(a - b) <= np.spacing(np.maximum(np.abs(a), np.abs(b)))) | (np.abs(a - b) < 1e-40))


def test_cross_check_against_whole_expression(compositions):
    rng = np.random.default_rng(1)
    checked, seen = 0, set()
    sample = compositions(80, seed=3, max_nodes=3)
    # and every op of the table at least twice, beside a smooth op and a product
    for name in spec.OPS:
        extra = compositions(20, seed=4, ops=[name, "sin", "mul"], max_nodes=3)
        sample += [c for c in extra if any(n.op == name for n in c[0].nodes)][:2]
    for comp, values in sample:
        seen.update(n.op for n in comp.nodes)
        ct = rng.uniform(-1, 1, comp.output_shape)
        tangents = {i.name: rng.uniform(-1, 1, i.shape) for i in comp.inputs}
        o = Oracle(comp, values)
        vjp, jvp, hvp = _whole_expression(comp, values, ct, tangents)
        got = o.vjp(ct)
        for name in vjp:
            assert _close(got[name].value, vjp[name]), (comp.formula(), name, got[name].value, vjp[name])
        assert _close(o.jvp(tangents).value, jvp), comp.formula()
        got2 = o.hvp(ct, tangents)
        for name in hvp:
            assert _close(got2[name].value, hvp[name]), (comp.formula(), name, got2[name].value, hvp[name])
        checked += 1
    assert checked == len(sample)
    assert seen == set(spec.OPS), f"the sample misses {set(spec.OPS) - seen}"


def test_projection_is_dot_of_vjp_and_tangent(compositions):
    rng = np.random.default_rng(2)
    for comp, values in compositions(10, seed=5):
        o = Oracle(comp, values)
        ct = rng.uniform(-1, 1, comp.output_shape)
        tan = {i.name: rng.uniform(-1, 1, i.shape) for i in comp.inputs}
        g = o.vjp(ct)
        p = o.projection(ct, tan)
        direct = math.fsum(float(x) for name in g for x in (g[name].value * tan[name]).ravel())
        assert abs(float(p.value) - direct) <= 1e-12 * max(1.0, abs(direct))
        # the adjoint identity <v, J u> = <J^T v, u>, exactly in the oracle
        jvp = o.jvp(tan)
        assert abs(float(np.sum(ct * jvp.value)) - float(p.value)) <= 1e-12 * max(1.0, abs(direct))


# --- linear cost: never expand the DAG --------------------------------------------------------------


def test_expression_swell_forty_squarings(monkeypatch):
    # x -> a = x*x -> b = a*a -> ... forty times: a tree of 2**40 terms if expanded. The oracle
    # evaluates each node once per precision (one ball pass, or mpmath's two), so it answers as fast as
    # a 40-node chain (timing is in bench/oracle.py; here: the count of node evaluations, and the exact
    # answer).
    calls = []
    real = symbolic._evaluate_node
    monkeypatch.setattr(symbolic, "_evaluate_node", lambda *a: calls.append(1) or real(*a))
    nodes = [Node("mul", ("x0", "x0"))] + [Node("mul", (f"n{k}", f"n{k}")) for k in range(39)]
    comp = Composition([Input("x0")], nodes)
    o = Oracle(comp, {"x0": np.array(1.0)})
    assert len(calls) == (1 if o.arithmetic == "arb" else 2) * 40
    assert float(o.value().value) == 1.0
    assert float(o.vjp(1.0)["x0"].value) == 2.0**40
    assert float(o.hvp(1.0, {"x0": 1.0})["x0"].value) == 2.0**40 * (2.0**40 - 1)
    # And at a point where every intermediate differs: x = 1 + 2**-40, value (1 + 2**-40)**(2**40) ~ e.
    o = Oracle(comp, {"x0": np.array(1 + 2.0**-40)})
    with mpmath.workdps(80):
        x = 1 + mpmath.mpf(2) ** -40
        assert float(o.value().value) == float(x ** (2**40))
        assert float(o.vjp(1.0)["x0"].value) == float(2**40 * x ** (2**40 - 1))


def test_shared_subexpressions_are_cheap_and_exact():
    # sin, then alternating x + x, x * x and sin(x) with every node feeding both slots of the next.
    nodes = [Node("sin", ("x0",))]
    for k in range(59):
        nodes.append(Node(("add", "mul", "sin")[k % 3], (f"n{k}", f"n{k}")[: 1 if k % 3 == 2 else 2]))
    comp = Composition([Input("x0")], nodes)
    o = Oracle(comp, {"x0": np.array(0.4)})
    # forward-mode derivative in mpmath along the same chain, as the reference
    with mpmath.workdps(100):
        v, d = mpmath.sin(mpmath.mpf(0.4)), mpmath.cos(mpmath.mpf(0.4))
        for k in range(59):
            if k % 3 == 0:
                v, d = v + v, d + d
            elif k % 3 == 1:
                v, d = v * v, 2 * v * d
            else:
                v, d = mpmath.sin(v), mpmath.cos(v) * d
        assert float(o.vjp(1.0)["x0"].value) == float(d)


# --- knowing when it does not know ------------------------------------------------------------------


def test_unsure_when_precisions_disagree():
    # At 5 digits the first evaluation is nowhere near float64 accuracy: every result is unsure.
    o = Oracle(chain("sin", "exp"), {"x0": np.array(0.3)}, precisions=(5, 60))
    assert o.value().unsure() and "differ" in o.value().unsure()
    assert o.vjp(1.0)["x0"].unsure()
    # With the default precisions the same example is sure.
    assert Oracle(chain("sin", "exp"), {"x0": np.array(0.3)}).vjp(1.0)["x0"].unsure() is None


def test_unsure_near_a_kink():
    # relu(x0 + x1 - x2) with x0 + x1 - x2 within rounding of 0: float64 may land on either side.
    c = Composition([Input("x0"), Input("x1"), Input("x2")],
                    [Node("add", ("x0", "x1")), Node("sub", ("n0", "x2")), Node("relu", ("n1",))])
    o = Oracle(c, {"x0": np.array(0.1), "x1": np.array(0.2), "x2": np.array(0.30000000000000004)})
    assert "kink" in o.vjp(1.0)["x0"].unsure()
    far = Oracle(c, {"x0": np.array(0.1), "x1": np.array(0.2), "x2": np.array(0.25)})
    assert far.vjp(1.0)["x0"].unsure() is None


def test_bounds_scale_with_unit_roundoff():
    o = Oracle(chain("sin", "tanh", "exp"), {"x0": np.array(0.8)})
    g = o.vjp(1.0)["x0"]
    assert g.bound(2.0**-24) / g.bound(2.0**-53) == pytest.approx(2.0**29, rel=1e-6)


def test_bad_input_is_refused_with_a_reason():
    c = chain("sin", shape=(2,))
    with pytest.raises(ValueError, match="shape"):
        Oracle(c, {"x0": np.array(1.0)})
    with pytest.raises(ValueError, match="no value"):
        Oracle(c, {})
    with pytest.raises(ValueError, match="not finite"):
        Oracle(c, {"x0": np.array([1.0, np.nan])})
    with pytest.raises(ValueError, match="cotangent"):
        Oracle(c, {"x0": np.array([1.0, 2.0])}).vjp(np.ones(3))


def test_oracle_never_imports_autograd():
    code = "import trigrad.oracle, trigrad.oracle.numeric, trigrad.oracle.compare, sys; print('trigrad.autograd' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_python_flint_the_oracle_runs_in_mpmath(monkeypatch):
    # the fallback when python-flint is absent: the same answers from mpmath at PRECISIONS
    c = chain("sin", "exp")
    monkeypatch.setattr(symbolic.ball, "AVAILABLE", False)
    o = Oracle(c, {"x0": np.array(0.3)})
    assert o.arithmetic == "mpmath" and o.precisions == symbolic.PRECISIONS
    g = o.vjp(1.0)["x0"]
    assert g.enclosure is None and g.within() is None and g.unsure() is None
    monkeypatch.undo()
    assert float(Oracle(c, {"x0": np.array(0.3)}).vjp(1.0)["x0"].value) == float(g.value)
