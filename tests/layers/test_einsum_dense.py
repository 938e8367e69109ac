"""EinsumDense against Keras 3 (shapes, counts, outputs for the same weights, configs)."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import keras
import numpy as np
import pytest

from lamina import layers

from .layer_oracle import Case, check_layer

CASES = [
    Case("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, (3, 5), id="matmul"),
    Case("EinsumDense", {"equation": "abc,cd->abd", "output_shape": (None, 6), "bias_axes": "d",
                         "activation": "relu"}, (2, 3, 5), id="rank3"),
    Case("EinsumDense", {"equation": "abc,cde->abde", "output_shape": (None, 2, 4), "bias_axes": "de"},
         (2, 3, 5), id="heads-projection"),
    Case("EinsumDense", {"equation": "abcd,cde->abe", "output_shape": (None, 7), "bias_axes": "e"},
         (2, 3, 2, 4), id="heads-output"),
    Case("EinsumDense", {"equation": "...b,bc->...c", "output_shape": 3, "bias_axes": "c"}, (2, 4, 5),
         id="left-ellipsis"),
    Case("EinsumDense", {"equation": "ab...,bc->ac...", "output_shape": 3}, (2, 5, 4), id="right-ellipsis"),
    Case("EinsumDense", {"equation": "abc,cd->abd", "output_shape": (3, 2), "bias_axes": "bd"}, (2, 3, 4),
         id="bias-two-axes"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case):
    check_layer(case)


def test_kernel_fans_use_einsum_axes():
    """Keras 3.15 draws an einsum kernel with fans over its input / output axes: (8, 2, 4) -> fans 8 and 8."""
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 4))
    layer.build((None, 3, 8))
    kernel = np.asarray(layer.kernel.value)
    assert np.abs(kernel).max() <= np.sqrt(6 / 16) + 1e-6
    assert kernel.std() > 0.8 * np.sqrt(6 / 16) / np.sqrt(3)


def test_bad_equation_raises():
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        layers.EinsumDense("ab->b", output_shape=3).build((None, 3))
    with pytest.raises(ValueError):
        keras.layers.EinsumDense("ab->b", output_shape=3).build((None, 3))


def test_multi_axis_bias_added_as_a_matrix_keeps_values_and_gradients():
    """A bias over the trailing (heads, dim) axes, added to the output seen as a matrix: the same values and
    gradients as ``out + bias``; a bias over some trailing axes only is broadcast as before."""
    import jax
    import jax.numpy as jnp

    from lamina.layers.einsum_dense import _add_bias

    rng = np.random.default_rng(0)
    out = jnp.asarray(rng.normal(size=(64, 100, 2, 64)), jnp.float32)
    bias = jnp.asarray(rng.normal(size=(2, 64)), jnp.float32)
    np.testing.assert_array_equal(_add_bias(out, bias), out + bias)
    ours = jax.grad(lambda o, b: jnp.sum(jnp.tanh(_add_bias(o, b))), argnums=(0, 1))
    plain = jax.grad(lambda o, b: jnp.sum(jnp.tanh(o + b)), argnums=(0, 1))
    for mine, theirs in zip(ours(out, bias), plain(out, bias)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(_add_bias(out[..., :1, :], bias[:1]), out[..., :1, :] + bias[:1])
