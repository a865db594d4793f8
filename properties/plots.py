"""Plots of accuracy sweeps: ULP error against x, one panel per derivative, one line per backend.

Drawn by matplotlib, an optional dependency (``pip install 'trigrad[plot]'``), imported only when a
plot is drawn; ``trigrad accuracy --plot`` writes them as PNG files and ``trigrad report`` embeds them.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np

from . import accuracy

PLOT_SIZE = (7.5, 2.6)  # inches per row of panels; one panel per derivative
PLOT_DPI = 90
# ULP errors are drawn on a symmetric log scale that is linear below 1 ulp; inf (a NaN or inf result)
# is drawn at this many times the largest finite error, marked with a cross.
INF_ABOVE = 10.0


def need_matplotlib():
    """Raise ImportError with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401  (optional: the plot extra)
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'trigrad[plot]'") from None


def has_matplotlib() -> bool:
    """Whether matplotlib can be imported."""
    try:
        need_matplotlib()
    except ImportError:
        return False
    return True



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
    top = max(float(np.max(u[np.isfinite(u)], initial=1.0)), 1.0)
    kmax = math.ceil(math.log10(top))
    step = max(1, math.ceil(kmax / 6))
    values = [0.0] + [10.0**k for k in range(0, kmax + 1, step)]
    return (lambda v: np.log10(1 + np.asarray(v, dtype=float))), np.log10(1 + np.array(values)), [_decade(v) for v in values]


def plot_png(label: str, panels: dict[str, list[tuple[str, dict]]]) -> bytes:
    """One PNG for one sweep: a panel per derivative, ULP error against x, a line per backend."""
    import matplotlib  # optional (the plot extra), and slow to import: only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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


__all__ = ["need_matplotlib", "has_matplotlib", "sweeps_by_label", "plot_png", "write_plots"]
