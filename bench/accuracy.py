"""Accuracy of the numeric oracle against exact, beside the fixed-step differences people use.

Run: ``python -m bench accuracy [--quick]``. Prints two tables and writes bench/results/accuracy.json.

1. On the fixed benchmark set of tests/oracle/numeric_cases.py (309 directional derivatives with exact
   answers from mpmath): median / p99 relative error and evaluations per estimate for trigrad's
   Richardson path and complex step, the textbook eps=1e-4 central difference (DeZero's
   ``numerical_diff``), a torch.autograd.gradcheck-style eps=1e-6 central difference, and
   numdifftools' default ``Derivative`` when it is installed.
2. On a fixed set of compositions drawn by properties.strategies (Hypothesis, derandomized), the
   numeric <v, J u> against the symbolic oracle's exact one.

Nothing here is asserted; tests/oracle/ asserts the accuracy targets.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from bench.common import table, write_results
from tests.oracle.numeric_cases import BENCHMARK_SEED, accuracy_table
from trigrad.oracle import numeric
from trigrad.oracle.symbolic import Oracle

COMPOSITIONS = 300  # drawn for table 2


def drawn_compositions(n: int):
    """A fixed sample of examples from the project's own strategy (derandomized Hypothesis)."""
    from hypothesis import HealthCheck, given, settings

    from trigrad.properties.strategies import compositions, cotangents

    out = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(compositions(), cotangents(()))
    def collect(example, _):
        out.append(example)

    collect()
    return out[:n]


def composition_accuracy(n: int):
    """Numeric <v, J u> on drawn compositions (numpy reference forwards) against the symbolic oracle."""
    rng = np.random.default_rng(BENCHMARK_SEED)
    errors, evals, exceeded = [], [], 0
    for ex in drawn_compositions(n):
        comp, values = ex.comp, ex.values
        names = [i.name for i in comp.inputs]
        v = rng.uniform(-1, 1, comp.output_shape)
        us = [rng.uniform(-1, 1, values[k].shape) for k in names]
        o = Oracle(comp, values)
        exact = o.projection(v, dict(zip(names, us)))
        if exact.unsure():
            continue

        def f(arrays):
            with np.errstate(all="ignore"):
                return comp.evaluate_numpy(dict(zip(names, arrays)))

        est = numeric.directional(f, [values[k] for k in names], us, v,
                                  max_step=o.safe_step(dict(zip(names, us))))
        # relative to the size of the terms (the exact value can cancel to ~0)
        scale = max(abs(float(exact.value)), float(exact.scale) * 2.0**-53 * 1e3, 1e-300)
        err = abs(est.value - float(exact.value))
        errors.append(err / scale)
        evals.append(est.evaluations)
        exceeded += err > est.error
    q = np.quantile(errors, [0.5, 0.9, 0.99])
    return {"cases": len(errors), "median": float(q[0]), "p90": float(q[1]), "p99": float(q[2]),
            "max": float(np.max(errors)), "mean_evaluations": statistics.fmean(evals),
            "max_evaluations": int(max(evals)), "error_exceeded": exceeded}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench accuracy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 compositions for table 2 instead of 300")
    args = parser.parse_args(argv)

    methods = accuracy_table(BENCHMARK_SEED)
    if "numdifftools" not in methods:
        print("numdifftools is not installed: its row is skipped (pip install numdifftools)")
    print(table(["method", "median rel. error", "p90", "p99", "max", "evaluations", "error > estimate"],
                [[name, s["median"], s["p90"], s["p99"], s["max"], s["mean_evaluations"],
                  "-" if s["error_exceeded"] is None else f"{s['error_exceeded']}/{s['cases']}"]
                 for name, s in methods.items()],
                title=f"1. numeric estimates on the fixed benchmark set ({methods['richardson']['cases']} "
                      "directional derivatives, exact from mpmath)"))
    comp = composition_accuracy(60 if args.quick else COMPOSITIONS)
    print()
    print(table(["cases", "median", "p90", "p99", "max", "evaluations", "error > estimate"],
                [[comp["cases"], comp["median"], comp["p90"], comp["p99"], comp["max"], comp["mean_evaluations"],
                  comp["error_exceeded"]]],
                title="2. numeric <v, J u> on drawn compositions, against the symbolic oracle"))
    ours = methods["richardson"]
    write_results("accuracy", {
        "numeric_median_rel_err": ours["median"],
        "numeric_p99_rel_err": ours["p99"],
        "numeric_evals_per_estimate": ours["mean_evaluations"],
        "numeric_by_method": methods,
        "numeric_on_compositions": comp,
    })


if __name__ == "__main__":
    main()
