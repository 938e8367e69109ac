"""JaxLayer against Keras 3 (params given or made by init_fn, state updates, rng in training, configs, ``.keras``
files both ways); FlaxLayer's clear error without flax and its logic on a stand-in module; TorchModuleWrapper and
TFSMLayer's errors."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import json
import sys
import types

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import lamina
from lamina import layers


def affine_call(params, inputs):
    return jnp.tanh(inputs @ params["w"] + params["b"])


def affine_init(rng, inputs):
    return {"w": 0.5 * jax.random.normal(rng, (inputs.shape[-1], 3)), "b": jnp.zeros((3,))}


def counting_call(params, state, inputs, training):
    out = inputs * params["scale"]
    return out, {"count": state["count"] + (1.0 if training else 0.0)}


def counting_init(inputs, training):
    return {"scale": jnp.full((inputs.shape[-1],), 2.0)}, {"count": jnp.zeros(())}


for fn in (affine_call, affine_init):
    keras.saving.register_keras_serializable("jaxlayer_test")(fn)
    lamina.saving.register_keras_serializable("jaxlayer_test")(fn)


def test_params_given_match_keras() -> None:
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(4, 3)).astype("float32"), "b": rng.normal(size=3).astype("float32")}
    x = rng.normal(size=(2, 4)).astype("float32")
    k, lam = keras.layers.JaxLayer(affine_call, params=params), layers.JaxLayer(affine_call, params=params)
    np.testing.assert_allclose(np.asarray(lam(x)), np.asarray(k(x)), rtol=1e-6)
    assert sorted(w.shape for w in lam.trainable_weights) == sorted(tuple(w.shape) for w in k.trainable_weights)
    assert lam.count_params() == k.count_params() == 15


def test_init_fn_builds_and_trains() -> None:
    """Keras 3.15's JaxLayer needs TensorFlow to run an init_fn; lamina does not. The params it made give Keras's
    outputs when handed to Keras's JaxLayer."""
    x = np.random.default_rng(1).normal(size=(8, 4)).astype("float32")
    lam = layers.JaxLayer(affine_call, init_fn=affine_init)
    out = np.asarray(lam(x))
    assert sorted(w.shape for w in lam.weights) == [(3,), (4, 3)]
    params = jax.tree_util.tree_map(np.asarray, lam.params)
    np.testing.assert_allclose(out, np.asarray(keras.layers.JaxLayer(affine_call, params=params)(x)), rtol=1e-6)
    model = lamina.Sequential([layers.Input((4,)), layers.JaxLayer(affine_call, init_fn=affine_init),
                               layers.Dense(1)])
    model.compile("adam", "mse")
    before = [w.copy() for w in model.layers[0].get_weights()]
    model.fit(x, x[:, :1], epochs=2, verbose=0)
    assert not all(np.allclose(a, b) for a, b in zip(model.layers[0].get_weights(), before))  # params train


def test_state_is_updated_like_keras() -> None:
    x = np.ones((2, 3), "float32")
    params, state = {"scale": np.full((3,), 2.0, "float32")}, {"count": np.zeros((), "float32")}
    k = keras.layers.JaxLayer(counting_call, params=params, state=state)
    lam = layers.JaxLayer(counting_call, params=params, state=state)
    for training in (True, True, False):
        np.testing.assert_allclose(np.asarray(lam(x, training=training)), np.asarray(k(x, training=training)))
    assert [w.trainable for w in lam.weights] == [w.trainable for w in k.weights] == [True, False]
    assert float(lam.non_trainable_weights[0].numpy()) == float(np.asarray(k.non_trainable_weights[0])) == 2.0
    built = layers.JaxLayer(counting_call, init_fn=counting_init)
    built(x, training=True)
    assert float(built.non_trainable_weights[0].numpy()) == 1.0


def test_rng_is_a_key_in_training_and_none_at_inference() -> None:
    seen = []

    def noisy(rng, inputs):
        seen.append(rng)
        return inputs if rng is None else inputs + jax.random.normal(rng, inputs.shape)

    lam = layers.JaxLayer(noisy)
    x = np.zeros((2, 2), "float32")
    assert np.asarray(lam(x)).tolist() == x.tolist() and seen[-1] is None
    a, b = np.asarray(lam(x, training=True)), np.asarray(lam(x, training=True))
    assert not np.allclose(a, b)


def test_signature_errors_match_keras() -> None:
    for bad, message in ((lambda x: x, "Missing required argument in `call_fn`: `inputs`"),
                         (lambda inputs, extra: inputs, "Unsupported argument in `call_fn`: `extra`")):
        with pytest.raises(ValueError, match=message):
            layers.JaxLayer(bad)
        with pytest.raises(ValueError, match=message):
            keras.layers.JaxLayer(bad)
    with pytest.raises(ValueError, match="cannot all be `None`"):
        layers.JaxLayer(affine_call)


