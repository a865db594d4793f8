"""``trigrad fuzz``: fuzz a new Function class, a book-1 layer or a callable against its twin.

    trigrad fuzz MODULE:NAME (--sympy EXPR | --twin EXPR | --like OP) [--domain VAR=LO:HI ...] [--shape VAR=N,M]
                 [--param NAME=VALUE ...] [--backend NAME]
                 [--seconds N | --max-examples N] [--seed N] [--workers N] [--keep-going] [--database URL]
                 [--scheduler ADDRESS]

Exit status: 0 when nothing was found, 1 with the minimal counterexample (or when a worker process
died, so that nothing can be said), 2 on bad usage. What a campaign does is described in
``properties.fuzzing``; the code under test runs in a supervised worker (``fuzzing.supervise``).
``--workers N`` runs N shards (seeds SEED, ..., SEED + N - 1) on the executor (``properties.executor``):
N local processes, or N tasks on a Dask cluster with ``--scheduler`` (``properties.cluster``).
"""

from __future__ import annotations

import ast
import json
import os

from trigrad.oracle import spec

from ..cluster import add_scheduler_option, make_executor, scheduler_address
from ..errors import UsageError
from ..fuzzing.campaign import DEFAULT_MAX_EXAMPLES, random_seed, unsup_lines
from ..fuzzing.database import open_database
from ..fuzzing.target import FuzzBackend, unsupported_for
from ..fuzzing.sandbox import check_timeout
from ..fuzzing.supervise import memory_bytes, supervision_options
from ..fuzzing.twin import DEFAULT_DOMAIN
from ..fuzzing.workers import Job, run_shards
from .common import Progress, backend, fail_usage, output_file, positive

PROG = "trigrad fuzz"  # how its usage errors begin


def add_parser(sub):
    """``trigrad fuzz``'s arguments (``sub``: the command's subparsers)."""
    f = sub.add_parser("fuzz", help="fuzz a new Function class, a book-1 layer or a callable against its sympy twin",
                       description="Fuzz a new Function class, a book-1 style layer or a callable of the backend "
                                   "against its mathematical twin, alone and inside random compositions.")
    f.add_argument("target", metavar="MODULE:NAME", help="what to fuzz (MODULE may be a path/to/file.py)")
    twin = f.add_mutually_exclusive_group(required=True)
    twin.add_argument("--sympy", metavar="EXPR", help="the twin in x (and y, z), with sympy's functions, e.g. 'sinh(x)'; "
                                                      "one per output, separated by commas: 'sin(x), cos(x)'")
    twin.add_argument("--twin", metavar="EXPR", help="an array-valued twin: an expression over the spec table's ops "
                                                     "and their params, e.g. 'x - mean(x, axis=-1, keepdims=True)'")
    twin.add_argument("--like", metavar="OP", help="borrow the twin, domain and kinks of an op of the spec table")
    f.add_argument("--domain", action="append", default=[], metavar="VAR=LO:HI",
                   help=f"where argument VAR is drawn and evaluated (default {DEFAULT_DOMAIN.lo:g}:{DEFAULT_DOMAIN.hi:g}, "
                        "or the --like op's domain); repeat for each variable")
    f.add_argument("--shape", action="append", default=[], metavar="VAR=N,M",
                   help="fix the shape of an argument of a --twin (default: shapes drawn to fit the expression)")
    f.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter of the function (constructor or keyword argument, e.g. dim=-1 or eps=1e-5), "
                        "fixed for the campaign; repeat for each")
    f.add_argument("--backend", default=None, metavar="NAME", help="builtin (default), torch, jax, dezero or module:object")
    budget = f.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, default=None, metavar="N", help="run for this long")
    budget.add_argument("--max-examples", type=int, default=None, metavar="N",
                        help=f"run this many examples (default {DEFAULT_MAX_EXAMPLES})")
    f.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (default: a fresh one, printed)")
    f.add_argument("--workers", type=int, default=1, metavar="N",
                   help="shards with seeds SEED, SEED+1, ..., sharing one example database: processes here, "
                        "or tasks on the cluster with --scheduler")
    f.add_argument("--keep-going", action="store_true",
                   help="every shard runs its whole budget (default: the first finding stops the others)")
    add_scheduler_option(f)
    f.add_argument("--database", default=None, metavar="URL",
                   help="example database: a folder (default .hypothesis/examples), redis://HOST:PORT[/DB], or none")
    supervision_options(f)
    f.add_argument("--ulps", type=float, default=None, metavar="N",
                   help=f"rounding allowance of the function, in ulps (default {spec.ULPS_LIBM})")
    f.add_argument("--json", default=None, metavar="FILE", help="also write the outcome as JSON")
    f.add_argument("--quiet", action="store_true", help="no progress line")
    return f


