"""The example database a campaign saves its failures in, named as on the command line
(``--database``): a folder, ``redis://HOST:PORT[/DB]`` (Hypothesis's Redis database, shared between
machines), or ``none``; anything else is a UsageError.

A Redis server that goes away during a run loses nothing: from the first failed call on, the
campaign saves in the local folder database instead (``local_database``), says so once on stderr, and still
prints its finding. ``database_key`` is the key a campaign's examples are saved under.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from urllib.parse import urlsplit

import hypothesis
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase, InMemoryExampleDatabase

from ..errors import UsageError
from ..paths import writable_folder
from .twin import parse_twins

LOCAL_FOLDER = os.path.join(".hypothesis", "examples")  # Hypothesis's own folder database, in the current folder
REDIS_SECONDS = 5.0  # a Redis call that has not answered in this long counts as the server gone
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DB = re.compile(r"^/?(\d+)?$")
FORMS = "a folder, redis://HOST:PORT[/DB] or none"


def local_database() -> ExampleDatabase:
    """The local folder database (LOCAL_FOLDER)."""
    return DirectoryBasedExampleDatabase(LOCAL_FOLDER)


def open_database(url: str | None):
    """An example database from the command line: None for the profile's, ``none`` (no database), a
    folder, ``redis://HOST:PORT[/DB]``, or ``:memory:`` (tests). Anything else, an unwritable folder
    or a Redis server that does not answer is a UsageError."""
    if url is None:
        return hypothesis.settings.default.database
    if url.strip().lower() == "none":
        return None
    if url == ":memory:":
        return InMemoryExampleDatabase()
    if url.startswith("redis://"):
        return _redis(url)
    if _SCHEME.match(url):
        raise UsageError(f"--database {url!r}: only redis:// (in lower case) names a server; expected {FORMS}")
    writable_folder(url, "--database")
    return DirectoryBasedExampleDatabase(url)


def _redis(url: str) -> ExampleDatabase:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port is None or not 0 < port < 2**16 or parts.query or parts.fragment \
            or not _DB.match(parts.path):
        raise UsageError(f"--database {url!r} is not redis://HOST:PORT[/DB] with a port from 1 to 65535 "
                         "and a database number")
    try:  # optional (the redis extra): only for a redis:// database
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError:
        raise UsageError("--database redis://... needs the redis client: pip install 'trigrad[redis]'") from None
    client = redis.Redis.from_url(url, socket_timeout=REDIS_SECONDS, socket_connect_timeout=REDIS_SECONDS)
    try:
        client.ping()
    except redis.RedisError as e:
        raise UsageError(f"cannot reach the redis server at {url}: {e}") from None
    return FallbackDatabase(RedisExampleDatabase(client), url, redis.RedisError)


def database_key(backend: str, target) -> bytes:
    """The key a campaign's examples are saved under: the backend (``describe()``), where the target
    is defined (a file by its resolved path) and its twin in sympy's own spelling, so that
    ``./t.py:Sinh`` and ``sinh( x )`` replay what ``/home/me/t.py:Sinh`` and ``sinh(x)`` saved."""
    where = target.where or target.name
    module, sep, attr = where.rpartition(":")
    if sep and module.endswith(".py"):
        where = f"{os.path.realpath(module)}:{attr}"
    return f"fuzz:{backend}:{where}:{_canonical(target.twin)}".encode()


def _canonical(twin: str) -> str:
    """The twin in one spelling: sympy's for sympy twins (one per output), Python's syntax tree for an
    array twin over spec ops (its limits were checked when the target was made; nothing runs)."""
    if twin.startswith("like "):
        return twin
    try:
        return ", ".join(str(e) for e in parse_twins(twin))
    except UsageError:
        return ast.unparse(ast.parse(twin.strip(), mode="eval"))


class FallbackDatabase(ExampleDatabase):
    """A shared database (``primary``) that, at its first error (one of ``errors``), hands over to the
    local folder database for the rest of the run, so that no failure is lost with the server."""

    def __init__(self, primary: ExampleDatabase, name: str, errors):
        super().__init__()
        self.primary, self.name, self.errors = primary, name, errors
        self.lost: str | None = None  # why the primary was given up, once it was

    def __repr__(self) -> str:
        return f"FallbackDatabase({self.primary!r})"

    def _call(self, method: str, *args):
        if self.lost is None:
            try:
                result = getattr(self.primary, method)(*args)
                return list(result) if method == "fetch" else result  # a lazy fetch fails while iterated
            except self.errors as e:
                self.lost = f"{type(e).__name__}: {e}"
                self.primary = local_database()
                print(f"trigrad: the example database at {self.name} went away ({self.lost}); examples are "
                      f"kept in the local folder {LOCAL_FOLDER} for the rest of the run", file=sys.stderr, flush=True)
        result = getattr(self.primary, method)(*args)
        return list(result) if method == "fetch" else result

    def fetch(self, key: bytes):
        return self._call("fetch", key)

    def save(self, key: bytes, value: bytes) -> None:
        self._call("save", key, value)

    def delete(self, key: bytes, value: bytes) -> None:
        self._call("delete", key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self._call("move", src, dest, value)


__all__ = ["open_database", "database_key", "FallbackDatabase", "local_database", "LOCAL_FOLDER", "REDIS_SECONDS"]
