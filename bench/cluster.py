"""trigrad on a Dask cluster: wall time and efficiency of ``trigrad check --scheduler`` with 1 and 2 workers
against one worker, and the scheduler's overhead per task.

Run: ``python -m bench cluster [--workers 1,2] [--ops OP,...] [--empty N] [--quick]`` (needs
``pip install 'trigrad[cluster]'``). Prints two tables and writes bench/results/cluster.json.

Each cluster is Dask's ``LocalCluster`` on this machine: worker processes with one thread each, as the
README tells a real cluster to run them. The workload is ``trigrad check`` on the built-in backend under
the deterministic ``ci`` profile (the same examples wherever they run), its rows as tasks; wall time is
the command's (the cluster is started before and stopped after), CPU time the command's own process
with its children (the client; in the baseline, the supervised checker that runs the rows) and,
separately, the worker processes' during the command (from /proc, their finished children included). Efficiency against linear is T(1) / (n * T(n)). The same command in this process
(``-j 1``, no Dask) is the baseline that Dask's own cost is judged against.

Overhead per task, two ways on one worker: ``empty`` tasks (a function that returns at once) through
trigrad's executor, wall time over their number; and trigrad's smallest cell (the row of the cheapest op
with the value property only, one example), run as a task minus the same row run in this process (the
median of REPEATS runs of each: the oracle's compiles are warm in both).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import statistics
import time

from bench.common import table, write_results
from trigrad.properties.cli import check
from trigrad.properties.cli import main as trigrad
from trigrad.properties.cluster import Dask
from trigrad.properties.fuzzing.sandbox import DEFAULT_TIMEOUT

QUICK_OPS = "sin,mul"
DEFAULT_OPS = "sin,cos,exp,log,mul,add,tanh,sigmoid"
SMALLEST = ("neg", "value")  # trigrad's cheapest cell: a unary op without a kink, the value property, one example
EMPTY_TASKS = 400
REPEATS = 15  # runs of the smallest cell, in process and as a task (the median of each is compared)


def _empty():
    return None


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (a supervised checker, say)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _check(ops: str, *extra) -> tuple[float, float, str]:
    """``trigrad check`` in this process: (wall seconds, CPU seconds of this process and its children,
    its table)."""
    out = io.StringIO()
    wall, cpu = time.perf_counter(), _cpu()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = trigrad(["check", "--ops", ops, "--properties", "value,vjp", "--profile", "ci", "--quiet",
                       "--no-reproduce", *extra])
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    if status != 0:
        raise RuntimeError(f"trigrad check {ops} failed (exit {status}):\n{out.getvalue()[-3000:]}")
    return wall, cpu, out.getvalue().split("\n", 1)[1]


def _process_cpu(pid: int) -> float:
    """CPU seconds of process ``pid`` and of its children it has waited for (from /proc: Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


def _workers_cpu(address: str) -> float:
    """CPU seconds so far of every worker process of the cluster at ``address``."""
    from distributed import Client

    with Client(address) as client:
        return sum(_process_cpu(pid) for pid in client.run(os.getpid).values())


@contextlib.contextmanager
def _cluster(workers: int):
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      host="127.0.0.1") as c:
        yield c.scheduler_address


def _overhead(address: str, empty: int) -> dict:
    """Per-task overhead on one worker: empty tasks, and the smallest cell as a task against in process."""
    pool = Dask(address)
    try:
        list(pool.map(_empty, [()] * 20))  # warm: the worker imports trigrad's modules once
        start = time.perf_counter()
        list(pool.map(_empty, [()] * empty))
        per_empty = (time.perf_counter() - start) / empty
    finally:
        pool.close()
    op, prop = SMALLEST
    start_args = (None, "ci", (DEFAULT_TIMEOUT, None, False))  # check's defaults: --timeout, --memory, supervised
    state = {prop: ("not reached", 0, 0.0)}
    args = (op, 1, state, None)  # one example
    check._start_worker(*start_args)
    local = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        check._row_task(*args)
        local.append(time.perf_counter() - t)
    check._WORKER.pop("backend").close()
    pool = Dask(address, check._start_worker, start_args)
    remote = []
    try:
        list(pool.map(check._row_task, [args]))  # warm: the backend, the profile and the oracle's compiles
        for _ in range(REPEATS):
            t = time.perf_counter()
            list(pool.map(check._row_task, [args]))
            remote.append(time.perf_counter() - t)
    finally:
        pool.close()
    return {"empty_task_ms": 1000 * per_empty, "smallest_cell_in_process_ms": 1000 * statistics.median(local),
            "smallest_cell_as_task_ms": 1000 * statistics.median(remote),
            "smallest_cell_overhead_ms": 1000 * (statistics.median(remote) - statistics.median(local))}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default %(default)s)")
    parser.add_argument("--ops", default=DEFAULT_OPS, help="the check's rows (default %(default)s)")
    parser.add_argument("--empty", type=int, default=EMPTY_TASKS, help="empty tasks timed (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help=f"ops {QUICK_OPS}, 100 empty tasks")
    args = parser.parse_args(argv)
    ops, empty = (QUICK_OPS, 100) if args.quick else (args.ops, args.empty)
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("skipped: Dask is not installed (pip install 'trigrad[cluster]')")
        return

    base_wall, base_cpu, base_table = _check(ops, "-j", "1")
    print(f"  in this process (-j 1): {base_wall:.1f} s", flush=True)
    rows = {}
    for n in (int(w) for w in args.workers.split(",")):
        with _cluster(n) as address:
            before = _workers_cpu(address)
            wall, cpu, printed = _check(ops, "--scheduler", address)
            workers = _workers_cpu(address) - before
        if printed != base_table:
            raise RuntimeError(f"the table on {n} workers differs from the table in this process:\n{printed}")
        rows[n] = {"seconds": wall, "client_cpu_seconds": cpu, "workers_cpu_seconds": workers}
        print(f"  {n} worker(s): {wall:.1f} s", flush=True)
    one = rows[min(rows)]["seconds"] * min(rows)
    for n, r in rows.items():
        r["efficiency"] = one / (n * r["seconds"])
    with _cluster(1) as address:
        overhead = _overhead(address, empty)
    load = os.getloadavg()
    print(table(["run", "wall s", "client CPU s", "workers CPU s", "efficiency vs 1 worker (wall)"],
                [["-j 1, no Dask", base_wall, base_cpu, "-", "-"]]
                + [[f"{n} worker(s)", r["seconds"], r["client_cpu_seconds"], r["workers_cpu_seconds"],
                    f"{100 * r['efficiency']:.0f}%"] for n, r in rows.items()],
                title=f"trigrad check --ops {ops} --properties value,vjp --profile ci (built-in backend); "
                      f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} cores"))
    print()
    print(table(["per task", "ms"], [
        [f"empty task ({empty}, through trigrad's executor)", overhead["empty_task_ms"]],
        [f"smallest cell {SMALLEST[1]} / {SMALLEST[0]}, 1 example, in this process", overhead["smallest_cell_in_process_ms"]],
        ["the same cell as a task", overhead["smallest_cell_as_task_ms"]],
        ["overhead of the cell as a task", overhead["smallest_cell_overhead_ms"]],
    ], title="the scheduler's overhead per task (one worker)"))
    write_results("cluster", {"ops": ops, "in_process": {"seconds": base_wall, "cpu_seconds": base_cpu},
                              "by_workers": {str(n): r for n, r in rows.items()}, **overhead})


if __name__ == "__main__":
    main()
