"""Custom gradients as JAX users write them: correct ``jax.custom_jvp`` and ``jax.custom_vjp``
functions and plain callables built on them, and planted bugs in each (``CORRECT`` and ``PLANTED``,
read by the catalogue's tests and by ``python -m bench custom_catalogue``). Importing this module
needs jax."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from custom_catalogue import Control, Planted, readme_example

jax.config.update("jax_enable_x64", True)

EPS = 1e-5
LAYER_NORM = ("(x - mean(x, axis=-1, keepdims=True)) / sqrt(mean((x - mean(x, axis=-1, keepdims=True)) ** 2, "
              "axis=-1, keepdims=True) + 1e-5)")
SOFT_CROSS_ENTROPY = "-mean(sum(y * log_softmax(x, axis=-1), axis=-1))"
# logits and soft targets of one shape (the function assumes it), targets in (0, 1]
SCE_ARGS = dict(shape=["x=2,3", "y=2,3"], domain=["y=0.05:1"])
REVERSE_ONLY = {"jvp", "adjoint"}  # a custom_vjp function: no forward mode (forward over its reverse rule works)


def _sum_to(g, shape):
    """g summed over the axes broadcasting added or stretched, to ``shape``."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + k for k, n in enumerate(shape) if n == 1 and g.shape[lead + k] != 1)
    return jnp.sum(g, axis=axes, keepdims=True).reshape(shape)


# --- correct ---------------------------------------------------------------------------------------------


@jax.custom_jvp
def exp_jvp(x):
    return jnp.exp(x)


@exp_jvp.defjvp
def _exp_jvp_rule(primals, tangents):
    y = jnp.exp(primals[0])
    return y, y * tangents[0]


@jax.custom_vjp
def exp_vjp(x):
    return jnp.exp(x)


exp_vjp.defvjp(lambda x: (jnp.exp(x), jnp.exp(x)), lambda y, g: (g * y,))


@jax.custom_vjp
def mul_exp(x, y):
    return x * jnp.exp(y)


def _mul_exp_bwd(res, g):
    x, y = res
    e = jnp.exp(y)
    return _sum_to(g * e, x.shape), _sum_to(g * x * e, y.shape)


mul_exp.defvjp(lambda x, y: (x * jnp.exp(y), (x, y)), _mul_exp_bwd)


@jax.custom_jvp
def logaddexp(x, y):
    return jnp.logaddexp(x, y)


@logaddexp.defjvp
def _logaddexp_jvp(primals, tangents):
    x, y = primals
    z = jnp.logaddexp(x, y)
    return z, jnp.exp(x - z) * tangents[0] + jnp.exp(y - z) * tangents[1]


@jax.custom_jvp
def sincos_jvp(x):
    return jnp.sin(x), jnp.cos(x)


@sincos_jvp.defjvp
def _sincos_jvp(primals, tangents):
    x, = primals
    t, = tangents
    return (jnp.sin(x), jnp.cos(x)), (jnp.cos(x) * t, -jnp.sin(x) * t)


@jax.custom_vjp
def sincos_vjp(x):
    return jnp.sin(x), jnp.cos(x)


sincos_vjp.defvjp(lambda x: ((jnp.sin(x), jnp.cos(x)), x),
                  lambda x, g: (g[0] * jnp.cos(x) - g[1] * jnp.sin(x),))


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def scaled_sinh(x, alpha):
    return alpha * jnp.sinh(x)


@scaled_sinh.defjvp
def _scaled_sinh_jvp(alpha, primals, tangents):
    x, = primals
    return alpha * jnp.sinh(x), alpha * jnp.cosh(x) * tangents[0]


@jax.custom_vjp
def softmax(x):
    return jax.nn.softmax(x, axis=-1)


def _softmax_bwd(y, g):
    gx = y * g
    return (gx - y * jnp.sum(gx, axis=-1, keepdims=True),)


softmax.defvjp(lambda x: (jax.nn.softmax(x, axis=-1),) * 2, _softmax_bwd)


_example = readme_example("test_jax_layer_norm")  # the README's layer norm, a custom_vjp
layer_norm, _layer_norm_fwd = _example.layer_norm, _example.layer_norm_fwd


@jax.custom_jvp
def soft_cross_entropy(x, y):
    return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(x, axis=-1), axis=-1))


