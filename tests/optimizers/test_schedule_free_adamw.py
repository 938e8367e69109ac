"""ScheduleFreeAdamW against Keras's on the same weights and gradients for several steps."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from lamina import optimizers
from tests.test_optimizers import _data, _run_keras, _run_lamina

keras = pytest.importorskip("keras")

CASES = [{}, {"learning_rate": 0.01, "beta_1": 0.8, "warmup_steps": 3}, {"weight_decay": 0.05, "epsilon": 1e-6},
         {"global_clipnorm": 0.5, "beta_2": 0.99}]


@pytest.mark.parametrize("kwargs", CASES, ids=[str(i) for i in range(len(CASES))])
def test_schedule_free_adamw_matches_keras(kwargs):
    params, grads = _data(5)
    k_params, k_vars = _run_keras(keras.optimizers.ScheduleFreeAdamW(**kwargs), params, grads)
    l_params, l_vars = _run_lamina(optimizers.ScheduleFreeAdamW(**kwargs), params, grads)
    for k in params:
        np.testing.assert_allclose(l_params[k], k_params[k], rtol=1e-5, atol=1e-5, err_msg=k)
    assert [v.shape for v in l_vars] == [v.shape for v in k_vars]
    for a, b in zip(l_vars, k_vars):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_schedule_free_adamw_config_matches_keras():
    ours, theirs = optimizers.ScheduleFreeAdamW(), keras.optimizers.ScheduleFreeAdamW()
    a, b = ours.get_config(), theirs.get_config()
    a.pop("name"), b.pop("name")
    assert a == b
    assert type(optimizers.get("ScheduleFreeAdamW")).__name__ == "ScheduleFreeAdamW"


def test_schedule_free_adamw_trains_a_model():
    from lamina import Sequential, layers

    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.ScheduleFreeAdamW(learning_rate=0.05), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 5
