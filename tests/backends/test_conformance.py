"""The reference suite against PyTorch (float64 and float32), JAX and DeZero.

The property tests of ``properties/test_properties.py`` are collected here once per library, with
this module's ``backend`` fixture in place of the plugin's: every cell of the conformance table is
a test, and each library's known differences (``properties/known/<name>.txt``) apply to it. A
library that is not installed is skipped with the reason (``pip install 'trigrad[torch]'`` etc.).
"""

import pytest

from properties.backends import BackendError, resolve
from properties.test_properties import *  # noqa: F401,F403  (the test_<property> functions)

LIBRARIES = ["torch", "torch[float32]", "jax", "dezero"]


@pytest.fixture(scope="module", params=LIBRARIES)
def backend(request):
    try:
        return resolve(request.param)
    except BackendError as e:
        pytest.skip(str(e))
