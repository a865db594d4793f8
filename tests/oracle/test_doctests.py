"""The examples in the docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ["trigrad.autograd", "trigrad.autograd.core", "trigrad.autograd.layers", "trigrad.autograd.utils",
           "trigrad.oracle.symbolic", "trigrad.oracle.numeric", "trigrad.oracle.ir", "trigrad.properties.strategies"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (output above)"
