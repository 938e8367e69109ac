"""MultiOptimizer and OptimizerMap against Keras's: the same weights get the same optimizers and steps, the same
saved variables, map lookups, configs and errors."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina
from lamina import layers, optimizers
from tests.test_optimizers import _data, _run_keras, _run_lamina

keras = pytest.importorskip("keras")


def _map(mod):
    return mod.optimizers.OptimizerMap(mod.optimizers.RMSprop(0.01), {
        "kernel": mod.optimizers.SGD(0.1, momentum=0.9), "emb.*": mod.optimizers.Adam(0.02)})


def test_multi_optimizer_matches_keras():
    params, grads = _data(2)
    rng = np.random.default_rng(3)
    params["embedding"] = rng.normal(size=(5, 2)).astype("float32")
    params["other"] = rng.normal(size=(3,)).astype("float32")
    for g in grads:
        g["embedding"] = rng.normal(size=(5, 2)).astype("float32")
        g["other"] = rng.normal(size=(3,)).astype("float32")
    k_params, k_vars = _run_keras(keras.optimizers.MultiOptimizer(_map(keras)), params, grads)
    opt = optimizers.MultiOptimizer(_map(lamina))
    l_params, l_vars = _run_lamina(opt, params, grads)
    for k in params:
        np.testing.assert_allclose(l_params[k], k_params[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert [v.shape for v in l_vars] == [v.shape for v in k_vars]
    for a, b in zip(l_vars, k_vars):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    other = optimizers.MultiOptimizer(_map(lamina))
    other.load_variables(l_vars, params)
    assert other.matches(other.state, params)
    for a, b in zip(other.variables, l_vars):
        np.testing.assert_array_equal(a, b)


def test_optimizer_map_matches_keras():
    for mod in (keras, lamina):
        m = _map(mod)
        assert type(m["kernel"]).__name__ == "SGD" and type(m["embedding"]).__name__ == "Adam"
        assert type(m["bias"]).__name__ == "RMSprop" and len(m) == 2 and list(m) == ["kernel", "emb.*"]
        m["e.*"] = mod.optimizers.SGD()
        with pytest.raises(ValueError, match="Multiple optimizers"):
            m["embedding"]
        with pytest.raises(ValueError, match="already exists"):
            m["kernel"] = mod.optimizers.SGD()
        with pytest.raises(ValueError, match="cannot be LossScaleOptimizer"):
            m["x"] = mod.optimizers.LossScaleOptimizer(mod.optimizers.SGD())
        with pytest.raises(TypeError, match="must be a Keras Optimizer"):
            mod.optimizers.OptimizerMap("sgd")
        with pytest.raises(AttributeError, match="cannot be accessed"):
            _ = mod.optimizers.MultiOptimizer(_map(mod)).learning_rate


def test_multi_optimizer_config_round_trips_with_keras():
    theirs = keras.optimizers.MultiOptimizer(_map(keras))
    ours = optimizers.deserialize(keras.optimizers.serialize(theirs))
    assert type(ours).__name__ == "MultiOptimizer"
    assert [type(o).__name__ for o in ours.optimizers] == [type(o).__name__ for o in theirs.optimizers]
    back = keras.optimizers.deserialize(optimizers.serialize(ours))
    assert [type(o).__name__ for o in back.optimizers] == [type(o).__name__ for o in theirs.optimizers]


def test_fit_with_multi_optimizer_matches_keras():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")

    def build(mod):
        model = mod.Sequential([mod.Input((4,)), mod.layers.Dense(3, name="body"), mod.layers.Dense(1, name="head")])
        model.compile(optimizer=mod.optimizers.MultiOptimizer(mod.optimizers.OptimizerMap(
            mod.optimizers.SGD(0.05), {".*head/.*": mod.optimizers.Adam(0.01)})), loss="mse")
        return model

    km, lm = build(keras), build(lamina)
    lm.set_weights(km.get_weights())
    kh = km.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    lh = lm.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(lh.history["loss"], kh.history["loss"], rtol=1e-5)
    for a, b in zip(lm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert layers is not None
