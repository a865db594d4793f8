"""What the floor on second derivatives costs in sensitivity: HVP bounds with and without it.

Run: ``python -m bench hessian_floor [--examples N]``. Prints a table and writes
bench/results/hessian_floor.json.

The error model allows every op's second derivative the rounding of terms as large as its first
derivative's (``oracle.symbolic._hessian_floor``), so that a correct library computing abs'' as
1/|x| - 1/|x| passes. That widens Hessian-vector-product bounds. Over N compositions of every op
(derandomized Hypothesis draws, up to 6 nodes, random cotangents and tangents), this measures at
each input's HVP entries that are not far below its largest (|exact| > 1e-3 of the largest): the
ratio of the bound with the floor to the bound without it (largest per input), and the bound with
the floor relative to |exact| (median per input), with the share of inputs where a relative error
of 1e-10 would be inside the bound (missed).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from bench.common import table, write_results
from trigrad.oracle import spec, symbolic
from trigrad.oracle.symbolic import Oracle
from trigrad.properties.strategies import compositions, cotangents

EXAMPLES = 300
PLANTED = 1e-10  # the relative error that must stay outside the bound
NOT_TINY = 1e-3  # entries judged: |exact| above this fraction of the input's largest


def _bounds(comp, values, cotangent, tangents, floor: bool) -> dict:
    real = symbolic._hessian_floor
    if not floor:
        symbolic._hessian_floor = lambda *args: None
    try:
        return Oracle(comp, values).hvp(cotangent, tangents)
    finally:
        symbolic._hessian_floor = real


def measure(examples: int) -> tuple[list[float], list[float]]:
    """(ratio with/without the floor, relative bound with it) per input of each drawn example."""
    ratios, relative = [], []

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        ex = data.draw(compositions(ops=sorted(spec.OPS), max_nodes=6))
        ct = data.draw(cotangents(ex.comp.output_shape))
        tan = {i.name: data.draw(cotangents(i.shape)) for i in ex.comp.inputs}
        new = _bounds(ex.comp, ex.values, ct, tan, True)
        old = _bounds(ex.comp, ex.values, ct, tan, False)
        for name, e in new.items():
            v = np.abs(e.value)
            keep = v > NOT_TINY * np.max(v, initial=0.0)
            if np.any(keep):
                ratios.append(float(np.max(e.bound()[keep] / old[name].bound()[keep])))
                relative.append(float(np.median(e.bound()[keep] / v[keep])))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run()
    return ratios, relative


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench hessian_floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=EXAMPLES, help=f"compositions drawn (default {EXAMPLES})")
    args = parser.parse_args(argv)
    ratios, relative = (np.array(a) for a in measure(args.examples))
    q = (50, 90, 99, 100)
    rows = [["bound with / without the floor"] + [float(np.percentile(ratios, p)) for p in q],
            ["bound with the floor / |exact|"] + [float(np.percentile(relative, p)) for p in q]]
    print(table(["per input", "median", "p90", "p99", "max"], rows,
                title=f"HVP bounds over {len(ratios)} inputs of {args.examples} drawn compositions"))
    missed = float(np.mean(relative >= PLANTED))
    print(f"inputs where a relative error of {PLANTED:g} is inside the bound: {missed:.1%}")
    write_results("hessian_floor", {
        "examples": args.examples, "inputs": len(ratios),
        "ratio_percentiles": dict(zip(map(str, q), rows[0][1:])),
        "relative_bound_percentiles": dict(zip(map(str, q), rows[1][1:])),
        "share_missing_planted_1e-10": missed,
    })


if __name__ == "__main__":
    main()
