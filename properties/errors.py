"""The one error for bad input from a person: a command line, the arguments of ``fuzz()``, a file
given to ``trigrad report``.

The ``trigrad`` command prints it as one line and exits with status 2. A backend name that cannot be
resolved raises the adapters' own ``BackendError`` (``properties.backends``), which the command
treats the same way.
"""


class UsageError(ValueError):
    """Bad input, with a one-line message that says how to fix it."""


__all__ = ["UsageError"]
