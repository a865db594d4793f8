"""Import DeZero 0.0.13 (PyPI) on NumPy 2: for the dezero adapter and the benchmarks.

DeZero 0.0.13 does not import on NumPy 2 as published: `dezero.transforms` uses `np.int` (removed in
NumPy 1.24) as a default argument, and `dezero/__init__` imports its datasets and transforms, which
import matplotlib and Pillow, two packages DeZero does not declare. None of this is used by the autodiff
core. So, only for the duration of the import: `np.int` is set to `int` if it is missing, and
matplotlib / Pillow are stubbed in `sys.modules` if they are not installed. Both are undone afterwards,
so numpy and sys.modules look untouched to everyone else.
"""

import importlib
import importlib.util
import sys
import types

import numpy as np

# Undeclared imports of dezero.datasets / dezero.transforms: package -> {submodule: attributes that are
# read at import time} (transforms.Resize has `mode=Image.BILINEAR` as a default argument).
UNDECLARED = {'matplotlib': {'pyplot': {}}, 'PIL': {'Image': {'BILINEAR': 2}}}


def import_dezero():
    """The `dezero` module, or raise ImportError (with the reason) when it is not installed."""
    if importlib.util.find_spec('dezero') is None:
        raise ImportError('dezero is not installed (pip install dezero==0.0.13)')
    added_np_int = not hasattr(np, 'int')
    stubs = []
    try:
        if added_np_int:
            np.int = int
        for package, submodules in UNDECLARED.items():
            if package not in sys.modules and importlib.util.find_spec(package) is None:
                parent = sys.modules[package] = types.ModuleType(package)
                stubs.append(package)
                for sub, attributes in submodules.items():
                    name = f'{package}.{sub}'
                    module = sys.modules[name] = types.ModuleType(name)
                    module.__dict__.update(attributes)
                    setattr(parent, sub, module)
                    stubs.append(name)
        return importlib.import_module('dezero')
    finally:
        if added_np_int:
            del np.int
        for name in stubs:
            del sys.modules[name]
