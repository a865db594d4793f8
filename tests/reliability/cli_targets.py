"""What the reliability tests run the real ``trigrad`` command on (MODULE is this file's path): a
function to fuzz and a backend adapter to check. The correct and planted functions they also fuzz are
tests/properties/fuzz_catalogue.py's."""

import os
import runpy
import signal
import time

import numpy as np

from trigrad.properties.backends.builtin import Builtin

SLOW_SECONDS = 0.2  # per gradient: long enough that shrinking without a cap overruns by seconds
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOGUE = runpy.run_path(os.path.join(TESTS, "properties", "fuzz_catalogue.py"))


class SinhStopsRedis(CATALOGUE["SinhWrongSign"]):
    """sinh with its derivative's sign flipped (found at once), whose first forward kills the Redis
    server whose process id is in TRIGRAD_TEST_REDIS_PID: the server goes away after the run has
    opened its database and before the failure is saved."""

    def forward(self, x):
        pid = os.environ.pop("TRIGRAD_TEST_REDIS_PID", None)
        if pid is not None:
            os.kill(int(pid), signal.SIGKILL)
        return super().forward(x)


class NegatedGradients(Builtin):
    """The built-in core with every gradient negated: every first-order cell of trigrad check fails."""

    name = "negated"

    def vjp(self, fn, xs, cotangent):
        value, grads = super().vjp(fn, xs, cotangent)
        return value, [-g for g in grads]


class SlowWrongAboveOne(Builtin):
    """Gradients negated where an input exceeds 1 in magnitude, SLOW_SECONDS per gradient: shrinking
    such a failure toward the boundary takes many examples, each slow."""

    name = "slow_wrong_above_one"

    def vjp(self, fn, xs, cotangent):
        time.sleep(SLOW_SECONDS)
        value, grads = super().vjp(fn, xs, cotangent)
        wrong = any(np.any(np.abs(self.tonumpy(x)) > 1) for x in xs)
        return value, [-g if wrong else g for g in grads]


class SinFixed(Builtin):
    """The built-in core, with the known differences of the file named by TRIGRAD_TEST_KNOWN."""

    def __init__(self):
        super().__init__()
        self.known_differences = os.environ.get("TRIGRAD_TEST_KNOWN")


class SinWrongAbove30(SinFixed):
    """sin's gradient negated where |x| >= 30, which sin's draws (-4 to 4) never reach (a bug seen in
    tinygrad)."""

    name = "sin_wrong_above_30"

    def vjp(self, fn, xs, cotangent):
        value, grads = super().vjp(fn, xs, cotangent)
        far = any(np.any(np.abs(self.tonumpy(x)) >= 30) for x in xs)
        return value, [-g if far else g for g in grads]
