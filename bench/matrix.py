"""The published conformance matrix: docs/matrix.md and docs/matrix.html, from one ``trigrad check``
run per library.

    python -m bench matrix [--libraries A,B,...] [--profile ci] [--seconds N] [--checks DIR] [--reuse]

Each library is checked in a process of its own (``trigrad check --backend NAME --profile P --json
DIR/NAME.json``): libraries that cannot share a process (paddle after tensorflow crashes) never meet,
and each run's CPU time is its own (the children's rusage). A library that is not installed is left
out with the reason. ``--reuse`` takes DIR/NAME.json where it exists instead of running the check
again, with the CPU time and load recorded beside it in DIR/NAME.run.json (shown as "-" without one). The page says when and where it was
made, each library's version, examples, wall and CPU seconds, load average and time box (``--seconds``,
recorded in NAME.run.json), the op x library table (``properties.matrix.markdown``) and each library's
findings by cause; the HTML page is ``trigrad report``'s with the matrix first. Writing the published
page also rewrites the README's per-library table (between its markers, ``readme_table``). Nothing
here is asserted: the numbers are the machine's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import time

from bench.common import RESULTS_DIR, write_results
from trigrad.properties import html_report, matrix
from trigrad.properties.backends import BUILTIN_NAMES

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The libraries of the published page, in the order they are run: paddle before tensorflow (the
# other order cannot share a process; here each has its own anyway).
LIBRARIES = ("builtin", "torch", "jax", "dezero", "hips", "mygrad", "tinygrad", "chainer", "paddle", "tensorflow", "mlx")
COMMAND = "python -m bench matrix"


def run_check(name: str, profile: str, seconds: float | None, out: pathlib.Path) -> dict:
    """``trigrad check`` for one library in a child process: its exit status, wall and CPU seconds
    and the load average before and after."""
    cmd = [sys.executable, "-c", "import sys; from trigrad.properties.cli import main; sys.exit(main())", "check", "--backend", name, "--profile", profile,
           "--json", str(out), "--quiet"] + (["--seconds", str(seconds)] if seconds else [])
    before, load0, start = resource.getrusage(resource.RUSAGE_CHILDREN), os.getloadavg()[0], time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"status": r.returncode, "wall": time.perf_counter() - start, "cpu": cpu,
            "load": f"{load0:.1f} / {os.getloadavg()[0]:.1f}", "stderr": r.stderr.strip().splitlines()[-1:]}


README = ROOT / "README.md"
# The README's per-library table sits between these lines; each matrix run rewrites it.
README_BEGIN = "<!-- per-library table: written by python -m bench matrix from bench/results/matrix/*.json -->"
README_END = "<!-- end per-library table -->"


def readme_table(m: dict, checks: list[dict], runs: dict) -> str:
    """The README's per-library table: a line per library with its examples, seconds, time box, and
    its rows and cells by outcome (the same run as docs/matrix.md)."""
    lines = ["| library | examples | seconds (wall / CPU) | time box | rows: pass / known / unsup / failing / not reached "
             "| cells: pass / known / unsup |", "|---|---|---|---|---|---|"]
    for lib, doc in zip(m["libraries"], checks):
        n, run = m["counts"][lib["backend"]], runs.get(lib["backend"], {})
        status = [c["status"] for c in doc["cells"]]
        cells = (sum(s == "pass" for s in status), sum(s == "known" for s in status),
                 sum(s.startswith("unsupported") for s in status))
        box = run.get("time box", "-")
        lines.append(f"| {doc['backend']} | {doc['examples']:,} | {doc['seconds']:.0f} / {run.get('CPU seconds', '-')} | "
                     f"{box} | {n['pass']} / {n['known']} / {n['unsupported']} / {n['finding'] + n['error']} / "
                     f"{n['not reached']} | {cells[0]} / {cells[1]} / {cells[2]} |")
    return "\n".join(lines)


def run_columns(run: dict) -> dict:
    """A check run's extra columns on the page (NAME.run.json: CPU seconds, load, time box; "-" where a
    run did not record one)."""
    return {"CPU seconds": "-" if run.get("cpu") is None else f"{run['cpu']:.0f}", "load": run.get("load", "-"),
            "time box": "-" if "seconds" not in run else f"{run['seconds']:.0f} s" if run["seconds"] else "none"}


def write_readme(table: str, path: pathlib.Path = README) -> bool:
    """Put ``table`` between the README's markers (False when it has none)."""
    text = path.read_text()
    if README_BEGIN not in text or README_END not in text:
        return False
    head, rest = text.split(README_BEGIN, 1)
    path.write_text(head + README_BEGIN + "\n" + table + "\n" + README_END + rest.split(README_END, 1)[1])
    return True


