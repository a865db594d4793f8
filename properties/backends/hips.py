"""The adapter for HIPS autograd (PyPI ``autograd``, tested with 1.9.1), float64 on numpy.

HIPS autograd differentiates functions of numpy arrays: reverse mode is ``autograd.make_vjp``, forward
mode ``autograd.make_jvp``, and Hessian-vector products are reverse over reverse (``make_vjp`` of the
function that returns the inner product of the gradients with the tangents), which needs only VJP
rules. The function is taken of one tuple of arrays (HIPS's tuple container), so all inputs are
differentiated at once.

HIPS autograd has no softmax, log_softmax, softplus, mean squared error or cross-entropy function; its
users write them from its primitives, and so does this table (softmax as ``exp(x - logsumexp(x))``,
softplus as ``logaddexp(0, x)``): those rows test the primitives they are made of.
Nor has it a layer norm or a cross-entropy with soft labels (unsupported); its take_along_axis has no
VJP rule (``NotImplementedError``), so that op is unsupported too.

PyPI ``autograd`` and trigrad's ``autograd/`` folder share a top-level name. Installed, trigrad's is
``trigrad.autograd`` and never clashes; but Python started in trigrad's repository finds the folder
first, so ``import_hips`` looks the package up where the ``autograd`` distribution is installed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import warnings

import numpy as np

from trigrad.oracle import spec

from . import OPERATORS, Backend, OpTable, Row, Unsupported, function_source


def _rows(anp, sps) -> dict:
    """One row per spec op (see Row); composed from HIPS primitives where it has no such function."""
    return {
        **{name: Row(function) for name, function in OPERATORS.items()},
        "square": Row("anp.square"),
        "sqrt": Row("anp.sqrt"),
        "exp": Row("anp.exp"),
        "log": Row("anp.log"),
        "sin": Row("anp.sin"),
        "cos": Row("anp.cos"),
        "tan": Row("anp.tan"),
        "tanh": Row("anp.tanh"),
        "arctan": Row("anp.arctan"),
        # a gap, not a wrong number (docs/findings/hips.md, finding 3): jvp and adjoint of sigmoid are
        # unsupported, and other rows' forward-mode cells leave sigmoid out
        "sigmoid": Row("sps.expit", missing={"jvp": "HIPS autograd 1.9.1 has no forward-mode rule for sigmoid: scipy.special.expit "
                                                    "has no JVP (NotImplementedError: JVP of expit wrt argnums (0,) not defined)"}),
        "relu": Row(lambda x: anp.maximum(x, 0.0), "anp.maximum({0}, 0.0)"),
        "abs": Row("anp.abs"),
        "softplus": Row(lambda x: anp.logaddexp(0.0, x), "anp.logaddexp(0.0, {0})"),
        "clip": Row(lambda x, lo, hi: anp.clip(x, lo, hi), "anp.clip({0}, {lo}, {hi})"),
        "reshape": Row(lambda x, shape: anp.reshape(x, shape), "anp.reshape({0}, {shape})"),
        "transpose": Row(lambda x, axes: anp.transpose(x, axes), "anp.transpose({0}, {axes})"),
        "broadcast_to": Row(lambda x, shape: anp.broadcast_to(x, shape), "anp.broadcast_to({0}, {shape})"),
        "sum_to": Row(lambda x, shape: _sum_to(anp, x, shape)),
        "sum": Row("anp.sum"),
        "mean": Row("anp.mean"),
        "max": Row("anp.max"),
        "min": Row("anp.min"),
        "logsumexp": Row("sps.logsumexp"),
        "matmul": Row("anp.matmul", "{0} @ {1}"),
        "get_item": Row(lambda x, index: x[spec.as_index(index)]),
        "softmax": Row(lambda x, axis: anp.exp(x - sps.logsumexp(x, axis=axis, keepdims=True)), "anp.exp({0} - sps.logsumexp({0}, axis={axis}, keepdims=True))"),
        "log_softmax": Row(lambda x, axis: x - sps.logsumexp(x, axis=axis, keepdims=True), "{0} - sps.logsumexp({0}, axis={axis}, keepdims=True)"),
        "mean_squared_error": Row(lambda a, b: anp.mean((a - b) ** 2), "anp.mean(({0} - {1}) ** 2)"),
        "softmax_cross_entropy": Row(lambda x, labels: -anp.mean((x - sps.logsumexp(x, axis=1, keepdims=True))[np.arange(len(labels)), np.asarray(labels)]), "-anp.mean(({0} - sps.logsumexp({0}, axis=1, keepdims=True))[np.arange(len({labels})), np.array({labels})])"),
        "maximum": Row("anp.maximum"),
        "minimum": Row("anp.minimum"),
        "where": Row(lambda x, y, condition: anp.where(np.asarray(condition), x, y), "anp.where(np.array({condition}), {0}, {1})"),
        "pad": Row(lambda x, widths: anp.pad(x, widths), "anp.pad({0}, {widths})"),
        "tile": Row(lambda x, reps: anp.tile(x, reps), "anp.tile({0}, {reps})"),
        "take_along_axis": None,
        "einsum": Row(lambda a, b, subscripts: anp.einsum(subscripts, a, b), "anp.einsum({subscripts}, {0}, {1})"),
        "layer_norm": None,
        "cross_entropy": None,
    }


def _sum_to(anp, x, shape):
    axes, _ = spec.sum_to_axes(tuple(np.shape(x)), tuple(shape))
    return anp.reshape(anp.sum(x, axis=axes, keepdims=True), shape)


def import_hips():
    """HIPS autograd's top-level module, with ``autograd.numpy`` and ``autograd.scipy.special``
    imported; ImportError with the reason when the ``autograd`` distribution is not installed.

    Looked up where that distribution is installed, so that Python started in trigrad's repository
    (whose ``autograd/`` folder is trigrad's core) still finds HIPS's."""
    module = sys.modules.get("autograd")
    if module is None or not hasattr(module, "make_vjp"):
        try:
            site = str(importlib.metadata.distribution("autograd").locate_file(""))
        except importlib.metadata.PackageNotFoundError:
            raise ImportError("HIPS autograd is not installed (pip install autograd==1.9.1)") from None
        saved = list(sys.path)
        sys.path.insert(0, site)
        try:
            sys.modules.pop("autograd", None)
            module = importlib.import_module("autograd")
        finally:
            sys.path[:] = saved
    importlib.import_module("autograd.numpy")
    importlib.import_module("autograd.scipy.special")
    return module


class Hips(Backend):
    """HIPS autograd on numpy, float64."""

    name = "hips"
    preamble = ("import numpy as np\nimport autograd\nimport autograd.numpy as anp\n"
                "import autograd.scipy.special as sps")

    def __init__(self):
        self.autograd = import_hips()
        anp, sps = self.autograd.numpy, self.autograd.scipy.special
        self.table = OpTable(_rows(anp, sps), {"anp": anp, "sps": sps}, prefix="anp.")
        self.ops = self.table.ops
        self.version = importlib.metadata.version("autograd")

    def asarray(self, x):
        return np.array(x, dtype=np.float64)

    def tonumpy(self, v):
        return np.asarray(getattr(v, "_value", v), dtype=np.float64)

    def op(self, name):
        if name not in self.table.calls:
            raise Unsupported(f"HIPS autograd adapter has no op {name!r}")
        return self.table.calls[name]

    def vjp(self, fn, xs, cotangent):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Output seems independent of input": zero gradients, as wanted
            return self._vjp(fn, xs, cotangent)

    def _vjp(self, fn, xs, cotangent):
        pullback, y = self.autograd.make_vjp(lambda args: fn(*args))(tuple(xs))
        grads = pullback(np.asarray(cotangent, dtype=np.float64) + np.zeros(np.shape(y)))
        return self.tonumpy(y), [self._dense(g, x) for g, x in zip(grads, xs)]

    def jvp(self, fn, xs, tangents):
        push = self.autograd.make_jvp(lambda args: fn(*args))(tuple(xs))
        y, t = push(tuple(np.asarray(u, dtype=np.float64) for u in tangents))
        return self.tonumpy(y), self._dense(t, y)

    def hvp(self, fn, xs, cotangent, tangents):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._hvp(fn, xs, cotangent, tangents)

    def _hvp(self, fn, xs, cotangent, tangents):
        anp, ct = self.autograd.numpy, np.asarray(cotangent, dtype=np.float64)
        ts = [np.asarray(u, dtype=np.float64) for u in tangents]

        def inner(args):
            pullback, y = self.autograd.make_vjp(lambda a: fn(*a))(args)
            grads = pullback(ct + np.zeros(np.shape(y)))
            return sum(anp.sum(g * t) for g, t in zip(grads, ts))

        pullback, _ = self.autograd.make_vjp(inner)(tuple(xs))
        return [self._dense(g, x) for g, x in zip(pullback(1.0), xs)]

    @staticmethod
    def _dense(g, like):
        # HIPS gives zeros for inputs that do not reach the output; broadcast them to the input's shape
        return np.broadcast_to(np.asarray(g, dtype=np.float64), np.shape(like)).copy()

    # reproducer snippets
    def leaf_source(self, array):
        return f"np.array({array}, dtype=np.float64)"

    def vjp_source(self, out, inputs, cotangent, body):
        args = ", ".join(inputs)
        return "\n".join([
            *function_source(out, args, body),
            f"pullback, {out} = autograd.make_vjp(lambda xs: f(*xs))(({args},))",
            f"grads = pullback(np.asarray({cotangent}, dtype=np.float64) + np.zeros(np.shape({out})))",
            f"print('value:', {out})",
            *[f"print('gradient wrt {x}:', grads[{k}])" for k, x in enumerate(inputs)]])

    def hvp_source(self, out, inputs, cotangent, tangents, body):
        args = ", ".join(inputs)
        return "\n".join([
            *function_source(out, args, body),
            "def inner(xs):",
            "    pullback, y = autograd.make_vjp(lambda a: f(*a))(xs)",
            f"    grads = pullback(np.asarray({cotangent}, dtype=np.float64) + np.zeros(np.shape(y)))",
            f"    return sum(anp.sum(g * np.asarray(t)) for g, t in zip(grads, [{', '.join(tangents)}]))",
            "",
            f"hvp = autograd.make_vjp(inner)(({args},))[0](1.0)",
            *[f"print('second order wrt {x}:', hvp[{k}])" for k, x in enumerate(inputs)]])


def make() -> Hips:
    return Hips()
