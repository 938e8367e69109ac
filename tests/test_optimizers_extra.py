"""Lion, Lamb, Ftrl and CosineDecayRestarts against Keras 3 (JAX backend): trajectories, variables, configs."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

from lamina import optimizers
from lamina.optimizers import schedules
from tests.test_optimizers import _data, _run_keras, _run_lamina

keras = pytest.importorskip("keras")

CASES = [
    ("Lion", {}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
    ("Lion", {"weight_decay": 0.05, "clipnorm": 1.0}),
    ("Lamb", {}),
    ("Lamb", {"learning_rate": 0.01, "beta_1": 0.8, "epsilon": 1e-5}),
    ("Lamb", {"weight_decay": 0.01}),
    ("Ftrl", {}),
    ("Ftrl", {"learning_rate": 0.05, "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02}),
    ("Ftrl", {"learning_rate": 0.05, "l2_shrinkage_regularization_strength": 0.1, "beta": 0.5,
              "learning_rate_power": -0.7, "initial_accumulator_value": 0.5}),
    ("Ftrl", {"learning_rate_power": 0.0}),
]


@pytest.mark.parametrize("cls,kwargs", CASES, ids=[f"{c}-{k}" for c, k in CASES])
def test_trajectory_and_variables_match_keras(cls, kwargs):
    params, grads = _data(1)
    k_params, k_vars = _run_keras(getattr(keras.optimizers, cls)(**kwargs), params, grads)
    l_params, l_vars = _run_lamina(getattr(optimizers, cls)(**kwargs), params, grads)
    for k in params:
        np.testing.assert_allclose(l_params[k], k_params[k], rtol=1e-5, atol=1e-5)
    assert [v.shape for v in l_vars] == [v.shape for v in k_vars]
    for a, b in zip(l_vars, k_vars):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", ["Lion", "Lamb", "Ftrl"])
def test_config_and_get_match_keras(cls):
    ours, theirs = getattr(optimizers, cls)(), getattr(keras.optimizers, cls)()
    a, b = ours.get_config(), theirs.get_config()
    a.pop("name"), b.pop("name")
    assert a == b
    assert type(optimizers.get(cls.lower())).__name__ == cls
    again = optimizers.deserialize(optimizers.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()


@pytest.mark.parametrize("cls,kwargs", [("Lion", {"beta_1": 0.0}), ("Ftrl", {"learning_rate_power": 0.5}),
                                        ("Ftrl", {"l1_regularization_strength": -1.0})])
def test_invalid_arguments_raise_as_keras(cls, kwargs):
    with pytest.raises(ValueError):
        getattr(keras.optimizers, cls)(**kwargs)
    with pytest.raises(ValueError):
        getattr(optimizers, cls)(**kwargs)


@pytest.mark.parametrize("kwargs", [
    {"initial_learning_rate": 0.1, "first_decay_steps": 4},
    {"initial_learning_rate": 0.1, "first_decay_steps": 3, "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.1},
    {"initial_learning_rate": 0.2, "first_decay_steps": 2, "t_mul": 1.5, "m_mul": 0.8},
])
def test_cosine_decay_restarts_matches_keras(kwargs):
    ours, theirs = schedules.CosineDecayRestarts(**kwargs), keras.optimizers.schedules.CosineDecayRestarts(**kwargs)
    for step in range(40):
        np.testing.assert_allclose(float(ours(step)), float(theirs(step)), rtol=1e-5, atol=1e-7, err_msg=str(step))
    assert ours.get_config() == theirs.get_config()
    again = schedules.deserialize(schedules.serialize(ours))
    assert again.get_config() == ours.get_config()
    params, grads = _data(2)
    k_params, _ = _run_keras(keras.optimizers.SGD(theirs), params, grads)
    l_params, _ = _run_lamina(optimizers.SGD(ours), params, grads)
    for k in params:
        np.testing.assert_allclose(l_params[k], k_params[k], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"])
def test_legacy_names_raise_import_error_as_keras(name):
    with pytest.raises(ImportError):
        getattr(keras.optimizers.legacy, name)()
    with pytest.raises(ImportError, match="not supported in Keras 3"):
        getattr(optimizers.legacy, name)(learning_rate=0.1)
