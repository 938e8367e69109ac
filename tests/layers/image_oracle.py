"""Shared checks of lamina's image augmentation layers against Keras 3 (the oracle): the same outputs for the same
seed (eager calls draw Keras's numbers), identity at inference, configs that round-trip, per-step randomness inside
the jitted step, and ``.keras`` files both ways."""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import keras
import numpy as np

import lamina
from lamina import layers


def images(shape=(4, 8, 9, 3), low=0.0, high=255.0, seed=0, data_format="channels_last"):
    x = np.random.default_rng(seed).uniform(low, high, size=shape).astype("float32")
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, -3))
    return x


def pair(name, kwargs):
    return getattr(keras.layers, name)(**kwargs), getattr(layers, name)(**kwargs)


def assert_matches_keras(name, kwargs, x, modes=(True, True, None, False), atol=1e-4, rtol=1e-4):
    """Build the layer in both libraries with the same arguments and compare successive calls (each call draws
    new parameters from the layer's generator, so equal outputs mean equal draws)."""
    theirs, ours = pair(name, kwargs)
    for training in modes:
        call = {} if training is None else {"training": training}
        a, b = np.asarray(theirs(x, **call)), np.asarray(ours(x, **call))
        assert a.shape == b.shape, f"{name} training={training}: keras {a.shape}, lamina {b.shape}"
        assert a.dtype == b.dtype, f"{name} training={training}: keras {a.dtype}, lamina {b.dtype}"
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol, err_msg=f"{name} training={training}")
    assert_config_matches(theirs, ours)
    return theirs, ours


def assert_config_matches(theirs, ours):
    kc, lc = theirs.get_config(), ours.get_config()
    kc.pop("name"), lc.pop("name")
    assert json.loads(json.dumps(lc)) == json.loads(json.dumps(kc))
    again = type(ours).from_config(json.loads(json.dumps(ours.get_config())))
    assert json.dumps(again.get_config(), sort_keys=True) == json.dumps(ours.get_config(), sort_keys=True)
    from_keras = type(ours).from_config(json.loads(json.dumps(theirs.get_config())))
    assert json.loads(json.dumps({**from_keras.get_config(), "name": None})) == json.loads(json.dumps({**lc,
                                                                                                      "name": None}))


def jitted_step(layer, input_shape):
    model = lamina.Sequential([lamina.layers.Input(input_shape), layer])
    step = jax.jit(lambda x, key, training: model.stateless_call({}, {}, x, training=training, rng=key)[0],
                   static_argnums=2)
    return model, step


def assert_random_in_jitted_step(layer, x, varies_per_image=True, identity_at_inference=True, random=True):
    """Inside the jitted step: the same key repeats, another key differs, images differ from each other in how
    they are changed, and inference (``training=False``, ``predict``) is the identity."""
    model, step = jitted_step(layer, x.shape[1:])
    a, b = np.asarray(step(x, jax.random.PRNGKey(0), True)), np.asarray(step(x, jax.random.PRNGKey(1), True))
    np.testing.assert_array_equal(a, np.asarray(step(x, jax.random.PRNGKey(0), True)))
    if random:
        assert not np.allclose(a, b), "another step's key must give another augmentation"
    if varies_per_image:
        deltas = [float(np.mean(np.abs(a[i] - x[i]))) for i in range(len(x))]
        assert len({round(d, 3) for d in deltas}) > 1, f"every image changed alike: {deltas}"
    if identity_at_inference:
        np.testing.assert_array_equal(np.asarray(step(x, jax.random.PRNGKey(0), False)), x)
        np.testing.assert_array_equal(model.predict(x, verbose=0), x)
        np.testing.assert_array_equal(np.asarray(model(x, training=False)), x)
    return a


def assert_keras_file_both_ways(keras_layers, x, tmp_path):
    """A Keras model holding the layers saves, loads in lamina and back; configs and inference outputs agree."""
    model = keras.Sequential([keras.Input(x.shape[1:]), *keras_layers, keras.layers.Flatten(), keras.layers.Dense(2)])
    path = str(tmp_path / "k.keras")
    model.save(path)
    ours = lamina.saving.load_model(path)
    for theirs, mine in zip(keras_layers, ours.layers):
        assert type(mine).__name__ == type(theirs).__name__
        assert json.loads(json.dumps(mine.get_config())) == json.loads(json.dumps(theirs.get_config()))
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, atol=1e-4, rtol=1e-4)
    back = str(tmp_path / "back.keras")
    ours.save(back)
    np.testing.assert_allclose(keras.saving.load_model(back).predict(x, verbose=0), expected, atol=1e-4, rtol=1e-4)
