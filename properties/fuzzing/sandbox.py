"""The sandbox around the code under test: whatever it raises becomes a finding with its traceback, and
each call has a time limit (a timer signal in the main thread), so that a hang is a finding too,
reported with where the code was stuck.

In process, the sandbox sees what Python sees: an exception (``SystemExit`` included), a hang that
returns to the interpreter, a timeout that the code swallows (it is raised again when the call
returns). What it cannot stop (``os._exit``, a crash in C, a loop in C that never checks for signals,
memory exhaustion) is the job of ``properties.supervise``, which runs the checks in a worker process:
there the sandbox also reports the innermost running call through ``Clock.watch``, and a
``KeyboardInterrupt`` is the code's own (the worker ignores the terminal's Ctrl-C)."""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import traceback

from ..errors import UsageError

DEFAULT_TIMEOUT = 10.0  # seconds one call of the fuzzed code may take before it counts as a hang
# The longest time limit accepted: a day. setitimer overflows near 2**63 microseconds, and a limit
# that never expires in a campaign is no limit (None says that).
MAX_TIMEOUT = 86400.0


def check_timeout(timeout: float | None, what: str = "timeout") -> float | None:
    """``timeout`` if it is None or a finite number of seconds in (0, MAX_TIMEOUT], else UsageError."""
    if timeout is None:
        return None
    if not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or not 0 < timeout <= MAX_TIMEOUT:
        raise UsageError(f"{what} must be a number of seconds above 0 and at most {MAX_TIMEOUT:g} (a day), "
                         f"got {timeout!r}")
    return float(timeout)


class UserCodeError(Exception):
    """The fuzzed code raised; the message names where, ``trigrad_traceback`` holds the traceback."""


class ExampleTimeout(Exception):
    """A call of the fuzzed code ran longer than the time limit (raised by the timer signal)."""


# Raised by the code under test, these are findings too; KeyboardInterrupt only inside a supervised
# worker, where the terminal's Ctrl-C is ignored (in process it is the user stopping the run).
CODE_EXITS = (SystemExit,)
WORKER_CODE_EXITS = (SystemExit, KeyboardInterrupt)


class Clock:
    """The time limit on each call of the code under test (a fuzzed forward, backward or callable,
    an adapter's method): a timer signal, armed on entering the code and disarmed on leaving it, so
    that trigrad's own work (the oracles) never counts. Main thread only (signals); elsewhere there
    is no limit. A call whose timer fired raises ExampleTimeout when it returns, even when the code
    caught the first one. ``watch``, when set (in a supervised worker), is told each call entered
    (``watch.enter(label)``) and left (``watch.leave()``)."""

    def __init__(self):
        self.seconds = None
        self.depth = 0
        self.watch = None
        self.exits = CODE_EXITS
        self.labels = []  # the calls entered, innermost last

    @contextlib.contextmanager
    def limit(self, seconds: float | None):
        """Calls of the fuzzed code within the block are limited to ``seconds`` each."""
        previous, self.seconds = self.seconds, seconds
        try:
            yield
        finally:
            self.seconds = previous

    @contextlib.contextmanager
    def running(self, label: str = "the code under test"):
        """The block runs code under test, named ``label`` in reports."""
        watch = self.watch
        if watch is not None:
            watch.enter(label)
        self.labels.append(label)
        try:
            if not self.seconds or self.depth or threading.current_thread() is not threading.main_thread():
                self.depth += 1
                try:
                    yield
                finally:
                    self.depth -= 1
                return
            yield from self._timed(label, self.seconds)
        finally:
            self.labels.pop()
            if watch is not None:
                watch.leave()

    def _timed(self, label: str, seconds: float):
        fired = []

        def expire(signum, frame):
            e = ExampleTimeout(f"{self.labels[-1]} did not return within {seconds:g} s")
            e.trigrad_traceback = "it was running:\n" + "".join(traceback.format_stack(frame)[-8:]).rstrip()
            fired.append(e)
            raise e

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if fired:  # the code caught the timeout and returned as if nothing happened
            e = ExampleTimeout(f"{fired[0]} (and caught the timeout)")
            e.trigrad_traceback = fired[0].trigrad_traceback
            raise e


CLOCK = Clock()  # the one clock: signals are per process


def guarded(label: str, method):
    """``method`` whose exceptions (and ``SystemExit``; in a supervised worker ``KeyboardInterrupt``
    too) become UserCodeError with the user's traceback, timed by ``CLOCK``."""

    def call(*args, **kwargs):
        try:
            with CLOCK.running(label):
                return method(*args, **kwargs)
        except (ExampleTimeout, UserCodeError):
            raise
        except (Exception, *CLOCK.exits) as e:  # noqa: BLE001 - anything the user's code raises is a finding
            raise code_error(label, e) from e

    return call


def code_error(label: str, e: BaseException) -> UserCodeError:
    """The UserCodeError for exception ``e`` raised by the code under test in call ``label``, with the
    traceback from the user's frame down (the wrapper's own frame left out)."""
    err = UserCodeError(f"{label} raised {type(e).__name__}{': ' if str(e) else ''}{e}")
    err.trigrad_traceback = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next)).rstrip()
    return err


__all__ = ["DEFAULT_TIMEOUT", "MAX_TIMEOUT", "check_timeout", "UserCodeError", "ExampleTimeout", "Clock", "CLOCK", "guarded",
           "code_error", "CODE_EXITS", "WORKER_CODE_EXITS"]
