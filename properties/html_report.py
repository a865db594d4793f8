"""``trigrad report``: one self-contained HTML page from the JSON of ``trigrad check`` and
``trigrad accuracy`` runs.

The page has the conformance tables of every checked backend side by side, every counterexample
(formula, verdict, inputs and the reproducer), the accuracy summary (median and max ULP error per op,
derivative and backend), the accuracy findings, and per op a plot of ULP error against x with one
line per backend. Plots are PNGs drawn by matplotlib (the optional ``plot`` extra) and embedded as
data: URIs; nothing on the page is fetched from anywhere. Without matplotlib the page says so and
still has every table.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import sys

from . import accuracy

PLOT_SIZE = (7.5, 2.6)  # inches per row of panels; one panel per derivative
PLOT_DPI = 90
# ULP errors are drawn on a symmetric log scale that is linear below 1 ulp; inf (a NaN or inf result)
# is drawn at this many times the largest finite error, marked with a cross.
INF_ABOVE = 10.0
MARKS = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "known": "known", "not reached": "-"}


class ReportError(ValueError):
    """A file the report cannot use, with a one-line message."""


def need_matplotlib():
    """Raise ImportError with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'trigrad[plot]'") from None


def has_matplotlib() -> bool:
    try:
        need_matplotlib()
    except ImportError:
        return False
    return True


# --- reading -------------------------------------------------------------------------------------


def load(paths) -> tuple[list[dict], list[dict]]:
    """(check documents, accuracy runs) from JSON files written by ``trigrad check --json`` and
    ``trigrad accuracy --json``; a ReportError naming the file that is neither."""
    checks, runs = [], []
    for path in paths:
        try:
            with open(path) as f:
                data = json.load(f)
        except OSError as e:
            raise ReportError(f"cannot read {path}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise ReportError(f"{path} is not JSON ({e.msg} at line {e.lineno})") from None
        if isinstance(data, dict) and data.get("trigrad") == "accuracy":
            runs.extend(data["runs"])
        elif isinstance(data, dict) and "cells" in data and "backend" in data:
            checks.append(data)
        else:
            raise ReportError(f"{path} is not the JSON of trigrad check or trigrad accuracy")
    return checks, runs


# --- plots ---------------------------------------------------------------------------------------


def sweeps_by_label(runs) -> dict[str, dict[str, list[tuple[str, dict]]]]:
    """label -> derivative name -> [(backend, series JSON)], in the order first seen."""
    out: dict = {}
    for run in runs:
        for p in run["profiles"]:
            for s in p["series"]:
                if s["summary"].get("points"):
                    out.setdefault(p["label"], {}).setdefault(s["name"], []).append((run["backend"], s))
    return out


def _log_axis(x):
    """(transform, tick positions, tick labels) for x values spanning many decades, possibly of both
    signs: log10 for positive data, else a signed log (sign(x) (log10|x| - k0 + 1), with 10**k0 the
    smallest nonzero |x|; 0 at 0). matplotlib's symlog cannot span float64's 600 decades."""
    import numpy as np

    nonzero = np.abs(x[x != 0])
    # decades of float64: 10**-323 is its smallest subnormal's, 10**308 its largest
    k0 = max(math.floor(math.log10(float(np.min(nonzero)))), -323) if nonzero.size else 0
    k1 = min(math.ceil(math.log10(float(np.max(nonzero)))), 308) if nonzero.size else 1
    positive = bool(np.all(x > 0))

    def f(v):
        v = np.asarray(v, dtype=float)
        with np.errstate(divide="ignore"):
            mag = np.where(v != 0, np.log10(np.abs(v)), k0 - 1)
        return mag if positive else np.sign(v) * np.maximum(mag - k0 + 1, 0)

    step = max(1, math.ceil((k1 - k0) / 4))
    decades = list(range(k1, k0 - 1, -step))[::-1]
    ticks = [10.0**k for k in decades] if positive else [-(10.0**k) for k in reversed(decades)] + [0.0] + [10.0**k for k in decades]
    labels = [_decade(t) for t in ticks]
    return f, f(np.array(ticks)), labels


def _decade(t: float) -> str:
    if t == 0:
        return "0"
    k = round(math.log10(abs(t)))
    return ("-" if t < 0 else "") + (str(10**k) if 0 <= k <= 3 else f"1e{k}")


def _ulp_axis(u):
    """log10(1 + ulps), so that 0 ulps sits at 0; ticks at 0, 1, 10, 100, ... ulps."""
    import numpy as np

    top = max(float(np.max(u[np.isfinite(u)], initial=1.0)), 1.0)
    kmax = math.ceil(math.log10(top))
    step = max(1, math.ceil(kmax / 6))
    values = [0.0] + [10.0**k for k in range(0, kmax + 1, step)]
    return (lambda v: np.log10(1 + np.asarray(v, dtype=float))), np.log10(1 + np.array(values)), [_decade(v) for v in values]


def plot_png(label: str, panels: dict[str, list[tuple[str, dict]]]) -> bytes:
    """One PNG for one sweep: a panel per derivative, ULP error against x, a line per backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(panels), figsize=PLOT_SIZE, squeeze=False, dpi=PLOT_DPI)
    for ax, (name, lines) in zip(axes[0], panels.items()):
        data = [(b, np.array(s["x"], dtype=float), np.array([np.nan if v is None else v for v in s["ulps"]], dtype=float))
                for b, s in lines]
        fx, xt, xl = _log_axis(np.concatenate([x for _, x, _ in data]))
        all_u = np.concatenate([u for _, _, u in data])
        top = INF_ABOVE * max(float(np.max(all_u[np.isfinite(all_u)], initial=1.0)), 1.0)
        fy, yt, yl = _ulp_axis(np.append(all_u[np.isfinite(all_u)], top))
        for backend, x, u in data:
            finite = np.isfinite(u)
            line, = ax.plot(fx(x[finite]), fy(u[finite]), ".-", ms=2, lw=0.6, label=backend)
            inf = np.isinf(u)
            if inf.any():
                ax.plot(fx(x[inf]), fy(np.full(inf.sum(), top)), "x", ms=4, color=line.get_color())
        ax.axhline(float(fy(accuracy.FEW_ULPS)), color="0.6", lw=0.6, ls="--")
        ax.set_xticks(xt, xl, fontsize=6)
        ax.set_yticks(yt, yl, fontsize=7)
        ax.set_title(f"{label}  {name}", fontsize=9)
        ax.set_xlabel("x (log scale, both signs)", fontsize=7)
        ax.set_ylabel("error (ulps)", fontsize=7)
        ax.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_plots(data: dict, directory: str) -> list[str]:
    """One PNG per sweep of an accuracy JSON document into ``directory``; the paths written."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for label, panels in sweeps_by_label(data["runs"]).items():
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in label).strip("_") + ".png"
        path = os.path.join(directory, name)
        with open(path, "wb") as f:
            f.write(plot_png(label, panels))
        paths.append(path)
    return paths


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
    mark = MARKS.get(status)
    if mark:
        return mark, status.replace(" ", "-")
    if status.startswith("unsupported"):
        return "unsup", "unsup"
    return ("n/a", "na") if status.startswith("n/a") else (status, "")


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
                       f'({_e(MARKS.get(c["status"], c["status"]))})</h3>')
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
    if checks:
        parts.append('<h2 id="conformance">Conformance</h2>'
                     '<p class="note">Rows: ops; columns: properties (see trigrad check --help).</p>')
        parts.append(conformance_html(checks))
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


