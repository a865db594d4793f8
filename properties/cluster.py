"""Pieces of work on a Dask cluster: ``--scheduler tcp://HOST:PORT`` for ``trigrad check``, ``matrix``,
``accuracy`` and ``fuzz`` (``pip install 'trigrad[cluster]'``).

Rows, sweeps and fuzz shards become tasks of Dask's distributed scheduler, behind the same
``Executor`` interface as the local processes (``properties.executor``), so the commands do not know
where their pieces run: results stream back as tasks finish into the one table, JSON and HTML report
of the command. Without ``--scheduler`` the scheduler comes from Dask's own configuration
(``DASK_SCHEDULER_ADDRESS``, or ``scheduler-address`` in a Dask configuration file); with none,
nothing changes: the pieces run on this machine (``--jobs``, ``--workers``).

Each worker process runs one trigrad task at a time (a task holds the process's backend and its
supervised checker), so start the workers with ``--nthreads 1`` and as many processes as cores
(``dask worker ADDRESS --nworkers N --nthreads 1``); threads beyond the first wait. Every worker needs
trigrad, the backends the run names and the fuzz target's module, at the same paths. What a task
sends with ``executor.report`` reaches the command through Dask's event log (a topic per run); the
command's ``stop`` sets a Dask ``Event`` that tasks look at between examples, and cancels the tasks
not started. A worker that dies has its task rescheduled by Dask; a task that kills every worker it
runs on (more than ``distributed.scheduler.allowed-failures`` times) ends as a ``Died``, which the
commands report as a finding of the piece (the row, or the shard with its seed).
"""

from __future__ import annotations

import importlib.util
import os
import queue as queues
import threading
import time
import uuid
import warnings
from typing import Callable

from hypothesis.errors import HypothesisDeprecationWarning

from .errors import UsageError
from .executor import Died, executor, use_channel

EXTRA = "pip install 'trigrad[cluster]'"  # how to get Dask
RANDOM_WARNING = "Do not use the `random` module inside strategies"  # see _task
POLL_SECONDS = 0.02  # how often map looks for finished tasks (a look is local: the client is told of each)
SCHEDULER_HELP = ("run the pieces on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:PORT; "
                  "default: Dask's configuration, e.g. DASK_SCHEDULER_ADDRESS; needs trigrad[cluster])")


def add_scheduler_option(parser):
    """``--scheduler ADDRESS`` on a subcommand's parser."""
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help=SCHEDULER_HELP)


def scheduler_address(option: str | None) -> str | None:
    """The scheduler a command runs on: ``option`` (``--scheduler``), else Dask's configuration
    (``DASK_SCHEDULER_ADDRESS`` or a configuration file's ``scheduler-address``), else None: this
    machine. A UsageError when a scheduler is named and Dask is not installed."""
    if importlib.util.find_spec("dask") is None:
        named = option or os.environ.get("DASK_SCHEDULER_ADDRESS")
        if named:
            raise UsageError(f"the Dask scheduler {named} needs Dask: {EXTRA}")
        return None
    import dask.config  # only where Dask is installed: it is an extra

    return option or dask.config.get("scheduler-address", None) or None


def make_executor(scheduler: str | None, jobs: int | None, initializer: Callable | None = None,
                  initargs: tuple = ()):
    """The executor of a command: ``Dask`` on the ``scheduler`` (``scheduler_address``), else
    ``executor.executor(jobs, ...)`` on this machine."""
    if scheduler is None:
        return executor(jobs, initializer, initargs)
    return Dask(scheduler, initializer, initargs)


def _distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError(f"--scheduler needs Dask's distributed scheduler: {EXTRA}") from None
    return distributed


class _Events:
    """The channel of a task on a Dask worker: Dask's event log, and the run's Event."""

    def __init__(self, name: str):
        self.name, self.event = name, None

    def send(self, message):
        _distributed().get_worker().log_event(self.name, message)

    def stopped(self) -> bool:
        if self.event is None:
            self.event = _distributed().Event(self.name)
        return self.event.is_set()


