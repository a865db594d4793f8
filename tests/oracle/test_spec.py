"""The op specification table: complete, self-consistent, and its kinks and domains right."""

import numpy as np
import pytest

from trigrad.oracle import spec
from trigrad.oracle.compare import Verdict, judge_value
from trigrad.oracle.ir import Composition, Const, Input, Node
from trigrad.oracle.symbolic import U32, U64, Oracle

# Every function the core issue names, by the same names.
CORE_FUNCTIONS = """neg add sub mul div pow square sqrt exp log sin cos tan tanh sigmoid relu abs softplus reshape
transpose broadcast_to sum_to sum mean matmul get_item max min clip softmax log_softmax logsumexp
mean_squared_error softmax_cross_entropy""".split()


def test_table_covers_the_core_functions():
    assert set(CORE_FUNCTIONS) <= set(spec.OPS)


def test_entries_are_well_formed():
    for name, op in spec.OPS.items():
        assert op.name == name
        assert op.arity in (1, 2) and len(op.draw) == op.arity, name
        assert all(p.kind in spec.PARAM_KINDS for p in op.params), name
        assert op.doc, f"{name} needs a one-line doc"
        assert op.analytic == (op.kink is None), f"{name}: kinked ops are exactly the non-analytic ones"


def test_unknown_op_lists_the_known_ones():
    with pytest.raises(KeyError, match="unknown op 'tourch_sin'; known ops: add, mul"):
        spec.get("tourch_sin")


def test_check_params():
    with pytest.raises(ValueError, match=r"sum takes params \['axis', 'keepdims'\], not \['axes'\]"):
        spec.check_params(spec.get("sum"), {"axes": 1})
    with pytest.raises(ValueError, match="needs params"):
        spec.check_params(spec.get("reshape"), {})
    assert spec.check_params(spec.get("sum"), {"axis": 1}) == {"axis": 1, "keepdims": False}


# --- each entry's numpy forward, sympy twin and shape rule agree ----------------------------------------

# One representative call per op: (argument shapes, params).
CASES = {
    "reshape": ([(2, 3)], {"shape": (3, 2)}),
    "transpose": ([(2, 3, 1)], {"axes": (2, 0, 1)}),
    "broadcast_to": ([(3,)], {"shape": (2, 3)}),
    "sum_to": ([(2, 3)], {"shape": (1, 3)}),
    "get_item": ([(3, 2)], {"index": (slice(1, None), (1, 1, 0))}),
    "sum": ([(2, 3)], {"axis": (0, -1), "keepdims": True}),
    "mean": ([(2, 3)], {"axis": -1}),
    "max": ([(2, 3)], {"axis": 1}),
    "min": ([(2, 3)], {"axis": 0, "keepdims": True}),
    "logsumexp": ([(2, 3)], {"axis": 1}),
    "softmax": ([(2, 3)], {"axis": 0}),
    "log_softmax": ([(2, 3)], {}),
    "matmul": ([(2, 2, 3), (3,)], {}),
    "clip": ([(4,)], {"lo": -0.5, "hi": 0.5}),
    "mean_squared_error": ([(2, 3), (2, 3)], {}),
    "softmax_cross_entropy": ([(2, 3)], {"labels": (2, 0)}),
    "prod": ([(2, 3)], {"axis": 1, "keepdims": True}),
    "var": ([(2, 3)], {"axis": 1, "ddof": 1}),
    "std": ([(3, 2)], {"axis": 0}),
    "norm": ([(2, 3)], {"axis": (0, 1)}),
    "cumsum": ([(2, 3)], {"axis": 0}),
    "flip": ([(2, 3)], {"axis": -1}),
    "tril": ([(2, 3, 3)], {"k": -1}),
    "triu": ([(3, 4)], {"k": 1}),
    "concatenate": ([(2, 3), (1, 3)], {"axis": 0}),
    "stack": ([(2, 3), (2, 3)], {"axis": 2}),
    "leaky_relu": ([(4,)], {"slope": 0.2}),
    "elu": ([(4,)], {"alpha": 0.5}),
    "gelu": ([(2, 3)], {"approximate": "tanh"}),
    "maximum": ([(2, 3), (3,)], {}),
    "minimum": ([(2, 1), (2, 3)], {}),
    "where": ([(2, 3), (3,)], {"condition": ((True, False, True), (False, False, True))}),
    "pad": ([(2, 3)], {"widths": ((1, 0), (0, 2))}),
    "tile": ([(2, 3)], {"reps": (2, 1, 2)}),
    "take_along_axis": ([(2, 3)], {"axis": 1, "indices": ((2, 2, 0, 1), (1, 0, 0, 0))}),
    "einsum": ([(2, 2, 3), (2, 3, 2)], {"subscripts": "bij,bjk->bik"}),
    "layer_norm": ([(2, 3)], {"eps": 0.1}),
    "cross_entropy": ([(2, 3)], {"target": ((0.75, 0.125, 0.125), (0.25, 0.25, 0.5))}),
}


