"""trigrad installed beside HIPS autograd (PyPI ``autograd``), in both orders, and either removed.

trigrad's repository keeps its folders ``autograd/``, ``oracle/`` and ``properties/``, but installs
them as ``trigrad.autograd``, ``trigrad.oracle`` and ``trigrad.properties`` (pyproject.toml). HIPS
autograd's ``autograd`` and PyPI's ``properties`` therefore never share a file or an import name with
trigrad. This test proves it the way a user would meet it: a fresh virtual environment, a wheel of
trigrad and HIPS autograd 1.9.1 from the package index, each used for real after every step.

Slow (a virtual environment and two wheels, about a minute) and needs the package index; it skips
with the reason when the index cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HIPS = "autograd==1.9.1"
# HIPS autograd's own use: tanh'(0.5) = 1 - tanh(0.5)^2
HIPS_USE = ("import autograd.numpy as np; from autograd import grad; "
            "g = grad(np.tanh)(0.5); assert abs(g - (1 - np.tanh(0.5) ** 2)) < 1e-15, g; print('hips ok', g)")
# trigrad's core under its own name, and its main job on one cell
TRIGRAD_USE = ("from trigrad.autograd import Variable, sin; import numpy as np; "
               "x = Variable(np.array(0.5)); y = sin(x); y.backward(); print('core ok', x.grad.data)")

pytestmark = pytest.mark.slow


def _run(args, cwd, check=True):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900,
                       env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TRIGRAD_BACKEND")})
    if check:
        assert r.returncode == 0, f"{' '.join(map(str, args))} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A fresh virtual environment with trigrad's dependencies (not trigrad itself) and a wheel of
    trigrad built from this checkout."""
    base = tmp_path_factory.mktemp("coexist")
    wheels = base / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)], base)
    (wheel,) = wheels.glob("trigrad-*.whl")
    venv.create(base / "venv", with_pip=True)
    python = str(base / "venv" / "bin" / "python")
    deps = _run([python, "-m", "pip", "install", "-q", "numpy", "sympy", "hypothesis", "pytest"], base, check=False)
    if deps.returncode != 0:
        pytest.skip(f"cannot install trigrad's dependencies from the package index: {deps.stderr.strip()[-300:]}")
    work = base / "elsewhere"  # not the repository: its folders must not be what gets imported
    work.mkdir()
    return python, str(wheel), work


def _pip(env, *args):
    python, _, work = env
    return _run([python, "-m", "pip", *args, "-q"], work)


def _hips_works(env):
    python, _, work = env
    r = _run([python, "-c", HIPS_USE], work)
    assert "hips ok" in r.stdout


def _trigrad_works(env):
    python, _, work = env
    r = _run([python, "-c", TRIGRAD_USE], work)
    assert "core ok 0.877582561890372" in r.stdout, r.stdout  # cos(0.5)
    trigrad = str(Path(python).parent / "trigrad")
    r = _run([trigrad, "check", "--ops", "sin", "--properties", "vjp", "--profile", "ci"], work)
    assert "sin" in r.stdout and "pass" in r.stdout and "FAIL" not in r.stdout, r.stdout


def test_both_orders_and_either_uninstalled(env):
    _, wheel, _ = env
    # trigrad first, HIPS autograd second
    _pip(env, "install", "--no-deps", wheel)
    _trigrad_works(env)
    _pip(env, "install", HIPS)
    _hips_works(env)
    _trigrad_works(env)
    # removing HIPS leaves trigrad whole
    _pip(env, "uninstall", "-y", "autograd")
    _trigrad_works(env)
    # HIPS autograd first, trigrad second (trigrad is removed and installed again after it)
    _pip(env, "uninstall", "-y", "trigrad")
    _pip(env, "install", HIPS)
    _hips_works(env)
    _pip(env, "install", "--no-deps", wheel)
    _trigrad_works(env)
    _hips_works(env)
    # removing trigrad leaves HIPS whole
    _pip(env, "uninstall", "-y", "trigrad")
    _hips_works(env)
    python, _, work = env
    gone = _run([python, "-c", "import trigrad.autograd"], work, check=False)
    assert gone.returncode != 0 and "No module named 'trigrad" in gone.stderr, gone.stderr


def test_no_bare_top_level_names_in_the_wheel(env):
    """The wheel holds nothing at the top level but the namespace ``trigrad`` and its metadata."""
    import zipfile

    _, wheel, _ = env
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"trigrad"}, tops
