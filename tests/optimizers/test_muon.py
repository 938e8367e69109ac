"""Muon against Keras's on the same weights and gradients for several steps: Muon for 2-D kernels, AdamW for
biases, embeddings and excluded layers."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from lamina import optimizers
from tests.test_optimizers import _data, _run_keras, _run_lamina

keras = pytest.importorskip("keras")

CASES = [{}, {"learning_rate": 0.02, "nesterov": False, "ns_steps": 3}, {"rms_rate": None, "momentum": 0.9},
         {"exclude_layers": ["wide"], "adam_lr_ratio": 0.5, "weight_decay": 0.1, "adam_weight_decay": None},
         {"exclude_embeddings": False, "clipnorm": 1.0}]


def _params():
    params, grads = _data(3)
    rng = np.random.default_rng(4)
    extra = {"embedding_table": (5, 3), "wide": (2, 6)}
    for name, shape in extra.items():
        params[name] = rng.normal(size=shape).astype("float32")
        for g in grads:
            g[name] = rng.normal(size=shape).astype("float32")
    return params, grads


@pytest.mark.parametrize("kwargs", CASES, ids=[str(i) for i in range(len(CASES))])
def test_muon_matches_keras(kwargs):
    params, grads = _params()
    k_params, k_vars = _run_keras(keras.optimizers.Muon(**kwargs), params, grads)
    l_params, l_vars = _run_lamina(optimizers.Muon(**kwargs), params, grads)
    for k in params:
        np.testing.assert_allclose(l_params[k], k_params[k], rtol=1e-5, atol=1e-5, err_msg=k)
    assert [v.shape for v in l_vars] == [v.shape for v in k_vars]
    for a, b in zip(l_vars, k_vars):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_muon_config_and_state_round_trip():
    ours, theirs = optimizers.Muon(exclude_layers=["x"]), keras.optimizers.Muon(exclude_layers=["x"])
    a, b = ours.get_config(), theirs.get_config()
    a.pop("name"), b.pop("name")
    assert a == b
    assert type(optimizers.get("muon")).__name__ == "Muon"
    params, grads = _params()
    _, variables = _run_lamina(ours, params, grads)
    other = optimizers.Muon(exclude_layers=["x"])
    other.load_variables(variables, params)
    assert other.matches(other.state, params)
    for x, y in zip(other.variables, variables):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        ours.zeropower_via_newtonschulz5(np.ones(3, "float32"), 5)
