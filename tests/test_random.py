"""``lamina.random`` against ``keras.random`` (JAX backend): integer seeds give Keras's draws."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

import lamina
from lamina import random

DRAWS = {
    "normal": lambda R: R.normal((3, 4), mean=1.0, stddev=2.0, seed=7),
    "uniform": lambda R: R.uniform((5,), minval=-1.0, maxval=3.0, seed=7),
    "truncated_normal": lambda R: R.truncated_normal((6,), seed=3),
    "randint": lambda R: R.randint((4, 2), 0, 10, seed=5),
    "categorical": lambda R: R.categorical(np.log(np.array([[0.2, 0.8], [0.5, 0.5]], "float32")), 6, seed=2),
    "dropout": lambda R: R.dropout(np.ones((10,), "float32"), 0.5, seed=4),
    "shuffle": lambda R: R.shuffle(np.arange(8), seed=9),
    "gamma": lambda R: R.gamma((4,), alpha=2.0, seed=1),
    "binomial": lambda R: R.binomial((5,), counts=10.0, probabilities=0.3, seed=1),
    "beta": lambda R: R.beta((5,), alpha=2.0, beta=3.0, seed=1),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_integer_seeds_give_keras_draws(name):
    ours = np.asarray(DRAWS[name](random))
    theirs = keras.ops.convert_to_numpy(DRAWS[name](keras.random))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_every_keras_random_name_exists():
    missing = [n for n in dir(keras.random) if not n.startswith("_") and not hasattr(lamina.random, n)]
    assert not missing, f"lamina.random lacks {missing}"


def test_seed_generator_advances_and_repeats():
    a, b = random.SeedGenerator(11), random.SeedGenerator(11)
    first, second = random.normal((3,), seed=a), random.normal((3,), seed=a)
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(random.normal((3,), seed=b), first)


# ---------------------------------------------------------------------------------------------- bernoulli
@pytest.mark.parametrize("shape", [(1,), (7,), (5, 7), (64, 100, 64), (2, 3, 4, 5)])
@pytest.mark.parametrize("p", [0.9, 0.5, 0.75, 0.123456, 0.999])
def test_bernoulli_equals_jax_bit_for_bit(shape, p):
    import jax

    for seed in range(3):
        key = jax.random.fold_in(jax.random.PRNGKey(seed), 17)
        ours = jax.jit(lambda k: random.bernoulli(k, p, shape))(key)
        assert ours.dtype == np.bool_ and ours.shape == shape
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(jax.random.bernoulli(key, p, shape)))


def test_bernoulli_typed_keys_and_traced_probabilities_fall_back_exactly():
    import jax

    typed = jax.random.key(4)
    np.testing.assert_array_equal(random.bernoulli(typed, 0.7, (9, 9)), jax.random.bernoulli(typed, 0.7, (9, 9)))
    key = jax.random.PRNGKey(5)
    traced = jax.jit(lambda k, p: random.bernoulli(k, p, (6, 6)))(key, 0.3)
    np.testing.assert_array_equal(traced, jax.random.bernoulli(key, 0.3, (6, 6)))


def test_bernoulli_mask_is_hashed_once_per_train_step():
    """A mask read before and after a matmul, forward and backward: the compiled gradient hashes it in one
    fused computation (a plain elementwise hash was copied into 4)."""
    import re

    import jax
    import jax.numpy as jnp

    x, w = jnp.ones((16, 10, 32)), jnp.ones((32, 32)) * 0.1

    def loss(x, w, key):
        keep = random.bernoulli(key, 0.9, x.shape)
        y = jnp.tanh((jnp.where(keep, x / 0.9, 0.0) + x) @ w)
        return jnp.sum(jnp.where(keep, y / 0.9, 0.0) ** 2)

    text = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(x, w, jax.random.PRNGKey(0)).compile().as_text()
    hashing = [c for c in re.split(r"\n(?=\S)", text) if c.count(" xor(") >= 20]
    assert len(hashing) == 1
