"""Misbehaving code under test: Sinh-like Functions for ``trigrad fuzz`` and adapters for ``trigrad
check``, each doing one thing the supervised worker must turn into a finding (exit, crash in C, loop in
C, swallow the timeout, raise KeyboardInterrupt, exhaust memory, return a value of the wrong type).

Each misbehaves only where an example reaches it (a backward, an adapter's vjp), so the import and the
first checks that do not call it succeed, as they would for real code.
"""

import ctypes
import os
import sys
import time

import numpy as np

from trigrad.autograd import Function
from trigrad.properties.backends.builtin import Builtin


class Sinh(Function):
    """Correct: the control."""

    def forward(self, x):
        return np.sinh(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * Cosh()(x)


class Cosh(Function):
    def forward(self, x):
        return np.cosh(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * Sinh()(x)


def _eat_memory():
    blocks = []
    while True:  # until the address space runs out
        blocks.append(np.ones(10**7))


def _swallow_timeout():
    """Sleeps past the time limit and catches what the timer raises, then returns as if nothing happened."""
    try:
        time.sleep(30)
    except Exception:  # noqa: BLE001 - the misbehaviour under test
        pass


def _swallow_forever():
    while True:
        try:
            time.sleep(30)
        except BaseException:  # noqa: BLE001 - the misbehaviour under test
            pass


MISDEEDS = {
    "SysExit0": lambda: sys.exit(0),
    "OsExit": lambda: os._exit(3),
    "Abort": os.abort,
    "Segfault": lambda: ctypes.string_at(0),
    "CLoop": lambda: sum(range(10**12)),
    "SwallowsTimeout": _swallow_timeout,
    "SwallowsForever": _swallow_forever,
    "KeyboardInterrupt": lambda: (_ for _ in ()).throw(KeyboardInterrupt()),
    "EatsMemory": _eat_memory,
}


def _backward_that(name, misdeed):
    def backward(self, gy):
        misdeed()
        x, = self.inputs
        return gy * Cosh()(x)

    return type(f"Backward{name}", (Sinh,), {"backward": backward, "__module__": __name__})


for _name, _misdeed in MISDEEDS.items():
    globals()[f"Backward{_name}"] = _backward_that(_name, _misdeed)


class BackwardReturnsString(Sinh):
    def backward(self, gy):
        return "the gradient"


class ForwardReturnsString(Sinh):
    def forward(self, x):
        return "sinh"


class BackwardReturnsNone(Sinh):
    def backward(self, gy):
        return None


# --- adapters for trigrad check ----------------------------------------------------------------------


def _adapter_that(name, misdeed):
    def vjp(self, fn, xs, cotangent):
        misdeed()
        return Builtin.vjp(self, fn, xs, cotangent)

    return type(f"{name}InVjp", (Builtin,), {"vjp": vjp, "__module__": __name__})


for _name, _misdeed in {**MISDEEDS, "Hangs": lambda: time.sleep(30)}.items():
    globals()[f"{_name}InVjp"] = _adapter_that(_name, _misdeed)


class VjpReturnsString(Builtin):
    def vjp(self, fn, xs, cotangent):
        value, _ = Builtin.vjp(self, fn, xs, cotangent)
        return value, ["a gradient"] * len(xs)


class VjpReturnsList(Builtin):
    """Gradients as nested lists of numbers: not an error (they convert to arrays)."""

    def vjp(self, fn, xs, cotangent):
        value, grads = Builtin.vjp(self, fn, xs, cotangent)
        return value, [g.tolist() for g in grads]


class VjpReturnsTooFew(Builtin):
    def vjp(self, fn, xs, cotangent):
        value, grads = Builtin.vjp(self, fn, xs, cotangent)
        return value, grads[:-1]


class SlowWrongSinh(Sinh):
    """Wrong (twice the derivative) and slow (0.2 s a backward), so that shrinking its first failure
    takes long enough to be interrupted."""

    def backward(self, gy):
        time.sleep(0.2)
        x, = self.inputs
        return 2 * gy * Cosh()(x)


# --- backends that cannot be forked (as JAX and MLX): supervised in a spawned interpreter ------------

# Set by a test in its own process only: a worker forked from that process sees it, a spawned worker
# (a fresh interpreter that imports this module again) does not.
PARENT_ONLY = {}


class Unforkable(Builtin):
    """The built-in core declared unforkable; its vjp exits with status 4 in a process forked from one
    where PARENT_ONLY is set, so that a cell passes only when its worker was spawned."""

    name = "unforkable"
    fork_safe = False

    def vjp(self, fn, xs, cotangent):
        if PARENT_ONLY:
            os._exit(4)
        return Builtin.vjp(self, fn, xs, cotangent)


def _unforkable_that(name, misdeed):
    def vjp(self, fn, xs, cotangent):
        misdeed()
        return Builtin.vjp(self, fn, xs, cotangent)

    return type(f"Unforkable{name}InVjp", (Unforkable,), {"vjp": vjp, "__module__": __name__})


for _name in ("OsExit", "CLoop", "Segfault"):
    globals()[f"Unforkable{_name}InVjp"] = _unforkable_that(_name, MISDEEDS[_name])


class UnforkableNotTwice(Unforkable):
    """Unforkable, and made only where PARENT_ONLY is set (as a library that refuses a second
    process): its recipe raises in a spawned worker."""

    def __init__(self):
        if not PARENT_ONLY:
            raise RuntimeError("this library runs in one process only")


class UnforkableCore(Builtin):
    """The built-in core (by its name, so that DeZero-style Functions fuzz on it) declared unforkable."""

    fork_safe = False


def sin_vjp(backend):
    """A task for a supervised worker (``Supervisor.run_task``): the VJP of sin at two points."""
    x = backend.asarray(np.array([0.5, 1.5]))
    value, grads = backend.vjp(lambda v: backend.op("sin")(v), [x], np.ones(2))
    return backend.tonumpy(grads[0])
