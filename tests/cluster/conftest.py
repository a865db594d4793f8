"""A real Dask cluster on 127.0.0.1 for the tests of this folder: a ``dask scheduler`` process and two
``dask worker`` processes (one thread each), started once per test process, stopped at its end, and
checked to leave no process behind. Skips where Dask is not installed (``pip install
'trigrad[cluster]'``; .ci/run installs it)."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "reliability"))  # the trigrad command's helpers

from trigrad_cli import alive, descendants  # noqa: E402

WORKERS = 2
START_SECONDS = 60.0  # a cluster whose workers have not all connected in this long did not start
STOP_SECONDS = 20.0  # how long each process has to exit after SIGTERM
# Dask reschedules a task whose worker died this many times; then the task fails with KilledWorker
# (1 instead of Dask's default 3, so that the test of a task that kills every worker costs two deaths)
ALLOWED_FAILURES = 1


@dataclass
class Cluster:
    address: str
    processes: list  # the scheduler's and the workers' Popen
    allowed_failures: int = ALLOWED_FAILURES

    def family(self) -> set[int]:
        """Every process of the cluster: the ones started and their descendants (a worker's nanny
        starts the worker process, which starts trigrad's supervised checkers)."""
        pids = {p.pid for p in self.processes}
        return pids.union(*(descendants(p) for p in pids))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*argv, cwd, env=None):
    # the dask command of this interpreter (python -m distributed.cli.*: no console script on PATH needed)
    return subprocess.Popen([sys.executable, "-m", *argv], cwd=cwd, env=dict(os.environ, **(env or {})),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """The running cluster (its scheduler's address and processes); skips without Dask."""
    distributed = pytest.importorskip("distributed", reason="Dask is not installed (pip install 'trigrad[cluster]')")
    folder = tmp_path_factory.mktemp("cluster")
    address = f"tcp://127.0.0.1:{_free_port()}"
    processes = [_dask("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                       "--no-dashboard", cwd=folder,
                       env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(ALLOWED_FAILURES)})]
    processes += [_dask("distributed.cli.dask_worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                        "--no-dashboard", "--name", f"w{k}", "--local-directory", str(folder), "--death-timeout", "30",
                        cwd=folder) for k in range(WORKERS)]
    cluster = Cluster(address, processes)
    family = set()
    try:
        with distributed.Client(address, timeout=START_SECONDS) as client:
            client.wait_for_workers(WORKERS, timeout=START_SECONDS)
        yield cluster
        family = cluster.family()
    finally:
        for p in reversed(processes):  # the workers first, then the scheduler
            p.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    deadline = time.monotonic() + STOP_SECONDS
    while any(alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(family) > len(processes) and not [p for p in family if alive(p)], "processes left behind"
