"""trigrad's face: strategies, backend adapters, property checks, reports, the pytest plugin and CLI.

- ``properties.strategies``: ``compositions()`` (random DAGs of spec'd ops with valid input values)
  and ``cotangents()``.
- ``properties.backends``: the adapter protocol (``Backend``) and ``resolve(name)``.
- ``properties.checks``: the properties, each judging one example three ways.
- ``properties.suite``: the catalogue of properties and how a (property, op) cell runs.
- ``properties.report`` / ``properties.minimize``: failure reports and the structural shrinking pass.
- ``properties.fuzzing``: fuzzing a new function against its twin (``fuzz``, ``trigrad fuzz``).
- ``properties.plugin``: the pytest plugin; ``properties.cli``: the ``trigrad`` command.

The suites themselves are ``properties/test_properties.py`` (``pytest --pyargs properties``).
"""

from .backends import Backend, Unsupported, resolve
from .fuzzing import fuzz
from .strategies import Example, compositions, cotangents

__all__ = ["Backend", "Unsupported", "resolve", "Example", "compositions", "cotangents", "fuzz"]
