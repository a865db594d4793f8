"""A function for the reliability tests to fuzz with the real ``trigrad fuzz`` command (MODULE is this
file's path). The correct and planted functions they also fuzz are tests/properties/fuzz_catalogue.py's."""

import os
import runpy
import signal

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
