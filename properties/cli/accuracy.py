"""``trigrad accuracy``: gradient error in ULPs against exact, op by op across each op's domain, per
backend (``properties.accuracy``); a table per backend, an overview, and optionally JSON and plots.

    trigrad accuracy [--backend NAME ...] [--op OP ...] [--range LO:HI] [--points N] [--json FILE] [--plot DIR] [-j N]
                     [--timeout S] [--memory MB] [--in-process] [--scheduler ADDRESS]

The sweeps run in parallel in ``--jobs`` processes (default: one per core; ``properties.executor``),
or as tasks on a Dask cluster with ``--scheduler`` (``properties.cluster``); the profiles do not
depend on how many, nor where. Each backend runs in a supervised worker
(``fuzzing.supervise``), as with ``trigrad check``: a backend that exits, crashes or hangs leaves that
sweep unmeasured with the reason (the call that was running), and the other sweeps go on.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from .. import accuracy
from ..cluster import add_scheduler_option, make_executor, scheduler_address
from ..errors import UsageError
from ..executor import Died, default_jobs
from ..fuzzing.sandbox import ExampleTimeout, UserCodeError
from ..fuzzing.supervise import WorkerLost, supervised, supervision_options
from ..plots import need_matplotlib, write_plots
from .common import backend, fail_usage, output_file, output_folder, positive

MIN_POINTS = 4  # a sweep needs this many points at least
LOST = "the backend failed: "  # how a sweep whose supervised worker died or hung begins its error
# ... and the errors of sweeps whose backend exited (sys.exit, KeyboardInterrupt) or overran the time
# limit where the worker's timer stopped it (accuracy.py reports what a backend raises by its type's name)
FAILED = (LOST, f"the backend raised {UserCodeError.__name__}", f"the backend raised {ExampleTimeout.__name__}")


def add_parser(sub):
    """``trigrad accuracy`` on the ``trigrad`` command's subparsers."""
    a = sub.add_parser("accuracy", help="gradient error in ULPs against exact, op by op across each op's domain",
                       description="Measure each backend's first and second derivatives against the exact ones, "
                                   "in ULPs of the backend's format, across each op's whole domain.")
    a.add_argument("--backend", action="append", metavar="NAME",
                   help="builtin (default), torch, torch[float32], jax, dezero or module:object; repeat for several")
    a.add_argument("--op", action="append", metavar="OP", help="only this op (repeat for several; default: every "
                   f"profiled op: {', '.join(accuracy.profiled_ops())})")
    a.add_argument("--range", default=None, metavar="LO:HI", help="sweep the argument over [LO, HI] instead of "
                   "the op's extent")
    a.add_argument("--points", type=int, default=accuracy.POINTS, metavar="N", help=f"points per sweep (default {accuracy.POINTS})")
    a.add_argument("--json", default=None, metavar="FILE", help="also write the profiles as JSON (trigrad report reads it)")
    a.add_argument("--plot", default=None, metavar="DIR", help="also write one PNG per op and derivative "
                   "(needs matplotlib: pip install 'trigrad[plot]')")
    a.add_argument("--first-order", action="store_true", help="first derivatives only")
    a.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help=f"sweeps run in parallel in N processes (default: the number of cores, here {default_jobs()})")
    supervision_options(a)
    add_scheduler_option(a)
    return a


def parse_range(text: str) -> tuple[float, float]:
    """"LO:HI" -> (lo, hi); a UsageError that says what is wrong."""
    lo, sep, hi = text.partition(":")
    try:
        if not sep:
            raise ValueError
        a, b = float(lo), float(hi)
    except ValueError:
        raise UsageError(f"--range must be LO:HI with two numbers, e.g. -40:40, not {text!r}") from None
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise UsageError(f"--range needs finite LO < HI, got {text!r}")
    if not math.isfinite(b - a):  # numpy's spacing of the points overflowed, with warnings
        raise UsageError(f"--range {text!r} is wider than a float can hold (HI - LO overflows); give a "
                         "narrower one, e.g. -1e300:1e300")
    return a, b


def _need_matplotlib():
    """--plot without matplotlib is bad usage (the message says how to install it)."""
    try:
        need_matplotlib()
    except ImportError as e:
        raise UsageError(str(e)) from None


