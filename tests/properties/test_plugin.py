"""The pytest plugin, from outside the repository: options, backends, profiles, an installed copy."""

import os
import subprocess
import sys
import textwrap

import pytest

PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
ONE_CELL = ["--pyargs", "trigrad.properties", "-k", "test_value[sin]"]  # not -q: the header shows
# What the plugin must not load where trigrad is not used (Hypothesis itself is, by its own plugin).
HEAVY = ("sympy", "mpmath", "numpy")
LOADED = "import sys; print(sorted(m for m in {heavy!r} if m in sys.modules), sorted(m for m in sys.modules if m.startswith('trigrad.properties.')))"
# The trigrad modules the plugin itself needs: the package (lazy), the environment's names, the profiles.
PLUGIN_MODULES = ["trigrad.properties.environment", "trigrad.properties.plugin", "trigrad.properties.profiles"]


def run(args, cwd, env=None):
    e = dict(os.environ)
    e.pop("CI", None)
    e.pop("TRIGRAD_BACKEND", None)
    e.update(env or {})
    return subprocess.run(PYTEST + args, cwd=cwd, env=e, capture_output=True, text=True, timeout=600)


def test_suites_run_with_pyargs_outside_the_repository(tmp_path):
    r = run(ONE_CELL, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "trigrad: backend builtin" in r.stdout and "hypothesis profile dev" in r.stdout
    assert "1 passed" in r.stdout


def test_unknown_backend_is_one_line_listing_the_valid_ones(tmp_path):
    for args, env in ((["--autograd-backend=tourch"], None), ([], {"TRIGRAD_BACKEND": "tourch"})):
        r = run(ONE_CELL + args, tmp_path, env)
        assert r.returncode == 4, r.stdout + r.stderr  # pytest's usage error
        line = ("ERROR: unknown backend 'tourch'; expected builtin, torch, jax, dezero, hips, mygrad, tinygrad, chainer, "
                "tensorflow, paddle or mlx, or module:object")
        assert line in r.stderr and len([x for x in r.stderr.splitlines() if x.strip()]) == 1, r.stderr


def test_importing_the_plugin_loads_neither_sympy_nor_numpy(tmp_path):
    """A fresh interpreter, as pytest's plugin loading imports it (entry point pytest11)."""
    code = "import trigrad.properties.plugin; " + LOADED.format(heavy=HEAVY)
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"[] {PLUGIN_MODULES}", r.stdout


def test_a_pytest_session_of_another_project_does_not_load_trigrad(tmp_path):
    """An unrelated one-test project in an environment where trigrad is installed: the plugin is
    loaded, trigrad's machinery (and sympy, mpmath, numpy) is not, and no trigrad header is printed."""
    (tmp_path / "test_one.py").write_text(textwrap.dedent(f"""
        def test_one():
            {LOADED.format(heavy=HEAVY)}
    """))
    r = run(["-s", "test_one.py"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"[] {PLUGIN_MODULES}" in r.stdout, r.stdout
    assert "trigrad:" not in r.stdout
    named = run(["-s", "test_one.py", "--autograd-backend=builtin"], tmp_path)  # named: resolved at start
    assert named.returncode == 0 and "trigrad: backend builtin" in named.stdout, named.stdout + named.stderr


def test_ci_profile_is_chosen_by_the_environment_and_by_option(tmp_path):
    # the header names the profile the session loaded; collecting is enough to print it (running the
    # cell under thorough, 500 examples, showed nothing more)
    assert "hypothesis profile ci" in run(ONE_CELL + ["--collect-only"], tmp_path, {"CI": "true"}).stdout
    assert "hypothesis profile thorough" in run(ONE_CELL + ["--collect-only", "--hypothesis-profile=thorough"],
                                                tmp_path).stdout
    assert "hypothesis profile dev" in run(ONE_CELL + ["--collect-only"], tmp_path, {"CI": "false"}).stdout


def test_a_users_adapter_by_module_and_object(tmp_path):
    (tmp_path / "my_adapter.py").write_text(textwrap.dedent("""
        from trigrad.properties.backends.builtin import Builtin

        class SmallBuiltin(Builtin):
            name = "small"
            ops = frozenset({"add", "mul", "sin"})
    """))
    r = run(["--pyargs", "trigrad.properties", "-rs", "-k", "test_vjp and (sin or exp)",
             "--autograd-backend=my_adapter:SmallBuiltin"], tmp_path, {"PYTHONPATH": str(tmp_path)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "trigrad: backend small" in r.stdout
    assert "unsupported: small has no exp" in r.stdout and " passed" in r.stdout


@pytest.mark.slow
def test_an_installed_copy_from_a_wheel(tmp_path):
    """Build the wheel, install it into a fresh directory and run the suites from there."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), root],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("trigrad-*.whl")
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                          capture_output=True, text=True, timeout=600)
    assert inst.returncode == 0, inst.stderr
    for name in ("torch", "jax", "dezero"):  # the known-differences files travel with the package
        assert (site / "trigrad" / "properties" / "known" / f"{name}.txt").is_file(), name
    work = tmp_path / "elsewhere"
    work.mkdir()
    r = run(ONE_CELL, work, {"PYTHONPATH": str(site)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"from {site}" in r.stdout  # the header names where trigrad was loaded from
