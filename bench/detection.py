"""Bug-finding power: planted bugs found by trigrad's suites, and by per-op gradient checks.

Run: ``python -m bench detection [--quick] [--bugs SUBSTRING]``. Prints two tables and writes
bench/results/detection.json.

The catalogue (properties/planted.py) plants 30 bugs into the built-in core, one at a time: wrong rules,
wrong factors from 1e-3 down to 1e-10 relative, accumulation and ordering bugs, broadcasting and
shape bugs, in-place writes, and bugs that show only in second derivatives. Each is hunted three ways:

- trigrad: the suite's cells (``properties.suite.run_cell`` under the deterministic ``ci`` profile,
  as ``trigrad check`` runs them), the bug's row first and then the mixed row, every property in
  catalogue order, until a cell fails. Reported: found or not, seconds until the failing cell
  finished (finding and shrinking), and the op nodes of the shrunk counterexample.
- DeZero-style unit tests: DeZero's ``gradient_check`` (tests/ of DeZero 0.0.13) for every op of the
  spec table alone, at POINTS random points each: the gradient of sum(f(x)) by backward against
  ``numerical_grad`` (central differences, eps=1e-4, one entry at a time), passing when
  ``np.allclose(rtol=1e-4, atol=1e-5)``.
- gradcheck-style per-op checks: what ``torch.autograd.gradcheck`` does with its defaults, reproduced
  on the built-in core: the full Jacobian by backward (one-hot cotangents) against central
  differences with eps=1e-6, each entry passing when |analytic - numeric| <= atol + rtol |numeric|
  with atol=1e-5, rtol=1e-3; every op alone at the same POINTS points. First order only (like
  gradcheck without gradgradcheck).

Both baselines draw each op's inputs from the spec table's domain (inside its margins, like the
suite's strategies), with shapes (2, 3) (a (3,) second operand for binary elementwise ops, so that
broadcasting is exercised; (3, 2) for matmul) and plain params. A baseline finds a bug when any op's
check fails or raises.

Then the smallest relative error caught: ``backward * (1 + r)`` planted into exp, sin and mul for
r = 1e-3 ... 1e-15 (at 1e-16, 1 + r rounds to 1), hunted the same three ways (trigrad in the op's
row only); reported per op and overall.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np

from bench.common import ci_profile, table, write_results
from trigrad.properties.planted import CATALOGUE, FACTOR_SITES, SWEEP, Bug, factor_bug, planted
from trigrad.oracle import spec
from trigrad.oracle.ir import Composition, Input, Node
from trigrad.properties.example import op_value
from trigrad.properties import strategies, suite
from trigrad.properties.backends.builtin import Builtin

POINTS = 3  # random points per op for the baselines ("a few", as DeZero's tests use one or two)
SEED = 20240607
DEZERO = {"eps": 1e-4, "rtol": 1e-4, "atol": 1e-5}  # dezero.utils.gradient_check's defaults
GRADCHECK = {"eps": 1e-6, "rtol": 1e-3, "atol": 1e-5}  # torch.autograd.gradcheck's defaults


# --- trigrad ------------------------------------------------------------------------------------------


def hunt(rows) -> tuple[suite.Cell | None, float]:
    """Run the suite's cells (rows x properties, in catalogue order) until one fails: (cell, seconds)."""
    backend = Builtin()
    start = time.perf_counter()
    for row in rows:
        for prop in suite.PROPERTIES:
            cell = suite.run_cell(backend, prop, row, profile=ci_profile())
            if cell.status in ("fail", "error"):
                return cell, time.perf_counter() - start
    return None, time.perf_counter() - start


def trigrad(bug: Bug, mixed_row: bool = True) -> dict:
    """Hunt ``bug`` in its rows, then (``mixed_row``) in the mixed row."""
    rows = bug.rows + ((suite.ALL_OPS,) if mixed_row and suite.ALL_OPS not in bug.rows else ())
    with planted(bug):
        cell, seconds = hunt(rows)
    if cell is None:
        return {"found": False, "seconds": seconds}
    out = {"found": True, "seconds": seconds, "cell": f"{cell.prop}[{cell.op}]", "status": cell.status}
    if cell.report is not None:
        comp = cell.report.example.comp
        out.update(nodes=len(comp.nodes), formula=comp.formula())
    else:
        out["error"] = cell.error
    return out


# --- the per-op baselines -------------------------------------------------------------------------------


