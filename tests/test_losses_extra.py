"""Keras 3's focal, generalized-CE, Dice, Tversky, Circle and CTC losses against keras.losses (JAX backend)."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

from lamina import losses

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(1)
N, C = 8, 4


def _probs(shape):
    x = RNG.random(shape).astype("float32") + 0.05
    return x / x.sum(-1, keepdims=True)


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype("float32")


ONEHOT = np.eye(C, dtype="float32")[RNG.integers(0, C, N)]
IDS = RNG.integers(0, C, N).astype("float32")
BIN_T, BIN_P = RNG.integers(0, 2, (N, 3)).astype("float32"), RNG.random((N, 3)).astype("float32")
LOGITS = (RNG.normal(size=(N, C)) * 3).astype("float32")
EMB_LABELS = np.array([0, 0, 1, 1, 2, 2, 0, 1], dtype="float32")
EMB = _unit(RNG.normal(size=(N, 5)))
CTC_T = np.array([[1, 2, 0], [3, 3, 1], [2, 0, 0], [1, 1, 1]], dtype="float32")
CTC_P = RNG.normal(size=(4, 7, 5)).astype("float32")
SEG_T = RNG.integers(0, 2, (2, 6, 6, 1)).astype("float32")
SEG_P = RNG.random((2, 6, 6, 1)).astype("float32")

CASES = [
    ("BinaryFocalCrossentropy", {}, BIN_T, BIN_P),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0}, BIN_T, BIN_P),
    ("BinaryFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, BIN_T, BIN_P * 4 - 2),
    ("CategoricalFocalCrossentropy", {}, ONEHOT, _probs((N, C))),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.2, "gamma": 1.5}, ONEHOT, LOGITS),
    ("CategoricalGeneralizedCrossEntropy", {}, IDS, _probs((N, C))),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.8}, IDS, _probs((N, C))),
    ("Dice", {}, BIN_T, BIN_P),
    ("Dice", {"axis": (1, 2)}, SEG_T, SEG_P),
    ("Dice", {"axis": -1}, BIN_T, BIN_P),
    ("Tversky", {}, BIN_T, BIN_P),
    ("Tversky", {"alpha": 0.3, "beta": 0.7, "axis": (1, 2, 3)}, SEG_T, SEG_P),
    ("Circle", {}, EMB_LABELS, EMB),
    ("Circle", {"gamma": 20.0, "margin": 0.25, "remove_diagonal": False}, EMB_LABELS, EMB),
    ("CTC", {}, CTC_T, CTC_P),
]
IDS_ = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]
FUNCTIONS = {
    "BinaryFocalCrossentropy": "binary_focal_crossentropy",
    "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
    "CategoricalGeneralizedCrossEntropy": "categorical_generalized_cross_entropy",
    "Dice": "dice",
    "Tversky": "tversky",
    "Circle": "circle",
    "CTC": "ctc",
}


@pytest.mark.parametrize("cls,kwargs,y_true,y_pred", CASES, ids=IDS_)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_class_matches_keras(cls, kwargs, y_true, y_pred, reduction):
    ours = getattr(losses, cls)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, cls)(reduction=reduction, **kwargs)
    np.testing.assert_allclose(np.asarray(ours(y_true, y_pred)), np.asarray(theirs(y_true, y_pred)),
                               rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("cls,kwargs,y_true,y_pred", CASES, ids=IDS_)
def test_sample_weight_and_config_match_keras(cls, kwargs, y_true, y_pred):
    ours, theirs = getattr(losses, cls)(**kwargs), getattr(keras.losses, cls)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert losses.deserialize(losses.serialize(ours)).get_config() == theirs.get_config()
    if cls in ("Dice", "Tversky") and kwargs.get("axis") is None:
        return  # one scalar for the whole batch: no per-sample weights
    weight = np.linspace(0.0, 2.0, len(y_true)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(y_true, y_pred, sample_weight=weight)),
                               np.asarray(theirs(y_true, y_pred, sample_weight=weight)), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("cls,kwargs,y_true,y_pred", CASES, ids=IDS_)
def test_function_matches_keras(cls, kwargs, y_true, y_pred):
    name = FUNCTIONS[cls]
    if name == "categorical_generalized_cross_entropy":
        kwargs = {"q": kwargs.get("q", 0.5)}
    ours = getattr(losses, name)(y_true, y_pred, **kwargs)
    theirs = getattr(keras.losses, name)(y_true, y_pred, **kwargs)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-5, atol=2e-6)
    assert losses.get(name).name == name


def test_errors_match_keras():
    with pytest.raises(ValueError, match="q must be in the interval"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match="batch_size, max_length"):
        losses.ctc(np.zeros((2,)), np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="num_classes"):
        losses.ctc(np.zeros((2, 3)), np.zeros((2, 3)))


@pytest.mark.parametrize("loss,y,units", [
    ("binary_focal_crossentropy", BIN_T, 3),
    (losses.Circle(gamma=10.0), EMB_LABELS, 5),
    (losses.Tversky(alpha=0.3, beta=0.7), BIN_T, 3),
])
def test_new_losses_train_under_fit(loss, y, units):
    import lamina

    model = lamina.Sequential([lamina.layers.Input((5,)), lamina.layers.Dense(units, activation="sigmoid")])
    model.compile(optimizer="sgd", loss=loss)
    history = model.fit(EMB, y, epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