@soft_cross_entropy.defjvp
def _sce_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    ls = jax.nn.log_softmax(x, axis=-1)
    shape = jnp.broadcast_shapes(x.shape, y.shape)  # x and y may broadcast against each other
    rows = max(1, int(np.prod(shape)) // shape[-1]) if shape else 1
    y_wide = jnp.broadcast_to(y, shape)
    dx = jax.nn.softmax(x, axis=-1) * jnp.sum(y_wide, axis=-1, keepdims=True) - y_wide
    return -jnp.mean(jnp.sum(y * ls, axis=-1)), (jnp.sum(dx * tx) - jnp.sum(ls * ty)) / rows


def exp_times_two(x):
    """A plain callable built on a custom_vjp function: it cannot do what exp_vjp cannot."""
    return 2 * exp_vjp(x)


CORRECT = [
    Control("exp_jvp", exp_jvp, "custom_jvp", dict(sympy="exp(x)", domain=["x=-2:2"]), set()),
    Control("exp_vjp", exp_vjp, "custom_vjp", dict(sympy="exp(x)", domain=["x=-2:2"]), REVERSE_ONLY),
    Control("mul_exp", mul_exp, "custom_vjp, two inputs, broadcasting", dict(sympy="x * exp(y)", domain=["y=-2:2"]),
            REVERSE_ONLY),
    Control("logaddexp", logaddexp, "custom_jvp, two inputs", dict(sympy="log(exp(x) + exp(y))"), set()),
    Control("sincos_jvp", sincos_jvp, "custom_jvp, two outputs", dict(sympy="sin(x), cos(x)"), set()),
    Control("sincos_vjp", sincos_vjp, "custom_vjp, two outputs", dict(sympy="sin(x), cos(x)"), REVERSE_ONLY),
    Control("scaled_sinh", scaled_sinh, "custom_jvp, nondiff_argnums", dict(sympy="3 * sinh(x) / 2",
                                                                           params={"alpha": 1.5}), set()),
    Control("softmax", softmax, "custom_vjp, like softmax", dict(like="softmax"), REVERSE_ONLY),
    Control("layer_norm", layer_norm, "array-valued custom_vjp (layer norm)", dict(twin=LAYER_NORM), REVERSE_ONLY),
    Control("soft_cross_entropy", soft_cross_entropy, "array-valued custom_jvp (softmax cross entropy)",
            dict(twin=SOFT_CROSS_ENTROPY, **SCE_ARGS), set()),
    Control("exp_times_two", exp_times_two, "plain callable on a custom_vjp", dict(sympy="2 * exp(x)",
                                                                                 domain=["x=-2:2"]), REVERSE_ONLY),
]


# --- planted bugs ----------------------------------------------------------------------------------------


@jax.custom_vjp
def exp_wrong_sign(x):
    return jnp.exp(x)


exp_wrong_sign.defvjp(lambda x: (jnp.exp(x), jnp.exp(x)), lambda y, g: (-g * y,))


@jax.custom_jvp
def exp_off_1e7(x):
    return jnp.exp(x)


@exp_off_1e7.defjvp
def _exp_off_1e7(primals, tangents):
    y = jnp.exp(primals[0])
    return y, y * tangents[0] * (1 + 1e-7)


@jax.custom_jvp
def sinh_wrong_tangent(x):
    return jnp.sinh(x)


@sinh_wrong_tangent.defjvp
def _sinh_wrong_tangent(primals, tangents):
    x, = primals
    return jnp.sinh(x), jnp.sinh(x) * tangents[0]  # sinh' is cosh


@jax.custom_vjp
def sin3_scaled_twice(x):
    return 3 * jnp.sin(x)


sin3_scaled_twice.defvjp(lambda x: (3 * jnp.sin(x), x), lambda x, g: (3 * (3 * g) * jnp.cos(x),))


@jax.custom_vjp
def mul_exp_swapped(x, y):
    return x * jnp.exp(y)


def _mul_exp_swapped_bwd(res, g):
    x, y = res
    e = jnp.exp(y)
    return _sum_to(g * x * e, x.shape), _sum_to(g * e, y.shape)


mul_exp_swapped.defvjp(lambda x, y: (x * jnp.exp(y), (x, y)), _mul_exp_swapped_bwd)


@jax.custom_vjp
def sincos_second_wrong(x):
    return jnp.sin(x), jnp.cos(x)


sincos_second_wrong.defvjp(lambda x: ((jnp.sin(x), jnp.cos(x)), x),
                           lambda x, g: (g[0] * jnp.cos(x) + g[1] * jnp.sin(x),))


@jax.custom_vjp
def add_bias_mean(x, b):
    return x + b


def _mean_to(g, shape):
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + k for k, n in enumerate(shape) if n == 1 and g.shape[lead + k] != 1)
    return jnp.mean(g, axis=axes, keepdims=True).reshape(shape)


add_bias_mean.defvjp(lambda x, b: (x + b, (x, b)),
                     lambda res, g: (_sum_to(g, res[0].shape), _mean_to(g, res[1].shape)))


@jax.custom_vjp
def layer_norm_no_mean_term(x):
    return _example.layer_norm.fun(x)


layer_norm_no_mean_term.defvjp(
    _layer_norm_fwd, lambda res, g: (res[1] * (g - res[0] * jnp.mean(g * res[0], axis=-1, keepdims=True)),))


PLANTED = [
    Planted("exp_wrong_sign", exp_wrong_sign, "custom_vjp", "wrong sign", dict(sympy="exp(x)", domain=["x=-2:2"])),
    Planted("exp_off_1e7", exp_off_1e7, "custom_jvp", "relative 1e-7 error", dict(sympy="exp(x)", domain=["x=-2:2"])),
    Planted("sinh_wrong_tangent", sinh_wrong_tangent, "custom_jvp", "wrong tangent rule", dict(sympy="sinh(x)")),
    Planted("sin3_scaled_twice", sin3_scaled_twice, "custom_vjp", "cotangent scaled twice", dict(sympy="3 * sin(x)")),
    Planted("mul_exp_swapped", mul_exp_swapped, "custom_vjp, two inputs", "gradients swapped between inputs",
            dict(sympy="x * exp(y)", domain=["y=-2:2"])),
    Planted("sincos_second_wrong", sincos_second_wrong, "custom_vjp, two outputs", "wrong only for the second output",
            dict(sympy="sin(x), cos(x)")),
    Planted("add_bias_mean", add_bias_mean, "custom_vjp, broadcasting", "wrong only under broadcasting",
            dict(sympy="x + y")),
    Planted("layer_norm_no_mean_term", layer_norm_no_mean_term, "array-valued custom_vjp (layer norm)",
            "backward forgets the mean's term", dict(twin=LAYER_NORM)),
]
