"""Every keras.activations name: values, get/serialize/deserialize against Keras (JAX backend)."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

from lamina import activations

keras = pytest.importorskip("keras")

X = np.random.default_rng(2).normal(size=(3, 6)).astype("float32") * 3
PUBLIC = sorted(n for n in dir(keras.activations) if not n.startswith("_")
                and n not in ("get", "serialize", "deserialize"))
KWARGS = {
    "threshold": {"threshold": 0.5, "default_value": -1.0},
    "celu": {"alpha": 0.7},
    "soft_shrink": {"threshold": 1.0},
    "hard_shrink": {"threshold": 1.0},
    "squareplus": {"b": 2.0},
    "glu": {"axis": 0},
    "relu": {"negative_slope": 0.1, "max_value": 4.0},
}


@pytest.mark.parametrize("name", PUBLIC)
def test_values_match_keras(name):
    ours, theirs = getattr(activations, name), getattr(keras.activations, name)
    positional = (0.5, -1.0) if name == "threshold" else ()  # threshold has no defaults
    np.testing.assert_allclose(np.asarray(ours(X, *positional)), np.asarray(theirs(X, *positional)),
                               rtol=1e-5, atol=1e-6)
    if name in KWARGS:
        x = X[:2] if name == "glu" else X
        np.testing.assert_allclose(np.asarray(ours(x, **KWARGS[name])), np.asarray(theirs(x, **KWARGS[name])),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", PUBLIC)
def test_get_serialize_deserialize_match_keras(name):
    ours = activations.get(name)
    assert activations.serialize(ours) == keras.activations.serialize(keras.activations.get(name))
    assert activations.deserialize(name) is ours
    assert activations.deserialize({"class_name": "function", "config": activations.serialize(ours)}) in (
        ours, activations.get(activations.serialize(ours)))


def test_deserialize_unknown_and_custom():
    with pytest.raises(ValueError, match="Could not interpret activation"):
        activations.deserialize("nope")

    def mine(x):
        return x

    assert activations.deserialize("mine", custom_objects={"mine": mine}) is mine
