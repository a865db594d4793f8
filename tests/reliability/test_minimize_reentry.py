"""Minimization never re-enters itself: a backend whose sin raises on some inputs, with its gradients
wrong everywhere, gives a cell whose failure is shrunk by one pass, and a pass asked for inside a pass returns at once
(a stack dump showed 37 nested levels; one cell took 509 s)."""

import numpy as np
from hypothesis import settings

from trigrad.oracle.ir import Composition, Input, Node
from trigrad.properties import minimize as minimizing
from trigrad.properties import report as reports
from trigrad.properties import suite
from trigrad.properties.example import Example

from cli_targets import NegatedGradients


class SinRaises(NegatedGradients):
    """Every gradient negated, and sin raising where its argument exceeds 1 in magnitude."""

    name = "sin_raises"

    def op(self, name):
        f = super().op(name)
        if name != "sin":
            return f

        def sin(x, **params):
            if np.any(np.abs(self.tonumpy(x)) > 1):
                raise ValueError("sin of an argument above 1")
            return f(x, **params)

        return sin


def test_minimization_never_reenters_itself(monkeypatch):
    depth, deepest = [0], [0]
    real = reports.minimize

    def watched(example, still_fails, **kw):
        depth[0] += 1
        deepest[0] = max(deepest[0], depth[0])
        try:
            return real(example, still_fails, **kw)
        finally:
            depth[0] -= 1

    monkeypatch.setattr(reports, "minimize", watched)
    cell = suite.run_cell(SinRaises(), "vjp", "sin", profile=settings(settings.get_profile("ci"), max_examples=30))
    assert cell.status == "fail" and cell.report is not None, cell.error
    assert deepest[0] == 1

    # a pass asked for inside a pass (what formatting a chained failure once did) returns at once,
    # without rechecking anything
    comp = Composition([Input("x0")], [Node("sin", ("x0",)), Node("exp", ("n0",)), Node("mul", ("n1", "x0"))])
    example = Example(comp, {"x0": np.array(0.5)})
    inner_checks = []

    def fails(ex):
        assert minimizing.minimize(ex, lambda e: inner_checks.append(e) or True) is ex
        return True

    smallest = minimizing.minimize(example, fails)
    assert len(smallest.comp.nodes) == 1 and inner_checks == []
    assert not minimizing._RUNNING.active
