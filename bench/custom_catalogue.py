"""Custom gradients as users write them: the catalogue of tests/fuzzing (custom_torch.py,
custom_jax.py) at full budget.

Run: ``python -m bench custom_catalogue [--quick] [--controls N] [--framework torch|jax] [--part
planted|controls] [--only NAME] [--jax-cache DIR]``. Prints two tables and writes
bench/results/custom_catalogue[_FRAMEWORK][_PART][_only].json:

- planted bugs: each hunted by ``trigrad fuzz``'s default budget (DEFAULT_MAX_EXAMPLES examples,
  derandomized, no example database): found or not, by which property, examples and seconds until
  the first failing example, and the op nodes of the shrunk counterexample (1: the function alone);
- controls: each correct function with N examples (default 2,000; one derandomized campaign, or with
  ``--rounds-of K`` campaigns of K examples seeded 0, 1, ..., every control's round k before any
  control's round k + 1, the results written after each): findings (must be none), the ``unsup``
  properties, examples run, seconds.

Seconds are wall time of this process; CPU seconds and the load average (1 minute, at the end of the
entry) beside them say how much of it was waiting for a core on a shared machine. JAX compiles every
op for every new combination of argument shapes and dtypes (about 1.2 compilations per example, each
some 35 ms of CPU): most of its time. ``--jax-cache DIR`` keeps the compiled programs in JAX's
persistent compilation cache, so that a later run (or a later entry of this one in another process)
loads them instead (about 7 ms of CPU each): the same programs, so the same numbers.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import os
import time

from bench.common import cpu_seconds, table, write_results

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
    p.add_argument("--part", choices=["planted", "controls"], default=None, help="only the planted bugs or the controls")
    p.add_argument("--jax-cache", default=None, metavar="DIR", help="JAX's persistent compilation cache in DIR")
    p.add_argument("--rounds-of", type=int, default=None, metavar="N",
                   help="run the controls in rounds of N examples (round k: seed k), writing the results after each")
    args = p.parse_args(argv)
    if args.jax_cache:
        persistent_jax_cache(args.jax_cache)
    examples = args.controls or (QUICK_CONTROL_EXAMPLES if args.quick else CONTROL_EXAMPLES)
    catalogue, frameworks = _modules(args.framework or ["torch", "jax"])
    planted, controls = [], []
    for name, backend, module in frameworks:
        for entry in [e for e in module.PLANTED if args.part != "controls" and (not args.only or e.name in args.only)]:
            start, cpu = time.perf_counter(), cpu_seconds()
            outcome = catalogue.campaign(entry, backend, timeout=TIMEOUT)
            j = outcome.json
            planted.append({"framework": name, "target": entry.name, "style": entry.style, "bug": entry.bug,
                            "found": j is not None, "property": j and j["property"],
                            "examples_to_find": outcome.found_after, "seconds_to_find": outcome.seconds_to_find,
                            "nodes": j and len(j["composition"]["nodes"]), "formula": j and j["formula"],
                            "diagnosis": j and (j.get("diagnosis") or {}).get("kind"),
                            "seconds": time.perf_counter() - start, "cpu_seconds": cpu_seconds() - cpu,
                            "load": round(os.getloadavg()[0], 1)})
            print(f"planted {name} {entry.name}: {planted[-1]['property']} {planted[-1]['nodes']} nodes", flush=True)
        entries = [e for e in module.CORRECT if args.part != "planted" and (not args.only or e.name in args.only)]
        controls += [{"framework": name, "target": e.name, "style": e.style, "finding": None, "unsup": None,
                      "expected_unsup": sorted(e.unsup), "examples": 0, "seconds": 0.0, "cpu_seconds": 0.0,
                      "load": None} for e in entries]
        rows = controls[len(controls) - len(entries):]
        # the rounds (one campaign per control and round, seeded by the round's number) run every control
        # a little before any runs more, so that a run stopped early has counted examples for each
        for round_ in range(-(-examples // (args.rounds_of or examples))):
            for entry, row in zip(entries, rows):
                todo = min(args.rounds_of or examples, examples - row["examples"])
                if row["finding"] or todo <= 0:
                    continue
                start, cpu = time.perf_counter(), cpu_seconds()
                outcome = catalogue.campaign(entry, backend, todo, seed=round_ if args.rounds_of else None,
                                             timeout=TIMEOUT)
                row.update(finding=outcome.json and outcome.json["formula"], unsup=sorted(outcome.unsupported),
                           examples=row["examples"] + outcome.examples,
                           seconds=row["seconds"] + time.perf_counter() - start,
                           cpu_seconds=row["cpu_seconds"] + cpu_seconds() - cpu, load=round(os.getloadavg()[0], 1))
                print(f"control {name} {entry.name}: {row['examples']} examples, {row['seconds']:.0f} s "
                      f"({row['cpu_seconds']:.0f} s CPU, load {row['load']}), "
                      f"{'no finding' if outcome.json is None else 'FINDING ' + outcome.json['formula']}", flush=True)
                if args.rounds_of:
                    _write(args, examples, planted, controls)
    print(table(["target", "framework", "style", "bug", "found by", "examples", "s to find", "nodes", "s", "CPU s",
                 "load"],
                [[r["target"], r["framework"], r["style"], r["bug"], r["property"] or "NOT FOUND",
                  r["examples_to_find"], r["seconds_to_find"], r["nodes"], r["seconds"], r["cpu_seconds"], r["load"]]
                 for r in planted],
                title="planted bugs, default budget"))
    print()
    print(table(["target", "framework", "style", "examples", "seconds", "CPU s", "load", "finding", "unsup"],
                [[r["target"], r["framework"], r["style"], r["examples"], r["seconds"], r["cpu_seconds"], r["load"],
                  r["finding"] or "none", ", ".join(r["unsup"]) or "-"] for r in controls],
                title=f"controls, {examples} examples each"))
    _write(args, examples, planted, controls)


def _write(args, examples, planted, controls):
    write_results("custom_catalogue" + "".join(f"_{f}" for f in args.framework or []) + (f"_{args.part}" if args.part else "")
                  + ("_only" if args.only else ""),
                  {"control_examples": examples, "rounds_of": args.rounds_of, "jax_cache": args.jax_cache,
                   "planted": planted, "controls": controls})


def persistent_jax_cache(folder):
    """JAX's persistent compilation cache in ``folder``, for every compiled program (JAX's defaults
    keep only those that took a second to compile: none of the small op programs here)."""
    import jax

    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