def _draw(op, shapes, rng):
    for _ in range(100):
        args = [rng.uniform(iv.lo, iv.hi, s) for iv, s in zip(op.draw, shapes)]
        if op.accepts(args, spec.check_params(op, CASES.get(op.name, ([], {}))[1])):
            return args
    raise AssertionError(f"could not draw valid arguments for {op.name}")


@pytest.mark.parametrize("name", list(spec.OPS))
def test_numpy_forward_twin_and_shape_agree(name):
    op = spec.OPS[name]
    shapes, params = CASES.get(name, ([(2, 3)] * op.arity, {}))
    rng = np.random.default_rng(0)
    for _ in range(3):
        args = _draw(op, shapes, rng)
        inputs = [Input(f"x{j}", s) for j, s in enumerate(shapes)]
        comp = Composition(inputs, [Node(name, tuple(i.name for i in inputs), params)])
        values = {i.name: a for i, a in zip(inputs, args)}
        got = comp.evaluate_numpy(values)
        assert got.shape == comp.output_shape
        # the numpy reference is a correct float64 implementation of the twin
        j = judge_value(got, Oracle(comp, values).value())
        assert j.verdict is Verdict.PASS, str(j)


# --- domains ------------------------------------------------------------------------------------------


def test_domains_keep_away_from_poles():
    a = lambda name, *args, const=None, **p: spec.get(name).accepts([np.asarray(x, float) for x in args], p, const)
    assert a("log", [0.5, 2.0]) and not a("log", [0.5, 0.01]) and not a("log", [-1.0])
    assert a("div", 1.0, 0.3) and not a("div", 1.0, [0.3, -0.001])
    assert a("tan", 1.0) and not a("tan", np.pi / 2 + 0.01) and not a("tan", -np.pi / 2)
    assert a("sqrt", 0.2) and not a("sqrt", 0.0)
    assert a("exp", 5.0) and not a("exp", 12.0)
    # pow: a drawn exponent needs a positive base (the gradient wrt it is x**y log x) ...
    assert a("pow", 2.0, 1.5) and not a("pow", -2.0, 3.0)
    # ... but a constant integer exponent is a polynomial: any base (away from 0 if negative)
    assert a("pow", -2.0, 3.0, const=(False, True))
    assert not a("pow", 0.0, -2.0, const=(False, True)) and a("pow", 0.0, 2.0, const=(False, True))
    assert not a("pow", -2.0, 2.5, const=(False, True))
    assert not a("pow", 50.0, 3.0)  # 50**3 > MAX_MAGNITUDE
    # kinks by a margin
    assert a("abs", [0.5, -0.2]) and not a("abs", [0.5, 1e-5])
    assert a("clip", [0.0], lo=-1.0, hi=1.0) and not a("clip", [1.0 + 1e-5], lo=-1.0, hi=1.0)
    assert a("max", [[1.0, 2.0]], axis=1) and not a("max", [[2.0, 2.0]], axis=1)
    assert a("max", [[2.0], [2.0]], axis=1)  # one element per slice: no tie possible


# --- kinks: the subdifferential -------------------------------------------------------------------------


