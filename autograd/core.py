"""The core: Variable, Function, the backward pass and configuration.

Written after DeZero ("Deep Learning from Scratch 3"): a Variable holds an ndarray; a Function maps
input Variables to output Variables and remembers both; `Variable.backward` walks that graph from an
output back to the inputs, newest function first. Every backward is written with these same
Functions, so with `create_graph=True` the backward pass is itself a graph and can be differentiated
again.

This module imports nothing from `functions`: the arithmetic Functions behind Variable's operators,
and its shape methods, live there and are installed onto Variable by `functions.setup_variable()`
when `trigrad.autograd` is imported, as DeZero's `setup_variable` does.
"""

import contextlib
import heapq
import itertools
import weakref

import numpy as np

from trigrad.autograd.utils import memory_root

# Numbers that take their dtype from the other inputs of a call (numpy's "weak" Python scalars).
PYTHON_NUMBERS = (int, float, complex)


# =============================================================================
# Configuration
# =============================================================================
class Config:
    """Process-wide switches; change them with `using_config` or `no_grad`."""

    enable_backprop = True  # record the graph during forward so that backward can run


@contextlib.contextmanager
def using_config(name, value):
    """Set `Config.<name>` to `value` for the duration of a `with` block."""
    known = sorted(k for k in vars(Config) if not k.startswith('_'))
    if name not in known:
        raise AttributeError(f'unknown config {name!r}; expected one of {", ".join(known)}')
    old = getattr(Config, name)
    setattr(Config, name, value)
    try:
        yield
    finally:
        setattr(Config, name, old)


def no_grad():
    """A `with` block that runs forward only: no graph is recorded, no memory kept for backward."""
    return using_config('enable_backprop', False)


# =============================================================================
# Conversions
# =============================================================================
def as_array(x):
    """`x` as an ndarray when it is a numpy or Python scalar (0-d result); anything else unchanged.

    numpy returns scalars, not 0-d arrays, from operations on 0-d arrays (`np.array(1.0) ** 2` is an
    `np.float64`); this puts them back into arrays.
    """
    if np.isscalar(x):
        return np.array(x)
    return x


def as_variable(obj):
    """`obj` if it is a Variable, else a Variable holding `as_array(obj)`."""
    if isinstance(obj, Variable):
        return obj
    return Variable(as_array(obj))


def _as_variables(inputs):
    """Variables for the inputs of a call.

    Python numbers get the dtype numpy's promotion would give them next to the other inputs, so that a
    float32 Variable times 2.0 stays float32 (a plain `np.array(2.0)` is float64 and would promote).
    """
    variables = []
    has_numbers = False
    for x in inputs:
        if isinstance(x, Variable):
            variables.append(x)
        elif isinstance(x, PYTHON_NUMBERS):
            variables.append(x)
            has_numbers = True
        else:
            variables.append(Variable(as_array(x)))
    if has_numbers:
        arrays = [v.data for v in variables if isinstance(v, Variable)]
        variables = [v if isinstance(v, Variable) else Variable(np.asarray(v, np.result_type(*arrays, v)))
                     for v in variables]
    return variables


