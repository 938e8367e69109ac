"""``lamina.wrappers``: scikit-learn estimators around a lamina model (Keras 3's ``keras.wrappers``).

``model`` is a compiled model (cloned, with fresh weights and a fresh optimizer, at each ``fit``) or a callable
``model(X=..., y=..., **model_kwargs)`` that builds and compiles one. Requires scikit-learn.

>>> import numpy as np
>>> from lamina import Sequential, layers
>>> def build(X, y):
...     model = Sequential([layers.Input(X.shape[1:]), layers.Dense(y.shape[1], activation="softmax")])
...     model.compile(optimizer="adam", loss="categorical_crossentropy")
...     return model
>>> clf = SKLearnClassifier(build, fit_kwargs={"epochs": 1, "verbose": 0})
>>> X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
>>> clf.fit(X, y).predict(X[:4]).shape
(4,)
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the classes still exist; building one says what to install
    sklearn = None

    class BaseEstimator:  # type: ignore[no-redef]
        pass

    class ClassifierMixin:  # type: ignore[no-redef]
        pass

    class RegressorMixin:  # type: ignore[no-redef]
        pass

    class TransformerMixin:  # type: ignore[no-redef]
        pass

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def _validate(estimator: Any, *args: Any, **kwargs: Any) -> Any:
    from sklearn.utils.validation import validate_data

    return validate_data(estimator, *args, **kwargs)


def _type_of_target(y: Any) -> str:
    from sklearn.utils.multiclass import type_of_target

    target = type_of_target(y)
    if target == "unknown":
        raise ValueError(f"Unknown label type for data: {y!r}")
    return target


def _clone_compiled(model: Any) -> Any:
    """A fresh copy of a compiled model: same architecture and compile arguments, new weights and optimizer."""
    from lamina import optimizers
    from lamina.models import clone_model

    clone = clone_model(model)
    config = dict(model.get_compile_config())
    if isinstance(config.get("optimizer"), optimizers.Optimizer):
        config["optimizer"] = optimizers.deserialize(optimizers.serialize(config["optimizer"]))
    clone.compile(**{k: v for k, v in config.items() if v is not None})
    return clone


class _TargetReshaper(TransformerMixin, BaseEstimator):
    """Makes 1-D targets 2-D for the model and back for the caller."""

    def fit(self, y: Any) -> _TargetReshaper:
        self.ndim_ = y.ndim
        return self

    def transform(self, y: Any) -> Any:
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y: Any) -> Any:
        return np.squeeze(y, axis=1) if self.ndim_ == 1 and y.ndim == 2 else y


class _SKLBase(BaseEstimator):
    def __init__(self, model: Any, warm_start: bool = False, model_kwargs: dict[str, Any] | None = None,
                 fit_kwargs: dict[str, Any] | None = None) -> None:
        if sklearn is None:
            raise ImportError(f"{type(self).__name__} requires `scikit-learn` to be installed. Run `pip install "
                              "scikit-learn` to install it.")
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self) -> Any:
        model = self.model if callable(self.model) else copy.deepcopy(self.model)
        return type(self)(model=model, warm_start=self.warm_start, model_kwargs=self.model_kwargs)

    @property
    def epoch_(self) -> int:
        return getattr(self, "history_", {}).get("epoch", 0)

    def _get_model(self, X: Any, y: Any) -> Any:
        from lamina.models import Model

        if isinstance(self.model, Model):
            return _clone_compiled(self.model)
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X: Any, y: Any, **kwargs: Any) -> _SKLBase:
        """Validate ``X``/``y``, build (or clone) the model and ``model.fit`` it with ``fit_kwargs``."""
        X, y = _validate(self, X, y)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        if not model.compiled or not model.loss or not model.optimizer:
            raise RuntimeError("Given model needs to be compiled, and have a loss and an optimizer.")
        fit_kwargs = dict(self.fit_kwargs or {})
        fit_kwargs.update(kwargs)
        self.history_ = model.fit(X, y, **fit_kwargs)
        self.model_ = model
        return self

    def predict(self, X: Any) -> Any:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return self._reverse_process_target(np.asarray(self.model_.predict(X, verbose=0)))

    def _process_target(self, y: Any, reset: bool = False) -> Any:
        _type_of_target(y)
        if reset:
            self._target_encoder = _TargetReshaper().fit(y)
        return self._target_encoder.transform(y)

    def _reverse_process_target(self, y: Any) -> Any:
        return self._target_encoder.inverse_transform(y)


class SKLearnClassifier(ClassifierMixin, _SKLBase):
    """A scikit-learn classifier: targets one-hot encoded for the model, ``predict`` returns class labels."""

    def decision_function(self, X: Any) -> Any:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return np.asarray(self.model_.predict(_validate(self, X, reset=False), verbose=0))

    def _process_target(self, y: Any, reset: bool = False) -> Any:
        target = _type_of_target(y)
        if target not in ("binary", "multiclass"):
            raise ValueError(f"Only binary and multiclass target types are supported. Target type: {target}")
        if reset:
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import OneHotEncoder

            self._target_encoder = make_pipeline(_TargetReshaper(), OneHotEncoder(sparse_output=False)).fit(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, _SKLBase):
    """A scikit-learn regressor: ``predict`` returns the model's outputs (1-D for a 1-D target)."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, _SKLBase):
    """A scikit-learn transformer: ``transform(X)`` is the fitted model's output."""

    def transform(self, X: Any) -> Any:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return np.asarray(self.model_.predict(_validate(self, X, reset=False), verbose=0))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
