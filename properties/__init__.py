"""trigrad's face: strategies, backend adapters, property checks, reports, the pytest plugin and CLI.

- ``properties.strategies``: ``compositions()`` (random DAGs of spec'd ops with valid input values)
  and ``cotangents()``.
- ``properties.backends``: the adapter protocol (``Backend``) and ``resolve(name)``.
- ``properties.checks``: the properties, each judging one example three ways.
- ``properties.suite``: the catalogue of properties and how a (property, op) cell runs.
- ``properties.report`` / ``properties.minimize``: failure reports and the structural shrinking pass.
- ``properties.fuzzing``: fuzzing a new function against its twin (``fuzz``, ``trigrad fuzz``).
- ``properties.plugin``: the pytest plugin; ``properties.cli``: the ``trigrad`` command.

The suites themselves are ``properties/test_properties.py`` (``pytest --pyargs trigrad.properties``).

Importing the package costs nothing: the pytest plugin is loaded by every pytest session where
trigrad is installed, so the names below are imported on first use (PEP 562), and with them numpy,
sympy and the suites.
"""

import importlib

if __name__ != "trigrad.properties":
    # The repository's folder properties/ is installed as trigrad.properties (pyproject.toml), so that trigrad
    # never shadows another distribution's top-level "properties". Imported under its bare name (Python
    # started in the repository's root) it would be a second copy of every class: refuse.
    raise ImportError(f"trigrad's properties/ folder was imported as {__name__!r}; import it as "
                      f"trigrad.properties (python -m pip install -e . in the repository installs that name)")

# name -> the module that defines it, imported when the name is first used
_LAZY = {"Backend": ".backends", "Unsupported": ".backends", "resolve": ".backends", "Example": ".example",
         "compositions": ".strategies", "cotangents": ".strategies", "fuzz": ".fuzzing"}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # later uses are plain attribute lookups
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["Backend", "Unsupported", "resolve", "Example", "compositions", "cotangents", "fuzz"]