def test_config_matches_keras() -> None:
    k = keras.layers.JaxLayer(affine_call, init_fn=affine_init)
    lam = layers.JaxLayer(affine_call, init_fn=affine_init)
    kconf, lconf = k.get_config(), lam.get_config()
    kconf.pop("name"), lconf.pop("name")
    assert json.loads(json.dumps(lconf)) == json.loads(json.dumps(kconf))
    again = layers.JaxLayer.from_config(json.loads(json.dumps(lam.get_config())))
    assert again.call_fn is affine_call and again.init_fn is affine_init


def squash(inputs):
    return jnp.tanh(inputs) * 2.0


keras.saving.register_keras_serializable("jaxlayer_test")(squash)
lamina.saving.register_keras_serializable("jaxlayer_test")(squash)


def _model(lib, call_fn=squash, **kwargs):
    inp = lib.Input((4,))
    x = lib.layers.JaxLayer(call_fn, **kwargs)(inp)
    return lib.Model(inp, lib.layers.Dense(1)(x))


def test_keras_files_both_ways(tmp_path) -> None:
    """Keras can reload a JaxLayer only when call_fn has no params (its init_fn path needs TensorFlow)."""
    x = np.random.default_rng(2).normal(size=(3, 4)).astype("float32")
    kmodel = _model(keras)
    expected = kmodel.predict(x, verbose=0)
    kmodel.save(str(tmp_path / "k.keras"))
    lmodel = lamina.models.load_model(str(tmp_path / "k.keras"))
    np.testing.assert_allclose(np.asarray(lmodel.predict(x, verbose=0)), expected, rtol=1e-5, atol=1e-5)
    lmodel.save(str(tmp_path / "l.keras"))
    again = keras.models.load_model(str(tmp_path / "l.keras"))
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_lamina_file_with_init_fn_round_trips(tmp_path) -> None:
    x = np.random.default_rng(3).normal(size=(3, 4)).astype("float32")
    model = _model(lamina, affine_call, init_fn=affine_init)
    expected = np.asarray(model.predict(x, verbose=0))
    model.save(str(tmp_path / "m.keras"))
    again = lamina.models.load_model(str(tmp_path / "m.keras"))
    np.testing.assert_allclose(np.asarray(again.predict(x, verbose=0)), expected, rtol=1e-6)
    record = next(r for r in lamina.explain(again, print_fn=lambda line: None) if r.class_name == "JaxLayer")
    assert record.arithmetic == "15 params + 0 state values = 15"


def test_flax_layer_without_flax_says_how_to_fix(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "flax", None)
    monkeypatch.setitem(sys.modules, "flax.linen", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install flax.*JaxLayer"):
        layers.FlaxLayer(object())


class _StandInDense:
    """The two methods of a flax.linen module FlaxLayer uses: init and apply (with a batch_stats collection)."""

    def __call__(self, inputs, training=False):
        raise NotImplementedError

    def init(self, rngs, inputs, method=None, training=True):
        assert set(rngs) == {"params", "dropout"}
        return {"params": {"kernel": jnp.ones((inputs.shape[-1], 2))}, "batch_stats": {"n": jnp.zeros(())}}

    def apply(self, variables, inputs, rngs=None, method=None, mutable=None, training=False):
        out = inputs @ variables["params"]["kernel"]
        return out, {"batch_stats": {"n": variables["batch_stats"]["n"] + float(training)}}


def test_flax_layer_logic_on_a_stand_in_module(monkeypatch) -> None:
    flax = types.ModuleType("flax")
    linen = types.ModuleType("flax.linen")
    linen.DenyList = lambda names: ("deny", tuple(names))
    flax.linen = linen
    monkeypatch.setitem(sys.modules, "flax", flax)
    monkeypatch.setitem(sys.modules, "flax.linen", linen)
    layer = layers.FlaxLayer(_StandInDense())
    out = layer(np.ones((2, 3), "float32"), training=True)
    assert np.asarray(out).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert [w.shape for w in layer.trainable_weights] == [(3, 2)]
    assert float(layer.non_trainable_weights[0].numpy()) == 1.0


def test_other_frameworks_raise_with_the_fix() -> None:
    with pytest.raises(NotImplementedError, match="PyTorch.*JaxLayer"):
        layers.TorchModuleWrapper(None)
    with pytest.raises(NotImplementedError, match=r"TensorFlow.*\.keras"):
        layers.TFSMLayer("saved_model_dir")
    with pytest.raises(NotImplementedError, match="TensorFlow"):
        layers.deserialize({"class_name": "TFSMLayer", "config": {"filepath": "x"}, "module": "keras.layers"})
