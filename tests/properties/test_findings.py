"""Findings grouped by cause (the wrong op named by checking each node alone), reproducers run in a
fresh interpreter, and the op x library matrix (properties.findings, properties.matrix, trigrad matrix).

The bugs are planted in adapters over the built-in core (tests/properties/broken_adapter.py), where a
fresh interpreter sees them too, and in the core itself (properties/planted.py), where it does not.
Failures are made by checking hand-built examples, not by running cells, to keep this file cheap.
"""

import json

import numpy as np

from trigrad.oracle.ir import Composition, Input, Node
from trigrad.properties import findings, html_report, matrix, planted, suite
from trigrad.properties.backends import Backend
from trigrad.properties.backends.builtin import Builtin
from trigrad.properties.cli import main
from trigrad.properties.example import Example
from trigrad.properties.report import Failure

from broken_adapter import HERE, Broken, Hidden

BROKEN = f"{HERE / 'broken_adapter.py'}:Broken"
X, Y = np.array([0.3, -0.7]), np.array([1.1, 0.4])
CT = np.array([1.0, -0.5])
CHAIN = Composition([Input("x0", (2,))], [Node("mul", ("x0", "x0")), Node("sin", ("n0",)), Node("exp", ("n1",))])
TANH = Composition([Input("x0", (2,)), Input("x1", (2,))], [Node("tanh", ("x0",)), Node("add", ("n0", "x1"))])


def failure(backend, prop, row, comp, values, **vectors):
    """(property, row, report) of the check failing on this example."""
    try:
        suite.PROPERTIES[prop].check(backend, Example(comp, values), **vectors)
    except Failure as f:
        return prop, row, f.report
    raise AssertionError(f"{prop} passed on {comp.formula()}")


def broken_failures():
    b = Broken()
    t = {"x0": np.array([0.2, 1.0])}
    return b, [failure(b, "vjp", "sin", CHAIN, {"x0": X}, cotangent=CT),
               failure(b, "hvp", "mul", CHAIN, {"x0": X}, cotangent=CT, tangents=t),
               failure(b, "jvp", "all ops", CHAIN, {"x0": X}, tangents=t),
               failure(b, "vjp", "tanh", TANH, {"x0": X, "x1": Y}, cotangent=CT),
               failure(b, "vjp", "add", TANH, {"x0": X, "x1": Y}, cotangent=CT)]


def test_failures_with_one_cause_are_one_finding_naming_the_wrong_op():
    backend, failures = broken_failures()
    found = findings.group(backend, failures, verify_reproducers=False)
    assert [(f.op, f.pattern, f.cells) for f in found] == [
        ("sin", "fail: wrong first derivative", [("vjp", "sin"), ("hvp", "mul"), ("jvp", "all ops")]),
        ("tanh", "the backend raised AssertionError: expected at least # dims, got # for shape (#,)",
         [("vjp", "tanh"), ("vjp", "add")])]
    sin = found[0]
    assert sin.culprit.node == "n1" and sin.culprit.prop == "vjp"
    # the finding's counterexample is the wrong op alone, at the values it saw: sin(x0 * x0)
    assert sin.report.example.comp.formula() == "sin(a0)"
    assert np.array_equal(sin.report.example.values["a0"], X * X)
    assert "finding: sin is wrong: fail: wrong first derivative" in sin.text()
    assert "cells (3): vjp[sin], hvp[mul], jvp[all ops]" in sin.text()


def test_a_bug_of_the_graph_is_a_finding_of_the_composition():
    """Gradients overwritten instead of accumulated: x0 * x0 is wrong, each op alone is right."""
    bug = next(b for b in planted.CATALOGUE if b.name == "gradient overwritten instead of accumulated")
    backend = Builtin()
    with planted.planted(bug):
        fail = failure(backend, "vjp", "mul", CHAIN, {"x0": X}, cotangent=CT)
        (finding,) = findings.group(backend, [fail], verify_reproducers=False)
    assert finding.op is None and finding.culprit is None
    assert finding.title == "no op is wrong alone (the composition): fail: wrong first derivative"


def test_reproducers_are_run_and_show_the_wrong_number_or_the_exception():
    backend, failures = broken_failures()
    sin, tanh = findings.group(backend, failures)
    assert sin.reproduction.status == "reproduced", sin.reproduction
    j = sin.report.judgement
    assert f"= {j.autograd!r} (exact {j.exact!r})" in sin.reproduction.detail  # the wrong number, printed
    assert tanh.reproduction.status == "reproduced"
    assert tanh.reproduction.detail.startswith("it raises AssertionError: expected at least 8 dims")


def test_a_reproducer_that_does_not_reproduce_is_trigrads_error():
    """Hidden scales exp inside the adapter only; its snippet calls the core's exp and prints the
    exact gradient: the finding says the reproducer does not reproduce."""
    b = Hidden()
    comp = Composition([Input("x0", (2,))], [Node("exp", ("x0",))])
    fail = failure(b, "vjp", "exp", comp, {"x0": X}, cotangent=CT)
    (finding,) = findings.group(b, [fail])
    assert finding.op == "exp" and finding.pattern == "forward wrong: wrong value"
    assert finding.reproduction.status == "not reproduced"
    assert "trigrad error: the reproducer does not reproduce" in finding.text()
    # and with the snippet fixed to show what the adapter runs, it does
    b.source = lambda name: "(F.exp({0}) * (1 + 1e-6))" if name == "exp" else Hidden.source(b, name)
    assert findings.verify(finding.report).status == "reproduced"


