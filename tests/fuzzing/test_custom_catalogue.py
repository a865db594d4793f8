"""The catalogue of custom gradients as users write them (custom_torch.py, custom_jax.py): every
entry is recognised with exactly its expected ``unsup`` properties; the cheaper correct functions
pass a short campaign with no finding; planted bugs are found and shrunk. The full run (2,000
examples per control, every planted bug at the default budget, the array-valued ones whose exact
second derivatives take seconds to compile) is ``python -m bench custom_catalogue``: the whole
catalogue here would cost minutes of CI. Without torch or jax the framework's tests skip."""

import pytest

from trigrad.properties import fuzzing
from trigrad.properties.backends import BackendError, resolve

import custom_catalogue as catalogue

# Examples per control here: enough to run every property that applies a few times; JAX compiles
# each new shape, so its controls get fewer.
CONTROL_EXAMPLES = {"torch": 12, "jax": 6}
# The controls run here (one per style; the others, and every control at 2,000 examples, in the benchmark).
CONTROLS_HERE = {"torch": ("Exp", "ExpNew", "ExpVmap", "TanhNoJvp", "ExpOnce", "MulExp", "SinCos", "ScaledSinh",
                           "Softmax"),
                 "jax": ("exp_jvp", "exp_vjp", "exp_times_two")}
# Planted bugs checked here (the rest in the benchmark): found within this budget, and shrunk to at
# most MAX_NODES nodes (the benchmark reports the sizes: shrinking is bounded in time, so the exact
# size can depend on the machine's speed).
PLANTED_HERE = {"torch": ("ExpWrongJvp",), "jax": ("sin3_scaled_twice",)}
PLANTED_EXAMPLES = 200
MAX_NODES = 3


def framework(name):
    """(backend, catalogue module), or a skip with the reason."""
    try:
        backend = resolve(name)
    except BackendError as e:
        pytest.skip(str(e))
    return backend, __import__(f"custom_{name}")


def _entries(name, kind):
    try:
        module = __import__(f"custom_{name}")
    except ImportError:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{name} is not installed"))]
    return [pytest.param(e, id=e.name) for e in getattr(module, kind) if e.name in CONTROLS_HERE[name]]


@pytest.mark.parametrize("name", ["torch", "jax"])
def test_every_style_is_recognised_with_its_unsup_reasons(name):
    backend, module = framework(name)
    styles = set()
    for entry in module.CORRECT + module.PLANTED:
        target = fuzzing.make_target(entry.obj, backend, name=entry.name, **entry.twin)
        styles.add(target.kind)
        if isinstance(entry, catalogue.Control):
            got = set(fuzzing.unsupported_for(fuzzing.FuzzBackend(backend, target)))
            assert got == entry.unsup, (entry.name, got)
    expected = ({"torch.autograd.Function"} if name == "torch" else {"jax.custom_vjp", "jax.custom_jvp", "callable"})
    assert expected <= styles
    assert len(module.CORRECT) >= 10 and sum("array-valued" in e.style for e in module.CORRECT) >= 2


@pytest.mark.parametrize("entry", _entries("torch", "CORRECT"))
def test_a_correct_torch_function_passes(entry):
    backend, _ = framework("torch")
    outcome = catalogue.campaign(entry, backend, CONTROL_EXAMPLES["torch"])
    assert outcome.report is None, outcome.text
    assert set(outcome.unsupported) == entry.unsup


@pytest.mark.parametrize("entry", _entries("jax", "CORRECT"))
def test_a_correct_jax_function_passes(entry):
    backend, _ = framework("jax")
    outcome = catalogue.campaign(entry, backend, CONTROL_EXAMPLES["jax"])
    assert outcome.report is None, outcome.text
    assert set(outcome.unsupported) == entry.unsup


@pytest.mark.parametrize("name, bug", [(n, b) for n, bugs in PLANTED_HERE.items() for b in bugs])
def test_a_planted_bug_is_found_and_shrunk_to_the_function_alone(name, bug):
    backend, module = framework(name)
    entry = next(e for e in module.PLANTED if e.name == bug)
    outcome = catalogue.campaign(entry, backend, PLANTED_EXAMPLES)
    assert outcome.json is not None, f"{bug} not found in {PLANTED_EXAMPLES} examples"
    ops = [n["op"] for n in outcome.json["composition"]["nodes"]]
    assert bug in ops and len(ops) <= MAX_NODES, ops


def test_a_reverse_only_function_is_unsup_not_a_failure():
    """A torch Function without setup_context, called through a plain callable: torch's own message
    ("must override the setup_context") marks forward mode unsup."""
    backend, module = framework("torch")
    target = fuzzing.make_target(lambda x: module.Exp.apply(x), backend, name="exp_callable", sympy="exp(x)",
                                 domain=["x=-2:2"])
    assert set(target.unsupported) == {"jvp"} and "no forward mode" in target.unsupported["jvp"]
