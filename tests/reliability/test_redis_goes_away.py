"""A Redis server that goes away mid-run loses nothing: the finding is printed and kept in the local
database (it was a ConnectionError traceback, exit status 1, and no report)."""

import json

from hypothesis.database import DirectoryBasedExampleDatabase

from trigrad_cli import CATALOGUE, TARGETS, trigrad


def test_a_finding_survives_the_redis_server_going_away(tmp_path, redis_server):
    url = redis_server.url
    # the target's first forward kills the server: after the database was opened, before any save
    proc = trigrad("fuzz", f"{TARGETS}:SinhStopsRedis", "--sympy", "sinh(x)", "--database", url, "--seed", "1",
                   "--quiet", "--json", tmp_path / "out.json", cwd=tmp_path,
                   env={"TRIGRAD_TEST_REDIS_PID": str(redis_server.process.pid)})
    assert redis_server.process.poll() is not None  # it was gone during the run
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"the example database at {url} went away" in proc.stderr
    assert "trigrad: vjp failed on SinhStopsRedis" in proc.stdout and "reproduce" in proc.stdout
    assert json.loads((tmp_path / "out.json").read_text())["finding"]["property"] == "vjp"
    local = DirectoryBasedExampleDatabase(str(tmp_path / ".hypothesis" / "examples"))
    assert list(local.path.iterdir()), "the finding is kept locally"
    # and the local database replays it: a run without the server finds it at once
    again = trigrad("fuzz", f"{CATALOGUE}:SinhWrongSign", "--sympy", "sinh(x)", "--seed", "2", "--quiet", cwd=tmp_path)
    assert again.returncode == 1
