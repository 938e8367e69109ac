"""Normalization layers against Keras 3 (BatchNormalization's training outputs and moving statistics too)."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

from lamina import layers, models

from .layer_oracle import Case, Inner, check_layer

CASES = [
    Case("BatchNormalization", {}, (4, 3), id="bn-dense"),
    Case("BatchNormalization", {"momentum": 0.9, "epsilon": 1e-5}, (4, 5, 5, 3), id="bn-conv"),
    Case("BatchNormalization", {"axis": 1, "center": False}, (4, 3, 5, 5), id="bn-axis1-nocenter"),
    Case("BatchNormalization", {"scale": False}, (4, 6, 2), id="bn-noscale"),
    Case("LayerNormalization", {}, (2, 5, 4), id="ln"),
    Case("LayerNormalization", {"axis": [1, 2], "epsilon": 1e-5}, (2, 3, 4), id="ln-two-axes"),
    Case("LayerNormalization", {"rms_scaling": True}, (2, 6), id="ln-rms"),
    Case("LayerNormalization", {"center": False, "scale": False}, (2, 6), id="ln-plain"),
    Case("GroupNormalization", {"groups": 2}, (2, 5, 4), id="gn"),
    Case("GroupNormalization", {"groups": 3, "axis": 1}, (2, 6, 4, 4), id="gn-axis1"),
    Case("GroupNormalization", {"groups": -1}, (2, 4, 4, 3), id="gn-instance"),
    Case("RMSNormalization", {}, (2, 5, 4), id="rms"),
    Case("RMSNormalization", {"axis": [1, 2], "epsilon": 1e-3}, (2, 3, 4), id="rms-two-axes"),
    Case("UnitNormalization", {}, (3, 4), id="unit"),
    Case("UnitNormalization", {"axis": [1, 2]}, (2, 3, 4), id="unit-two-axes"),
    Case("SpectralNormalization", {"layer": Inner("Dense", {"units": 3})}, (4, 5), id="spectral-dense"),
    Case("SpectralNormalization", {"layer": Inner("Conv2D", {"filters": 2, "kernel_size": 3}),
                                   "power_iterations": 3}, (2, 6, 6, 3), id="spectral-conv"),
    Case("SpectralNormalization", {"layer": Inner("Embedding", {"input_dim": 7, "output_dim": 3})}, (2, 4),
         int_input=7, id="spectral-embedding"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case: Case) -> None:
    check_layer(case)


def test_batchnorm_moving_stats_are_state_updates_in_pure_calls() -> None:
    inputs = layers.Input((3,))
    model = models.Model(inputs, layers.BatchNormalization(momentum=0.5)(inputs))
    trainable, non_trainable = model.get_params()
    assert len(non_trainable) == 2 and sum(np.size(v) for v in non_trainable.values()) == 6
    x = np.arange(12, dtype="float32").reshape(4, 3)
    _, new_state = model.stateless_call(trainable, non_trainable, x, training=True)
    mean_key = next(k for k in new_state if k.endswith("moving_mean"))
    np.testing.assert_allclose(new_state[mean_key], 0.5 * x.mean(axis=0), rtol=1e-6)
    _, same_state = model.stateless_call(trainable, non_trainable, x, training=False)
    np.testing.assert_allclose(same_state[mean_key], 0.0)


def test_groups_must_divide_channels() -> None:
    with pytest.raises(ValueError, match=r"gn_bad.*\(None, 5\)"):
        layers.GroupNormalization(groups=2, name="gn_bad")(layers.Input((5,)))