def test_abs_accepts_every_library_convention():
    check = spec.get("abs").kink.check
    x = np.array([0.0, -2.0, 3.0])
    ct = np.array([2.0, 1.0, -1.0])
    for slope0 in (0.0, 1.0, -1.0, 0.5):  # PyTorch 0, JAX 1, and anything in [-1, 1]
        assert check([x], ct, [np.array([2 * slope0, -1.0, -1.0])], U64) is None
    assert "outside" in check([x], ct, [np.array([2.5, -1.0, -1.0])], U64)  # slope 1.25 at 0
    assert "away from the kink" in check([x], ct, [np.array([0.0, 1.0, -1.0])], U64)  # wrong sign at -2


def test_relu_and_clip_subdifferentials():
    relu = spec.get("relu").kink.check
    x, ct = np.array([0.0, 0.0]), np.array([1.0, -3.0])
    assert relu([x], ct, [np.array([0.0, -3.0])], U64) is None
    assert relu([x], ct, [np.array([1.0, 0.0])], U64) is None
    assert relu([x], ct, [np.array([-0.1, 0.0])], U64) is not None
    clip = spec.get("clip").kink
    x = np.array([-1.0, 1.0, 0.5, 2.0])
    ct = np.ones(4)
    assert clip.check([x], ct, [np.array([1.0, 0.0, 1.0, 0.0])], U64, lo=-1.0, hi=1.0) is None
    assert clip.check([x], ct, [np.array([0.5, 0.3, 1.0, 0.0])], U64, lo=-1.0, hi=1.0) is None
    assert clip.check([x], ct, [np.array([1.0, 0.0, 1.0, 1.0])], U64, lo=-1.0, hi=1.0) is not None  # outside
    assert clip.check([x], ct, [np.array([1.5, 0.0, 1.0, 0.0])], U64, lo=-1.0, hi=1.0) is not None


def test_max_ties_need_nonnegative_weights_summing_to_one():
    kink = spec.get("max").kink
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])
    ct = np.array([2.0, -1.0])
    ok = [np.array([[0, 1.0, 1.0], [-1.0, 0, 0]]),  # equal split (PyTorch's max with dim does not)
          np.array([[0, 2.0, 0.0], [-1.0, 0, 0]]),  # all to one (argmax convention)
          np.array([[0, 0.5, 1.5], [-1.0, 0, 0]])]
    for g in ok:
        assert kink.check([x], ct, [g], U64, axis=1) is None
    assert "sum to" in kink.check([x], ct, [np.array([[0, 2.0, 2.0], [-1.0, 0, 0]])], U64, axis=1)
    assert "negative" in kink.check([x], ct, [np.array([[0, 3.0, -1.0], [-1.0, 0, 0]])], U64, axis=1)
    assert "not an extreme" in kink.check([x], ct, [np.array([[0.1, 1.0, 1.0], [-1.0, 0, 0]])], U64, axis=1)
    assert kink.distance(x, axis=1).tolist() == [0.0, 1.0]



def test_leaky_relu_elu_and_norm_subdifferentials():
    leaky = spec.get("leaky_relu").kink.check
    x, ct = np.array([0.0, -2.0, 3.0]), np.array([2.0, 1.0, -1.0])
    for slope0 in (0.2, 1.0, 0.5):  # any slope in [0.2, 1] at 0
        assert leaky([x], ct, [np.array([2 * slope0, 0.2, -1.0])], U64, slope=0.2) is None
    assert "outside" in leaky([x], ct, [np.array([0.0, 0.2, -1.0])], U64, slope=0.2)  # slope 0 at 0
    assert "away from the kink" in leaky([x], ct, [np.array([0.4, 1.0, -1.0])], U64, slope=0.2)
    elu = spec.get("elu").kink.check
    assert elu([x], ct, [np.array([1.0, 0.5 * np.exp(-2.0), -1.0])], U64, alpha=0.5) is None
    assert "away from the kink" in elu([x], ct, [np.array([1.0, 0.0, -1.0])], U64, alpha=0.5)  # e**x lost
    norm = spec.get("norm").kink
    x = np.array([[0.0, 0.0], [3.0, -4.0]])
    ct = np.array([2.0, 1.0])
    for g0 in ([0.0, 0.0], [1.2, -1.6], [2.0, 0.0]):  # anything in the ball of radius |ct|
        assert norm.check([x], ct, [np.array([g0, [0.6, -0.8]])], U64, axis=1) is None
    assert "more than" in norm.check([x], ct, [np.array([[2.0, 0.5], [0.6, -0.8]])], U64, axis=1)
    assert "away from the kink" in norm.check([x], ct, [np.array([[0.0, 0.0], [0.6, 0.8]])], U64, axis=1)
    snapped = norm.snap([np.array([[1.0, 2.0], [3.0, 4.0]])], np.array([[False, True], [False, False]]), axis=1)[0]
    assert snapped.tolist() == [[0.0, 0.0], [3.0, 4.0]] and norm.distance(snapped, axis=1).tolist() == [0.0, 5.0]

