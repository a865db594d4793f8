"""``trigrad report``: JSON of check and accuracy runs into one self-contained HTML page, checked as
text here and rendered in headless Chromium (skipped with the reason when there is none)."""

import json
import os
import pathlib
import re
import sys

import pytest

from trigrad.properties import accuracy, html_report, plots
from trigrad.properties.backends import resolve
from trigrad.properties.cli import main

import browser

SCREENSHOT_ENV = "TRIGRAD_REPORT_SCREENSHOT"  # set to a path to keep the browser test's screenshot
needs_matplotlib = pytest.mark.skipif(not plots.has_matplotlib(), reason="no matplotlib (pip install 'trigrad[plot]')")


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """A check run with a counterexample (sin's backward with the wrong sign) and an accuracy run of two
    backends, one with the textbook sigmoid derivative (0 beyond x ~ 37), as the commands write them."""
    from trigrad.autograd import functions

    plant = _conftest().plant  # the planting helper of this directory's conftest, for a module-wide fixture
    tmp = tmp_path_factory.mktemp("report")
    mp = pytest.MonkeyPatch()
    try:
        plant(mp, functions.Sin, "backward", "return gy * cos(x)", "return -gy * cos(x)")
        assert main(["check", "--ops", "sin,exp", "--properties", "value,vjp", "--profile", "ci", "--quiet", "-j", "1",
                     "--json", str(tmp / "check.json")]) == 1
        good = accuracy.profile(resolve("builtin"), ["sigmoid", "pow"], points=40)
        plant(mp, functions.Sigmoid, "backward", "return gy * _sigmoid_grad(x)",
              "return gy * self.outputs[0]() * (1 - self.outputs[0]())")
        textbook = accuracy.profile(resolve("builtin"), ["sigmoid", "pow"], points=40)
    finally:
        mp.undo()
    textbook.backend = "textbook sigmoid"
    (tmp / "accuracy.json").write_text(accuracy.dumps([good, textbook]))
    return tmp


def _conftest():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_properties_conftest", pathlib.Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_matplotlib
def test_json_round_trip_into_the_page(sources, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", "--from", str(sources / "check.json"), str(sources / "accuracy.json"),
                 "--html", str(out)]) == 0
    assert "trigrad report:" in capsys.readouterr().out
    page = out.read_text()
    # the conformance table, the counterexample with its formula and reproducer
    assert page.count('<table class="conformance">') == 1 and '<td class="fail"' in page
    assert "vjp / sin" in page and "sin(x" in page and "import trigrad.autograd as F" in page
    # the accuracy table with both backends and the finding that sigmoid' is 0 where exact is not
    assert page.count('<table class="accuracy">') == 1
    assert "textbook sigmoid" in page and "0 where the exact value is not" in page
    assert re.search(r"<b>textbook sigmoid</b>: sigmoid d/dx: 0 where the exact value is not", page)
    # a plot per sweep, embedded: nothing is fetched from anywhere
    assert page.count('<figure class="plot">') == 3  # sigmoid, pow(x, 2.25), pow(3, y)
    assert not re.search(r'(src|href)="(?!data:)', page)


def test_without_matplotlib_the_page_keeps_its_tables(sources, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    checks, runs = html_report.load([sources / "check.json", sources / "accuracy.json"])
    page = html_report.render(checks, runs)
    assert "<img" not in page and "Plots need matplotlib" in page
    assert '<table class="accuracy">' in page and '<table class="conformance">' in page


@pytest.mark.parametrize("content,message", [
    (None, "cannot read"),
    ("{not json", "is not JSON"),
    ('{"some": "thing"}', "is not the JSON of trigrad check or trigrad accuracy"),
])
def test_bad_sources_are_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "in.json"
    if content is not None:
        path.write_text(content)
    assert main(["report", "--from", str(path), "--html", str(tmp_path / "out.html")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_missing_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["report", "--html", "x.html"])
    assert e.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


@needs_matplotlib
def test_accuracy_plots_are_written_to_a_directory(sources, tmp_path):
    data = json.loads((sources / "accuracy.json").read_text())
    paths = plots.write_plots(data, str(tmp_path / "plots"))
    assert sorted(os.path.basename(p) for p in paths) == ["pow_3__y.png", "pow_x__2.25.png", "sigmoid.png"]
    assert all(pathlib.Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


@needs_matplotlib
def test_plots_span_the_whole_float64_range():
    run = accuracy.profile(resolve("builtin"), ["log", "sqrt"], points=12)  # from 5e-324 to 1.7e308
    data = json.loads(accuracy.dumps([run]))
    for label, panels in plots.sweeps_by_label(data["runs"]).items():
        assert plots.plot_png(label, panels)[:4] == b"\x89PNG"


@needs_matplotlib
@pytest.mark.skipif(browser.unavailable() is not None, reason=str(browser.unavailable()))
def test_the_page_renders_in_a_real_browser(sources, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", "--from", str(sources / "check.json"), str(sources / "accuracy.json"),
                 "--html", str(out)]) == 0
    with browser.Browser() as b:
        b.open(out.as_uri())
        seen = b.run("""
            const imgs = [...document.querySelectorAll('figure.plot img')];
            return {
              title: document.title,
              conformance: document.querySelectorAll('table.conformance tr').length,
              accuracy: document.querySelectorAll('table.accuracy tr').length,
              failCells: document.querySelectorAll('table.conformance td.fail').length,
              counterexamples: document.querySelectorAll('.counterexample pre').length,
              plots: imgs.length,
              decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
              plotWidth: Math.min(...imgs.map(i => i.getBoundingClientRect().width)),
              findings: document.querySelectorAll('li.finding.zero').length,
            };""")
        keep = os.environ.get(SCREENSHOT_ENV)
        if keep:
            height = b.run("return document.documentElement.scrollHeight")
            b.resize(1400, min(int(height) + 140, 4000))
            b.screenshot(keep)
    assert seen["title"] == "trigrad report"
    # header, sin, exp; a FAIL cell and a counterexample for each failing cell of the JSON (sin's vjp,
    # and exp's where its row's compositions happen to draw sin too)
    failing = [c for c in json.loads((sources / "check.json").read_text())["cells"] if c["status"] == "fail"]
    assert ("vjp", "sin") in {(c["property"], c["op"]) for c in failing}
    assert seen["conformance"] == 3 and seen["failCells"] == len(failing) and seen["counterexamples"] == len(failing)
    assert seen["accuracy"] > 5 and seen["findings"] >= 1
    assert seen["plots"] == 3 and seen["decoded"] == 3 and seen["plotWidth"] > 100, seen
