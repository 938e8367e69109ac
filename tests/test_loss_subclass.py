"""``Loss`` subclasses (``call(y_true, y_pred)`` + Keras's reductions) and plain functions as losses, against
Keras 3: values for every reduction, with and without sample weights, configs, and training in ``compile``."""

from __future__ import annotations

import types

import jax.numpy as jnp
import numpy as np
import pytest

import lamina  # noqa: E402
from lamina import backend as lamina_backend  # noqa: E402
from lamina import losses  # noqa: E402
from tests.oracle import KERAS, LAMINA, keras

OPS = {"lamina": jnp, "keras": keras.ops}  # lamina.ops is filled by another issue; jax.numpy has these names
LAMINA.losses, KERAS.losses = lamina.losses, keras.losses
LAMINA.optimizers, KERAS.optimizers = lamina.optimizers, keras.optimizers
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None, "none"]


def _classes(K: types.SimpleNamespace) -> types.SimpleNamespace:
    ops = OPS[K.name]

    class ScaledSquare(K.losses.Loss):
        def __init__(self, scale=2.0, name="scaled_square", reduction="sum_over_batch_size", dtype=None):
            super().__init__(name=name, reduction=reduction, dtype=dtype)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * ops.mean(ops.square(y_true - y_pred), axis=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    def custom_mse(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    return types.SimpleNamespace(ScaledSquare=ScaledSquare, custom_mse=custom_mse)


RNG = np.random.default_rng(0)
Y_TRUE = RNG.normal(size=(6, 3)).astype("float32")
Y_PRED = RNG.normal(size=(6, 3)).astype("float32")
WEIGHTS = RNG.random(6).astype("float32")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_reductions_match_keras(reduction, weighted) -> None:
    ours = _classes(LAMINA).ScaledSquare(reduction=reduction)
    theirs = _classes(KERAS).ScaledSquare(reduction=reduction)
    sw = WEIGHTS if weighted else None
    got = np.asarray(ours(Y_TRUE, Y_PRED, sample_weight=sw))
    want = np.asarray(theirs(Y_TRUE, Y_PRED, sample_weight=sw))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_name_dtype_config_match_keras() -> None:
    ours, theirs = _classes(LAMINA).ScaledSquare(3.0, dtype="float16"), _classes(KERAS).ScaledSquare(3.0,
                                                                                                 dtype="float16")
    assert (ours.name, ours.dtype, ours.reduction) == (theirs.name, theirs.dtype, theirs.reduction)
    assert ours.get_config() == theirs.get_config()
    assert type(ours).from_config(theirs.get_config()).scale == 3.0
    assert str(np.asarray(ours(Y_TRUE, Y_PRED)).dtype) == str(np.asarray(theirs(Y_TRUE, Y_PRED)).dtype)
    assert losses.Loss().name == keras.losses.Loss().name == "loss"


def test_invalid_reduction_raises_like_keras() -> None:
    for lib in (losses, keras.losses):
        with pytest.raises(ValueError, match="reduction"):
            lib.MeanSquaredError(reduction="average")


def test_builtin_losses_are_loss_subclasses() -> None:
    for name in ("MeanSquaredError", "BinaryCrossentropy", "SparseCategoricalCrossentropy", "Huber"):
        assert issubclass(getattr(losses, name), losses.Loss), name
    assert isinstance(losses.get("mse"), losses.Loss)


@pytest.mark.parametrize("which", ["function", "subclass"])
def test_custom_loss_in_compile_matches_keras(which: str) -> None:
    x = RNG.normal(size=(32, 4)).astype("float32")
    y = RNG.normal(size=(32, 3)).astype("float32")
    sw = RNG.random(32).astype("float32")

    def make(K):
        classes = _classes(K)
        loss = classes.custom_mse if which == "function" else classes.ScaledSquare(0.5)
        inputs = K.Input((4,))
        model = K.Model(inputs, K.layers.Dense(3)(inputs))
        model.compile(optimizer=K.optimizers.SGD(0.05), loss=loss, metrics=[_classes(K).custom_mse])
        return model

    keras.backend.clear_session()
    theirs = make(KERAS)
    lamina_backend.clear_session()
    ours = make(LAMINA)
    ours.set_weights(theirs.get_weights())
    got = ours.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0, return_dict=True)
    want = theirs.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, err_msg=key)
    h_ours = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-4, err_msg=key)