def test_maximum_and_minimum_ties_split_the_cotangent_in_nonnegative_shares():
    maximum = spec.get("maximum").kink
    x, y, ct = np.array([1.0, 2.0, -1.0]), np.array([1.0, 0.5, 3.0]), np.array([2.0, 1.0, -1.0])
    for share in (0.0, 0.5, 1.0):  # all to y, half each (PyTorch, the core), all to x
        assert maximum.check([x, y], ct, [np.array([2 * share, 1.0, 0.0]), np.array([2 - 2 * share, 0.0, -1.0])], U64) is None
    # the whole cotangent to both (a tie counted twice), a negative share, the loser given a share
    assert "sum to 4.0" in maximum.check([x, y], ct, [np.array([2.0, 1.0, 0.0]), np.array([2.0, 0.0, -1.0])], U64)
    assert "outside" in maximum.check([x, y], ct, [np.array([3.0, 1.0, 0.0]), np.array([-1.0, 0.0, -1.0])], U64)
    assert "away from a tie" in maximum.check([x, y], ct, [np.array([1.0, 1.0, -0.5]), np.array([1.0, 0.0, -0.5])], U64)
    minimum = spec.get("minimum").kink
    assert minimum.check([x, y], ct, [np.array([1.0, 0.0, -1.0]), np.array([1.0, 1.0, 0.0])], U64) is None
    assert "wrt x" in minimum.check([x, y], ct, [np.array([1.0, 1.0, -1.0]), np.array([1.0, 0.0, 0.0])], U64)
    snapped = maximum.snap([x, y], np.array([False, True, False]))
    assert snapped[1].tolist() == [1.0, 2.0, 3.0] and maximum.distance(*snapped).tolist() == [0.0, 0.0, 4.0]
    assert not spec.get("maximum").accepts([x, y], {}) and spec.get("maximum").accepts([x[1:], y[1:]], {})


def test_new_ops_shape_rules_refuse_what_does_not_fit():
    shape = lambda name, shapes, **p: spec.get(name).out_shape(shapes, spec.check_params(spec.get(name), p))
    assert shape("einsum", [(2, 3), (3, 4)], subscripts="ij,jk->ik") == (2, 4)
    assert shape("einsum", [(3,), (3,)], subscripts="i,i->") == ()
    for shapes, subscripts in (([(2, 3), (2, 2)], "ij,jk->ik"), ([(2, 3), (2, 4)], "ij,jk->ik"),
                               ([(2,), (2,)], "ii,i->"), ([(2,), (2,)], "i,i")):
        with pytest.raises(ValueError):
            shape("einsum", shapes, subscripts=subscripts)
    assert shape("tile", [(2, 3)], reps=(2,)) == (2, 6) and shape("tile", [(3,)], reps=(2, 1)) == (2, 3)
    assert shape("pad", [(2, 3)], widths=((1, 0), (2, 2))) == (3, 7)
    with pytest.raises(ValueError, match="one .before, after. pair"):
        shape("pad", [(2, 3)], widths=((1, 0),))
    assert shape("take_along_axis", [(2, 3)], axis=0, indices=((1, 1, 0),)) == (1, 3)
    with pytest.raises(ValueError, match="out of range"):
        shape("take_along_axis", [(2, 3)], axis=0, indices=((2, 0, 0),))
    with pytest.raises(ValueError, match="target probabilities"):
        shape("cross_entropy", [(2, 3)], target=((0.5, 0.5),))
    # layer_norm keeps its rows away from constant ones (the spread of std's domain); a row of one is constant
    assert spec.get("layer_norm").accepts([np.array([[0.0, 1.0], [2.0, -1.0]])], {"eps": 1e-5})
    assert not spec.get("layer_norm").accepts([np.array([[0.5, 0.51], [2.0, -1.0]])], {"eps": 1e-5})
    assert not spec.get("layer_norm").accepts([np.array([[0.5], [2.0]])], {"eps": 1e-5})


