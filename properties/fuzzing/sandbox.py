"""The sandbox around the fuzzed code: whatever it raises becomes a finding with its traceback, and
each call has a time limit (a timer signal in the main thread), so that a hang is a finding too,
reported with where the code was stuck."""

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


class Clock:
    """The time limit on each call of the fuzzed code (its forward, backward, or the callable):
    a timer signal, armed on entering the code and disarmed on leaving it, so that trigrad's own
    work (the oracles) never counts. Main thread only (signals); elsewhere there is no limit."""

    def __init__(self):
        self.seconds = None
        self.depth = 0

    @contextlib.contextmanager
    def limit(self, seconds: float | None):
        """Calls of the fuzzed code within the block are limited to ``seconds`` each."""
        previous, self.seconds = self.seconds, seconds
        try:
            yield
        finally:
            self.seconds = previous

    @contextlib.contextmanager
    def running(self):
        if not self.seconds or self.depth or threading.current_thread() is not threading.main_thread():
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
            return
        seconds = self.seconds

        def expire(signum, frame):
            e = ExampleTimeout(f"the fuzzed code did not return within {seconds:g} s")
            e.trigrad_traceback = "it was running:\n" + "".join(traceback.format_stack(frame)[-8:]).rstrip()
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


CLOCK = Clock()  # the one clock: signals are per process


def guarded(label: str, method):
    """``method`` whose exceptions become UserCodeError with the user's traceback."""

    def call(*args, **kwargs):
        try:
            with CLOCK.running():
                return method(*args, **kwargs)
        except (ExampleTimeout, UserCodeError):
            raise
        except Exception as e:  # noqa: BLE001 - anything the user's code raises is a finding
            err = UserCodeError(f"{label} raised {type(e).__name__}: {e}")
            # the traceback from the user's frame down (this wrapper's own frame left out)
            err.trigrad_traceback = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next)).rstrip()
            raise err from e

    return call


__all__ = ["DEFAULT_TIMEOUT", "MAX_TIMEOUT", "check_timeout", "UserCodeError", "ExampleTimeout", "Clock", "CLOCK", "guarded"]
