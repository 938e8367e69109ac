"""``distribution.get_device_count`` and ``distribute_tensor`` against Keras on this machine's devices."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from lamina import distribution  # noqa: E402


def test_get_device_count_matches_keras():
    assert distribution.get_device_count() == keras.distribution.get_device_count()
    assert distribution.get_device_count("cpu") == keras.distribution.get_device_count("cpu")


def test_distribute_tensor_places_by_layout():
    devices = jax.devices()
    mesh = distribution.DeviceMesh((len(devices),), ("batch",), devices)
    x = np.arange(len(devices) * 6, dtype="float32").reshape(len(devices) * 2, 3)
    out = distribution.distribute_tensor(x, distribution.TensorLayout(("batch", None), mesh))
    assert np.array_equal(np.asarray(out), x)
    assert out.sharding.spec == jax.sharding.PartitionSpec("batch", None)
    with pytest.raises(ValueError, match="device_mesh"):
        distribution.distribute_tensor(x, distribution.TensorLayout(("batch", None)))
