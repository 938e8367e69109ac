"""Regularization layers against Keras 3, plus their training-time behaviour and losses."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

from lamina import layers, models

from .layer_oracle import Case, check_layer

CASES = [
    Case("SpatialDropout2D", {"rate": 0.5}, (2, 4, 4, 3), training=False, id="spatial-dropout2d"),
    Case("SpatialDropout1D", {"rate": 0.3}, (2, 4, 3), training=False, id="spatial-dropout1d"),
    Case("GaussianNoise", {"stddev": 0.1}, (2, 4), training=False, id="gaussian-noise"),
    Case("ActivityRegularization", {"l1": 0.01, "l2": 0.02}, (2, 4), id="activity-regularization"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case: Case) -> None:
    check_layer(case)


def test_spatial_dropout_drops_whole_channels() -> None:
    x = np.ones((4, 5, 5, 8), "float32")
    out = np.asarray(layers.SpatialDropout2D(0.5)(x, training=True))
    per_channel = out.reshape(4, 25, 8)
    assert np.all(per_channel.min(axis=1) == per_channel.max(axis=1))
    assert set(np.unique(out)) <= {0.0, 2.0}


def test_gaussian_noise_in_training_only() -> None:
    x = np.zeros((3, 100), "float32")
    noisy = np.asarray(layers.GaussianNoise(0.5)(x, training=True))
    assert 0.3 < noisy.std() < 0.7
    assert np.all(np.asarray(layers.GaussianNoise(0.5)(x)) == 0)


def test_activity_regularization_adds_loss() -> None:
    inputs = layers.Input((2,))
    model = models.Model(inputs, layers.ActivityRegularization(l1=0.5, l2=1.0)(inputs))
    trainable, non_trainable = model.get_params()
    x = np.array([[1.0, -2.0], [3.0, 0.0]], "float32")
    _, _, loss = model._pure_apply(trainable, non_trainable, x, True, None)
    expected = (0.5 * np.abs(x).sum() + 1.0 * np.square(x).sum()) / 2
    assert float(loss) == pytest.approx(expected)