def preface(profile: str, runs: dict, left_out: dict) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Made {now} by `{COMMAND}` (profile `{profile}`) on {platform.machine()} Linux, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}; each library checked in a process "
             "of its own. Wall seconds are the check's own; CPU seconds are the child process's (user + "
             "system); load is the machine's 1-minute load average before / after (other work on the "
             "machine makes wall time longer, not CPU time). Regenerate with the same command; "
             "`--reuse` rebuilds the page from the check runs in bench/results/matrix/."]
    if left_out:
        lines += ["", "Left out (not installed or could not be loaded here): "
                  + "; ".join(f"{k} ({v})" for k, v in left_out.items()) + "."]
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench matrix", description=__doc__.split("\n")[0])
    p.add_argument("--libraries", default=",".join(LIBRARIES), help="comma-separated backend names")
    p.add_argument("--profile", default="ci")
    p.add_argument("--seconds", type=float, default=None, help="time budget per library (default: the profile's)")
    p.add_argument("--checks", default=str(RESULTS_DIR / "matrix"), help="folder of the check runs' JSON")
    p.add_argument("--reuse", action="store_true", help="take existing CHECKS/NAME.json instead of running")
    p.add_argument("--markdown", default=str(DOCS / "matrix.md"))
    p.add_argument("--html", default=str(DOCS / "matrix.html"))
    p.add_argument("--note", default="", help="a paragraph for the page's preface (how the runs were made)")
    p.add_argument("--quick", action="store_true", help="a smoke run: the built-in core, 20 seconds, scratch output")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.libraries.split(",") if n.strip()]
    if args.quick:
        names, args.seconds, quick = ["builtin"], 20, RESULTS_DIR / "quick"
        args.checks, args.markdown, args.html = str(quick / "matrix"), str(quick / "matrix.md"), str(quick / "matrix.html")
    unknown = [n for n in names if n.split("[")[0] not in BUILTIN_NAMES]
    if unknown:
        p.error(f"unknown libraries {unknown}; expected some of {', '.join(BUILTIN_NAMES)}")
    checks = pathlib.Path(args.checks)
    checks.mkdir(parents=True, exist_ok=True)
    docs, runs, left_out = [], {}, {}
    for name in names:
        out, measured = checks / f"{name}.json", checks / f"{name}.run.json"
        if args.reuse and out.exists():
            run = json.loads(measured.read_text()) if measured.exists() else {"cpu": None, "load": "-"}
        else:
            print(f"checking {name} ...", flush=True)
            run = run_check(name, args.profile, args.seconds, out)
            run["seconds"] = args.seconds  # the time box, if any
            if not out.exists():
                left_out[name] = " ".join(run["stderr"]) or f"exit status {run['status']}"
                print(f"  left out: {left_out[name]}", flush=True)
                continue
            measured.write_text(json.dumps(run, indent=2) + "\n")
        with open(out) as f:
            doc = json.load(f)
        docs.append(doc)
        runs[doc["backend"]] = run_columns(run)
        print(f"  {doc['backend']}: {doc['examples']:,} examples, {doc['seconds']:.0f} s", flush=True)
    if not docs:
        sys.exit("python -m bench matrix: no library could be checked")
    m = matrix.build(docs)
    text = preface(args.profile, runs, left_out) + (f"\n\n{args.note}" if args.note else "")
    page = matrix.markdown(m, docs, preface=text, runs=runs)
    pathlib.Path(args.markdown).write_text(page)
    pathlib.Path(args.html).write_text(html_report.render(docs, []))
    if not args.quick and pathlib.Path(args.markdown) == DOCS / "matrix.md":  # the published page: the README's table too
        write_readme(readme_table(m, docs, runs))
    print(matrix.text(m))
    write_results("matrix", {"profile": args.profile, "runs": runs, "left_out": left_out, "counts": m["counts"],
                             "markdown": args.markdown, "html": args.html})


if __name__ == "__main__":
    main()
