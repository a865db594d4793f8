"""Mutation testing of the core: mutmut over autograd/, killed by the ci suite; score and survivors.

Run: ``python -m bench mutation [--seconds S] [--max-children N] [--summary-only] [NAME ...]``.
Prints a table and writes bench/results/mutation.json.

mutmut (3.x, in the ``dev`` extra) copies the project into ``mutants/``, plants one mutant at a time
into the core (operators swapped, constants changed, arguments dropped, ...) and runs the tests
that cover the mutated function (it records coverage per test once, in its "stats" run). The test
command is the ``ci`` suite on the built-in backend (pyproject.toml, ``[tool.mutmut]``):

- ``tests/autograd`` - the core's unit tests (fast; most mutants die here), and
- ``properties/test_properties.py`` under ``--hypothesis-profile=ci`` - the property suites, every
  (property, op) cell with 30 derandomized examples.

Per mutant, mutmut runs only the tests that executed the mutated function, fastest first, and stops
at the first failure (``-x``): a killed mutant usually costs a second; a surviving one costs every
covering property cell (up to the whole suite, ~1.5 minutes on one core). That choice keeps the run
feasible on 2 cores: the full catalogue of mutants takes hours, so the run is resumable
(mutants already judged are kept in ``mutmut-stage/mutants/``), ``--seconds`` bounds one sitting
and names or globs pick mutants; the summary reports how many mutants were judged. mutmut judges
the fastest-to-judge mutants first, so a partial run leans toward mutants with few covering tests.

mutmut runs in a staging folder, ``mutmut-stage/``, laid out as trigrad is installed: links
``trigrad/autograd``, ``trigrad/oracle`` and ``trigrad/properties`` to the repository's folders,
beside links to ``tests/``, ``conftest.py`` and ``pyproject.toml``. mutmut names a mutant after its
file's path (``trigrad.autograd.core.x_...``) and, in its stats run, records which tests reach a
function by the function's ``__module__`` (``trigrad.autograd.core``): the two agree only when the
path is ``trigrad/autograd/`` (from the repository's root, no test would reach a mutant by name).
mutmut's copy, ``mutmut-stage/mutants/``, goes first on ``sys.path``, so ``trigrad.autograd`` is the
mutated copy and ``trigrad.properties`` (whose plugin collects the suite file beside it) is the
copy whose suite file the tests name. Delete ``mutmut-stage/`` to start over.

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
# Where mutmut runs: the installed layout, so that mutant names are the core's module names.
STAGE = ROOT / "mutmut-stage"
# What the stage links to: its path in the stage -> the repository's path (what [tool.mutmut] in
# pyproject.toml mutates and copies).
STAGED = {"trigrad/autograd": "autograd", "trigrad/oracle": "oracle", "trigrad/properties": "properties",
          "tests": "tests", "conftest.py": "conftest.py", "pyproject.toml": "pyproject.toml"}
MUTANTS = STAGE / "mutants"
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
# Variable.reshape and .transpose moved from core.py to functions.py (_reshape_method, _transpose_method,
# installed by setup_variable) with their bodies unchanged; their three entries follow them.
CLASSIFIED: dict[str, tuple[str, str]] = {
    "trigrad.autograd.core.x_no_grad__mutmut_2": ("equivalent", "enable_backprop None instead of False: only its truth is read"),
    "trigrad.autograd.functions.x__reshape_method__mutmut_1": (
        "equivalent", "or for and: a lone int shape reaches reshape, which makes the same 1-tuple of it"),
    "trigrad.autograd.functions.x__transpose_method__mutmut_4": (
        "gap", "x.transpose(0) on a 1-D array raised; closed by test_core_operators.py::test_methods_and_indexing"),
    "trigrad.autograd.functions.x__transpose_method__mutmut_9": (
        "gap", "x.transpose(None) raised; closed by test_core_operators.py::test_methods_and_indexing"),
    "trigrad.autograd.core.x__uses_memory_of__mutmut_2": ("equivalent", _EXTRA_COPY),
    "trigrad.autograd.core.x__uses_memory_of__mutmut_4": ("gap", _OUTPUT_ALIAS),
    "trigrad.autograd.core.x__uses_memory_of__mutmut_5": (
        "gap", "a freed output is dereferenced and backward raises; closed by "
               "test_core_graph.py::test_backward_through_a_function_whose_first_output_was_freed"),
    "trigrad.autograd.core.x__uses_memory_of__mutmut_7": ("gap", _OUTPUT_ALIAS),
    "trigrad.autograd.core.x__uses_memory_of__mutmut_8": ("equivalent", _EXTRA_COPY),
    "trigrad.autograd.core.x__uses_memory_of__mutmut_9": ("gap", _OUTPUT_ALIAS),
    "trigrad.autograd.core.x__uses_memory_of__mutmut_10": ("gap", _STALE_ALIAS),
    "trigrad.autograd.core.x__uses_memory_of__mutmut_11": ("equivalent", _EXTRA_COPY),
    "trigrad.autograd.core.x__uses_memory_of__mutmut_12": ("gap", _STALE_ALIAS),
    "trigrad.autograd.core.x__uses_memory_of__mutmut_13": ("equivalent", "always copies: more copies than needed, the same values"),
    "trigrad.autograd.core.xǁ_GradientMemoryǁrelease__mutmut_2": ("equivalent", _NO_RELEASE),
    "trigrad.autograd.core.xǁ_GradientMemoryǁrelease__mutmut_3": ("equivalent", _NO_RELEASE),
    "trigrad.autograd.core.xǁ_GradientMemoryǁrelease__mutmut_4": ("equivalent", _NO_RELEASE),
    "trigrad.autograd.core.xǁ_GradientMemoryǁrelease__mutmut_6": ("equivalent", _NO_RELEASE),
    "trigrad.autograd.core.xǁVariableǁbackward__mutmut_36": ("equivalent", _NO_RELEASE),
    "trigrad.autograd.core.xǁ_GradientMemoryǁclaim__mutmut_15": (
        "equivalent", "the owned roots are no longer kept alive: a freed root's id reused by a new array only "
                      "causes an extra copy"),
    "trigrad.autograd.core.xǁ_GradientMemoryǁclaim__mutmut_16": (
        "gap", "claimed memory is not recorded, so add gives both inputs one intermediate gradient; closed by "
               "test_core_graph.py::test_add_inside_a_graph_gives_each_input_its_own_gradient"),
    "trigrad.autograd.core.xǁFunctionǁinput_grads__mutmut_6": (
        "gap", "the error names NoneType instead of the Function; closed by "
               "test_core_graph.py::test_backward_with_the_wrong_number_of_gradients_is_an_error"),
    "trigrad.autograd.core.xǁFunctionǁinput_grads__mutmut_17": (
        "gap", "the error names NoneType instead of the Function; closed by "
               "test_core_graph.py::test_backward_with_a_gradient_of_the_wrong_shape_is_an_error"),
    "trigrad.autograd.core.xǁVariableǁbackward__mutmut_45": (
        "gap", "break for continue: a None gradient for one input drops the next inputs' gradients; closed by "
               "test_core_graph.py::test_a_none_gradient_for_one_input_leaves_the_next_inputs_theirs"),
    "trigrad.autograd.core.xǁVariableǁbackward__mutmut_55": (
        "equivalent", "the output gradients are guarded without retain_grad too: extra copies, the same values"),
    "trigrad.autograd.core.xǁVariableǁbackward__mutmut_56": ("equivalent", _NO_RELEASE),
    "trigrad.autograd.utils.x_memory_root__mutmut_6": (
        "equivalent", "getattr without a default: every caller passes an ndarray, which always has .base"),
    "trigrad.autograd.core.xǁ_GradientMemoryǁclaim__mutmut_14": (
        "equivalent", "a copy's fresh memory goes unrecorded; any later pass-through of it is caught by the "
                      "retained-gradient check, or its gradient is released first"),
    "trigrad.autograd.functions.xǁSoftplusǁforward__mutmut_8": ("equivalent", "> for >= in max(x, 0): both give 0 at x = 0"),
    "trigrad.autograd.functions.xǁMatMulǁbackward__mutmut_3": (
        "equivalent", "a 2-D left operand gets a leading axis of length 1 too: the same products, reshaped back"),
    "trigrad.autograd.functions.xǁMatMulǁbackward__mutmut_6": (
        "equivalent", "a 2-D left operand gets a leading axis of length 1 too: the same products, reshaped back"),
    "trigrad.autograd.functions.x_get_item__mutmut_1": (
        "gap", "a Variable index became None; closed by test_core_functions.py::test_get_item_takes_a_variable_as_index"),
    "trigrad.autograd.functions.xǁClipǁbackward__mutmut_8": ("equivalent", "= for &= on a mask of ones: the same mask"),
    "trigrad.autograd.functions.x_softmax_cross_entropy__mutmut_4": (
        "gap", "Variable labels were rejected; closed by "
               "test_core_functions.py::test_softmax_cross_entropy_takes_labels_as_a_variable"),
    "trigrad.autograd.functions.x_softmax_cross_entropy__mutmut_23": (
        "equivalent", "log_softmax's default axis -1 is axis 1 of the 2-D logits it accepts"),
    "trigrad.autograd.layers.xǁMulLayerǁ__init____mutmut_1": ("equivalent", _LAYER_INIT),
    "trigrad.autograd.layers.xǁMulLayerǁ__init____mutmut_2": ("equivalent", _LAYER_INIT),
    "trigrad.autograd.layers.xǁReluǁ__init____mutmut_1": ("equivalent", _LAYER_INIT),
    "trigrad.autograd.layers.xǁSigmoidǁ__init____mutmut_1": ("equivalent", _LAYER_INIT),
    "trigrad.autograd.layers.xǁSigmoidǁ__init____mutmut_2": ("equivalent", _LAYER_INIT),
    "trigrad.autograd.layers.xǁAddLayerǁbackward__mutmut_2": ("equivalent", "dout / 1 for dout * 1: the same float values"),
    "trigrad.autograd.layers.xǁAddLayerǁbackward__mutmut_5": ("equivalent", "dout / 1 for dout * 1: the same float values"),
}


def have_mutmut() -> bool:
    try:
        import mutmut  # noqa: F401
    except ImportError:
        return False
    return True


def stage() -> None:
    """Make (or refresh) mutmut-stage/: links laid out as trigrad is installed, and to the tests."""
    for name, target in STAGED.items():
        link = STAGE / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(ROOT / target)


def run_mutmut(seconds: float | None, max_children: int, names: list[str]) -> tuple[float, bool]:
    """Run (or resume) ``mutmut run`` in the stage for at most ``seconds``; (elapsed, finished)."""
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=STAGE, start_new_session=True)
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
    """mutant name -> mutmut's exit code (None: not judged yet), from mutmut's files in the stage."""
    out = {}
    for meta in sorted(MUTANTS.rglob("*.meta")):
        data = json.loads(meta.read_text())
        out.update(data.get("exit_code_by_key", {}))
    return out


def diff(name: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=STAGE, capture_output=True, text=True)
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
    parser.add_argument("--summary-only", action="store_true",
                        help="summarise what mutmut-stage/mutants/ holds, run nothing")
    parser.add_argument("mutants", nargs="*", metavar="NAME",
                        help="judge only these mutants (names or globs, e.g. 'trigrad.autograd.layers.*'); default: all")
    args = parser.parse_args(argv)
    if not have_mutmut():
        print("skipped: mutmut is not installed (pip install -e '.[dev]')")
        return

    stage()
    elapsed, finished = (0.0, False) if args.summary_only else run_mutmut(args.seconds, args.max_children, args.mutants)
    s = summarize(results())
    if not s["judged"]:  # mutmut lists every mutant as soon as it has made them, judged or not
        print("no mutant judged yet (mutmut stopped or failed before its first verdict: see its output above); "
              "nothing written")
        return
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
