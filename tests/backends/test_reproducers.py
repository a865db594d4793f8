"""Reproducer snippets for every library: they run with the library alone and compute what the
check computed.

The bug is planted in the adapter (exp scaled by 1 + 1e-6, 1 + 1e-3 in float32), not in the library, so the snippet,
which calls the library directly, must print the exact answer: that shows it rebuilds the same
composition, inputs, cotangent and tangents, and differentiates the same way. The real findings
(properties/known/*.txt) are reproduced bit for bit by their own snippets.
"""

import contextlib
import io
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import settings

from trigrad.properties import suite
from trigrad.properties.backends import BackendError, resolve

CI = settings.get_profile("ci")
LIBRARIES = ["torch", "torch[float32]", "jax", "dezero", "hips", "mygrad", "tinygrad", "chainer"]


def _backend(name):
    try:
        return resolve(name)
    except BackendError as e:
        pytest.skip(str(e))


def _planted(backend):
    """The same adapter with exp too large by 1e-6 (float64), or by far more than float32 rounds."""
    real, factor = backend.op, 1 + max(1e-6, 2e4 * backend.unit_roundoff)

    def op(name):
        f = real(name)
        return (lambda x: f(x) * factor) if name == "exp" else f

    backend.op = op
    return backend


def _run(snippet):
    """Run a snippet here; what DeZero's and Chainer's inline import workarounds add (np.int,
    np.sctypes, module stand-ins) is taken away again afterwards."""
    namespace, had_int, had_sctypes, modules = {}, hasattr(np, "int"), hasattr(np, "sctypes"), set(sys.modules)
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            exec(snippet, namespace)
    finally:
        if not had_int and hasattr(np, "int"):
            del np.int
        if not had_sctypes and hasattr(np, "sctypes"):  # Chainer's inline stand-in
            del np.sctypes
        for name in set(sys.modules) - modules:
            if name.split(".")[0] in ("matplotlib", "PIL") and not hasattr(sys.modules[name], "__file__"):
                del sys.modules[name]
    return namespace, out.getvalue()


def _result(backend, namespace, prop, name, inputs):
    """The snippet's gradient (vjp) or second-order result (hvp) for input ``name``."""
    k = inputs.index(name)
    results = namespace.get("hvp" if prop == "hvp" else "grads")
    if results is not None:  # snippets that collect the results in a list (torch, jax, hips, ...)
        return np.asarray(backend.tonumpy(results[k]), dtype=float)
    grad = namespace[name].grad  # DeZero's API (a Variable) and MyGrad's (an array): on the leaf
    return np.asarray(grad if isinstance(grad, np.ndarray) else grad.data, dtype=float)


@pytest.mark.parametrize("prop", ["vjp", "hvp"])
@pytest.mark.parametrize("library", LIBRARIES)
def test_snippets_compute_what_the_check_computed(library, prop):
    backend = _planted(_backend(library))
    if not backend.capable(prop):
        pytest.skip(f"{library} has no {prop}")
    cell = suite.run_cell(backend, prop, "exp", max_examples=50, profile=CI)
    assert cell.status == "fail", cell.status
    report = cell.report
    j = report.judgement
    namespace, out = _run(report.reproducer())
    label = "second order wrt" if prop == "hvp" else "gradient wrt"
    assert label in out, out
    if j is None or j.what is None or "wrt" not in j.what:  # a forward failure: the value is what differs
        assert "value:" in out
        return
    got = _result(backend, namespace, prop, j.what.split()[-1], list(report.example.values))
    got = float(got[j.index or ()])
    assert abs(got - j.exact) <= j.bound, (got, j.exact, j.bound, report.reproducer())  # the library is right
    assert got != j.autograd  # and the planted adapter was not


# The findings: (backend, property, op) whose snippets show the library's own wrong answer.
FINDINGS = [("torch", "hvp", "pow"), ("dezero", "vjp", "matmul"), ("dezero", "vjp", "sum"),
            ("dezero", "value", "mean_squared_error"), ("hips", "hvp", "pow"), ("hips", "vjp", "broadcast_to"),
            ("chainer", "value", "sigmoid"), ("chainer", "vjp", "softplus"), ("tinygrad", "hvp", "pow")]


@pytest.mark.parametrize("library, prop, op", FINDINGS)
def test_findings_reproduce_with_the_library_alone(library, prop, op):
    backend = _backend(library)
    cell = suite.run_cell(backend, prop, op, max_examples=100, profile=CI)
    assert cell.status == "fail", cell.status
    report, j = cell.report, cell.report.judgement
    try:
        namespace, out = _run(report.reproducer())
    except Exception as e:  # noqa: BLE001 - a finding can be the library raising
        assert type(e).__name__ in report.detail or type(e).__name__ in (j.reason if j else ""), (e, report.text())
        return
    if j is not None and j.what and "wrt" in j.what:
        name = j.what.split()[-1]
        got = _result(backend, namespace, prop, name, list(report.example.values))
        if j.autograd is None:  # a gradient of the wrong shape: the snippet shows the same shape
            assert got.shape != np.shape(report.example.values[name]) and "shape " + str(got.shape) in j.reason
        else:
            assert float(got[j.index or ()]) == j.autograd, report.reproducer()  # bit for bit
    else:
        assert "value:" in out


def test_a_dezero_snippet_runs_in_a_fresh_interpreter():
    """DeZero does not import on NumPy 2 as published: its snippets carry the workaround, and run
    alone."""
    backend = _planted(_backend("dezero"))
    cell = suite.run_cell(backend, "vjp", "exp", max_examples=50, profile=CI)
    r = subprocess.run([sys.executable, "-c", cell.report.reproducer()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "gradient wrt" in r.stdout, r.stderr