def command(args) -> int:
    """Run ``trigrad accuracy``: 0 when it ran, 1 when the backend died, exited or hung in a sweep (or the
    process or cluster worker running it died), 2 on bad usage."""
    try:
        backends = [backend(name) for name in (args.backend or ["builtin"])]
        ops = args.op or accuracy.profiled_ops()
        unknown = [op for op in ops if op not in accuracy.profiled_ops()]
        if unknown:
            raise UsageError(f"cannot profile {', '.join(map(repr, unknown))}; profiled ops: {', '.join(accuracy.profiled_ops())}")
        lo, hi = parse_range(args.range) if args.range else (None, None)
        if args.points < MIN_POINTS:
            raise UsageError(f"--points must be at least {MIN_POINTS}, got {args.points}")
        if args.plot:
            _need_matplotlib()
        positive(args.jobs, "--jobs")
        for b in backends:
            supervised(b, args)  # a bad --timeout or --memory is bad usage before anything runs
        output_file(args.json, "--json")
        output_folder(args.plot, "--plot")
        scheduler = scheduler_address(args.scheduler)
    except UsageError as e:
        return fail_usage(e)
    try:
        runs = _profiles(args.backend or ["builtin"], backends, ops, lo, hi, args.points, 1 if args.first_order else 2,
                         args.jobs, (args.timeout, args.memory, args.in_process), scheduler)
    except UsageError as e:  # (an unreachable scheduler)
        return fail_usage(e)
    data = accuracy.to_json(runs)
    for run in data["runs"]:
        print(f"trigrad accuracy: {run['backend']}, {run['points']} points per sweep, error in ulps of {run['dtype']} "
              "against the correctly rounded exact derivative")
        print(accuracy.table(run))
        print()
    print(accuracy.overview(data["runs"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f)
    if args.plot:
        paths = write_plots(data, args.plot)
        print(f"{len(paths)} plots in {args.plot}")
    lost = [f"{run.backend}: {p.sweep.label}" for run in runs for p in run.profiles
            if any(s.error.startswith(FAILED) for s in p.series)]
    if lost:
        print(f"\n{len(lost)} sweeps not measured because the backend died, exited or hung (exit status 1): "
              f"{', '.join(lost)}")
    return 1 if lost else 0


# The backends of a worker process, by position in the command line (set by _start_worker).
_WORKER: dict = {}


def _start_worker(names, supervision):
    """A job's backends, supervised as the command line asks (``supervision``: --timeout, --memory,
    --in-process)."""
    timeout, memory, in_process = supervision
    options = argparse.Namespace(timeout=timeout, memory=memory, in_process=in_process)
    _WORKER["backends"] = [supervised(backend(name), options) for name in names]


def _sweep(b, sweep, points, order):
    return accuracy.profile_or_unsupported(b, sweep, points=points, order=order)


def _sweep_task(k, sweep, points, order):
    """One sweep, in the backend's supervised worker where it has one: a backend that dies or hangs
    there leaves the sweep unmeasured, saying why and in which call."""
    b = _WORKER["backends"][k]
    if not hasattr(b, "run_task"):
        return _sweep(b, sweep, points, order)
    try:
        return b.run_task(_sweep, sweep, points, order)
    except WorkerLost as e:
        return accuracy.unmeasured(sweep, f"{LOST}{e}")


def _profiles(names, backends, ops, lo, hi, points, order, jobs, supervision, scheduler=None) -> list:
    """Each backend's Run (``accuracy.profile``: its supported ops first), its sweeps run on ``jobs``
    processes or on the Dask cluster at ``scheduler``, each backend in a supervised worker
    (``fuzzing.supervise``) unless ``supervision`` says --in-process. A sweep whose process (or
    cluster worker) died is unmeasured with the reason, as one whose supervised worker died."""
    ordered = [[op for op in ops if b.supports(op)] + [op for op in ops if not b.supports(op)] for b in backends]
    tasks = [(k, sw, points, order) for k in range(len(backends)) for op in ordered[k]
             for sw in accuracy.sweeps(op, lo, hi)]
    profiles = [None] * len(tasks)
    pool = make_executor(scheduler, min(jobs or default_jobs(), len(tasks)), _start_worker, (names, supervision))
    try:
        if scheduler is not None:
            print(f"trigrad accuracy: sweeps run on {pool.describe()}", file=sys.stderr, flush=True)
        for b in backends:
            print(f"trigrad accuracy: {b.describe()}", file=sys.stderr, flush=True)
        for i, p in pool.map(_sweep_task, tasks):
            profiles[i] = accuracy.unmeasured(tasks[i][1], f"{LOST}the process sweeping it {p.how}") if isinstance(p, Died) else p
    finally:
        pool.close()
        for b in _WORKER.pop("backends", []):  # the sweeps ran in this process (one job): its workers are done
            b.close()
    return [accuracy.Run(b.describe(), np.dtype(b.dtype).name, points,
                         [p for (k2, *_), p in zip(tasks, profiles) if k2 == k]) for k, b in enumerate(backends)]


__all__ = ["add_parser", "command", "parse_range"]
