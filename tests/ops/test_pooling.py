"""lamina.ops.pooling against keras.ops (JAX backend) and lax.reduce_window, incl. gradients with ties."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from lamina.ops.pooling import avg_pool, global_pool, max_pool, pool_output_shape

TOL = dict(rtol=1e-5, atol=1e-5)

# spatial, channels, pool, strides, padding
CASES = [
    ((9,), 3, (2,), None, "valid"),
    ((9,), 3, (3,), (2,), "same"),
    ((10,), 2, (2,), (2,), "same"),
    ((8, 8), 3, (2, 2), None, "valid"),
    ((9, 11), 3, (2, 3), None, "valid"),
    ((9, 11), 2, (2, 2), None, "same"),
    ((8, 6), 2, (2, 3), (2, 3), "same"),
    ((9, 9), 2, (3, 3), (2, 2), "valid"),
    ((9, 8), 2, (3, 2), (1, 2), "same"),
    ((5, 6, 7), 2, (2, 2, 3), None, "valid"),
    ((5, 6, 4), 2, (2, 2, 2), (1, 2, 2), "same"),
]
PARAMS = [(c, "channels_last") for c in CASES] + [(c, "channels_first") for c in CASES[1::3]]


def _ids(p):
    (sp, c, pool, st, pad), fmt = p
    st_id = st and "".join(map(str, st))
    return f"{'x'.join(map(str, sp))}-p{''.join(map(str, pool))}-s{st_id}-{pad}-{fmt[9:]}"


def _tied(shape, seed):
    """Small integers after ReLU: many windows hold tied maxima (zeros and repeats)."""
    return np.maximum(np.random.default_rng(seed).integers(-2, 3, size=shape), 0).astype(np.float32)


@pytest.mark.parametrize("case,fmt", PARAMS, ids=[_ids(p) for p in PARAMS])
def test_pools_match_keras_values_and_gradients(case, fmt):
    sp, c, pool, st, pad = case
    shape = (2, *sp, c) if fmt == "channels_last" else (2, c, *sp)
    x = jnp.asarray(_tied(shape, 0))
    st = st or pool  # keras.ops.max_pool(strides=None) trips over its own conversion in Keras 3.15
    kmax = keras.ops.max_pool(x, pool, st, pad, fmt)
    kavg = keras.ops.average_pool(x, pool, st, pad, fmt)
    ct = jnp.asarray(np.random.default_rng(1).normal(size=kmax.shape).astype(np.float32))

    def grads(fn):
        return jax.grad(lambda a: jnp.sum(fn(a) * ct))

    @jax.jit
    def run(x):
        fns = {
            "kmax": lambda a: keras.ops.max_pool(a, pool, st, pad, fmt),
            "kavg": lambda a: keras.ops.average_pool(a, pool, st, pad, fmt),
            "max": lambda a: max_pool(a, pool, st, pad, fmt),
            "avg": lambda a: avg_pool(a, pool, st, pad, fmt),
        }
        return {k: (f(x), grads(f)(x)) for k, f in fns.items()}

    r = run(x)
    for name, ref in (("max", "kmax"), ("avg", "kavg")):
        np.testing.assert_allclose(r[name][0], r[ref][0], **TOL, err_msg=name)
        np.testing.assert_allclose(r[name][1], r[ref][1], **TOL, err_msg=name)
    np.testing.assert_allclose(r["kmax"][0], kmax, **TOL)
    np.testing.assert_allclose(r["kavg"][0], kavg, **TOL)
    axes = range(1, len(sp) + 1) if fmt == "channels_last" else range(2, len(sp) + 2)
    assert tuple(kmax.shape[a] for a in axes) == pool_output_shape(sp, pool, st, pad)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_reshape_path_tie_gradient_is_first_element(fmt):
    """XLA's select-and-scatter (Keras) gives each window's gradient to its first maximum; so does ours.

    ``jnp.max``'s own gradient would split it between ties: 1/4 each for a window of four zeros.
    """
    x = jnp.zeros((1, 4, 4, 1) if fmt == "channels_last" else (1, 1, 4, 4))
    first = np.zeros((4, 4), np.float32)
    first[::2, ::2] = 1.0
    for impl in ("reshape", "reduce_window"):
        g = jax.grad(lambda a, impl=impl: jnp.sum(max_pool(a, 2, data_format=fmt, impl=impl)))(x)
        np.testing.assert_array_equal(g.reshape(4, 4), first)
    keras_g = jax.grad(lambda a: jnp.sum(keras.ops.max_pool(a, 2, 2, data_format=fmt)))(x)
    np.testing.assert_array_equal(keras_g.reshape(4, 4), first)
    split = jax.grad(lambda a: jnp.sum(jnp.max(a.reshape(2, 2, 2, 2), axis=(1, 3))))(jnp.zeros((4, 4)))
    np.testing.assert_array_equal(split, np.full((4, 4), 0.25, np.float32))


def test_design_cnn_pools_relu_ties():
    """The DESIGN.md CNN's pools (30x30x32 and odd 13x13x64, floor-cropped) on ReLU outputs, vs Keras."""
    rng = np.random.default_rng(3)
    for shape in ((8, 30, 30, 32), (8, 13, 13, 64)):
        x = jnp.maximum(jnp.asarray(rng.normal(size=shape).astype(np.float32)), 0.0)
        ct = jnp.asarray(rng.normal(size=max_pool(x, 2).shape).astype(np.float32))
        f = jax.jit(jax.value_and_grad(lambda a, ct=ct: jnp.sum(max_pool(a, 2) * ct)))
        k = jax.jit(jax.value_and_grad(lambda a, ct=ct: jnp.sum(keras.ops.max_pool(a, 2, 2) * ct)))
        (v0, g0), (v1, g1) = f(x), k(x)
        np.testing.assert_allclose(v0, v1, rtol=1e-5)
        np.testing.assert_array_equal(g0, g1)


