"""lamina.Function against keras.Function: the same graph of ops and layers gives the same outputs and specs."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina
from lamina import layers, ops

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
A = RNG.normal(size=(4, 3)).astype("float32")
B = RNG.normal(size=(4, 3)).astype("float32")


def _build(lib):
    a = lib.KerasTensor((None, 3))
    b = lib.KerasTensor((None, 3))
    x = lib.ops.sigmoid(a + b) * 2.0
    y = lib.ops.concatenate([x, a[:, :1]], axis=-1)
    return lib.Function([a, b], {"sum": y, "prod": lib.ops.sum(a * b, axis=-1)}, name="fn")


def test_ops_graph_matches_keras():
    ours, theirs = _build(lamina), _build(keras)
    out, ref = ours([A, B]), theirs([A, B])
    assert sorted(out) == sorted(ref)
    for key in ref:
        np.testing.assert_allclose(np.asarray(out[key]), np.asarray(ref[key]), rtol=1e-6, atol=1e-6)
    spec, ref_spec = ours.compute_output_spec([lamina.KerasTensor((None, 3))] * 2), \
        theirs.compute_output_spec([keras.KerasTensor((None, 3))] * 2)
    for key in ref_spec:
        assert spec[key].shape == ref_spec[key].shape and spec[key].dtype == ref_spec[key].dtype
    assert ours.name == "fn" and len(ours.inputs) == 2 and len(ours.outputs) == 2


def test_layers_in_a_function_use_their_weights():
    dense_k = keras.layers.Dense(2)
    dense_l = layers.Dense(2)
    inp_k, inp_l = keras.KerasTensor((None, 3)), lamina.KerasTensor((None, 3))
    fk = keras.Function(inp_k, keras.ops.relu(dense_k(inp_k)))
    fl = lamina.Function(inp_l, ops.relu(dense_l(inp_l)))
    dense_l.set_weights(dense_k.get_weights())
    np.testing.assert_allclose(np.asarray(fl(A)), np.asarray(fk(A)), rtol=1e-6, atol=1e-6)
    assert [type(op).__name__ for op in fl.operations][0] == "Dense"


def test_unconnected_output_is_a_clear_error():
    a, stray = lamina.KerasTensor((None, 3)), lamina.KerasTensor((None, 3))
    with pytest.raises(ValueError, match="not among the inputs"):
        lamina.Function([a], a + stray)
    fn = lamina.Function([a], a * 2)
    with pytest.raises(ValueError, match="expects 1 inputs"):
        fn([A, B])
