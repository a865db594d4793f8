# docs/examples/test_jax_layer_norm.py
import jax
import jax.numpy as jnp
from trigrad.properties import fuzz

EPS = 1e-5


@jax.custom_vjp
def layer_norm(x):
    xc = x - jnp.mean(x, axis=-1, keepdims=True)
    return xc / jnp.sqrt(jnp.mean(xc * xc, axis=-1, keepdims=True) + EPS)


def layer_norm_fwd(x):
    xc = x - jnp.mean(x, axis=-1, keepdims=True)
    rstd = 1 / jnp.sqrt(jnp.mean(xc * xc, axis=-1, keepdims=True) + EPS)
    return xc * rstd, (xc * rstd, rstd)


def layer_norm_bwd(res, g):
    y, rstd = res
    return (rstd * (g - jnp.mean(g, axis=-1, keepdims=True) - y * jnp.mean(g * y, axis=-1, keepdims=True)),)


layer_norm.defvjp(layer_norm_fwd, layer_norm_bwd)

TWIN = ("(x - mean(x, axis=-1, keepdims=True)) / sqrt(mean((x - mean(x, axis=-1, keepdims=True)) ** 2, "
        "axis=-1, keepdims=True) + 1e-5)")
test_layer_norm = fuzz(layer_norm, twin=TWIN, backend="jax")