def test_keras_layers_and_global_pools():
    x = np.random.default_rng(4).normal(size=(2, 7, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(max_pool(x, 3, 2, "same"), keras.layers.MaxPooling2D(3, 2, "same")(x), **TOL)
    want = keras.layers.AveragePooling2D(2, 1, "same")(x)
    np.testing.assert_allclose(avg_pool(x, 2, 1, "same"), want, **TOL)
    for fmt, xx in (("channels_last", x), ("channels_first", x.transpose(0, 3, 1, 2))):
        for keep in (False, True):
            want_max = keras.layers.GlobalMaxPooling2D(fmt, keepdims=keep)(xx)
            want_avg = keras.layers.GlobalAveragePooling2D(fmt, keepdims=keep)(xx)
            np.testing.assert_allclose(global_pool(xx, "max", fmt, keep), want_max, **TOL)
            np.testing.assert_allclose(global_pool(xx, "mean", fmt, keep), want_avg, **TOL)
            np.testing.assert_allclose(global_pool(xx, "avg", fmt, keep), want_avg, **TOL)
    x1 = x[:, :, :, 0]
    np.testing.assert_allclose(global_pool(x1, "max"), keras.layers.GlobalMaxPooling1D()(x1), **TOL)


def test_errors_and_explicit_impl():
    x = jnp.zeros((1, 5, 5, 2))
    with pytest.raises(ValueError, match="reshape"):
        max_pool(x, 2, 1, impl="reshape")
    with pytest.raises(ValueError, match="padding"):
        max_pool(x, 2, padding="causal")
    with pytest.raises(ValueError, match="op"):
        global_pool(x, "sum")
    with pytest.raises(ValueError, match="data_format"):
        avg_pool(x, 2, data_format="NHWC")
    assert max_pool(x, 2, impl="reshape").shape == (1, 2, 2, 2)
    assert avg_pool(x, 2, impl="reduce_window").shape == (1, 2, 2, 2)
