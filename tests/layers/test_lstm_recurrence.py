"""lstm_sequence's hand-written gradient against autodiff of a plain lax.scan LSTM."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina.layers import lstm_recurrence
from lamina.layers.lstm_recurrence import lstm_sequence


def _reference(kernel, recurrent, bias, xs, h0, c0, rec_mask, keep=None, zero_output=False):
    def step(carry, item):
        x_t, keep_t = item
        h_before, c_before = carry
        hm = h_before if rec_mask is None else h_before * rec_mask
        z = x_t @ kernel + hm @ recurrent + (0.0 if bias is None else bias)
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c_before + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        if keep_t is None:
            return (h, c), h
        out = jnp.where(keep_t, h, 0.0 if zero_output else h_before)
        return (jnp.where(keep_t, h, h_before), jnp.where(keep_t, c, c_before)), out

    (h, c), hs = jax.lax.scan(step, (h0, c0), (xs, keep))
    return hs, h, c


def _arrays(steps, batch=3, features=5, units=4, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(features, 4 * units), (units, 4 * units), (4 * units,), (steps, batch, features), (batch, units),
              (batch, units)]
    return [jnp.asarray(rng.normal(size=s).astype(np.float32) * 0.5) for s in shapes]


@pytest.mark.parametrize("steps", [1, 40])
@pytest.mark.parametrize(("with_bias", "with_dropout"), [(True, False), (False, True)])
@pytest.mark.parametrize("padding", [None, "previous", "zeros"])
def test_gradient_matches_autodiff(steps, with_bias, with_dropout, padding):
    kernel, recurrent, bias, xs, h0, c0 = _arrays(steps)
    bias = bias if with_bias else None
    rng = np.random.default_rng(1)
    rec_mask = jnp.asarray(rng.integers(0, 2, size=h0.shape), jnp.float32) * 2.0 if with_dropout else None
    extra = ()
    if padding is not None:  # a random padding pattern: some sequences end early, some steps inside are masked
        extra = (jnp.asarray(rng.random((steps, 3, 1)) < 0.7), padding == "zeros")
    weights = [jnp.asarray(np.random.default_rng(2).normal(size=s), jnp.float32)
               for s in [(steps, 3, 4), (3, 4), (3, 4)]]

    def loss(fn, *args):
        hs, h, c = fn(*args[:2], bias, args[2], args[3], args[4], rec_mask, *extra)
        return jnp.sum(hs * weights[0]) + jnp.sum(h * weights[1]) + jnp.sum(jnp.sin(c) * weights[2])

    args = (kernel, recurrent, xs, h0, c0)
    value, grads = jax.value_and_grad(lambda *a: loss(lstm_sequence, *a), argnums=range(5))(*args)
    want_value, want = jax.value_and_grad(lambda *a: loss(_reference, *a), argnums=range(5))(*args)
    np.testing.assert_allclose(value, want_value, rtol=1e-5)
    for got, expected in zip(grads, want):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    if with_bias:
        def bias_loss(fn):
            return jax.grad(lambda b: jnp.sum(fn(kernel, recurrent, b, xs, h0, c0, rec_mask, *extra)[0]
                                              * weights[0]))(bias)
        np.testing.assert_allclose(bias_loss(lstm_sequence), bias_loss(_reference), rtol=1e-4, atol=1e-5)


def test_jit_and_vmap_compose():
    kernel, recurrent, bias, xs, h0, c0 = _arrays(20)
    batched = jax.jit(jax.vmap(lambda x: lstm_sequence(kernel, recurrent, bias, x, h0, c0)[1]))
    want = jax.vmap(lambda x: _reference(kernel, recurrent, bias, x, h0, c0, None)[1])
    stacked = jnp.stack([xs, xs * 0.5])
    np.testing.assert_allclose(batched(stacked), want(stacked), rtol=1e-5, atol=1e-6)


def test_long_sequences_are_cut_into_chunks_covering_every_step():
    assert lstm_recurrence._chunk_bounds(7) == [(0, 7)]
    bounds = lstm_recurrence._chunk_bounds(100)
    assert len(bounds) == lstm_recurrence.CHUNKS
    assert bounds[0][0] == 0 and bounds[-1][1] == 100
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))


def test_lstm_layer_uses_the_recurrence_and_other_activations_fall_back():
    import lamina as keras

    x = np.random.default_rng(0).normal(size=(2, 20, 3)).astype(np.float32)
    fast = keras.layers.LSTM(4, return_sequences=True)
    fast.build((None, 20, 3))
    slow = keras.layers.LSTM(4, return_sequences=True, activation="relu")
    slow.build((None, 20, 3))
    states = (jnp.zeros((2, 4)), jnp.zeros((2, 4)))
    xs = jnp.swapaxes(jnp.asarray(x), 0, 1)
    assert fast._whole_sequence(xs, states, None, None) is not None
    assert slow._whole_sequence(xs, states, None, None) is None
    # The generic scan and the hand-written recurrence give the same outputs for the same weights.
    generic = keras.layers.LSTM(4, return_sequences=True, activation=lambda v: jnp.tanh(v))
    generic.build((None, 20, 3))
    generic.set_weights(fast.get_weights())
    np.testing.assert_allclose(np.asarray(fast(x)), np.asarray(generic(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("zero_output", [False, True])
def test_masked_lstm_layer_matches_the_generic_scan(zero_output):
    import lamina as keras

    tokens = np.array([[3, 5, 2, 0, 0, 0], [1, 0, 4, 4, 2, 6]])  # zeros are padding
    emb = keras.layers.Embedding(8, 3, mask_zero=True)
    fast = keras.layers.LSTM(4, return_sequences=True, return_state=True, zero_output_for_mask=zero_output)
    generic = keras.layers.LSTM(4, return_sequences=True, return_state=True, zero_output_for_mask=zero_output,
                                activation=lambda v: jnp.tanh(v))
    x = emb(tokens)
    fast(x)
    generic(x)
    generic.set_weights(fast.get_weights())
    for got, want in zip(fast(x), generic(x)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)
