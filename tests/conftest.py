"""Fixtures for tests in more than one folder: a real Redis server."""

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

import pytest

REDIS_START_SECONDS = 5.0  # a redis-server that has not answered in this long is taken as not starting


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server on a free port, for the test's length (its URL and process, which a test
    may kill); skips where redis-server or the redis client is not installed (.ci/run installs both)."""
    pytest.importorskip("redis", reason="the redis client is not installed (pip install 'trigrad[redis]')")
    import redis

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + REDIS_START_SECONDS
    try:
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.skip(f"redis-server did not start (exit status {proc.poll()})")
                time.sleep(0.05)
        yield RedisServer(f"redis://127.0.0.1:{port}", proc)
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def redis_url(redis_server):
    """The URL of a real redis-server for the test's length (``redis_server``)."""
    return redis_server.url
