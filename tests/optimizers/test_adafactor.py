"""Adafactor against Keras's on the same weights and gradients for several steps (weights and saved variables)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from lamina import optimizers
from tests.test_optimizers import _data, _run_keras, _run_lamina

keras = pytest.importorskip("keras")

CASES = [{}, {"learning_rate": 0.05, "relative_step": False}, {"beta_2_decay": -0.5, "clip_threshold": 0.5},
         {"weight_decay": 0.01, "epsilon_2": 0.1}, {"learning_rate": keras.optimizers.schedules.ExponentialDecay(
             0.1, 2, 0.5)}]


def _lamina_kwargs(kwargs):
    out = dict(kwargs)
    lr = out.get("learning_rate")
    if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        out["learning_rate"] = optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(lr))
    return out


@pytest.mark.parametrize("kwargs", CASES, ids=[str(i) for i in range(len(CASES))])
def test_adafactor_matches_keras(kwargs):
    params, grads = _data(0)
    params["scalar"] = np.float32(0.7).reshape(())
    params["cube"] = np.random.default_rng(1).normal(size=(2, 3, 4)).astype("float32")
    for g in grads:
        g["scalar"] = np.float32(0.3).reshape(())
        g["cube"] = np.full((2, 3, 4), 0.2, "float32")
    k_params, k_vars = _run_keras(keras.optimizers.Adafactor(**kwargs), params, grads)
    l_params, l_vars = _run_lamina(optimizers.Adafactor(**_lamina_kwargs(kwargs)), params, grads)
    for k in params:
        np.testing.assert_allclose(l_params[k], k_params[k], rtol=1e-5, atol=1e-5, err_msg=k)
    assert [v.shape for v in l_vars] == [v.shape for v in k_vars]
    for a, b in zip(l_vars, k_vars):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_adafactor_config_and_lookup_match_keras():
    ours, theirs = optimizers.Adafactor(), keras.optimizers.Adafactor()
    a, b = ours.get_config(), theirs.get_config()
    a.pop("name"), b.pop("name")
    assert a == b
    assert type(optimizers.get("adafactor")).__name__ == "Adafactor"
    again = optimizers.deserialize(optimizers.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()


def test_adafactor_state_round_trips_through_variables():
    params, grads = _data(0)
    opt = optimizers.Adafactor()
    _, variables = _run_lamina(opt, params, grads)
    other = optimizers.Adafactor()
    other.load_variables(variables, {k: np.asarray(v) for k, v in params.items()})
    for a, b in zip(other.variables, variables):
        np.testing.assert_array_equal(a, b)
    assert other.matches(other.state, params)
