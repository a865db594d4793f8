"""``trigrad report``: one self-contained HTML page from the JSON of ``trigrad check`` and
``trigrad accuracy`` runs.

The page has the op x library matrix (when several backends were checked), the conformance tables of
every checked backend side by side, the findings grouped by cause, every counterexample
(formula, verdict, inputs and the reproducer), the accuracy summary (median and max ULP error per op,
derivative and backend), the accuracy findings, and per op a plot of ULP error against x with one
line per backend. Plots are PNGs drawn by matplotlib (the optional ``plot`` extra) and embedded as
data: URIs; nothing on the page is fetched from anywhere. Without matplotlib the page says so and
still has every table.
"""

from __future__ import annotations

import base64
import html
import json
import os

from . import accuracy, documents, matrix, suite
from .errors import UsageError
from .plots import has_matplotlib, plot_png, sweeps_by_label


# --- reading -------------------------------------------------------------------------------------


def load(paths) -> tuple[list[dict], list[dict]]:
    """(check documents, accuracy runs) from JSON files written by ``trigrad check --json`` and
    ``trigrad accuracy --json``; a UsageError naming the file and the first thing wrong with it (not
    readable, not UTF-8, not JSON, or not of the shape ``properties.documents`` describes)."""
    checks, runs = [], []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except OSError as e:
            raise UsageError(f"cannot read {path}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise UsageError(f"{path} is not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start})") from None
        except (json.JSONDecodeError, RecursionError) as e:
            why = f"{e.msg} at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else "nested too deeply"
            raise UsageError(f"{path} is not JSON ({why})") from None
        if documents.validate(data, path) == "accuracy":
            runs.extend(data["runs"])
        else:
            checks.append(data)
    return checks, runs


