"""The Python API: ``fuzz()`` makes a pytest test that fuzzes a function against its twin."""

from __future__ import annotations

import hypothesis

from ..backends import resolve
from .campaign import run
from .sandbox import DEFAULT_TIMEOUT, check_timeout
from .target import make_target, valid_or_fail, where_defined

EXAMPLES_PER_CELL = 10  # fuzz() under pytest: the profile's budget per cell, times this


def fuzz(obj, *, sympy: str | list | None = None, like: str | None = None, twin: str | None = None, domain=None,
         shape=None, backend: str | None = "builtin", params: dict | None = None, max_examples: int | None = None,
         timeout: float | None = DEFAULT_TIMEOUT, ulps: float | None = None):
    """A pytest test that fuzzes ``obj`` against its twin; assign it to a ``test_`` name::

        test_sinh = fuzz(Sinh, sympy="sinh(x)")
        test_softsign = fuzz(Softsign, sympy="x / (1 + Abs(x))", domain=["x=-4:4"])
        test_myexp = fuzz(MyExp, sympy="exp(x)", backend="torch")    # a torch.autograd.Function
        test_sincos = fuzz(SinCos, sympy=["sin(x)", "cos(x)"])        # one twin per output
        test_norm = fuzz(Norm, twin="x - mean(x, axis=-1, keepdims=True)", backend="jax")  # array-valued

    ``params`` are the function's own parameters (constructor or keyword arguments), fixed for the
    campaign. What the function cannot do (forward mode, second order) is left out with the reason.

    The budget is the Hypothesis profile's examples per cell times EXAMPLES_PER_CELL (300 under dev
    and ci, 5,000 under thorough) unless ``max_examples`` says; the profile also decides whether
    examples are derandomized (ci) and saved in the example database (dev, thorough). A finding
    fails the test with the minimal counterexample's report. Bad arguments raise UsageError at once,
    when the module defining the test is imported.
    """
    timeout = check_timeout(timeout)
    base = resolve(backend)
    target = make_target(obj, base, sympy=sympy, like=like, twin=twin, domain=domain, shape=shape,
                         where=where_defined(obj), ulps=ulps, params=params)
    valid_or_fail(target)

    def test():
        profile = hypothesis.settings.default
        outcome = run(target, base, max_examples=max_examples or profile.max_examples * EXAMPLES_PER_CELL,
                      database=profile.database, derandomize=profile.derandomize, timeout=timeout)
        if outcome.report is not None:
            raise AssertionError(outcome.text)

    test.__name__ = test.__qualname__ = f"test_fuzz_{target.name}"
    test.__doc__ = f"{target.name} against its twin {target.twin}, alone and in random compositions."
    return test


__all__ = ["fuzz", "EXAMPLES_PER_CELL"]
