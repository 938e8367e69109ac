"""lamina.wrappers against keras.wrappers: the same scikit-learn workflow gives the same predictions for the same
weights, and works in sklearn's tools (pipelines, cross-validation, clone)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina
from lamina import wrappers

keras = pytest.importorskip("keras")
sklearn = pytest.importorskip("sklearn")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 4)).astype("float32")


def _builder(mod, units, activation, loss, seed=3):
    def build(X, y, hidden=5):
        mod.utils.set_random_seed(seed)
        model = mod.Sequential([mod.Input(X.shape[1:]), mod.layers.Dense(hidden, activation="relu"),
                                mod.layers.Dense(y.shape[1] if units is None else units, activation=activation)])
        model.compile(optimizer=mod.optimizers.SGD(0.05), loss=loss)
        return model

    return build


def _fit_both(cls, units, activation, loss, y):
    kw = {"fit_kwargs": {"epochs": 3, "batch_size": 8, "shuffle": False, "verbose": 0}, "model_kwargs": {"hidden": 6}}
    theirs = getattr(keras.wrappers, cls)(_builder(keras, units, activation, loss), **kw).fit(X, y)
    ours = getattr(wrappers, cls)(_builder(lamina, units, activation, loss), **kw)
    ours.fit(X, y, epochs=0)  # builds the model; then copy Keras's initial weights and train as Keras did
    fresh = _builder(keras, units, activation, loss)(X=X, y=ours._process_target(y), hidden=6)
    ours.model_.set_weights(fresh.get_weights())
    ours.model_.fit(X, ours._process_target(y), epochs=3, batch_size=8, shuffle=False, verbose=0)
    return ours, theirs


def test_classifier_matches_keras():
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    ours, theirs = _fit_both("SKLearnClassifier", None, "softmax", "categorical_crossentropy", y)
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert 0.0 <= ours.score(X, y) <= 1.0


def test_regressor_and_transformer_match_keras():
    y = X @ np.array([1.0, -1.0, 0.5, 0.0], "float32")
    ours, theirs = _fit_both("SKLearnRegressor", 1, None, "mse", y)
    assert ours.predict(X).shape == theirs.predict(X).shape == (40,)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-4, atol=1e-5)
    ours_t, theirs_t = _fit_both("SKLearnTransformer", 1, None, "mse", y)
    np.testing.assert_allclose(ours_t.transform(X), theirs_t.transform(X), rtol=1e-4, atol=1e-5)


def test_compiled_model_is_cloned_and_works_in_sklearn_tools():
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = _builder(lamina, 1, None, "mse")(X=X, y=np.zeros((40, 1)))
    reg = wrappers.SKLearnRegressor(model, fit_kwargs={"epochs": 2, "verbose": 0})
    y = X.sum(axis=1)
    reg.fit(X, y)
    assert reg.model_ is not model and reg.predict(X).shape == (40,)
    assert isinstance(clone(reg), wrappers.SKLearnRegressor)
    scores = cross_val_score(make_pipeline(StandardScaler(), wrappers.SKLearnRegressor(
        _builder(lamina, 1, None, "mse"), fit_kwargs={"epochs": 2, "verbose": 0})), X, y, cv=2)
    assert scores.shape == (2,)


def test_errors_as_keras():
    for mod in (keras, lamina):
        uncompiled = mod.Sequential([mod.Input((4,)), mod.layers.Dense(1)])
        with pytest.raises(RuntimeError, match="needs to be compiled"):
            (mod.wrappers if mod is keras else wrappers).SKLearnRegressor(
                lambda X, y, m=uncompiled: m).fit(X, X[:, 0])
        clf = (keras.wrappers if mod is keras else wrappers).SKLearnClassifier(
            _builder(mod, None, "softmax", "categorical_crossentropy"))
        with pytest.raises(ValueError, match="only one class"):
            clf.fit(X, np.zeros(40, int))
        with pytest.raises(ValueError, match="binary and multiclass"):
            clf.fit(X, X[:, 0])
