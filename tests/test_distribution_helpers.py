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


# ----------------------------------------------------------------------- helpers for several processes
def test_single_process_helpers_are_identities():
    assert distribution.is_writing_process() and not distribution.is_multi_process()
    tree = {"a": np.arange(3), "b": [np.ones(2)]}
    assert distribution.agree(tree) is tree
    assert distribution.to_local(tree) is tree
    host = distribution.to_host({"a": jax.numpy.arange(3), "b": 1.5})
    assert isinstance(host["a"], np.ndarray) and host["a"].tolist() == [0, 1, 2] and host["b"] == 1.5
    assert distribution.process_rows(6) == slice(0, 6)


def test_global_array_and_global_batch_lay_out_whole_values():
    dp = distribution.DataParallel()
    x = np.arange(48, dtype="float32").reshape(8, 6)
    replicated = distribution.global_array(x, dp.replicated())
    assert replicated.sharding.is_fully_replicated and np.array_equal(np.asarray(replicated), x)
    assert distribution.global_array(replicated, dp.replicated()) is replicated
    batch = distribution.global_batch((x, None), dp)
    assert batch[1] is None and np.array_equal(np.asarray(batch[0]), x)
    assert batch[0].sharding.spec == jax.sharding.PartitionSpec("batch", None)


def test_initialize_reads_keras_environment_and_selects_gloo(monkeypatch):
    from jax._src import xla_bridge

    seen = {}
    monkeypatch.setattr(xla_bridge, "backends_are_initialized", lambda: False)
    monkeypatch.setattr(jax.distributed, "initialize", lambda **kw: seen.update(kw))
    monkeypatch.setattr(jax.config, "update", lambda name, value: seen.update({name: value}))
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "10.0.0.1:1234,10.0.0.2:1234")
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    monkeypatch.setenv("LAMINA_DISTRIBUTION_JOIN_TIMEOUT", "7")
    distribution.initialize()
    assert seen["coordinator_address"] == "10.0.0.1:1234"  # the first address is process 0's
    assert (seen["num_processes"], seen["process_id"], seen["initialization_timeout"]) == (2, 1, 7)
    assert seen["jax_cpu_collectives_implementation"] == "gloo"
    seen.clear()
    distribution.initialize("127.0.0.1:99", 4, 3)  # arguments win over the environment
    assert (seen["coordinator_address"], seen["num_processes"], seen["process_id"]) == ("127.0.0.1:99", 4, 3)


def test_initialize_without_anything_lets_jax_detect_the_cluster(monkeypatch):
    from jax._src import xla_bridge

    seen = {}
    for name in ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                 "KERAS_DISTRIBUTION_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(xla_bridge, "backends_are_initialized", lambda: False)
    monkeypatch.setattr(jax.distributed, "initialize", lambda **kw: seen.update(kw))
    monkeypatch.setattr(jax.config, "update", lambda name, value: None)
    distribution.initialize()
    assert (seen["coordinator_address"], seen["num_processes"], seen["process_id"]) == (None, None, None)


def test_initialize_errors_are_clear(monkeypatch):
    with pytest.raises(RuntimeError, match="before any JAX computation"):
        distribution.initialize("127.0.0.1:1", 2, 0)  # this test process already computed
    monkeypatch.setenv("LAMINA_DISTRIBUTION_PEER_TIMEOUT", "soon")
    from jax._src import xla_bridge

    monkeypatch.setattr(xla_bridge, "backends_are_initialized", lambda: False)
    with pytest.raises(ValueError, match="LAMINA_DISTRIBUTION_PEER_TIMEOUT='soon' is not a number"):
        distribution.initialize("127.0.0.1:1", 2, 0)
