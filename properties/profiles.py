"""Hypothesis settings profiles, registered on import (by the pytest plugin and the CLI).

dev (default): a modest budget with the example database on, so a failure found once is replayed
first next time. ci: deterministic (derandomized, no database, no deadline); chosen automatically
when the CI environment variable is set (to anything but an off value: ``CI=false`` is not CI).
thorough: a large budget, database on.
"""

import os

from hypothesis import HealthCheck, Phase, settings

from .environment import CI

# Examples per (property, op) cell. The suite has ~385 cells; at the measured throughput on the
# built-in backend (bench/throughput) DEV/CI take about two minutes on one core and THOROUGH about
# half an hour.
DEV_EXAMPLES = 30
CI_EXAMPLES = 30
THOROUGH_EXAMPLES = 500

# No explain phase: trigrad's reports say what matters themselves (the minimal composition, values and
# verdict), and explaining re-runs every failing example hundreds of times, minutes on a slow backend.
_PHASES = tuple(p for p in Phase if p != Phase.explain)
_common = dict(deadline=None, phases=_PHASES,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=DEV_EXAMPLES, **_common)
settings.register_profile("ci", max_examples=CI_EXAMPLES, derandomize=True, database=None, print_blob=True, **_common)
settings.register_profile("thorough", max_examples=THOROUGH_EXAMPLES, **_common)


# Values of the CI variable that switch it off (some setups export CI=false outside CI).
CI_OFF = frozenset({"", "0", "false", "no", "off"})


def in_ci() -> bool:
    """Whether the CI environment variable is set, to anything but an off value (case ignored)."""
    return os.environ.get(CI, "").strip().lower() not in CI_OFF


def load_default():
    """Load ``ci`` when running in CI (``in_ci``), else ``dev``."""
    settings.load_profile("ci" if in_ci() else "dev")


load_default()
