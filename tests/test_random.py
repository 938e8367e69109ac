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
