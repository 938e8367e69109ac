"""keras.initializers names: lowercase aliases, STFT/Identity values, Orthogonal properties, deserialize."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

from lamina import initializers

keras = pytest.importorskip("keras")

PUBLIC = sorted(n for n in dir(keras.initializers) if not n.startswith("_"))


@pytest.mark.parametrize("name", PUBLIC)
def test_every_name_is_the_same_kind_of_object(name):
    theirs, ours = getattr(keras.initializers, name), getattr(initializers, name)
    if isinstance(theirs, type):
        assert isinstance(ours, type)
        assert ours.__name__ == theirs.__name__  # aliases are the classes themselves, as in Keras
        if name == "Identity" or name == "IdentityInitializer" or name == "identity":
            # Keras's Identity has no get_config (``{}``: the gain is lost); lamina keeps ``gain``, which Keras loads
            assert ours().get_config() == {"gain": 1.0} and theirs().get_config() == {}
        elif name != "Initializer":
            assert ours().get_config() == theirs().get_config()
    else:
        assert callable(ours)


STFT_CASES = [
    ({}, (16, 1, 9)),
    ({"side": "imag"}, (16, 1, 9)),
    ({"window": "hamming", "scaling": "spectrum", "periodic": True}, (12, 1, 7)),
    ({"window": None, "scaling": None}, (8, 1, 5)),
    ({"window": np.linspace(0.1, 1.0, 8).tolist()}, (8, 1, 5)),
]


@pytest.mark.parametrize("kwargs,shape", STFT_CASES)
def test_stft_matches_keras(kwargs, shape):
    ours, theirs = initializers.STFT(**kwargs), keras.initializers.STFT(**kwargs)
    np.testing.assert_allclose(ours(shape), np.asarray(theirs(shape)), rtol=1e-5, atol=1e-6)
    assert ours.get_config() == theirs.get_config()


def test_stft_errors_match_keras():
    for kwargs in ({"side": "both"}, {"scaling": "l3"}):
        with pytest.raises(ValueError):
            keras.initializers.STFT(**kwargs)
        with pytest.raises(ValueError):
            initializers.STFT(**kwargs)


@pytest.mark.parametrize("shape,gain", [((3, 3), 1.0), ((2, 5), 2.0), ((6, 4), 0.5)])
def test_identity_matches_keras(shape, gain):
    np.testing.assert_array_equal(initializers.IdentityInitializer(gain)(shape),
                                  np.asarray(keras.initializers.IdentityInitializer(gain)(shape)))


@pytest.mark.parametrize("shape,gain", [((4, 4), 1.0), ((3, 7), 2.0), ((8, 3), 0.5), ((3, 3, 2, 5), 1.0)])
def test_orthogonal_is_orthogonal_with_keras_shape_and_gain(shape, gain):
    values = initializers.OrthogonalInitializer(gain=gain, seed=3)(shape)
    reference = np.asarray(keras.initializers.OrthogonalInitializer(gain=gain, seed=3)(shape))
    assert values.shape == reference.shape and values.dtype == reference.dtype
    flat = values.reshape(-1, shape[-1])
    small = min(flat.shape)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(small), atol=1e-5)
    np.testing.assert_array_equal(values, initializers.orthogonal(gain=gain, seed=3)(shape))  # seeded: repeatable


@pytest.mark.parametrize("config", [
    {"class_name": "Constant", "config": {"value": 2.0}},
    {"class_name": "HeNormal", "config": {"seed": 1}},
    {"class_name": "OrthogonalInitializer", "config": {"gain": 2.0, "seed": None}},
    {"class_name": "STFTInitializer", "config": {"side": "imag", "window": None, "scaling": None, "periodic": False}},
    "glorot_uniform",
    "IdentityInitializer",
])
def test_deserialize_matches_keras(config):
    ours, theirs = initializers.deserialize(config), keras.initializers.deserialize(config)
    assert type(ours).__name__ == type(theirs).__name__
    if type(ours).__name__ != "Identity":  # Keras's Identity config is {} (see above)
        assert ours.get_config() == theirs.get_config()