def test_new_kinds_offer_values_that_fit_the_shape():
    for name, shape, params in (("where", (2, 3), {}), ("pad", (2, 3), {}), ("tile", (), {}),
                                ("take_along_axis", (2, 3), {"axis": 0}), ("einsum", (2, 3), {}),
                                ("cross_entropy", (2, 3), {})):
        op = spec.get(name)
        p = op.params[-1]
        options = p.choices(shape, params)
        assert options, name
        for value in options:
            full = spec.check_params(op, {**params, p.name: value})
            shapes = [shape] * op.arity if name != "einsum" else [shape, (3, 3) if value == "ij,jk->ik" else shape]
            try:
                op.out_shape(shapes, full)
            except ValueError:
                assert name == "einsum" and value in ("ij,kj->ik", "ij,j->i"), (name, value)
    rows = np.asarray(spec.get("cross_entropy").params[0].choices((3, 2), {}))
    assert np.allclose(rows.sum(axis=-1), 1.0) and (rows >= 0).all()


def test_kink_slack_follows_the_precision():
    """Three float32 thirds sum to 1 + 3e-8: a correct float32 split, wrong at float64's precision."""
    kink = spec.get("max").kink
    x, ct = np.zeros(3), np.array(1.0)
    third = np.full(3, float(np.float32(1 / 3)))
    assert "sum to" in kink.check([x], ct, [third], U64)
    assert kink.check([x], ct, [third], U32) is None
    assert "sum to" in kink.check([x], ct, [np.full(3, 0.34)], U32)  # 2% off is still wrong
    relu = spec.get("relu").kink.check
    g = np.array([float(np.float32(0.3))])  # the cotangent 0.3 passed through in float32
    assert relu([np.array([2.0])], np.array([0.3]), [g], U32) is None
    assert "away from the kink" in relu([np.array([2.0])], np.array([0.3]), [g], U64)


def test_snap_puts_entries_on_the_kink():
    x = np.array([[0.5, -1.5, 2.0]])
    sel = np.array([[True, False, True]])
    assert spec.get("abs").kink.snap([x], sel)[0].tolist() == [[0.0, -1.5, 0.0]]
    assert spec.get("clip").kink.snap([x], sel, lo=-1.0, hi=1.0)[0].tolist() == [[1.0, -1.5, 1.0]]
    snapped = spec.get("max").kink.snap([x], sel, axis=1)[0]
    assert snapped.tolist() == [[2.0, -1.5, 2.0]] and spec.get("max").kink.distance(snapped, axis=1)[0] == 0


# --- params through JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind,value", [
    ("axis", None), ("axis", 1), ("axis", (0, -1)), ("axis1", -1), ("keepdims", True), ("reshape", (3, 2)),
    ("perm", (1, 0)), ("perm", None), ("broadcast", (2, 3)), ("sum_to", (1, 3)), ("bound", -0.5),
    ("labels", (2, 0, 1)), ("index", (slice(1, None, 2), (0, 0, 2), 1)),
    ("mask", ((True, False), (False, True))), ("mask", True), ("pad_width", ((1, 0), (0, 2))), ("reps", (2, 1)),
    ("indices", ((2, 0), (1, 1))), ("subscripts", "ij,jk->ik"), ("probabilities", ((0.75, 0.25),)),
])
def test_params_round_trip_through_json(kind, value):
    import json

    text = json.dumps(spec.param_to_json(kind, value))
    assert spec.param_from_json(kind, json.loads(text)) == value


def test_constants_enter_twins_exactly():
    # 0.1 is not 1/10 in binary: the twin must use the float's exact value.
    comp = Composition([Input("x0")], [Node("mul", ("x0", Const(0.1)))])
    v = Oracle(comp, {"x0": np.array(3.0)}).value()
    # 3 * fl(0.1) is exactly halfway between two floats; float64 rounds it (to even) the same way as
    # the oracle rounds its exact value. With Rational(1, 10) the result would round to 0.3 instead.
    assert float(v.value) == 3.0 * 0.1 == 0.30000000000000004