_ONE_AT_A_TIME = threading.Lock()  # a worker process runs one trigrad task at a time
_STARTED: list = []  # the initializer and its arguments last run in this worker process


def _task(name: str, initializer, initargs: tuple, fn, args: tuple):
    """A piece of work on a Dask worker: ``initializer(*initargs)`` when this process has not run it
    (with these arguments) yet, then ``fn(*args)`` with the run's channel."""
    with _ONE_AT_A_TIME, warnings.catch_warnings():
        # Hypothesis warns when the random module's state changes during a draw; on a Dask worker the
        # worker's own threads use it meanwhile (the draws do not): that warning says nothing here
        warnings.filterwarnings("ignore", message=RANDOM_WARNING, category=HypothesisDeprecationWarning)
        if initializer is not None and _STARTED != [initializer, initargs]:
            initializer(*initargs)
            _STARTED[:] = [initializer, initargs]
        use_channel(_Events(name))
        try:
            return fn(*args)
        finally:
            use_channel(None)


class Dask:
    """An Executor on the Dask cluster whose scheduler is at ``address``: each piece is a task; results
    as they finish (``properties.executor``)."""

    def __init__(self, address: str, initializer: Callable | None = None, initargs: tuple = ()):
        distributed = _distributed()
        try:
            # how long it waits for the scheduler: Dask's distributed.comm.timeouts.connect (30 s by default)
            self.client = distributed.Client(address, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {e}") from None
        self.address = address
        self.name = f"trigrad-{uuid.uuid4().hex}"
        self._messages = queues.Queue()
        self.client.subscribe_topic(self.name, lambda event: self._messages.put(event[1]))
        self._stop = distributed.Event(self.name, client=self.client)
        self._start = (initializer, initargs)
        self._futures = []

    def describe(self) -> str:
        """Where the tasks run, in words."""
        workers = self.client.scheduler_info().get("workers", {})
        return f"the Dask scheduler at {self.address}, {len(workers)} workers"

    def map(self, fn, items, progress=None):
        distributed = _distributed()
        tag = uuid.uuid4().hex[:8]
        futures = {self.client.submit(_task, self.name, *self._start, fn, args, pure=False,
                                      key=f"trigrad-{fn.__name__}-{tag}-{i}"): i for i, args in enumerate(items)}
        self._futures += list(futures)
        pending = set(futures)
        while pending:
            done = {f for f in pending if f.done()}
            pending -= done
            self._pass_on(progress)
            if not done:
                time.sleep(POLL_SECONDS)
            for f in sorted(done, key=futures.get):
                if f.status == "cancelled":
                    continue
                if f.status == "error" and isinstance(f.exception(), distributed.KilledWorker):
                    self._pass_on(progress)
                    yield futures[f], Died(_killed(f.exception()))
                    continue
                yield futures[f], f.result()

    def _pass_on(self, progress):
        while True:
            try:
                message = self._messages.get_nowait()
            except queues.Empty:
                return
            if progress is not None:
                progress(message)

    def stop(self):
        """Tasks not started are cancelled; running ones see ``stop_requested()``."""
        self._stop.set()
        self.client.cancel([f for f in self._futures if not f.done()])

    def interrupt(self):
        """Ctrl-C: as ``stop`` (a row running on a worker runs to its end)."""
        self.stop()

    def close(self):
        self.stop()
        self.client.unsubscribe_topic(self.name)
        self.client.close()

    def kill(self):
        self.close()


def _killed(error) -> str:
    """A KilledWorker in words."""
    allowed = getattr(error, "allowed_failures", None)
    if allowed is None:
        import dask.config

        allowed = dask.config.get("distributed.scheduler.allowed-failures")
    return (f"killed its worker {allowed + 1} times (Dask reschedules a task whose worker died, "
            f"distributed.scheduler.allowed-failures = {allowed} times)")


__all__ = ["Dask", "make_executor", "scheduler_address", "add_scheduler_option", "EXTRA"]