# --- the page ------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin-bottom: .3em; }
table { border-collapse: collapse; font-size: 12px; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
th { background: #f4f4f4; }
.side { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
/* narrow conformance tables (property names written upwards), so that several sit side by side */
table.conformance th.prop { writing-mode: vertical-rl; transform: rotate(180deg); padding: 4px 2px; }
table.conformance td { padding: 1px 3px; font-size: 11px; } table.conformance caption { max-width: 30em; }
.pass, .good { background: #dff3df; } .fail, .error, .bad { background: #f8d0d0; }
.known, .fair { background: #fbe9c5; } .unsup, .na, .none { color: #888; }
pre { background: #f7f7f7; padding: .6em; font-size: 12px; overflow-x: auto; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; }
figcaption { font-size: 12px; color: #555; }
.note { color: #555; font-size: 13px; }
"""


def _e(text) -> str:
    return html.escape(str(text))


def _mark(status: str) -> tuple[str, str]:
    """(the table's mark, the CSS class of the cell)."""
    mark = suite.mark(status)
    if status in suite.STATUS_MARK:
        return mark, status.replace(" ", "-")
    return mark, {"unsup": "unsup", "n/a": "na"}.get(mark, "")


def conformance_html(checks: list[dict]) -> str:
    """The conformance tables, one per backend, side by side."""
    parts = []
    for doc in checks:
        cells = {(c["property"], c["op"]): c for c in doc["cells"]}
        props, ops = doc["properties"], doc["rows"]
        head = "".join(f'<th class="prop">{_e(p)}</th>' for p in props)
        body = []
        for op in ops:
            tds = []
            for p in props:
                c = cells.get((p, op))
                mark, cls = _mark(c["status"]) if c else ("", "")
                title = f' title="{_e(c["status"])}"' if c else ""
                tds.append(f'<td class="{cls}"{title}>{_e(mark)}</td>')
            body.append(f"<tr><th>{_e(op)}</th>{''.join(tds)}</tr>")
        n = {s: sum(1 for c in doc["cells"] if c["status"] == s) for s in ("pass", "fail", "known")}
        caption = (f"{_e(doc['backend'])}: profile {_e(doc.get('profile'))}, {doc.get('examples', 0):,} examples, "
                   f"{n['pass']} pass, {n['fail']} fail, {n['known']} known")
        parts.append(f'<table class="conformance"><caption>{caption}</caption><tr><th>op</th>{head}</tr>'
                     f"{''.join(body)}</table>")
    return f'<div class="side">{"".join(parts)}</div>'


def counterexamples_html(checks: list[dict]) -> str:
    """Every counterexample of every check run: formula, verdict, inputs, reproducer."""
    out = []
    for doc in checks:
        for c in doc["cells"]:
            r = c.get("report")
            if c["status"] not in ("fail", "known", "error") or (r is None and not c.get("error")):
                continue
            out.append(f'<div class="counterexample"><h3>{_e(doc["backend"])}: {_e(c["property"])} / {_e(c["op"])} '
                       f'({_e(suite.mark(c["status"]))})</h3>')
            if r is None:
                out.append(f"<p>{_e(c['error'])}</p></div>")
                continue
            rows = [("formula", f"<code>{_e(r['formula'])}</code>"),
                    ("inputs", "<br>".join(f"{_e(k)} = <code>{_e(v)}</code>" for k, v in r["inputs"].items()))]
            if r.get("verdict"):
                rows.append(("check", _e(f"{r['what']}: autograd {r['autograd']!r}, exact {r['exact']!r}, "
                                         f"numeric {r['numeric']!r}, allowed error {r['allowed_error']!r}")))
                rows.append(("verdict", _e(f"{r['verdict']}: {r['reason']}")))
            elif r.get("reason"):
                rows.append(("detail", _e(r["reason"])))
            if c.get("error") and c["status"] == "known":
                rows.append(("known", _e(c["error"])))
            out.append("<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>")
            out.append(f"<pre>{_e(r['reproducer'])}</pre></div>")
    return "\n".join(out) or '<p class="note">No counterexamples.</p>'


MATRIX_CLASS = {"finding": "fail", "error": "error", "known": "known", "pass": "pass", "unsupported": "unsup",
                "not reached": "none"}


def matrix_html(checks: list[dict]) -> str:
    """The op x library table (``properties.matrix``): one cell per op and library, failing
    properties named."""
    m = matrix.build(checks)
    libs = [lib["backend"] for lib in m["libraries"]]
    head = "".join(f"<th>{_e(lib)}</th>" for lib in libs)
    body = []
    for op in m["ops"]:
        tds = []
        for lib in libs:
            entry = m["table"][op].get(lib)
            cls = MATRIX_CLASS[entry["outcome"]] if entry else ""
            tds.append(f'<td class="{cls}">{_e(matrix.mark(entry))}</td>')
        body.append(f"<tr><th>{_e(op)}</th>{''.join(tds)}</tr>")
    counts = "".join(f"<li>{_e(lib['backend'])}: {lib['examples']:,} examples, {lib['seconds']:.0f} s, "
                     + _e(", ".join(f"{n} {matrix.COUNTED[k]}" for k, n in m["counts"][lib["backend"]].items() if n)) + "</li>"
                     for lib in m["libraries"])
    return f'<table class="matrix"><tr><th>op</th>{head}</tr>{"".join(body)}</table><ul>{counts}</ul>'


def findings_html(checks: list[dict]) -> str:
    """Each check run's findings grouped by cause: the wrong op, the cells it fails, the smallest
    counterexample and what running its reproducer showed."""
    out = []
    for doc in checks:
        for f in doc.get("findings", []):
            r, run = f.get("report") or {}, f.get("reproducer_run") or {}
            cells = ", ".join(f"{c['property']}[{c['op']}]" for c in f["cells"])
            rows = [("cells", _e(f"{len(f['cells'])}: {cells}"))]
            if f.get("node"):
                rows.append(("named by", _e(f"checking each node alone: {f['node']} ({f['op']}) fails "
                                            f"{f['local_property']} by itself")))
            if r:
                rows.append(("counterexample", f"<code>{_e(r['formula'])}</code> ({_e(r['property'])})"))
            if run:
                cls = {"reproduced": "pass", "not reproduced": "fail"}.get(run["status"], "")
                state = "trigrad error: does not reproduce" if run["status"] == "not reproduced" else run["status"]
                rows.append(("reproducer run", f'<span class="{cls}">{_e(state)}</span>: {_e(run["detail"])}'))
            out.append(f'<div class="finding"><h3>{_e(doc["backend"])}: {_e(f["title"])}</h3><table>'
                       + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"
                       + (f"<pre>{_e(r['reproducer'])}</pre>" if r else "") + "</div>")
    return "\n".join(out) or '<p class="note">No findings.</p>'


def _grade(v) -> str:
    if v is None:
        return "none"
    return "good" if v <= accuracy.FEW_ULPS else "fair" if v <= 1000 else "bad"


def accuracy_html(runs: list[dict]) -> str:
    """The accuracy summary (a row per op and derivative, a column per backend) and the findings."""
    backends = [r["backend"] for r in runs]
    index = {}
    for run in runs:
        for r in accuracy.rows(run):
            index.setdefault((r["label"], r["name"]), {})[run["backend"]] = r
    head = "".join(f"<th>{_e(b)}<br>median / max (max normal)</th>" for b in backends)
    body = []
    for (label, name), by in index.items():
        tds = []
        for b in backends:
            r = by.get(b)
            if r is None or r.get("error"):
                tds.append(f'<td class="none">{_e(r["error"] if r else "-")}</td>')
                continue
            text = (f"{accuracy.fmt_ulps(r['median_ulps'])} / {accuracy.fmt_ulps(r['max_ulps'])} "
                    f"({accuracy.fmt_ulps(r['max_normal_ulps'])})")
            tds.append(f'<td class="{_grade(r["max_normal_ulps"])}">{_e(text)}</td>')
        body.append(f"<tr><th>{_e(label)}</th><td>{_e(name)}</td>{''.join(tds)}</tr>")
    summary = (f'<table class="accuracy"><tr><th>op</th><th>derivative</th>{head}</tr>{"".join(body)}</table>'
               f'<pre>{_e(accuracy.overview(runs))}</pre>')
    items = []
    for run in runs:
        for r in accuracy.rows(run):
            for f in r.get("findings", []):
                items.append(f'<li class="finding {f["class"]}"><b>{_e(run["backend"])}</b>: '
                             f'{_e(accuracy.finding_text(r["label"], r["name"], f))}</li>')
    findings = f"<ul>{''.join(items)}</ul>" if items else '<p class="note">No accuracy findings.</p>'
    return summary + "<h3>Findings</h3>" + findings


def plots_html(runs: list[dict], plots: bool) -> str:
    """The plots of every sweep, or a note saying they need matplotlib."""
    if not plots:
        return '<p class="note">Plots need matplotlib (pip install \'trigrad[plot]\'); the tables above have the numbers.</p>'
    figures = []
    for label, panels in sweeps_by_label(runs).items():
        data = base64.b64encode(plot_png(label, panels)).decode()
        caption = f"{label}: error in ulps against x, {', '.join(panels)}; dashed: {accuracy.FEW_ULPS} ulps"
        figures.append(f'<figure class="plot"><img alt="{_e(label)} accuracy plot" src="data:image/png;base64,{data}">'
                       f"<figcaption>{_e(caption)}</figcaption></figure>")
    return f'<div class="plots">{"".join(figures)}</div>'


def render(checks: list[dict], runs: list[dict], *, plots: bool | None = None, sources=()) -> str:
    """The whole page as a string (plots when matplotlib is there, unless ``plots`` says otherwise)."""
    plots = has_matplotlib() if plots is None else plots
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>trigrad report</title>"
             f"<style>{CSS}</style></head><body><h1>trigrad report</h1>"]
    if sources:
        parts.append(f'<p class="note">From {", ".join(_e(os.path.basename(s)) for s in sources)}.</p>')
    if len(checks) > 1:
        parts.append('<h2 id="matrix">Matrix</h2><p class="note">Rows: ops; columns: libraries; FAIL names the '
                     'failing properties.</p>')
        parts.append(matrix_html(checks))
    if checks:
        parts.append('<h2 id="conformance">Conformance</h2>'
                     '<p class="note">Rows: ops; columns: properties (see trigrad check --help).</p>')
        parts.append(conformance_html(checks))
        parts.append('<h2 id="findings">Findings by cause</h2>')
        parts.append(findings_html(checks))
        parts.append('<h2 id="counterexamples">Counterexamples</h2>')
        parts.append(counterexamples_html(checks))
    if runs:
        levels = ", ".join(str(k) for k in accuracy.LEVELS)
        parts.append('<h2 id="accuracy">Accuracy</h2>'
                     f'<p class="note">Error of each derivative in ulps of the backend\'s format against the '
                     f"correctly rounded exact value, across each op's domain; max normal: the largest error where "
                     f"the exact value is a normal number. Green: within {accuracy.FEW_ULPS} ulps; yellow: within "
                     f"1000; red: more (levels reported: {levels}).</p>")
        parts.append(accuracy_html(runs))
        parts.append('<h2 id="plots">Plots</h2>')
        parts.append(plots_html(runs, plots))
    parts.append("</body></html>")
    return "\n".join(parts)


__all__ = ["load", "render", "conformance_html", "counterexamples_html", "matrix_html", "findings_html", "accuracy_html", "plots_html"]