# =============================================================================
# Variable
# =============================================================================
class Variable:
    """A value in a computation: an ndarray (or None), its gradient after backward, and its creator.

    >>> x = Variable(np.array(3.0))
    >>> y = x ** 2
    >>> y.backward()
    >>> x.grad
    variable(6.0)
    """

    __array_priority__ = 200  # `ndarray + Variable` calls Variable.__radd__ instead of numpy's add

    def __init__(self, data, name=None):
        if data is not None and not isinstance(data, np.ndarray):
            raise TypeError(f'{type(data)} is not supported; Variable holds a numpy.ndarray or None '
                            f'(wrap the value with np.array(...))')
        self.data = data
        self.name = name
        self.grad = None
        self.creator = None
        self.generation = 0

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    # The shape methods (T, reshape, transpose, sum, indexing, @) and the arithmetic operators are
    # installed by trigrad.autograd.functions (setup_variable), which builds on this module.

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        if self.data is None:
            return 'variable(None)'
        text = str(self.data).replace('\n', '\n' + ' ' * len('variable('))
        return f'variable({text})'

    def set_creator(self, func):
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self):
        self.grad = None

    def backward(self, retain_grad=False, create_graph=False):
        """Add d(self)/d(v) into `v.grad` for every Variable v that self was computed from.

        The pass starts from `self.grad`, or ones like `self.data` when it is unset. With
        `retain_grad=False` only leaves (Variables without a creator) keep their gradient. With
        `create_graph=True` the backward pass is recorded too, so gradients can be differentiated again.
        """
        if self.grad is None:
            self.grad = Variable(np.ones_like(self.data))
        self.grad = as_variable(self.grad)
        memory = _GradientMemory(self.grad)
        heap, seen, order = [], set(), itertools.count()

        def add_func(f):
            if f not in seen:
                seen.add(f)
                # newest generation first: a Variable's consumers all finish before its creator runs
                heapq.heappush(heap, (-f.generation, next(order), f))

        if self.creator is not None:
            add_func(self.creator)
        with using_config('enable_backprop', create_graph):
            while heap:
                f = heapq.heappop(heap)[-1]
                gys = f.output_grads()
                if not retain_grad:  # dropped before the inputs claim memory: a passed-through gy is free
                    for y in f.outputs:
                        y = y()
                        if y is not None:
                            memory.release(y.grad)
                            y.grad = None
                gxs = f.input_grads(gys)
                for x, gx in zip(f.inputs, gxs):
                    if gx is None:
                        continue
                    if x.grad is None:
                        # retained output gradients (even stale ones) stay off-limits to the inputs
                        x.grad = memory.claim(gx, f, gys if retain_grad else ())
                    else:
                        memory.release(x.grad)
                        x.grad = memory.claim(x.grad + gx, f, ())
                    if x.creator is not None:
                        add_func(x.creator)


class _GradientMemory:
    """Which arrays hold the gradients stored during one backward pass, so that none share memory.

    numpy views (reshape, transpose, broadcast_to, basic indexing) and backwards that pass a gradient
    through (add returns gy for both inputs) would otherwise leave two Variables' `.grad` on one
    buffer, and an in-place update of one would silently change the other. A gradient whose memory is
    already owned (by another stored gradient, the caller's seed, or the function's forward values) is
    copied before it is stored; an intermediate gradient that is dropped gives its memory back.
    """

    def __init__(self, seed):
        root = memory_root(seed.data)
        self.seed = id(root)  # the caller's seed gradient is never handed to another Variable
        self.owned = {id(root): root}  # keeping the roots alive keeps their ids unique

    def claim(self, gx, f, gys):
        root = memory_root(gx.data)
        if id(root) in self.owned or _uses_memory_of(root, f, gys):
            gx = Copy()(gx)
            root = gx.data
        self.owned[id(root)] = root
        return gx

    def release(self, grad):
        if grad is not None:
            key = id(memory_root(grad.data))
            if key != self.seed:
                self.owned.pop(key, None)


def _uses_memory_of(root, f, gys):
    """Whether `root` owns the memory of a forward value of `f` or of one of the gradients `gys`."""
    for x in f.inputs:
        if memory_root(x.data) is root:
            return True
    for y in f.outputs:
        y = y()
        if y is not None and memory_root(y.data) is root:
            return True
    for gy in gys:
        if memory_root(gy.data) is root:
            return True
    return False


