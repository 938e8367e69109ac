"""StatelessScope and SymbolicScope against Keras's: mapped weights, recorded assignments, errors."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.stateless_scope import get_stateless_scope, in_stateless_scope, in_symbolic_scope

keras = pytest.importorskip("keras")

X = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")


def _run(lib, dense):
    kernel = np.full((4, 2), 0.5, "float32")
    with lib.StatelessScope([(dense.kernel, kernel)]) as scope:
        out = dense(X)
        dense.bias.assign(np.ones((2,), "float32"))
        after = dense(X)
    return scope, np.asarray(out), np.asarray(after)


def test_mapping_and_assign_match_keras():
    dk, dl = keras.layers.Dense(2), layers.Dense(2)
    dk.build((None, 4)), dl.build((None, 4))
    dl.set_weights(dk.get_weights())
    sk, out_k, after_k = _run(keras, dk)
    sl, out_l, after_l = _run(lamina, dl)
    np.testing.assert_allclose(out_l, out_k, rtol=1e-6)
    np.testing.assert_allclose(after_l, after_k, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(sl.get_current_value(dl.bias)), np.asarray(sk.get_current_value(dk.bias)))
    np.testing.assert_allclose(dl.bias.numpy(), dk.bias.numpy())  # unchanged outside the scope
    np.testing.assert_allclose(np.asarray(sl.get_current_value(dl.kernel)), 0.5)
    assert sl.get_current_value(layers.Dense(1).kernel if False else dl.kernel) is not None


def test_scope_flags():
    assert not in_stateless_scope()
    with lamina.StatelessScope() as scope:
        assert in_stateless_scope() and get_stateless_scope() is scope
    with lamina.SymbolicScope():
        assert in_symbolic_scope()
    assert not in_symbolic_scope()


def test_invalid_mapping_raises_as_keras():
    dk, dl = keras.layers.Dense(2), layers.Dense(2)
    dk.build((None, 4)), dl.build((None, 4))
    for lib, d in ((keras, dk), (lamina, dl)):
        with pytest.raises(ValueError, match="must be Variable instances"):
            lib.StatelessScope([("kernel", np.zeros((4, 2)))])
        with pytest.raises(ValueError, match="shape that matches"):
            lib.StatelessScope([(d.kernel, np.zeros((3, 2)))])
