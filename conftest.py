"""The repository's own pytest run.

Options, Hypothesis profiles and the ``backend`` fixture come from trigrad's pytest plugin
(``properties/plugin.py``), which pip registers when the project is installed, so that an installed
copy behaves the same (``pytest --pyargs trigrad.properties``). The default backend is the built-in core;
``--autograd-backend`` or TRIGRAD_BACKEND picks another.
"""

import pytest


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("trigrad"):
        raise pytest.UsageError("trigrad's pytest plugin is not loaded: install the project first "
                                "(python -m pip install -e .)")