# =============================================================================
# Function
# =============================================================================
class Function:
    """An operation: `forward` computes on ndarrays, `backward` on Variables.

    Calling a Function accepts Variables, ndarrays and Python numbers and returns one Variable (or a
    tuple when forward returns several arrays). While `Config.enable_backprop` is on it records
    `inputs` (the input Variables), `outputs` (weak references to the outputs, so that no reference
    cycle keeps a graph alive) and `generation` (the order of backward).

    A subclass defines `forward(self, *xs)` returning an ndarray or a tuple of them, and
    `backward(self, *gys)` returning one gradient per input (a Variable or ndarray of the input's shape,
    or None for zero), written with Functions so that it can be differentiated again.
    """

    def __call__(self, *inputs):
        inputs = _as_variables(inputs)
        ys = self.forward(*[x.data for x in inputs])
        if not isinstance(ys, tuple):
            ys = (ys,)
        outputs = [Variable(y if isinstance(y, np.ndarray) else as_array(y)) for y in ys]
        if Config.enable_backprop:
            self.generation = max([x.generation for x in inputs], default=0)
            for output in outputs:
                output.set_creator(self)
            self.inputs = inputs
            self.outputs = [weakref.ref(output) for output in outputs]
            # an unused (or freed) output still needs a zero gradient of the right shape and dtype
            self.output_specs = [(output.data.shape, output.data.dtype) for output in outputs]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def forward(self, *xs):
        raise NotImplementedError(f'{type(self).__name__}.forward is not implemented; define '
                                  f'forward(self, *xs) returning an ndarray or a tuple of ndarrays')

    def backward(self, *gys):
        raise NotImplementedError(f'{type(self).__name__}.backward is not implemented; define '
                                  f'backward(self, *gys) returning one gradient per input (None for zero)')

    @property
    def input(self):
        """The only input (the seeds' single-input API)."""
        if len(self.inputs) != 1:
            raise AttributeError(f'{type(self).__name__} has {len(self.inputs)} inputs; use .inputs')
        return self.inputs[0]

    @property
    def output(self):
        """The only output, or None once it has been freed (the seeds' single-output API)."""
        if len(self.outputs) != 1:
            raise AttributeError(f'{type(self).__name__} has {len(self.outputs)} outputs; use .outputs')
        return self.outputs[0]()

    def output_grads(self):
        """The gradients of the outputs, with zeros for an output that has none."""
        gys = []
        for ref, (shape, dtype) in zip(self.outputs, self.output_specs):
            y = ref()
            gy = None if y is None else y.grad
            gys.append(Variable(np.zeros(shape, dtype)) if gy is None else gy)
        return gys

    def input_grads(self, gys):
        """`backward(*gys)` as a list of Variables (None for zero), checked against the inputs."""
        gxs = self.backward(*gys)
        if not isinstance(gxs, (tuple, list)):
            gxs = (gxs,)
        if len(gxs) != len(self.inputs):
            raise ValueError(f'{type(self).__name__}.backward returned {len(gxs)} gradient(s) for '
                             f'{len(self.inputs)} input(s); return one per input, None for a zero gradient')
        checked = []
        for x, gx in zip(self.inputs, gxs):
            if gx is not None:
                gx = as_variable(gx)
                if gx.data.shape != x.data.shape:
                    raise ValueError(f'{type(self).__name__}.backward returned a gradient of shape '
                                     f'{gx.shape} for input {len(checked)} of shape {x.shape}; a gradient '
                                     f'has its input\'s shape')
            checked.append(gx)
        return checked


# =============================================================================
# Copy (the backward pass's own Function)
# =============================================================================
class Copy(Function):
    """A copy of x in fresh memory; the backward pass uses it to keep gradients from sharing memory."""

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


# =============================================================================
# Numerical differentiation (the seeds' step 4)
# =============================================================================
def numerical_diff(f, x, eps=1e-4):
    """Central difference (f(x + eps) - f(x - eps)) / (2 eps) of a function of one Variable.

    As the seeds define it; `as_array` keeps 0-d inputs working (`x.data - eps` is a numpy scalar).

    >>> from trigrad.autograd import square
    >>> float(numerical_diff(square, Variable(np.array(2.0))))
    4.000000000004
    """
    x0 = Variable(as_array(x.data - eps))
    x1 = Variable(as_array(x.data + eps))
    y0 = f(x0)
    y1 = f(x1)
    return (y1.data - y0.data) / (2 * eps)

