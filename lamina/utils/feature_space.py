"""``FeatureSpace``: one-line preprocessing of structured (tabular) data, Keras 3's ``keras.utils.FeatureSpace``.

Each named feature gets a preprocessor (normalization, discretization, vocabulary lookup, hashing) adapted on the
data, optional crosses of features are hashed, and the results are one-hot encoded and concatenated (or returned
as a dict). lamina runs it eagerly on dicts of arrays (Keras runs it in ``tf.data``).

>>> import numpy as np
>>> space = FeatureSpace({"age": "float_normalized", "city": "string_categorical"}, output_mode="concat")
>>> space.adapt({"age": np.array([20.0, 40.0, 60.0]), "city": np.array(["a", "b", "a"])})
>>> space({"age": np.array([40.0]), "city": np.array(["b"])}).shape  # 1 float + 3 one-hot (2 cities + OOV)
(1, 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina import naming

_FEATURE_MODES = ("int", "one_hot", "float")


def _layers() -> Any:
    from lamina import layers  # inside: utils sits below layers

    return layers


class Cross:
    """A hashed cross of ``feature_names`` into ``crossing_dim`` bins."""

    def __init__(self, feature_names: Any, crossing_dim: int, output_mode: str = "one_hot") -> None:
        if output_mode not in {"int", "one_hot"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'int', 'one_hot'}. "
                             f"Received: output_mode={output_mode}")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict[str, Any]:
        return {"feature_names": self.feature_names, "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Cross:
        return cls(**config)


class Feature:
    """A feature's input ``dtype``, its ``preprocessor`` layer and how its output is encoded (``output_mode``)."""

    def __init__(self, dtype: str, preprocessor: Any, output_mode: str) -> None:
        if output_mode not in _FEATURE_MODES:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'int', 'one_hot', "
                             f"'float'}}. Received: output_mode={output_mode}")
        self.dtype = dtype
        if isinstance(preprocessor, dict):
            from lamina.saving.serialization_lib import deserialize_keras_object

            preprocessor = deserialize_keras_object(preprocessor)
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self) -> dict[str, Any]:
        from lamina.saving.serialization_lib import serialize_keras_object

        return {"dtype": self.dtype, "preprocessor": serialize_keras_object(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Feature:
        return cls(**config)


class _Identity:
    """The preprocessor of a plain ``float`` feature."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, x: Any) -> Any:
        return np.asarray(x, "float32")


class FeatureSpace:
    """Preprocess a dict of features: ``FeatureSpace(features={"age": "float_normalized", ...})``, then
    ``adapt(data)`` and ``space(data)``.

    Feature types: ``"float"``, ``"float_rescaled"``, ``"float_normalized"``, ``"float_discretized"``,
    ``"integer_categorical"``, ``"string_categorical"``, ``"integer_hashed"``, ``"string_hashed"``, or a
    :class:`Feature` from the class methods of the same names. ``crosses``: tuples of feature names (or
    :meth:`cross`). ``output_mode``: ``"concat"`` (one array) or ``"dict"``.
    """

    # ------------------------------------------------------------------------- feature builders
    @classmethod
    def cross(cls, feature_names: Any, crossing_dim: int, output_mode: str = "one_hot") -> Cross:
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype: str, preprocessor: Any, output_mode: str) -> Feature:
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name: str | None = None) -> Feature:
        name = name or naming.auto_name("float")
        return Feature("float32", _Identity(f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale: float = 1.0, offset: float = 0.0, name: str | None = None) -> Feature:
        name = name or naming.auto_name("float_rescaled")
        return Feature("float32", _layers().Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor"),
                       "float")

    @classmethod
    def float_normalized(cls, name: str | None = None) -> Feature:
        name = name or naming.auto_name("float_normalized")
        return Feature("float32", _layers().Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins: int, bin_boundaries: Any = None, output_mode: str = "one_hot",
                          name: str | None = None) -> Feature:
        name = name or naming.auto_name("float_discretized")
        layer = _layers().Discretization(num_bins=num_bins, bin_boundaries=bin_boundaries,
                                         name=f"{name}_preprocessor")
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                            output_mode: str = "one_hot", name: str | None = None) -> Feature:
        name = name or naming.auto_name("integer_categorical")
        layer = _layers().IntegerLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                                        num_oov_indices=num_oov_indices)
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                           output_mode: str = "one_hot", name: str | None = None) -> Feature:
        name = name or naming.auto_name("string_categorical")
        layer = _layers().StringLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                                       num_oov_indices=num_oov_indices)
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        name = name or naming.auto_name("string_hashed")
        return Feature("string", _layers().Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        name = name or naming.auto_name("integer_hashed")
        return Feature("int32", _layers().Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    # ------------------------------------------------------------------------------- building
    def __init__(self, features: dict[str, Any], output_mode: str = "concat", crosses: Any = None,
                 crossing_dim: int = 32, hashing_dim: int = 32, num_discretization_bins: int = 32,
                 name: str | None = None) -> None:
        if not features:
            raise ValueError("The `features` argument cannot be None or empty.")
        self.name = name or naming.auto_name("feature_space")
        self.crossing_dim, self.hashing_dim = crossing_dim, hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {key: self._standardize(key, value) for key, value in features.items()}
        self.crosses: list[Cross] = []
        for cross in crosses or []:
            if isinstance(cross, dict):
                cross = Cross.from_config(cross.get("config", cross))
            if not isinstance(cross, Cross):
                if not crossing_dim:
                    raise ValueError("When specifying `crosses`, the argument `crossing_dim` (dimensionality of the "
                                     "crossing space) should be specified as well.")
                unknown = [k for k in cross if k not in features]
                if unknown:
                    raise ValueError("All features referenced in the `crosses` argument should be present in the "
                                     f"`features` dict. Received unknown features: {cross}")
                cross = Cross(cross, crossing_dim=crossing_dim)
            self.crosses.append(cross)
        if output_mode not in {"dict", "concat"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'dict', 'concat'}. "
                             f"Received: output_mode={output_mode}")
        self.output_mode = output_mode
        self.preprocessors = {key: f.preprocessor for key, f in self.features.items()}
        self.crossers = {c.name: _layers().HashedCrossing(c.crossing_dim, name=c.name) for c in self.crosses}
        self._is_adapted = False

    def _standardize(self, name: str, feature: Any) -> Feature:
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return Feature.from_config(feature.get("config", feature))
        makers = {"float": lambda: self.float(name=name), "float_normalized": lambda: self.float_normalized(name=name),
                  "float_rescaled": lambda: self.float_rescaled(name=name),
                  "float_discretized": lambda: self.float_discretized(self.num_discretization_bins, name=name),
                  "integer_categorical": lambda: self.integer_categorical(name=name),
                  "string_categorical": lambda: self.string_categorical(name=name),
                  "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
                  "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name)}
        if feature not in makers:
            raise ValueError(f"Invalid feature type: {feature}")
        return makers[feature]()

    def _adaptable(self) -> list[str]:
        layers = _layers()
        out = []
        for key, pre in self.preprocessors.items():
            if isinstance(pre, layers.Normalization) and getattr(pre, "input_mean", None) is not None:
                continue
            if hasattr(pre, "adapt"):
                out.append(key)
        return out

    def adapt(self, dataset: Any) -> None:
        """Fit the preprocessors on ``dataset``: a dict of arrays, or an iterable of such dicts (batches)."""
        if isinstance(dataset, dict):
            columns = {k: np.asarray(v) for k, v in dataset.items()}
        else:
            try:
                batches = list(dataset)
            except TypeError:
                raise ValueError("`adapt()` can only be called on a tf.data.Dataset or a dict of arrays/lists. "
                                 f"Received instead: {dataset} (of type {type(dataset)})") from None
            columns = {k: np.concatenate([np.atleast_1d(np.asarray(b[k])) for b in batches]) for k in batches[0]}
        for key in self._adaptable():
            values = columns[key]
            self.preprocessors[key].adapt(values.reshape(-1, 1) if values.ndim <= 1 else values)
        self._is_adapted = True

    def _check_adapted(self) -> None:
        if not self._is_adapted:
            if self._adaptable():
                raise ValueError("You need to call `.adapt(dataset)` on the FeatureSpace before you can start using "
                                 "it.")
            self._is_adapted = True

    def _cardinality(self, name: str, pre: Any) -> int:
        layers = _layers()
        if isinstance(pre, (layers.IntegerLookup, layers.StringLookup)):
            return pre.vocabulary_size()
        if isinstance(pre, layers.CategoryEncoding):
            return pre.num_tokens
        if isinstance(pre, layers.Discretization) and pre.num_bins is None:
            return len(pre.bin_boundaries) + 1
        if isinstance(pre, (layers.Discretization, layers.HashedCrossing, layers.Hashing)):
            return pre.num_bins
        raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. However it isn't a standard feature and the "
                         "dimensionality of its output space is not known, thus it cannot be one-hot encoded. Try "
                         "using `output_mode='int'`.")

    def __call__(self, data: dict[str, Any]) -> Any:
        """The encoded features of ``data`` (a dict of scalars or of arrays with a batch axis)."""
        self._check_adapted()
        if not isinstance(data, dict):
            raise ValueError(f"A FeatureSpace can only be called with a dict. Received: data={data} (of type "
                             f"{type(data)}")
        columns, rebatched = {}, False
        for key, value in data.items():
            x = np.asarray(value)
            if x.ndim == 0:
                x, rebatched = x.reshape(1, 1), True
            elif x.ndim == 1:
                x = x[:, None]
            columns[key] = x
        processed = {k: np.asarray(self.preprocessors[k](columns[k])) for k in self.features}
        crossed = {c.name: np.asarray(self.crossers[c.name]([processed[n] for n in c.feature_names]))
                   for c in self.crosses}
        layers = _layers()
        outputs: dict[str, Any] = {}
        for name in sorted(processed) + sorted(crossed):
            spec = self.features.get(name) or next(c for c in self.crosses if c.name == name)
            value = processed.get(name, crossed.get(name))
            if spec.output_mode == "one_hot":
                if not str(value.dtype).startswith("int"):
                    raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. Thus its preprocessor should "
                                     f"return an integer dtype. Instead it returns a {value.dtype} dtype.")
                pre = self.preprocessors.get(name) or self.crossers[name]
                encoder = layers.CategoryEncoding(num_tokens=self._cardinality(name, pre), output_mode="multi_hot")
                value = np.asarray(encoder(value))
            if self.output_mode == "concat" and (str(value.dtype).startswith("int") or value.dtype.kind in "OUS"):
                raise ValueError(f"Cannot concatenate features because feature '{name}' has not been encoded (it has "
                                 f"dtype {value.dtype}). Consider using `output_mode='dict'`.")
            outputs[name] = value
        if self.output_mode == "concat":
            merged = np.concatenate([v.astype("float32") for v in outputs.values()], axis=-1)
            return merged[0] if rebatched else merged
        if rebatched:
            outputs = {k: v[0] if v.ndim == 2 and v.shape[0] == 1 else v for k, v in outputs.items()}
        return outputs

    def get_config(self) -> dict[str, Any]:
        return {"features": {k: {"class_name": "Feature", "config": f.get_config()} for k, f in self.features.items()},
                "output_mode": self.output_mode,
                "crosses": [{"class_name": "Cross", "config": c.get_config()} for c in self.crosses],
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FeatureSpace:
        return cls(**config)