def _shapes(op: spec.Op):
    if op.name == "matmul":
        return [(2, 3), (3, 2)]
    if op.arity == 2 and op.elementwise:
        return [(2, 3), (3,)]
    return [(2, 3)] * op.arity


def op_cases(points: int = POINTS, seed: int = SEED) -> list[tuple[Composition, dict]]:
    """Every op of the spec table alone, at ``points`` random points inside its domain."""
    rng = np.random.default_rng(seed)
    cases = []
    for op in spec.OPS.values():
        shapes = _shapes(op)
        params = strategies._params(op, shapes, (1, 1, 1)) if op.params else {}
        if params is None:
            params = strategies._params(op, shapes, (0, 0, 0))
        comp = Composition([Input(f"x{j}", s) for j, s in enumerate(shapes)],
                           [Node(op.name, tuple(f"x{j}" for j in range(op.arity)), params)])
        found = 0
        for _ in range(1000):
            xs = [rng.uniform(iv.lo, iv.hi, s) for iv, s in zip(op.draw if len(op.draw) == op.arity
                                                                else op.draw * op.arity, shapes)]
            if op_value(op, xs, params, (False,) * op.arity) is None:
                continue  # outside the domain's margins (too near a kink or pole): draw again
            cases.append((comp, {f"x{j}": x for j, x in enumerate(xs)}))
            found += 1
            if found == points:
                break
    return cases


def _forward(backend, comp, values):
    return np.asarray(backend.forward(comp, values), dtype=float)


def _numeric_jacobian(backend, comp, values, name, eps):
    """d output / d values[name], one input entry at a time: (output size, input size)."""
    x = values[name]
    cols = []
    for i in np.ndindex(x.shape):
        plus, minus = dict(values), dict(values)
        plus[name], minus[name] = x.copy(), x.copy()
        plus[name][i] += eps
        minus[name][i] -= eps
        cols.append(((_forward(backend, comp, plus) - _forward(backend, comp, minus)) / (2 * eps)).ravel())
    return np.stack(cols, axis=1)


def _backward(backend, comp, values, cotangent):
    names = [i.name for i in comp.inputs]

    def fn(*xs):
        return comp.evaluate(dict(zip(names, xs)), backend.op)

    _, grads = backend.vjp(fn, [backend.asarray(values[n]) for n in names], cotangent)
    return dict(zip(names, (np.asarray(g, dtype=float) for g in grads)))


def dezero_style(backend, comp, values) -> bool:
    """DeZero's gradient_check: backward of sum(f) against numerical_grad, np.allclose. True = passes."""
    grads = _backward(backend, comp, values, np.ones(comp.output_shape))
    for name, g in grads.items():
        numeric = _numeric_jacobian(backend, comp, values, name, DEZERO["eps"]).sum(axis=0).reshape(g.shape)
        if not np.allclose(numeric, g, rtol=DEZERO["rtol"], atol=DEZERO["atol"]):
            return False
    return True


def gradcheck_style(backend, comp, values) -> bool:
    """torch.autograd.gradcheck's test: the full analytic Jacobian (one VJP per output entry) against
    the numeric one, |a - n| <= atol + rtol |n| entrywise. True = passes."""
    out_shape = comp.output_shape
    rows = []
    for k in range(int(np.prod(out_shape))):
        onehot = np.zeros(int(np.prod(out_shape)))
        onehot[k] = 1.0
        rows.append(_backward(backend, comp, values, onehot.reshape(out_shape)))
    for i in comp.inputs:
        analytic = np.stack([r[i.name].ravel() for r in rows])
        numeric = _numeric_jacobian(backend, comp, values, i.name, GRADCHECK["eps"])
        if not np.all(np.abs(analytic - numeric) <= GRADCHECK["atol"] + GRADCHECK["rtol"] * np.abs(numeric)):
            return False
    return True


BASELINES = {"dezero_style": dezero_style, "gradcheck_style": gradcheck_style}


def baseline(check, bug: Bug | None, cases) -> dict:
    """Run a per-op check on every case with ``bug`` planted: found when any case fails or raises."""
    backend = Builtin()
    start = time.perf_counter()
    failed = []
    with planted(bug) if bug else contextlib.nullcontext():
        for comp, values in cases:
            try:
                ok = check(backend, comp, values)
            except Exception:  # noqa: BLE001 - a crash in backward is a failing unit test
                ok = False
            if not ok:
                failed.append(comp.nodes[0].op)
    return {"found": bool(failed), "seconds": time.perf_counter() - start, "failing_ops": sorted(set(failed))}