# --- the command ---------------------------------------------------------------------------------


def add_parser(sub):
    """``trigrad report`` on the ``trigrad`` command's subparsers."""
    r = sub.add_parser("report", help="one self-contained HTML page from the JSON of check and accuracy runs",
                       description="Build one self-contained HTML page from the JSON of trigrad check and "
                                   "trigrad accuracy runs.")
    r.add_argument("--from", dest="sources", nargs="+", required=True, metavar="FILE",
                   help="JSON files written by trigrad check --json and trigrad accuracy --json")
    r.add_argument("--html", required=True, metavar="OUT.html", help="the page to write")
    return r


def command(args) -> int:
    """Run ``trigrad report``: 0 when the page was written, 2 on bad usage."""
    from .cli import _fail_usage

    try:
        checks, runs = load(args.sources)
    except ReportError as e:
        return _fail_usage(str(e))
    page = render(checks, runs, sources=args.sources)
    try:
        with open(args.html, "w") as f:
            f.write(page)
    except OSError as e:
        return _fail_usage(f"cannot write {args.html}: {e.strerror}")
    if not has_matplotlib():
        print("trigrad report: no plots (pip install 'trigrad[plot]' for them)", file=sys.stderr)
    print(f"trigrad report: {args.html} ({len(checks)} check runs, {len(runs)} accuracy runs, "
          f"{math.ceil(len(page) / 1024)} KiB)")
    return 0


__all__ = ["load", "render", "plot_png", "write_plots", "need_matplotlib", "has_matplotlib", "ReportError",
           "add_parser", "command"]
