"""OrthogonalRegularizer / regularizers.deserialize and the legacy namespaces against Keras (JAX backend)."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

from lamina import regularizers

keras = pytest.importorskip("keras")

W = np.random.default_rng(4).normal(size=(5, 3)).astype("float32")


@pytest.mark.parametrize("kwargs", [{}, {"factor": 0.5}, {"mode": "columns"}, {"factor": 2, "mode": "rows"}])
@pytest.mark.parametrize("weight", [W, W.T, np.eye(4, dtype="float32")])
def test_orthogonal_regularizer_matches_keras(kwargs, weight):
    ours, theirs = regularizers.OrthogonalRegularizer(**kwargs), keras.regularizers.OrthogonalRegularizer(**kwargs)
    import jax.numpy as jnp

    np.testing.assert_allclose(float(ours(weight)), float(theirs(jnp.asarray(weight))), rtol=1e-5, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer


@pytest.mark.parametrize("kwargs", [{"factor": -1.0}, {"factor": float("nan")}, {"mode": "diagonal"}])
def test_orthogonal_regularizer_errors_match_keras(kwargs):
    with pytest.raises(ValueError) as theirs:
        keras.regularizers.OrthogonalRegularizer(**kwargs)
    with pytest.raises(ValueError) as ours:
        regularizers.OrthogonalRegularizer(**kwargs)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="rank 2"):
        regularizers.OrthogonalRegularizer()(np.zeros((2, 2, 2)))


@pytest.mark.parametrize("config", [
    {"class_name": "L2", "config": {"l2": 0.25}},
    {"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}},
    {"class_name": "OrthogonalRegularizer", "config": {"factor": 0.3, "mode": "columns"}},
    "l1",
    "orthogonal_regularizer",
])
def test_deserialize_matches_keras(config):
    ours, theirs = regularizers.deserialize(config), keras.regularizers.deserialize(config)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.get_config() == pytest.approx(theirs.get_config())
    import jax.numpy as jnp

    np.testing.assert_allclose(float(ours(W)), float(theirs(jnp.asarray(W))), rtol=1e-5)


@pytest.mark.parametrize("name", ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"])
def test_legacy_optimizers_raise_as_in_keras(name):
    from lamina.optimizers import legacy

    with pytest.raises(ImportError) as theirs:
        getattr(keras.optimizers.legacy, name)(learning_rate=0.1)
    with pytest.raises(ImportError) as ours:
        getattr(legacy, name)(learning_rate=0.1)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("module", ["legacy.saving", "utils.legacy"])
def test_legacy_serialization_round_trips(module):
    import importlib

    import lamina
    from lamina import initializers

    mod = importlib.import_module(f"lamina.{module}")
    config = mod.serialize_keras_object(initializers.HeNormal(seed=2))
    assert config["class_name"] == "HeNormal" and config["config"]["seed"] == 2
    assert mod.deserialize_keras_object(config).get_config() == keras.initializers.HeNormal(seed=2).get_config()
    assert lamina.legacy.saving.serialize_keras_object is mod.serialize_keras_object
    assert lamina.utils.legacy.deserialize_keras_object is mod.deserialize_keras_object
