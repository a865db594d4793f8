"""The environment variables trigrad reads, in a module with no imports, so that the pytest plugin
can read them without loading the rest of trigrad."""

BACKEND = "TRIGRAD_BACKEND"  # the backend when --autograd-backend (pytest) or --backend (trigrad) names none
CI = "CI"  # set by CI services: the ci Hypothesis profile is the default (profiles.load_default)

__all__ = ["BACKEND", "CI"]
