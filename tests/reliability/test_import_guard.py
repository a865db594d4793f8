"""A user's module that ends the process as it is imported (os._exit, with any status, 0 included) is
bad usage, exit status 2 with a one-line message naming the module and how it ended, for ``trigrad
check``, ``trigrad fuzz`` and the pytest plugin; never trigrad exiting with the module's status. Each
case starts the real command (1 to 2 s each on an idle machine)."""

import os
import subprocess
import sys

import pytest

from trigrad_cli import HERE, one_line_usage_error, trigrad

MODULE = os.path.join(HERE, "exits_hard_at_import.py")


@pytest.mark.parametrize("argv, status", [
    (["check", "--backend", f"{MODULE}:Sinh", "--ops", "sin"], "0"),
    (["fuzz", f"{MODULE}:Sinh", "--sympy", "sinh(x)"], "3"),
])
def test_a_module_that_exits_hard_as_it_is_imported_is_bad_usage(argv, status):
    proc = trigrad(*argv, env={"EXIT_STATUS": status})
    one_line_usage_error(proc, f"the module exited with status {status} as it was imported")
    assert "exits_hard_at_import.py" in proc.stderr and "its last output: exits_hard_at_import: leaving now" in proc.stderr


def test_the_pytest_plugin_refuses_such_a_backend():
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--autograd-backend", f"{MODULE}:Sinh",
                           "--pyargs", "trigrad.properties", "-q"], capture_output=True, text=True, cwd=HERE,
                          env=dict(os.environ, EXIT_STATUS="0"), timeout=120)
    assert proc.returncode == 4, (proc.returncode, proc.stdout, proc.stderr)  # pytest's usage error
    assert "the module exited with status 0 as it was imported" in proc.stdout + proc.stderr
