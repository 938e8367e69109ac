"""Mixed precision against Keras 3: dtype policies, per-layer and global policies, autocast, configs."""

from __future__ import annotations

import numpy as np
import pytest

import lamina  # noqa: E402
from lamina import dtype_policies, layers, mixed_precision  # noqa: E402
from tests.oracle import KERAS, LAMINA, build_both, keras  # noqa: F401  (sets KERAS_BACKEND=jax first)

POLICIES = ["float32", "mixed_bfloat16", "mixed_float16", "bfloat16", "float16", "float64"]


@pytest.mark.parametrize("name", POLICIES)
def test_policy_attributes_match_keras(name: str) -> None:
    ours, theirs = dtype_policies.DTypePolicy(name), keras.dtype_policies.DTypePolicy(name)
    assert (ours.name, ours.compute_dtype, ours.variable_dtype) == (
        theirs.name, theirs.compute_dtype, theirs.variable_dtype)
    assert repr(ours) == repr(theirs)
    assert dtype_policies.serialize(ours) == keras.dtype_policies.serialize(theirs)
    assert dtype_policies.deserialize(keras.dtype_policies.serialize(theirs)) == ours
    assert dtype_policies.get(name) == ours


def test_bad_policy_name_raises_value_error() -> None:
    with pytest.raises(ValueError, match="mixed_float16"):
        dtype_policies.DTypePolicy("mixed_int3")
    with pytest.raises(TypeError):
        dtype_policies.DTypePolicy(3)


def test_namespaces_have_keras_names() -> None:
    for name in ("DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy", "set_global_policy"):
        assert hasattr(mixed_precision, name), name
    for name in ("DTypePolicy", "FloatDTypePolicy", "get", "serialize", "deserialize"):
        assert hasattr(dtype_policies, name), name
    assert mixed_precision.Policy is dtype_policies.DTypePolicy


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_layer_dtype_attributes_match_keras(policy: str) -> None:
    for lib in (layers, keras.layers):
        dense = lib.Dense(3, dtype=policy)
        dense.build((None, 4))
        assert (dense.dtype, dense.compute_dtype, dense.variable_dtype) == ("float32", policy[6:], "float32")
        assert str(dense.kernel.dtype) == "float32"
        assert dense.dtype_policy.name == policy


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_dense_outputs_match_keras(policy: str) -> None:
    def describe(K):
        inputs = K.Input((6,))
        hidden = K.layers.Dense(8, activation="relu", dtype=policy)(inputs)
        return K.Model(inputs, K.layers.Dense(3, dtype=policy)(hidden))

    lm, km = build_both(describe)
    assert [t.dtype for t in [lm.layers[1].output, lm.output]] == [policy[6:]] * 2
    assert str(km.output.dtype) == policy[6:]
    rng = np.random.default_rng(0)
    km.set_weights([rng.normal(size=w.shape).astype("float32") for w in km.get_weights()])
    lm.set_weights(km.get_weights())
    x = rng.normal(size=(5, 6)).astype("float32")
    ours, theirs = lm.predict(x, verbose=0), km.predict(x, verbose=0)
    assert str(ours.dtype) == str(theirs.dtype) == policy[6:]
    np.testing.assert_allclose(np.asarray(ours, "float32"), np.asarray(theirs, "float32"), rtol=2e-2, atol=2e-2)
    eager = lm.layers[1](x)
    assert str(eager.dtype) == policy[6:]


def test_global_policy_applies_to_new_layers() -> None:
    try:
        mixed_precision.set_global_policy("mixed_bfloat16")
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        ours, theirs = layers.Dense(2), keras.layers.Dense(2)
        assert ours.dtype_policy == dtype_policies.DTypePolicy("mixed_bfloat16")
        assert mixed_precision.global_policy().name == keras.mixed_precision.global_policy().name
        assert ours.get_config()["dtype"] == theirs.get_config()["dtype"]
    finally:
        mixed_precision.set_global_policy("float32")
        keras.mixed_precision.set_global_policy("float32")
    assert layers.Dense(2).compute_dtype == "float32"


def test_config_round_trips_both_ways() -> None:
    keras_config = keras.layers.Dense(4, dtype="mixed_bfloat16").get_config()
    ours = layers.Dense.from_config(keras_config)
    assert ours.compute_dtype == "bfloat16" and ours.dtype == "float32"
    assert ours.get_config()["dtype"] == keras_config["dtype"]
    back = keras.layers.Dense.from_config(ours.get_config())
    assert back.dtype_policy.name == "mixed_bfloat16"
    assert layers.Dense(4, dtype=dtype_policies.DTypePolicy("mixed_float16")).compute_dtype == "float16"


def test_mixed_model_trains_with_float32_weights_and_saves(tmp_path) -> None:
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu", dtype="mixed_bfloat16"),
                               layers.Dense(1, dtype="float32")])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = x.sum(1, keepdims=True)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(str(w.dtype) == "float32" for w in model.weights)
    path = str(tmp_path / "mixed.keras")
    model.save(path)
    loaded = lamina.saving.load_model(path)
    assert loaded.layers[0].dtype_policy.name == "mixed_bfloat16"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    keras_model = keras.saving.load_model(path)
    assert keras_model.layers[0].dtype_policy.name == "mixed_bfloat16"
    np.testing.assert_allclose(keras_model.predict(x, verbose=0), model.predict(x, verbose=0), rtol=2e-2, atol=2e-2)


def test_autocast_false_weights_stay_float32() -> None:
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.cast = self.add_weight(shape=(input_shape[-1],), initializer="ones")
            self.kept = self.add_weight(shape=(input_shape[-1],), initializer="ones", autocast=False)

        def call(self, x):
            assert str(self.cast.value.dtype) == "bfloat16"
            assert str(self.kept.value.dtype) == "float32"
            return x * self.cast.value

    out = Scale(dtype="mixed_bfloat16")(np.ones((2, 3), "float32"))
    assert str(out.dtype) == "bfloat16"
