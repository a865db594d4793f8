"""``trigrad fuzz``: fuzz a new Function class, a book-1 layer or a callable against its twin.

    trigrad fuzz MODULE:NAME (--sympy EXPR | --like OP) [--domain VAR=LO:HI ...] [--backend NAME]
                 [--seconds N | --max-examples N] [--seed N] [--workers N] [--database URL]

Exit status: 0 when nothing was found, 1 with the minimal counterexample, 2 on bad usage. What a
campaign does is described in ``properties.fuzzing``.
"""

from __future__ import annotations

import json

from trigrad.oracle import spec

from ..errors import UsageError
from ..fuzzing.campaign import DEFAULT_MAX_EXAMPLES, progress_line, random_seed
from ..fuzzing.database import open_database
from ..fuzzing.sandbox import DEFAULT_TIMEOUT, MAX_TIMEOUT, check_timeout
from ..fuzzing.twin import DEFAULT_DOMAIN
from ..fuzzing.workers import Job, outcome_data, run_workers
from .common import Progress, backend, fail_usage, output_file, positive

PROG = "trigrad fuzz"  # how its usage errors begin


def add_parser(sub):
    """``trigrad fuzz``'s arguments (``sub``: the command's subparsers)."""
    f = sub.add_parser("fuzz", help="fuzz a new Function class, a book-1 layer or a callable against its sympy twin",
                       description="Fuzz a new Function class, a book-1 style layer or a callable of the backend "
                                   "against its mathematical twin, alone and inside random compositions.")
    f.add_argument("target", metavar="MODULE:NAME", help="what to fuzz (MODULE may be a path/to/file.py)")
    twin = f.add_mutually_exclusive_group(required=True)
    twin.add_argument("--sympy", metavar="EXPR", help="the twin in x (and y, z), with sympy's functions, e.g. 'sinh(x)'")
    twin.add_argument("--like", metavar="OP", help="borrow the twin, domain and kinks of an op of the spec table")
    f.add_argument("--domain", action="append", default=[], metavar="VAR=LO:HI",
                   help=f"where argument VAR is drawn and evaluated (default {DEFAULT_DOMAIN.lo:g}:{DEFAULT_DOMAIN.hi:g}, "
                        "or the --like op's domain); repeat for each variable")
    f.add_argument("--backend", default=None, metavar="NAME", help="builtin (default), torch, jax, dezero or module:object")
    budget = f.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, default=None, metavar="N", help="run for this long")
    budget.add_argument("--max-examples", type=int, default=None, metavar="N",
                        help=f"run this many examples (default {DEFAULT_MAX_EXAMPLES})")
    f.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (default: a fresh one, printed)")
    f.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes, with seeds SEED, SEED+1, ..., sharing one example database")
    f.add_argument("--database", default=None, metavar="URL",
                   help="example database: a folder (default .hypothesis/examples), redis://HOST:PORT[/DB], or none")
    f.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"seconds one example may take before it counts as a hang (default {DEFAULT_TIMEOUT:g}, at most {MAX_TIMEOUT:g})")
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
    return Job(args.target, args.backend, args.sympy, args.like, tuple(args.domain), args.ulps, args.max_examples,
               args.seconds, args.timeout, args.database)


def command(args) -> int:
    """Run ``trigrad fuzz``: exit 0 when nothing was found, 1 with the minimal counterexample, 2 on bad usage."""
    try:
        job = _job(args)
        base = backend(job.backend)
        target = job.load(base)
        database = open_database(job.database)
    except UsageError as e:
        return fail_usage(e, PROG)
    seed = random_seed() if args.seed is None else args.seed
    progress = Progress(quiet=args.quiet)
    print(f"trigrad fuzz: {target.name} ({target.kind}, twin {target.twin}) on {base.describe()}, seed {seed}"
          + (f", {args.workers} workers" if args.workers > 1 else ""), flush=True)
    if args.workers == 1:
        outcome = job.run(target, base, seed, database,
                          lambda o: progress.show(progress_line(o.examples, o.seconds, len(o.combined_with))))
        results = [outcome_data(outcome)]
    else:
        try:
            results = run_workers(job, args.workers, seed, progress.show)
        except UsageError as e:
            return fail_usage(e, PROG)
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
    if found:
        print(found[0]["report"])
        print(f"\nfound by seed {found[0]['seed']} after {examples} examples in {seconds:.1f} s; "
              f"replay: the example database holds it, or rerun with --seed {found[0]['seed']}")
    else:
        print(f"no finding: {examples} examples in {seconds:.1f} s ({examples / max(seconds, 1e-9):.0f}/s per "
              f"process); by property: {', '.join(f'{p} {n}' for p, n in by_prop.items())}; combined with "
              f"{len(combined)} ops: {', '.join(combined)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"target": target.name, "kind": target.kind, "twin": target.twin, "backend": base.describe(),
                       "examples": examples, "seconds": seconds, "by_property": by_prop, "combined_with": combined,
                       "seeds": [r["seed"] for r in results],
                       "finding": found[0]["report_json"] if found else None}, f, indent=2)
    return 1 if found else 0


__all__ = ["add_parser", "command"]
