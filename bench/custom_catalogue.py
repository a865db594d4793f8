"""Custom gradients as users write them: the catalogue of tests/fuzzing (custom_torch.py,
custom_jax.py) at full budget.

Run: ``python -m bench custom_catalogue [--quick] [--controls N] [--framework torch|jax]``. Prints two
tables and writes bench/results/custom_catalogue.json:

- planted bugs: each hunted by ``trigrad fuzz``'s default budget (DEFAULT_MAX_EXAMPLES examples,
  derandomized, no example database): found or not, by which property, examples and seconds until
  the first failing example, and the op nodes of the shrunk counterexample (1: the function alone);
- controls: each correct function with N examples (default 2,000): findings (must be none), the
  ``unsup`` properties, examples run, seconds.

Seconds are wall time of this process (JAX compiles each new shape: most of its time).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

from bench.common import table, write_results

# The catalogue lives with its tests, which import it as pytest does: from its own folder.
CATALOGUE_DIR = pathlib.Path(__file__).parents[1] / "tests" / "fuzzing"
CONTROL_EXAMPLES = 2000
# Seconds one call of a function may take: JAX compiles each new shape inside the call, which on a
# loaded machine can pass the command's default of 10 s.
TIMEOUT = 120.0
QUICK_CONTROL_EXAMPLES = 20


def _modules(frameworks):
    sys.path.insert(0, str(CATALOGUE_DIR))
    import custom_catalogue
    from trigrad.properties.backends import BackendError, resolve

    out = []
    for name in frameworks:
        try:
            out.append((name, resolve(name), __import__(f"custom_{name}")))
        except (BackendError, ImportError) as e:
            print(f"{name}: skipped ({e})")
    return custom_catalogue, out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench custom_catalogue")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_CONTROL_EXAMPLES} examples per control")
    p.add_argument("--controls", type=int, default=None, help=f"examples per control (default {CONTROL_EXAMPLES})")
    p.add_argument("--framework", action="append", choices=["torch", "jax"], default=None)
    p.add_argument("--only", action="append", default=None, metavar="NAME", help="only these catalogue entries")
    args = p.parse_args(argv)
    examples = args.controls or (QUICK_CONTROL_EXAMPLES if args.quick else CONTROL_EXAMPLES)
    catalogue, frameworks = _modules(args.framework or ["torch", "jax"])
    planted, controls = [], []
    for name, backend, module in frameworks:
        for entry in [e for e in module.PLANTED if not args.only or e.name in args.only]:
            start = time.perf_counter()
            outcome = catalogue.campaign(entry, backend, timeout=TIMEOUT)
            j = outcome.json
            planted.append({"framework": name, "target": entry.name, "style": entry.style, "bug": entry.bug,
                            "found": j is not None, "property": j and j["property"],
                            "examples_to_find": outcome.found_after, "seconds_to_find": outcome.seconds_to_find,
                            "nodes": j and len(j["composition"]["nodes"]), "formula": j and j["formula"],
                            "diagnosis": j and (j.get("diagnosis") or {}).get("kind"),
                            "seconds": time.perf_counter() - start})
            print(f"planted {name} {entry.name}: {planted[-1]['property']} {planted[-1]['nodes']} nodes", flush=True)
        for entry in [e for e in module.CORRECT if not args.only or e.name in args.only]:
            start = time.perf_counter()
            outcome = catalogue.campaign(entry, backend, examples, timeout=TIMEOUT)
            controls.append({"framework": name, "target": entry.name, "style": entry.style,
                             "finding": outcome.json and outcome.json["formula"], "unsup": sorted(outcome.unsupported),
                             "expected_unsup": sorted(entry.unsup), "examples": outcome.examples,
                             "seconds": time.perf_counter() - start})
            print(f"control {name} {entry.name}: {outcome.examples} examples, "
                  f"{'no finding' if outcome.json is None else 'FINDING ' + outcome.json['formula']}", flush=True)
    print(table(["target", "framework", "style", "bug", "found by", "examples", "s to find", "nodes"],
                [[r["target"], r["framework"], r["style"], r["bug"], r["property"] or "NOT FOUND",
                  r["examples_to_find"], r["seconds_to_find"], r["nodes"]] for r in planted],
                title="planted bugs, default budget"))
    print()
    print(table(["target", "framework", "style", "examples", "seconds", "finding", "unsup"],
                [[r["target"], r["framework"], r["style"], r["examples"], r["seconds"], r["finding"] or "none",
                  ", ".join(r["unsup"]) or "-"] for r in controls],
                title=f"controls, {examples} examples each"))
    write_results("custom_catalogue" + "".join(f"_{f}" for f in args.framework or []) + ("_only" if args.only else ""),
                  {"control_examples": examples, "planted": planted, "controls": controls})
