"""trigrad on a real Dask cluster (``conftest.cluster``: a scheduler and two workers on 127.0.0.1), through
the real command line: a check prints the table of a local run; a planted bug found by fuzz shards on
the cluster is saved in a shared Redis database and replayed first by a later plain local run; a crash
that supervision catches (a forked worker, or a spawned one for a backend that cannot be forked) is a
finding with its example; a task that kills every worker it runs on is
an error of the run with Dask's verdict, never "no finding". The cluster leaves no process behind
(checked as it stops)."""

import json
import os
import socket

import pytest

from trigrad.properties import fuzzing, suite
from trigrad.properties.backends import resolve
from trigrad.properties.cli import main
from trigrad.properties.cli.check import table
from trigrad.properties.fuzzing.target import load_target

from trigrad_cli import CATALOGUE, HERE, trigrad

pytest.importorskip("distributed", reason="Dask is not installed (pip install 'trigrad[cluster]'; .ci/run installs it)")

RELIABILITY_TARGETS = os.path.join(HERE, "targets.py")
DIES_IN_WORKER = os.path.join(HERE, "dies_in_worker.py")
CHECK = ("check", "--ops", "sin,mul", "--properties", "value,vjp", "--profile", "ci")


def _cells(path):
    with open(path) as f:
        doc = json.load(f)
    return doc, {(c["property"], c["op"]): (c["status"], c["examples"]) for c in doc["cells"]}


def test_a_check_on_the_cluster_prints_the_table_of_a_local_run(cluster, tmp_path, capsys):
    # the scheduler from Dask's own configuration (its environment variable), not --scheduler
    remote = trigrad(*CHECK, "--json", tmp_path / "remote.json", env={"DASK_SCHEDULER_ADDRESS": cluster.address})
    assert main([*CHECK, "--quiet", "-j", "1", "--json", str(tmp_path / "local.json")]) == 0  # in this process
    local = capsys.readouterr().out
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert f"rows run on the Dask scheduler at {cluster.address}, 2 workers" in remote.stderr
    doc, cells = _cells(tmp_path / "remote.json")
    assert cells == _cells(tmp_path / "local.json")[1] and len(cells) == 4
    printed = table(doc["rows"], doc["properties"], {(p, r): suite.Cell(p, r, status=s) for (p, r), (s, _) in cells.items()})
    assert printed in local and printed in remote.stdout


def test_accuracy_and_matrix_on_the_cluster_give_the_profiles_and_the_table_of_a_local_run(cluster, tmp_path, capsys):
    sweep = ("accuracy", "--op", "exp", "--op", "sin", "--points", "12", "--first-order")
    assert main([*sweep, "-j", "1", "--json", str(tmp_path / "local.json")]) == 0
    assert main([*sweep, "--scheduler", cluster.address, "--json", str(tmp_path / "remote.json")]) == 0
    assert f"sweeps run on the Dask scheduler at {cluster.address}" in capsys.readouterr().err
    local, remote = (json.loads((tmp_path / f"{w}.json").read_text())["runs"] for w in ("local", "remote"))
    assert remote == local
    assert main(["matrix", "--backend", "builtin", "--ops", "sin", "--properties", "value", "--profile", "ci",
                 "--scheduler", cluster.address, "--json", str(tmp_path / "m.json")]) == 0
    [doc] = json.loads((tmp_path / "m.json").read_text())["checks"]
    assert [(c["op"], c["status"]) for c in doc["cells"]] == [("sin", "pass")]


def test_a_finding_on_the_cluster_is_replayed_first_by_a_later_local_run(cluster, redis_url, tmp_path):
    target = f"{CATALOGUE}:SinhOffBy1e7"
    out = trigrad("fuzz", target, "--sympy", "sinh(x)", "--workers", "2", "--seed", "21", "--database", redis_url,
                  "--scheduler", cluster.address, "--quiet", "--json", tmp_path / "found.json")
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"2 shards on the Dask scheduler at {cluster.address}" in out.stdout and "found by seed" in out.stdout
    assert json.loads((tmp_path / "found.json").read_text())["finding"] is not None
    # what the workers saved (this process has run no campaign): failing examples, on the server
    server = pytest.importorskip("redis").Redis.from_url(redis_url)
    saved = sum(server.scard(key) for key in server.keys("hypothesis-example:*"))
    assert saved > 0
    # a later plain run on this machine: the target as the command line loads it, another seed, the
    # shared database; a failure saved on the cluster comes first, before anything new is drawn
    builtin = resolve("builtin")
    again = fuzzing.run(load_target(target, builtin, sympy="sinh(x)"), builtin,
                        database=fuzzing.open_database(redis_url), seed=99)
    assert again.report is not None and again.found_after <= saved


def test_keep_going_runs_every_shard_to_its_end(cluster):
    out = trigrad("fuzz", f"{CATALOGUE}:SinhWrongFactor", "--sympy", "sinh(x)", "--workers", "2", "--seed", "5",
                  "--keep-going", "--database", "none", "--quiet", "--scheduler", cluster.address)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "2 of 2 shards found a counterexample (seeds 5, 6)" in out.stdout


@pytest.mark.parametrize("backend", ["builtin", f"{RELIABILITY_TARGETS}:UnforkableCore"], ids=["forked", "spawned"])
def test_a_crash_caught_by_supervision_on_a_worker_is_a_finding_with_its_example(cluster, backend):
    # "spawned": a backend that cannot be forked (as JAX) is supervised in a fresh interpreter, started
    # from the Dask worker's process: its crash is a finding with the example too, not a KilledWorker
    out = trigrad("fuzz", f"{RELIABILITY_TARGETS}:BackwardOsExit", "--sympy", "sinh(x)", "--max-examples", "5",
                  "--seed", "0", "--timeout", "0.3", "--database", "none", "--quiet", "--scheduler", cluster.address,
                  "--backend", backend)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "BackwardOsExit.backward exited with status 3 in the supervised worker" in out.stdout
    assert "inputs" in out.stdout and "found by seed 0" in out.stdout


def test_a_task_that_kills_every_worker_is_an_error_not_no_finding(cluster, tmp_path):
    # the module exits as a worker process imports it: Dask reschedules the shard, which kills the next
    # worker too, until Dask gives up (KilledWorker); the cluster's nannies start new worker processes
    out = trigrad("fuzz", f"{DIES_IN_WORKER}:Sinh", "--sympy", "sinh(x)", "--seed", "3", "--database", "none",
                  "--quiet", "--scheduler", cluster.address, "--json", tmp_path / "o.json")
    assert out.returncode == 1, out.stdout + out.stderr
    assert (f"worker with seed 3 killed its worker {cluster.allowed_failures + 1} times" in out.stdout
            and "no finding" not in out.stdout), out.stdout
    assert len(json.loads((tmp_path / "o.json").read_text())["errors"]) == 1


def test_a_scheduler_that_does_not_answer_is_bad_usage(capsys):
    import dask.config

    dead = f"tcp://127.0.0.1:{_closed_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main([*CHECK, "--scheduler", dead]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {dead}" in err and err.count("\n") == 1, err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed
