"""ndarray helpers shared by the Functions: undoing broadcasting and describing reductions."""

import numpy as np


def sum_to(x, shape):
    """Sum the ndarray `x` down to `shape`, undoing numpy broadcasting.

    The one helper behind every broadcasting backward: leading axes that broadcasting added are
    summed away, and axes where `shape` has 1 are summed with keepdims.

    >>> sum_to(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    """
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    lead_axes = tuple(range(lead))
    ones_axes = tuple(lead + i for i, size in enumerate(shape) if size == 1)
    y = x.sum(axis=lead_axes + ones_axes, keepdims=True)
    if lead > 0:
        y = y.squeeze(lead_axes)
    return y


def normalize_axes(axis, ndim):
    """The reduced axes as a sorted tuple of non-negative ints (`None` means every axis)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axes = []
    for a in axis:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        axes.append(int(a) % ndim)
    return tuple(sorted(axes))


def keepdims_shape(shape, axis):
    """The shape a reduction over `axis` leaves with keepdims=True: reduced axes become 1."""
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


def memory_root(a):
    """The object that finally owns an array's memory (following `.base`), to detect aliasing."""
    base = getattr(a, 'base', None)
    while base is not None:
        a = base
        base = getattr(a, 'base', None)
    return a
