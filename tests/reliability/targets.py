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
