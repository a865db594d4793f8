"""Mutation testing of the core: mutmut over autograd/, killed by the ci suite; score and survivors.

Run: ``python -m bench mutation [--seconds S] [--max-children N] [--summary-only]``. Prints a table
and writes bench/results/mutation.json.

mutmut (3.x, in the ``dev`` extra) copies the project into ``mutants/``, plants one mutant at a time
into autograd/ (operators swapped, constants changed, arguments dropped, ...) and runs the tests
that cover the mutated function (it records coverage per test once, in its "stats" run). The test
command is the ``ci`` suite on the built-in backend (pyproject.toml, ``[tool.mutmut]``):

- ``tests/autograd`` - the core's unit tests (fast; most mutants die here), and
- ``properties/test_properties.py`` under ``--hypothesis-profile=ci`` - the property suites, every
  (property, op) cell with 30 derandomized examples.

Per mutant, mutmut runs only the tests that executed the mutated function, fastest first, and stops
at the first failure (``-x``): a killed mutant usually costs a second; a surviving one costs every
covering property cell (up to the whole suite, ~1.5 minutes on one core). That choice keeps the run
feasible on 2 cores: the full catalogue of mutants takes hours, so the run is resumable
(mutants already judged are kept in ``mutants/``) and ``--seconds`` bounds one sitting; the summary
reports how many mutants were judged. mutmut judges the fastest-to-judge mutants first, so a
partial run leans toward mutants with few covering tests.

Every surviving mutant is looked up in ``CLASSIFIED`` below: ``equivalent`` (no observable change,
e.g. a message text, or a branch that computes the same thing), or ``gap`` (a real change the tests
miss), with the reason; unclassified survivors are listed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

from bench.common import table, write_results

ROOT = pathlib.Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
KILLED = {1, 3}
STATUS = {0: "survived", 1: "killed", 3: "killed", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", -9: "segfault", -11: "segfault",
          None: "not checked"}

# Surviving mutants, judged by reading their diff (``python -m mutmut show NAME``):
# name -> (equivalent | gap, why). A gap names the test that now kills the mutant (each checked by
# planting the same edit with trigrad.properties.planted); mutmut keeps its old verdict until the mutant is re-run.
_LAYER_INIT = "an attribute that forward sets before anything reads it"
_EXTRA_COPY = "copies more gradients than needed (is not for is); the values are the same"
_OUTPUT_ALIAS = ("a gradient that is a forward output's memory is no longer copied; closed by "
                 "test_core_graph.py::test_a_backward_that_returns_its_own_output_gets_a_copy")
_NO_RELEASE = "a dropped gradient's memory is never given back: later gradients on it are copied needlessly"
_STALE_ALIAS = ("a retained output gradient from an earlier pass, passed through, is no longer copied; closed by "
                "test_core_graph.py::test_a_stale_retained_output_gradient_passed_through_gets_a_copy")
CLASSIFIED: dict[str, tuple[str, str]] = {
    "autograd.core.x_no_grad__mutmut_2": ("equivalent", "enable_backprop None instead of False: only its truth is read"),
    "autograd.core.xǁVariableǁreshape__mutmut_1": (
        "equivalent", "or for and: a lone int shape reaches reshape, which makes the same 1-tuple of it"),
    "autograd.core.xǁVariableǁtranspose__mutmut_4": (
        "gap", "x.transpose(0) on a 1-D array raised; closed by test_core_operators.py::test_methods_and_indexing"),
    "autograd.core.xǁVariableǁtranspose__mutmut_9": (
        "gap", "x.transpose(None) raised; closed by test_core_operators.py::test_methods_and_indexing"),
    "autograd.core.x__uses_memory_of__mutmut_2": ("equivalent", _EXTRA_COPY),
    "autograd.core.x__uses_memory_of__mutmut_4": ("gap", _OUTPUT_ALIAS),
    "autograd.core.x__uses_memory_of__mutmut_5": (
        "gap", "a freed output is dereferenced and backward raises; closed by "
               "test_core_graph.py::test_backward_through_a_function_whose_first_output_was_freed"),
    "autograd.core.x__uses_memory_of__mutmut_7": ("gap", _OUTPUT_ALIAS),
    "autograd.core.x__uses_memory_of__mutmut_8": ("equivalent", _EXTRA_COPY),
    "autograd.core.x__uses_memory_of__mutmut_9": ("gap", _OUTPUT_ALIAS),
    "autograd.core.x__uses_memory_of__mutmut_10": ("gap", _STALE_ALIAS),
    "autograd.core.x__uses_memory_of__mutmut_11": ("equivalent", _EXTRA_COPY),
    "autograd.core.x__uses_memory_of__mutmut_12": ("gap", _STALE_ALIAS),
    "autograd.core.x__uses_memory_of__mutmut_13": ("equivalent", "always copies: more copies than needed, the same values"),
    "autograd.core.xǁ_GradientMemoryǁrelease__mutmut_2": ("equivalent", _NO_RELEASE),
    "autograd.core.xǁ_GradientMemoryǁrelease__mutmut_3": ("equivalent", _NO_RELEASE),
    "autograd.core.xǁ_GradientMemoryǁrelease__mutmut_4": ("equivalent", _NO_RELEASE),
    "autograd.core.xǁ_GradientMemoryǁrelease__mutmut_6": ("equivalent", _NO_RELEASE),
    "autograd.core.xǁVariableǁbackward__mutmut_36": ("equivalent", _NO_RELEASE),
    "autograd.core.xǁ_GradientMemoryǁclaim__mutmut_15": (
        "equivalent", "the owned roots are no longer kept alive: a freed root's id reused by a new array only "
                      "causes an extra copy"),
    "autograd.core.xǁ_GradientMemoryǁclaim__mutmut_16": (
        "gap", "claimed memory is not recorded, so add gives both inputs one intermediate gradient; closed by "
               "test_core_graph.py::test_add_inside_a_graph_gives_each_input_its_own_gradient"),
    "autograd.core.xǁFunctionǁinput_grads__mutmut_6": (
        "gap", "the error names NoneType instead of the Function; closed by "
               "test_core_graph.py::test_backward_with_the_wrong_number_of_gradients_is_an_error"),
    "autograd.core.xǁFunctionǁinput_grads__mutmut_17": (
        "gap", "the error names NoneType instead of the Function; closed by "
               "test_core_graph.py::test_backward_with_a_gradient_of_the_wrong_shape_is_an_error"),
    "autograd.core.xǁVariableǁbackward__mutmut_45": (
        "gap", "break for continue: a None gradient for one input drops the next inputs' gradients; closed by "
               "test_core_graph.py::test_a_none_gradient_for_one_input_leaves_the_next_inputs_theirs"),
    "autograd.core.xǁVariableǁbackward__mutmut_55": (
        "equivalent", "the output gradients are guarded without retain_grad too: extra copies, the same values"),
    "autograd.core.xǁVariableǁbackward__mutmut_56": ("equivalent", _NO_RELEASE),
    "autograd.utils.x_memory_root__mutmut_6": (
        "equivalent", "getattr without a default: every caller passes an ndarray, which always has .base"),
    "autograd.core.xǁ_GradientMemoryǁclaim__mutmut_14": (
        "equivalent", "a copy's fresh memory goes unrecorded; any later pass-through of it is caught by the "
                      "retained-gradient check, or its gradient is released first"),
    "autograd.functions.xǁSoftplusǁforward__mutmut_8": ("equivalent", "> for >= in max(x, 0): both give 0 at x = 0"),
    "autograd.functions.xǁMatMulǁbackward__mutmut_3": (
        "equivalent", "a 2-D left operand gets a leading axis of length 1 too: the same products, reshaped back"),
    "autograd.functions.xǁMatMulǁbackward__mutmut_6": (
        "equivalent", "a 2-D left operand gets a leading axis of length 1 too: the same products, reshaped back"),
    "autograd.functions.x_get_item__mutmut_1": (
        "gap", "a Variable index became None; closed by test_core_functions.py::test_get_item_takes_a_variable_as_index"),
    "autograd.functions.xǁClipǁbackward__mutmut_8": ("equivalent", "= for &= on a mask of ones: the same mask"),
    "autograd.functions.x_softmax_cross_entropy__mutmut_4": (
        "gap", "Variable labels were rejected; closed by "
               "test_core_functions.py::test_softmax_cross_entropy_takes_labels_as_a_variable"),
    "autograd.functions.x_softmax_cross_entropy__mutmut_23": (
        "equivalent", "log_softmax's default axis -1 is axis 1 of the 2-D logits it accepts"),
    "autograd.layers.xǁMulLayerǁ__init____mutmut_1": ("equivalent", _LAYER_INIT),
    "autograd.layers.xǁMulLayerǁ__init____mutmut_2": ("equivalent", _LAYER_INIT),
    "autograd.layers.xǁReluǁ__init____mutmut_1": ("equivalent", _LAYER_INIT),
    "autograd.layers.xǁSigmoidǁ__init____mutmut_1": ("equivalent", _LAYER_INIT),
    "autograd.layers.xǁSigmoidǁ__init____mutmut_2": ("equivalent", _LAYER_INIT),
    "autograd.layers.xǁAddLayerǁbackward__mutmut_2": ("equivalent", "dout / 1 for dout * 1: the same float values"),
    "autograd.layers.xǁAddLayerǁbackward__mutmut_5": ("equivalent", "dout / 1 for dout * 1: the same float values"),
}


def have_mutmut() -> bool:
    try:
        import mutmut  # noqa: F401
    except ImportError:
        return False
    return True


def run_mutmut(seconds: float | None, max_children: int) -> tuple[float, bool]:
    """Run (or resume) ``mutmut run`` for at most ``seconds``; (elapsed, finished)."""
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    try:
        proc.wait(timeout=seconds)
        return time.perf_counter() - start, True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)  # mutmut stops its workers and keeps what it judged
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return time.perf_counter() - start, False


def results() -> dict[str, int | None]:
    """mutant name -> mutmut's exit code (None: not judged yet), from mutmut's files in mutants/."""
    out = {}
    for meta in sorted(MUTANTS.rglob("*.meta")):
        data = json.loads(meta.read_text())
        out.update(data.get("exit_code_by_key", {}))
    return out


def diff(name: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def summarize(codes: dict) -> dict:
    status = {name: STATUS.get(code, "suspicious") for name, code in codes.items()}
    counts = {s: sum(1 for v in status.values() if v == s) for s in sorted(set(status.values()))}
    judged = [n for n, s in status.items() if s in ("killed", "survived", "timeout", "segfault", "suspicious")]
    killed = [n for n in judged if status[n] in ("killed", "timeout", "segfault")]  # a hang or crash is a kill
    survivors = sorted(n for n, s in status.items() if s == "survived")
    return {"mutants": len(codes), "judged": len(judged), "killed": len(killed), "counts": counts,
            "score": len(killed) / len(judged) if judged else None, "survivors": survivors}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop mutmut after this long (resumable: the next run continues); default: until done")
    parser.add_argument("--max-children", type=int, default=1, help="parallel mutmut workers (default %(default)s)")
    parser.add_argument("--summary-only", action="store_true", help="summarise what mutants/ holds, run nothing")
    args = parser.parse_args(argv)
    if not have_mutmut():
        print("skipped: mutmut is not installed (pip install -e '.[dev]')")
        return

    elapsed, finished = (0.0, False) if args.summary_only else run_mutmut(args.seconds, args.max_children)
    codes = results()
    if not codes:
        print("no mutants judged yet (mutmut stopped before its first mutant): run longer")
        return
    s = summarize(codes)
    survivors = []
    for name in s["survivors"]:
        kind, why = CLASSIFIED.get(name, ("unclassified", ""))
        survivors.append({"name": name, "class": kind, "why": why, "diff": diff(name)})
    print(table(["mutants", "judged", "killed", "survived", "not checked", "no tests", "score"],
                [[s["mutants"], s["judged"], s["killed"], s["counts"].get("survived", 0),
                  s["counts"].get("not checked", 0), s["counts"].get("no tests", 0),
                  f"{100 * s['score']:.1f}%" if s["score"] is not None else "-"]],
                title="mutmut over autograd/ with tests/autograd and the ci property suites"))
    if survivors:
        print()
        print(table(["surviving mutant", "class", "why"], [[v["name"], v["class"], v["why"]] for v in survivors]))
    equivalent = [v["name"] for v in survivors if v["class"] == "equivalent"]
    score_without_equivalent = s["killed"] / (s["judged"] - len(equivalent)) if s["judged"] > len(equivalent) else None
    print(f"surviving mutants: {len(equivalent)} equivalent, "
          f"{sum(v['class'] == 'gap' for v in survivors)} gaps, "
          f"{sum(v['class'] == 'unclassified' for v in survivors)} unclassified; score without the equivalent ones: "
          + (f"{100 * score_without_equivalent:.1f}%" if score_without_equivalent is not None else "-"))
    write_results("mutation", {
        "score": s["score"], "score_without_equivalent": score_without_equivalent, "mutants": s["mutants"], "judged": s["judged"], "killed": s["killed"],
        "counts": s["counts"], "complete": s["counts"].get("not checked", 0) == 0,
        "seconds_this_sitting": elapsed, "finished_this_sitting": finished,
        "survivors": survivors,
        "gaps": [v["name"] for v in survivors if v["class"] == "gap"],
        "equivalent": equivalent,
        "unclassified": [v["name"] for v in survivors if v["class"] == "unclassified"],
    })


if __name__ == "__main__":
    main()
