"""lamina.metrics against keras.metrics (JAX backend): several batches with sample weights, names, configs."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import jax
import numpy as np
import pytest

from lamina import metrics

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
N, C = 16, 5


def _probs(shape):
    x = RNG.random(shape).astype("float32") + 0.01
    return x / x.sum(-1, keepdims=True)


def _batches(kind, n_batches=3):
    out = []
    for _ in range(n_batches):
        if kind == "binary":
            t, p = RNG.integers(0, 2, (N, 1)).astype("float32"), RNG.random((N, 1)).astype("float32")
        elif kind == "binary_flat":
            t, p = RNG.integers(0, 2, (N,)).astype("float32"), RNG.random((N, 1)).astype("float32")
        elif kind == "categorical":
            t, p = np.eye(C, dtype="float32")[RNG.integers(0, C, N)], _probs((N, C))
        elif kind == "sparse":
            t, p = RNG.integers(0, C, (N,)), _probs((N, C))
        elif kind == "sparse_col":
            t, p = RNG.integers(0, C, (N, 1)), _probs((N, C))
        elif kind == "regression":
            t, p = RNG.normal(size=(N, 3)).astype("float32"), RNG.normal(size=(N, 3)).astype("float32")
        elif kind == "exact":
            t, p = RNG.integers(0, 3, (N,)), RNG.integers(0, 3, (N,))
        out.append((t, p, RNG.random(N).astype("float32")))
    return out


CASES = [
    ("Accuracy", {}, "exact"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.3}, "binary_flat"),
    ("CategoricalAccuracy", {}, "categorical"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse_col"),
    ("TopKCategoricalAccuracy", {"k": 2}, "categorical"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, "binary"),
    ("Precision", {"class_id": 2}, "categorical"),
    ("Recall", {}, "binary"),
    ("Recall", {"top_k": 2}, "categorical"),
    ("Recall", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "binary"),
    ("AUC", {}, "binary"),
    ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"summation_method": "minoring"}, "binary"),
    ("AUC", {"curve": "PR", "summation_method": "majoring", "num_thresholds": 50}, "binary"),
    ("AUC", {"thresholds": [0.1, 0.5, 0.7]}, "binary"),
    ("AUC", {}, "categorical"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, "binary"),
    ("CategoricalCrossentropy", {}, "categorical"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse"),
]


@pytest.mark.parametrize("cls,kwargs,kind", CASES, ids=[f"{c}-{k}-{d}" for c, k, d in CASES])
def test_metric_matches_keras(cls, kwargs, kind):
    tol = 1e-5 if cls == "AUC" else 1e-6
    batches = _batches(kind)
    for weighted in (False, True):
        k, lam = getattr(keras.metrics, cls)(**kwargs), getattr(metrics, cls)(**kwargs)
        for t, p, w in batches:
            k.update_state(t, p, sample_weight=w if weighted else None)
            lam.update_state(t, p, sample_weight=w if weighted else None)
            np.testing.assert_allclose(np.asarray(lam.result()), np.asarray(k.result()), rtol=tol, atol=tol)
    lam.reset_state()
    k.reset_state()
    np.testing.assert_allclose(np.asarray(lam.result()), np.asarray(k.result()), atol=tol)
    k_cfg, l_cfg = k.get_config(), lam.get_config()
    k_cfg["name"] = l_cfg["name"] = None  # auto names differ by counters
    assert l_cfg == k_cfg


def test_functional_core_is_jittable():
    m = metrics.AUC()
    update = jax.jit(m.update_fn)
    state = m.init_state()
    k = keras.metrics.AUC()
    for t, p, w in _batches("binary"):
        state = update(state, t, p, w)
        k.update_state(t, p, sample_weight=w)
    np.testing.assert_allclose(float(jax.jit(m.result_fn)(state)), float(k.result()), rtol=1e-5)
    acc = metrics.get("accuracy", (N,), (N, C))
    s = jax.jit(acc.update_fn)(acc.init_state(), *_batches("sparse", 1)[0])
    assert 0.0 <= float(acc.result_fn(s)) <= 1.0


@pytest.mark.parametrize(
    "y_true,y_pred,expected",
    [
        ((N,), (N, 3), "SparseCategoricalAccuracy"),
        ((N, 1), (N, 3), "SparseCategoricalAccuracy"),
        ((N, 1), (N, 1), "BinaryAccuracy"),
        ((N,), (N, 1), "BinaryAccuracy"),
        ((N, 3), (N, 3), "CategoricalAccuracy"),
        ((N, 7, 1), (N, 7, 3), "SparseCategoricalAccuracy"),
    ],
)
def test_accuracy_resolution(y_true, y_pred, expected):
    for ident in ("accuracy", "acc", "Accuracy"):
        m = metrics.get(ident, y_true_shape=y_true, y_pred_shape=y_pred)
        assert type(m).__name__ == expected and m.name == ident


def test_get_by_name_and_serialize():
    for ident, cls in [
        ("mse", "MeanSquaredError"),
        ("mae", "MeanAbsoluteError"),
        ("AUC", "AUC"),
        ("auc", "AUC"),
        ("precision", "Precision"),
        ("Recall", "Recall"),
        ("categorical_accuracy", "CategoricalAccuracy"),
        ("binary_crossentropy", "BinaryCrossentropy"),
        ("root_mean_squared_error", "RootMeanSquaredError"),
    ]:
        m = metrics.get(ident)
        assert type(m).__name__ == cls and m.name == ident
    inst = metrics.Mean(name="m")
    assert metrics.get(inst) is inst
    assert metrics.serialize(metrics.AUC(name="a")) == keras.metrics.serialize(keras.metrics.AUC(name="a"))
    again = metrics.deserialize(metrics.serialize(metrics.Precision(thresholds=[0.3, 0.6], name="p")))
    assert again.thresholds == [0.3, 0.6] and again.name == "p"
    custom = metrics.get(lambda t, p: (t == p).astype("float32"))
    assert float(custom(np.array([1, 2]), np.array([1, 3]))) == 0.5
    with pytest.raises(ValueError, match="Could not interpret"):
        metrics.get("accuracyy")


def test_auto_accuracy_without_shapes_and_shape_errors():
    m = metrics.get("accuracy")
    k = keras.metrics.SparseCategoricalAccuracy()
    for t, p, w in _batches("sparse"):
        m.update_state(t, p, sample_weight=w)
        k.update_state(t, p, sample_weight=w)
    np.testing.assert_allclose(float(m.result()), float(k.result()), rtol=1e-6)
    with pytest.raises(ValueError, match=r"\(16,\).*\(16, 3\)"):
        metrics.get("mse").update_state(np.zeros((N,)), np.zeros((N, 3)))


def test_mean_and_default_names():
    from lamina import naming

    naming.reset()
    assert [metrics.AUC().name, metrics.AUC().name, metrics.Precision().name] == ["auc", "auc_1", "precision"]
    k, lam = keras.metrics.Mean(), metrics.Mean()
    for values, w in [(np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0])), (np.array([1.0, 5.0]), None)]:
        k.update_state(values, sample_weight=w)
        lam.update_state(values, sample_weight=w)
    np.testing.assert_allclose(float(lam.result()), float(k.result()), rtol=1e-6)