# --- the benchmark -------------------------------------------------------------------------------------


def run_bug(bug: Bug, cases, mixed_row: bool = True) -> dict:
    row = {"name": bug.name, "kind": bug.kind, "relative": bug.relative, "trigrad": trigrad(bug, mixed_row)}
    for name, check in BASELINES.items():
        row[name] = baseline(check, bug, cases)
    return row


def _mark(r):
    return "yes" if r["found"] else "no"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench detection", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every third bug, and a sweep on exp only")
    parser.add_argument("--bugs", default="", help="only the bugs whose name contains this text")
    args = parser.parse_args(argv)
    bugs = [b for b in CATALOGUE if args.bugs in b.name][:: 3 if args.quick else 1]
    cases = op_cases()

    # the baselines must pass on the correct core, or their "found" means nothing
    clean = {name: baseline(check, None, cases) for name, check in BASELINES.items()}
    for name, r in clean.items():
        if r["found"]:
            print(f"warning: {name} fails on the correct core at {r['failing_ops']}")

    rows = []
    for bug in bugs:
        rows.append(run_bug(bug, cases))
        r = rows[-1]
        print(f"  {bug.name}: trigrad {_mark(r['trigrad'])} ({r['trigrad']['seconds']:.1f} s), "
              f"dezero-style {_mark(r['dezero_style'])}, gradcheck-style {_mark(r['gradcheck_style'])}", flush=True)
    print(table(["bug", "kind", "trigrad", "seconds", "cell", "nodes", "DeZero-style", "gradcheck-style"],
                [[r["name"], r["kind"], _mark(r["trigrad"]), r["trigrad"]["seconds"], r["trigrad"].get("cell"),
                  r["trigrad"].get("nodes"), _mark(r["dezero_style"]), _mark(r["gradcheck_style"])] for r in rows],
                title=f"planted bugs ({len(rows)}): found by trigrad's suites (ci profile) and by per-op checks "
                      f"at {POINTS} points per op"))

    sweep_ops = ["exp"] if args.quick else list(FACTOR_SITES)
    sweep = {op: [run_bug(factor_bug(op, r), cases, mixed_row=False) for r in SWEEP] for op in sweep_ops}
    print()
    print(table(["relative error"] + [f"{op}: {who}" for op in sweep_ops for who in ("trigrad", "DeZero", "gradcheck")],
                [[f"{r:g}"] + [_mark(sweep[op][k][who]) for op in sweep_ops
                               for who in ("trigrad", "dezero_style", "gradcheck_style")]
                 for k, r in enumerate(SWEEP)],
                title="backward * (1 + r) planted: caught?"))

    def smallest(who, op=None):
        caught = [row["relative"] for o in sweep_ops if op in (None, o) for row in sweep[o] if row[who]["found"]]
        return min(caught) if caught else None

    found = [r for r in rows if r["trigrad"]["found"]]
    results = {
        "found": len(found), "total": len(rows),
        "median_seconds_to_find": statistics.median(r["trigrad"]["seconds"] for r in found) if found else None,
        "median_nodes_after_shrinking": statistics.median(r["trigrad"]["nodes"] for r in found
                                                          if "nodes" in r["trigrad"]) if found else None,
        "smallest_relative_error_caught": smallest("trigrad"),
        "smallest_relative_error_caught_by_op": {op: smallest("trigrad", op) for op in sweep_ops},
        "baselines": {name: {"found": sum(r[name]["found"] for r in rows), "total": len(rows),
                             "smallest_relative_error_caught": smallest(name),
                             "fails_on_correct_core": clean[name]["failing_ops"]} for name in BASELINES},
        "points_per_op": POINTS,
        "bugs": rows,
        "sweep": {op: [{"relative": row["relative"], **{w: row[w]["found"] for w in ("trigrad", *BASELINES)}}
                       for row in runs] for op, runs in sweep.items()},
    }
    print(f"\ntrigrad found {len(found)}/{len(rows)}; DeZero-style {results['baselines']['dezero_style']['found']}"
          f"/{len(rows)}; gradcheck-style {results['baselines']['gradcheck_style']['found']}/{len(rows)}; "
          f"smallest relative error caught: trigrad {smallest('trigrad')}, DeZero-style {smallest('dezero_style')}, "
          f"gradcheck-style {smallest('gradcheck_style')}")
    write_results("detection", results)


if __name__ == "__main__":
    main()
