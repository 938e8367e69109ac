"""LossScaleOptimizer against Keras's: the same scaled gradients (finite and not) give the same weights, scale
and saved variables; fit with it trains a model as Keras does."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina
from lamina import layers, optimizers
from tests.test_optimizers import _data, _run_lamina

keras = pytest.importorskip("keras")


def _grads_with_overflow(seed):
    params, grads = _data(seed)
    grads = [{k: v * 1024.0 for k, v in g.items()} for g in grads]
    grads[2]["bias"] = grads[2]["bias"].copy()
    grads[2]["bias"][1] = np.inf
    return params, grads


def _run_keras_stateless(opt, params, grads):
    """Keras's LossScaleOptimizer runs on JAX through its stateless API only (its eager apply leaks a tracer)."""
    import jax.numpy as jnp

    variables = [keras.Variable(params[k], name=k) for k in params]
    opt.build(variables)
    values, opt_values = [v.value for v in variables], [v.value for v in opt.variables]
    for g in grads:
        values, opt_values = opt.stateless_apply(opt_values, [jnp.asarray(g[k]) for k in params], values)
    return {k: np.asarray(v) for k, v in zip(params, values)}, [np.asarray(v) for v in opt_values]


@pytest.mark.parametrize("inner,inner_kwargs,kwargs", [
    ("SGD", {"momentum": 0.9}, {}), ("Adam", {}, {}),
    ("Adam", {"learning_rate": 0.01}, {"initial_scale": 1024.0, "dynamic_growth_steps": 2})])
def test_trajectory_and_variables_match_keras(inner, inner_kwargs, kwargs):
    params, grads = _grads_with_overflow(0)
    ko = keras.optimizers.LossScaleOptimizer(getattr(keras.optimizers, inner)(**inner_kwargs), **kwargs)
    lo = optimizers.LossScaleOptimizer(getattr(optimizers, inner)(**inner_kwargs), **kwargs)
    k_params, k_vars = _run_keras_stateless(ko, params, grads)
    l_params, l_vars = _run_lamina(lo, params, grads)
    for k in params:
        np.testing.assert_allclose(l_params[k], k_params[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert [v.shape for v in l_vars] == [v.shape for v in k_vars]
    for a, b in zip(l_vars, k_vars):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert lo.iterations == int(k_vars[4])


def test_config_errors_and_names_match_keras():
    ours = optimizers.LossScaleOptimizer(optimizers.SGD(), initial_scale=8.0)
    theirs = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(), initial_scale=8.0)
    a, b = ours.get_config(), theirs.get_config()
    a["inner_optimizer"]["config"].pop("name"), b["inner_optimizer"]["config"].pop("name")
    assert a == b
    again = optimizers.deserialize(keras.optimizers.serialize(theirs))
    assert type(again).__name__ == "LossScaleOptimizer" and again.initial_scale == 8.0
    assert lamina.mixed_precision.LossScaleOptimizer is optimizers.LossScaleOptimizer
    for mod in (optimizers, keras.optimizers):
        with pytest.raises(ValueError, match="does not support `clipnorm`"):
            mod.LossScaleOptimizer(mod.SGD(), clipnorm=1.0)
        with pytest.raises(ValueError, match="dynamic=False"):
            mod.LossScaleOptimizer(mod.SGD(), dynamic=False)
    assert float(ours.scale_loss(np.float32(2.0))) == float(theirs.scale_loss(np.float32(2.0)))


def test_fit_with_loss_scaling_matches_keras():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(2)])
    lm = lamina.Sequential([layers.Input((4,)), layers.Dense(3, activation="tanh"), layers.Dense(2)])
    lm.set_weights(km.get_weights())
    km.compile(optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01), dynamic_growth_steps=3),
               loss="mse")
    lm.compile(optimizer=optimizers.LossScaleOptimizer(optimizers.Adam(0.01), dynamic_growth_steps=3), loss="mse")
    kh = km.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    lh = lm.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(lh.history["loss"], kh.history["loss"], rtol=1e-5)
    for a, b in zip(lm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(lm.optimizer.variables, km.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
