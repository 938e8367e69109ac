"""The rest of keras.metrics (hinge/probabilistic wrappers, correlations, confusion counts, rate-at-rate metrics,
IoU family, the metric functions) against Keras 3 on the same batches and sample weights."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

from lamina import metrics

keras = pytest.importorskip("keras")

N, C = 16, 4


def _batches(kind, seed, n_batches=3):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        if kind == "binary":
            t, p = rng.integers(0, 2, (N, 1)).astype("float32"), rng.random((N, 1)).astype("float32")
        elif kind == "hinge":
            t, p = rng.choice([-1.0, 1.0], (N, 3)).astype("float32"), rng.normal(size=(N, 3)).astype("float32")
        elif kind == "probs":
            t = rng.random((N, C)).astype("float32")
            t /= t.sum(-1, keepdims=True)
            p = rng.random((N, C)).astype("float32") + 0.01
            p /= p.sum(-1, keepdims=True)
        elif kind == "onehot":
            t = np.eye(C, dtype="float32")[rng.integers(0, C, N)]
            p = rng.random((N, C)).astype("float32")
            p /= p.sum(-1, keepdims=True)
        elif kind == "positive":
            t, p = rng.random((N, 3)).astype("float32") * 3, rng.random((N, 3)).astype("float32") * 3 + 0.1
        elif kind == "regression":
            t, p = rng.normal(size=(N, 3)).astype("float32"), rng.normal(size=(N, 3)).astype("float32")
        elif kind == "classes":
            t, p = rng.integers(0, C, (N,)), rng.integers(0, C, (N,))
        elif kind == "classes_ignore":
            t, p = rng.integers(-1, C, (N,)), rng.integers(0, C, (N,))
        else:
            raise ValueError(kind)
        out.append((t, p, rng.random((N,)).astype("float32")))
    return out


# (class name, constructor kwargs, batch kind)
CASES = [
    ("Hinge", {}, "hinge"),
    ("SquaredHinge", {}, "hinge"),
    ("CategoricalHinge", {}, "onehot"),
    ("KLDivergence", {}, "probs"),
    ("Poisson", {}, "positive"),
    ("LogCoshError", {}, "regression"),
    ("CosineSimilarity", {}, "regression"),
    ("CosineSimilarity", {"axis": 0}, "regression"),
    ("PearsonCorrelation", {}, "regression"),
    ("ConcordanceCorrelation", {}, "regression"),
    ("TruePositives", {}, "binary"),
    ("FalsePositives", {"thresholds": [0.2, 0.5, 0.7]}, "binary"),
    ("TrueNegatives", {"thresholds": 0.3}, "binary"),
    ("FalseNegatives", {}, "binary"),
    ("TruePositives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "binary"),
    ("SensitivityAtSpecificity", {"specificity": 0.6}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7, "num_thresholds": 50}, "binary"),
    ("PrecisionAtRecall", {"recall": 0.5}, "binary"),
    ("RecallAtPrecision", {"precision": 0.6}, "binary"),
    ("PrecisionAtRecall", {"recall": 0.4, "class_id": 2}, "onehot"),
    ("SensitivityAtSpecificity", {"specificity": 0.5, "num_thresholds": 1}, "binary"),
    ("IoU", {"num_classes": C, "target_class_ids": [0, 2]}, "classes"),
    ("IoU", {"num_classes": C, "target_class_ids": [1], "ignore_class": -1}, "classes_ignore"),
    ("MeanIoU", {"num_classes": C}, "classes"),
    ("MeanIoU", {"num_classes": C, "ignore_class": 0}, "classes"),
    ("BinaryIoU", {}, "binary"),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, "binary"),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [0, 3]}, "onehot"),
    ("OneHotMeanIoU", {"num_classes": C}, "onehot"),
    ("F1Score", {}, "onehot"),
    ("F1Score", {"average": "macro", "threshold": 0.3}, "onehot"),
    ("FBetaScore", {"beta": 2.0, "average": "weighted"}, "onehot"),
    ("FBetaScore", {"beta": 0.5, "average": "micro", "threshold": 0.25}, "onehot"),
    ("R2Score", {}, "regression"),
    ("R2Score", {"class_aggregation": None}, "regression"),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2}, "regression"),
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{'-'.join(map(str, c[1].values()))}")
def test_matches_keras(case, weighted):
    name, kwargs, kind = case
    if weighted and kwargs.get("axis") == 0:
        pytest.skip("one weight per sample does not fit per-feature values (Keras raises too)")
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert ours.name == theirs.name
    for i, (t, p, w) in enumerate(_batches(kind, seed=sum(map(ord, name)))):
        sw = w if weighted else None
        if weighted and "IoU" in name:
            sw = np.round(w * 3)  # Keras's IoU counts in integers
        ours.update_state(t, p, sample_weight=sw)
        theirs.update_state(t, p, sample_weight=sw)
        np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()), rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name} after batch {i}")
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()), atol=1e-6)
    again = type(ours).from_config(ours.get_config())
    assert again.get_config() == ours.get_config()
    back = metrics.deserialize(metrics.serialize(ours))
    assert type(back) is type(ours) and back.get_config() == ours.get_config()


FUNCTIONS = [
    ("binary_crossentropy", "binary", {}),
    ("categorical_crossentropy", "onehot", {}),
    ("mean_squared_error", "regression", {}),
    ("mean_absolute_error", "regression", {}),
    ("mean_absolute_percentage_error", "positive", {}),
    ("mean_squared_logarithmic_error", "positive", {}),
    ("hinge", "hinge", {}),
    ("squared_hinge", "hinge", {}),
    ("categorical_hinge", "onehot", {}),
    ("huber", "regression", {}),
    ("kl_divergence", "probs", {}),
    ("log_cosh", "regression", {}),
    ("poisson", "positive", {}),
    ("binary_focal_crossentropy", "binary", {}),
    ("binary_focal_crossentropy", "binary", {"apply_class_balancing": True, "gamma": 1.5, "label_smoothing": 0.1}),
    ("binary_focal_crossentropy", "regression", {"from_logits": True}),
    ("categorical_focal_crossentropy", "onehot", {}),
    ("categorical_focal_crossentropy", "onehot", {"alpha": 0.5, "label_smoothing": 0.2}),
    ("pearson_correlation", "regression", {}),
    ("concordance_correlation", "regression", {}),
]


@pytest.mark.parametrize("case", FUNCTIONS, ids=lambda c: f"{c[0]}-{len(c[2])}")
def test_functions_match_keras(case):
    name, kind, kwargs = case
    t, p, _ = _batches(kind, seed=1, n_batches=1)[0]
    if kind == "regression" and name.startswith("binary"):
        t = (t > 0).astype("float32")
    np.testing.assert_allclose(np.asarray(getattr(metrics, name)(t, p, **kwargs)),
                               np.asarray(getattr(keras.metrics, name)(t, p, **kwargs)), rtol=1e-4, atol=1e-6)


def test_sparse_categorical_crossentropy_function():
    rng = np.random.default_rng(3)
    t, p = rng.integers(0, C, (N,)), rng.random((N, C)).astype("float32") + 0.1
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(metrics.sparse_categorical_crossentropy(t, p)),
                               np.asarray(keras.metrics.sparse_categorical_crossentropy(t, p)), rtol=1e-5)


@pytest.mark.parametrize("name", ["hinge", "squared_hinge", "kl_divergence", "poisson", "log_cosh_error",
                                  "cosine_similarity", "true_positives", "TruePositives", "FalseNegatives",
                                  "pearson_correlation", "concordance_correlation"])
def test_get_by_name(name):
    m = metrics.get(name)
    assert m.name == name
    assert type(m).__name__ == type(keras.metrics.get(name)).__name__


@pytest.mark.parametrize("name", ["kld", "logcosh", "huber"])
def test_get_unknown_name_raises_as_keras(name):
    with pytest.raises(ValueError):
        keras.metrics.get(name)
    with pytest.raises(ValueError):
        metrics.get(name)


def test_in_compile_fit():
    import lamina

    model = lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=[metrics.TruePositives(), metrics.PrecisionAtRecall(0.5), metrics.BinaryIoU(),
                           metrics.Hinge(), "poisson", metrics.MeanIoU(2, sparse_y_pred=True),
                           metrics.F1Score(threshold=0.5), metrics.R2Score()])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 3)).astype("float32"), rng.integers(0, 2, (32, 1)).astype("float32")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for key in ("true_positives", "precision_at_recall", "binary_io_u", "hinge", "poisson", "mean_io_u",
                "f1_score", "r2_score"):
        assert any(k.startswith(key) for k in history.history), sorted(history.history)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
