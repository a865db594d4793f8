"""The reference suite against PyTorch (float64 and float32), JAX and DeZero.

The property tests of ``properties/test_properties.py`` are collected here once per library, with
this module's ``backend`` fixture in place of the plugin's: every cell of the conformance table is
a test, and each library's known differences (``properties/known/<name>.txt``) apply to it. A
library that is not installed is skipped with the reason (``pip install 'trigrad[torch]'`` etc.).
"""

import pytest

from trigrad.properties.backends import BackendError, resolve
from trigrad.properties.test_properties import *  # noqa: F401,F403  (the test_<property> functions)

LIBRARIES = ["torch", "torch[float32]", "jax", "dezero"]

# Examples per cell under the ci profile, by library (see the docstring).
CI_EXAMPLES = {"torch": 30, "torch[float32]": 30, "jax": 10, "dezero": 30}


@pytest.fixture(scope="module", params=LIBRARIES)
def backend(request):
    try:
        b = resolve(request.param)
    except BackendError as e:
        pytest.skip(str(e))
    profile = settings.get_current_profile_name()
    if profile != "ci":
        yield b
        return
    name = f"ci-{request.param}"
    settings.register_profile(name, parent=settings.get_profile("ci"), max_examples=CI_EXAMPLES[request.param])
    settings.load_profile(name)
    try:
        yield b
    finally:
        settings.load_profile(profile)


def test_a_missing_library_is_skipped_with_the_reason(tmp_path):
    """CI installs all three libraries, so the skip is shown here with one made unimportable."""
    import os
    import pathlib
    import subprocess
    import sys

    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['jax'] = None  # as if not installed\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    env.pop("TRIGRAD_BACKEND", None)
    here = pathlib.Path(__file__)
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", str(here), "-k",
                        "test_value and jax-all"], cwd=here.parents[2], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 skipped" in r.stdout and "pip install 'trigrad[jax]'" in r.stdout, r.stdout
