"""The catalogue of custom gradients as users write them (custom_torch.py, custom_jax.py): its
entries, and how one is fuzzed (shared by tests/fuzzing/test_custom_catalogue.py and
``python -m bench custom_catalogue``, which puts this folder on the path as pytest does)."""

import importlib.util
import pathlib
from dataclasses import dataclass, field

from trigrad.properties import fuzzing

EXAMPLES_DIR = pathlib.Path(__file__).parents[2] / "docs" / "examples"


def readme_example(name: str):
    """docs/examples/NAME.py, an example the README shows, as a module (the catalogue runs it too)."""
    loader = importlib.util.spec_from_file_location(f"readme_{name}", EXAMPLES_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Control:
    """A correct custom function: it must pass with no finding, with ``unsup`` exactly these properties."""

    name: str
    obj: object
    style: str
    twin: dict  # make_target's keyword arguments: sympy= / twin= / like=, domain=, params=
    unsup: set = field(default_factory=set)


@dataclass(frozen=True)
class Planted:
    """A custom function with one planted bug, which the default budget must find; ``alone``: the
    counterexample shrinks to the function alone (one node)."""

    name: str
    obj: object
    style: str
    bug: str
    twin: dict
    alone: bool = True


def campaign(entry, backend, max_examples=None, seed=None, timeout=fuzzing.DEFAULT_TIMEOUT):
    """A deterministic campaign of ``entry`` on ``backend`` (no example database): its Outcome.
    ``max_examples`` None is the command's default budget."""
    target = fuzzing.make_target(entry.obj, backend, name=entry.name, **entry.twin)
    fuzzing.valid_or_fail(target)
    return fuzzing.run(target, backend, max_examples=max_examples, database=None, derandomize=seed is None,
                       seed=seed, timeout=timeout)