def test_an_adapter_without_a_reproducer_of_its_own_is_not_checked():
    """The protocol's default snippet only says where to compute the gradient: nothing to run."""

    class Unwritten(Hidden):
        vjp_source = Backend.vjp_source

    b = Unwritten()
    fail = failure(b, "vjp", "exp", Composition([Input("x0", (2,))], [Node("exp", ("x0",))]), {"x0": X}, cotangent=CT)
    run = findings.verify(fail[2])
    assert run.status == "not checked" and "Backend.vjp_source" in run.detail


def test_patterns_take_numbers_out():
    class R:
        judgement, prop = None, "vjp"
        detail = "the backend raised ValueError: shape (2, 3) and 1.5e-3 at 0x1.8p+1 differ"
    assert findings.pattern(R()) == "the backend raised ValueError: shape (#, #) and # at # differ"


def _doc(backend, statuses, found=()):
    """A check run's JSON as trigrad check writes it (the fields the matrix reads)."""
    rows = sorted({op for _, op in statuses})
    return {"backend": backend, "profile": "ci", "examples": 10, "seconds": 1.0, "rows": rows,
            "properties": sorted({p for p, _ in statuses}), "findings": list(found),
            "cells": [{"property": p, "op": op, "status": s} for (p, op), s in statuses.items()]}


def test_matrix_folds_each_ops_cells_into_one_outcome():
    a = _doc("liba 1.0", {("vjp", "sin"): "pass", ("hvp", "sin"): "fail", ("jvp", "sin"): "fail",
                          ("vjp", "exp"): "pass", ("hvp", "exp"): "unsupported: no second order",
                          ("vjp", "cos"): "unsupported: liba has no cos", ("hvp", "cos"): "unsupported: x",
                          ("vjp", "all ops"): "known", ("hvp", "all ops"): "not reached"})
    b = _doc("libb 2.0", {("vjp", "sin"): "pass", ("vjp", "cos"): "error", ("vjp", "exp"): "not reached",
                          ("vjp", "all ops"): "pass"})
    m = matrix.build([a, b])
    assert m["ops"][-1] == "all ops"
    t = m["table"]
    assert t["sin"]["liba 1.0"] == {"outcome": "finding", "properties": ["hvp", "jvp"]}
    assert t["exp"]["liba 1.0"]["outcome"] == "pass" and t["exp"]["libb 2.0"]["outcome"] == "not reached"
    assert t["cos"]["liba 1.0"]["outcome"] == "unsupported" and t["cos"]["libb 2.0"]["outcome"] == "error"
    assert t["all ops"]["liba 1.0"]["outcome"] == "known"
    text = matrix.text(m)
    assert "FAIL (hvp, jvp)" in text and "ERROR (vjp)" in text
    assert "liba 1.0: 10 examples, 1 s, 1 failing, 1 known, 1 pass, 1 unsupported" in text
    page = html_report.render([a, b], [])
    assert '<h2 id="matrix">' in page and '<td class="fail">FAIL (hvp, jvp)</td>' in page
    assert [lib["backend"] for lib in matrix.build([a, b, a])["libraries"]] == ["liba 1.0", "libb 2.0", "liba 1.0 (2)"]


def test_trigrad_check_and_matrix_show_findings_by_cause(tmp_path, capsys):
    """One command for the matrix: a library run here (the broken adapter), another from its JSON."""
    other = tmp_path / "other.json"
    other.write_text(json.dumps(_doc("libb 2.0", {("vjp", "sin"): "pass", ("vjp", "tanh"): "pass",
                                                  ("vjp", "all ops"): "pass"})))
    out_json, out_html = tmp_path / "m.json", tmp_path / "m.html"
    status = main(["matrix", "--backend", BROKEN, "--backend", "tourch", "--from", str(other), "--ops", "sin,tanh",
                   "--properties", "vjp", "--profile", "ci", "--json", str(out_json), "--html", str(out_html)])
    captured = capsys.readouterr()
    assert status == 1
    assert "tourch left out: unknown backend 'tourch'" in captured.err
    lines = captured.out.splitlines()
    table = lines[lines.index("") + 1:]
    assert table[0].startswith("op ") and "libb 2.0  broken " in table[0]
    assert [row.split()[0] for row in table[1:3]] == ["sin", "tanh"]
    assert "FAIL (vjp)" in table[1] and "pass" in table[1]
    assert "sin is wrong: fail: wrong first derivative (1 cell: vjp[sin]; reproducer shows it)" in captured.out
    data = json.loads(out_json.read_text())
    assert data["trigrad"] == "matrix" and len(data["checks"]) == 2
    broken = next(d for d in data["checks"] if d["backend"].startswith("broken"))
    assert [f["op"] for f in broken["findings"]] == ["sin", "tanh"]
    assert broken["findings"][0]["reproducer_run"]["status"] == "reproduced"
    page = out_html.read_text()
    assert "Findings by cause" in page and "sin is wrong" in page and "reproducer run" in page


def test_trigrad_check_prints_findings_by_cause(capsys):
    assert main(["check", "--backend", BROKEN, "--ops", "sin,tanh", "--properties", "vjp,jvp", "--profile", "ci",
                 "--quiet", "--no-reproduce"]) == 1
    out = capsys.readouterr().out
    assert "2 findings by cause:\nfinding: sin is wrong: fail: wrong first derivative\n  cells (2): vjp[sin], jvp[sin]" in out
    assert "finding: tanh is wrong: the backend raised AssertionError" in out
    assert "reproducer run" not in out


def test_matrix_usage_errors(capsys):
    assert main(["matrix"]) == 2
    assert "name at least one library" in capsys.readouterr().err
    assert main(["matrix", "--backend", "tourch"]) == 2
    assert "no library could be run" in capsys.readouterr().err