def _job(args) -> Job:
    """The campaign the command line asks for (a UsageError for a bad budget)."""
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    positive(args.seconds, "--seconds")
    if args.max_examples is not None and args.max_examples < 1:
        raise UsageError(f"--max-examples must be at least 1, got {args.max_examples}")
    check_timeout(args.timeout, "--timeout")
    output_file(args.json, "--json")
    target = args.target
    module, sep, name = target.rpartition(":")
    if module.endswith(".py"):  # a file: the same one for a worker started elsewhere
        target = f"{os.path.abspath(module)}{sep}{name}"
    return Job(target, args.backend, args.sympy, args.like, tuple(args.domain), args.twin, tuple(args.shape),
               parse_params(args.param), args.ulps, args.max_examples, args.seconds, args.timeout, args.database,
               not args.in_process, memory_bytes(args.memory))


def parse_params(items) -> tuple:
    """``["dim=-1", "eps=1e-5"]`` -> (("dim", -1), ("eps", 1e-05)): values are Python literals (read
    with ast.literal_eval, no code runs), anything else is a string."""
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise UsageError(f"malformed parameter {item!r}; expected NAME=VALUE, e.g. dim=-1")
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            value = value.strip()
        out.append((name.strip(), value))
    return tuple(out)


def command(args) -> int:
    """Run ``trigrad fuzz``: exit 0 when nothing was found, 1 with the minimal counterexample, 2 on bad usage."""
    try:
        job = _job(args)
        base = backend(job.backend)
        target = job.load(base)
        open_database(job.database)  # an unreachable database is bad usage before anything runs
    except UsageError as e:
        return fail_usage(e, PROG)
    seed = random_seed() if args.seed is None else args.seed
    progress = Progress(quiet=args.quiet)
    print(f"trigrad fuzz: {target.name} ({target.kind}, twin {target.twin}) on {base.describe()}, seed {seed}"
          + (f", {args.workers} workers" if args.workers > 1 else ""), flush=True)
    for line in unsup_lines(unsupported_for(FuzzBackend(base, target))):
        print(line, flush=True)
    try:
        scheduler = scheduler_address(args.scheduler)
        pool = make_executor(scheduler, args.workers)
    except UsageError as e:
        return fail_usage(e, PROG)
    try:
        if scheduler is not None:
            print(f"trigrad fuzz: {args.workers} shards on {pool.describe()}", flush=True)
        results = run_shards(job, pool, [seed + k for k in range(args.workers)], progress.show,
                             keep_going=args.keep_going)
    except UsageError as e:
        pool.kill()
        return fail_usage(e, PROG)
    except BaseException:
        pool.kill()
        raise
    finally:
        pool.close()
    progress.done()
    return _finish(args, target, base, results)


def _finish(args, target, base, results) -> int:
    """Print (and write as JSON) what the campaigns found; the exit status."""
    examples = sum(r["examples"] for r in results)
    seconds = max(r["seconds"] for r in results)
    by_prop = {}
    for r in results:
        for p, n in r["by_property"].items():
            by_prop[p] = by_prop.get(p, 0) + n
    combined = sorted(set().union(*[r["combined_with"] for r in results]))
    found = [r for r in results if r["report"]]
    found.sort(key=lambda r: len(r["report_json"]["composition"]["nodes"]))
    errors = [r["error"] for r in results if r.get("error")]
    if errors and not found:  # a worker that died may have been about to find something
        for e in errors:
            print(f"trigrad fuzz: error: {e}")
        print(f"no verdict: {examples} examples in {seconds:.1f} s, {len(errors)} of {len(results)} workers failed")
    elif found:
        print(found[0]["report"])
        print(f"\nfound by seed {found[0]['seed']} after {examples} examples in {seconds:.1f} s; "
              f"replay: the example database holds it, or rerun with --seed {found[0]['seed']}")
        if len(found) > 1:
            print(f"{len(found)} of {len(results)} shards found a counterexample (seeds "
                  f"{', '.join(str(s) for s in sorted(r['seed'] for r in found))}); above, the smallest")
    else:
        print(f"no finding: {examples} examples in {seconds:.1f} s ({examples / max(seconds, 1e-9):.0f}/s per "
              f"process); by property: {', '.join(f'{p} {n}' for p, n in by_prop.items())}; combined with "
              f"{len(combined)} ops: {', '.join(combined)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"target": target.name, "kind": target.kind, "twin": target.twin, "backend": base.describe(),
                       "examples": examples, "seconds": seconds, "by_property": by_prop, "combined_with": combined,
                       "seeds": [r["seed"] for r in results], "unsupported": unsupported_for(FuzzBackend(base, target)),
                       "finding": found[0]["report_json"] if found else None, "errors": errors}, f, indent=2)
    return 1 if found or errors else 0


__all__ = ["add_parser", "command"]
