"""Numeric preprocessing layers: ``Rescaling``, and the ``adapt()``-able ``Normalization``, ``Discretization`` and
``CategoryEncoding`` (pure JAX in ``call``, NumPy in ``adapt``; no TensorFlow).

>>> import numpy as np
>>> from lamina import layers
>>> layers.Rescaling(1 / 255)(np.full((1, 2), 255.0, "float32")).tolist()
[[1.0, 1.0]]
>>> norm = layers.Normalization()
>>> norm.adapt(np.array([[0.0, 7.0], [2.0, 9.0]], "float32"))
>>> norm(np.array([[0.0, 7.0]], "float32")).tolist()
[[-1.0, -1.0]]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.layers.base import Layer

EPSILON = 1e-7  # keras.config.epsilon()


class Rescaling(Layer):
    """``inputs * scale + offset``, e.g. ``Rescaling(1 / 255)`` for 8-bit images."""

    supports_masking = True

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset

    def call(self, inputs: Any) -> Any:
        x = jnp.asarray(inputs, dtype=self.compute_dtype)
        return x * jnp.asarray(self.scale, self.compute_dtype) + jnp.asarray(self.offset, self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


# ------------------------------------------------------------------------------------------- helpers
def encode_categorical(indices: Any, output_mode: str, depth: int, dtype: str, count_weights: Any = None) -> Any:
    """Keras's ``numerical_utils.encode_categorical_inputs``: ``int`` / ``one_hot`` / ``multi_hot`` / ``count``.

    >>> encode_categorical(jnp.array([[0, 1, 1], [2, 3, 3]]), "count", 4, "float32").tolist()
    [[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0]]
    """
    indices = jnp.asarray(indices)
    if output_mode == "int":
        return indices.astype(dtype)
    if indices.ndim == 0:
        indices = indices[None]
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices.reshape(indices.shape[:-1])
        return jax.nn.one_hot(indices.astype("int32"), depth, dtype=dtype)
    reduction_axis = 1 if indices.ndim > 1 else 0
    if output_mode == "multi_hot":
        return jnp.max(jax.nn.one_hot(indices.astype("int32"), depth, dtype=dtype), axis=reduction_axis)
    if output_mode == "count":
        if count_weights is not None:
            count_weights = jnp.asarray(count_weights)
            dtype = str(count_weights.dtype)
        hot = jax.nn.one_hot(indices.astype("int32"), depth, dtype=dtype)
        if count_weights is not None:
            hot = hot * count_weights[..., None]
        return jnp.sum(hot, axis=reduction_axis)
    raise ValueError(f"Unknown output_mode {output_mode!r}: expected 'int', 'one_hot', 'multi_hot' or 'count'.")


def encoded_shape(input_shape: Sequence[int | None], output_mode: str, depth: int) -> tuple[int | None, ...]:
    """The output shape of :func:`encode_categorical` for ``input_shape`` (Keras's rules)."""
    shape = tuple(input_shape)
    if output_mode == "int":
        return shape
    if not shape:
        return (depth,)
    if output_mode == "one_hot":
        if shape[-1] == 1 and len(shape) > 1:
            return shape[:-1] + (depth,)
        return shape + (depth,)
    return shape[:-1] + (depth,)


def _check_mode(layer: str, output_mode: str, allowed: Sequence[str]) -> None:
    if output_mode not in allowed:
        raise ValueError(f"Invalid value for argument `output_mode` of {layer}. Expected one of "
                         f"{list(allowed)}. Received: output_mode={output_mode!r}")


def iterate_batches(data: Any) -> Iterable[Any]:
    """``adapt()`` data as a sequence of batches: an array is one batch; a list, generator or dataset yields many.
    ``(x, y)`` tuples yield ``x``."""
    if isinstance(data, (np.ndarray, jax.Array)) or np.isscalar(data):
        return [data]
    if hasattr(data, "__getitem__") and hasattr(data, "__len__") and hasattr(data, "num_batches"):  # PyDataset
        data = (data[i] for i in range(len(data)))
    return (b[0] if isinstance(b, tuple) else b for b in data)


# ------------------------------------------------------------------------------------------- Normalization
class Normalization(Layer):
    """Shift and scale inputs to mean 0 and variance 1 per feature: ``(x - mean) / sqrt(var)``.

    ``adapt(data)`` learns ``mean`` and ``variance`` (kept as non-trainable weights, saved in files), or pass
    them; ``invert=True`` maps normalized values back.

    >>> import numpy as np
    >>> layer = Normalization(mean=3.0, variance=2.0)
    >>> [round(float(v), 4) for v in layer(np.array([[1.0], [3.0]], "float32"))[:, 0]]
    [-1.4142, 0.0]
    """

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] | None = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)):
            axis = (int(axis),)
        self.axis = tuple(int(a) for a in axis)
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. Received: "
                             f"mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must have the same shape. "
                                 f"Received: mean shape {np.shape(mean)} and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the number of axes "
                                 f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis {self.axis}")
        self._fixed: tuple[Any, Any] | None = None

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"Normalization '{self.name}': all `axis` values must be in the range [-ndim, ndim). "
                             f"Received inputs with ndim={ndim}, while axis={self.axis}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(f"Normalization '{self.name}': all `axis` values to be kept must have a known "
                                 f"shape. Received axis={self.axis}, inputs.shape={tuple(input_shape)}, with unknown "
                                 f"axis at index {d}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        self._stat_shape = tuple(input_shape[d] for d in self._keep_axis)
        self._build_input_shape = tuple(input_shape)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._stat_shape, initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=self._stat_shape, initializer="ones",
                                                  trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int32", initializer="zeros",
                                         trainable=False)
        else:
            self._fixed = (self._broadcast(self.input_mean, ndim), self._broadcast(self.input_variance, ndim))

    def _broadcast(self, value: Any, ndim: int) -> np.ndarray:
        value = np.asarray(value, dtype=self.dtype)
        if value.ndim:
            expanded = [1] * ndim
            for i in range(1, value.ndim + 1):
                expanded[self._keep_axis[-i]] = value.shape[-i]
            value = value.reshape(expanded)
        return np.broadcast_to(value, self._broadcast_shape)

    def adapt(self, data: Any) -> None:
        """Compute the mean and variance of ``data`` (an array, or an iterable of batches) over the non-kept axes."""
        if self.input_mean is not None:
            raise ValueError(f"Normalization '{self.name}' was given `mean` and `variance`; it cannot be adapted.")
        batches = iter(iterate_batches(data))
        first = next(batches, None)
        if first is None:
            raise ValueError("adapt() received an empty iterable (no batches). Expected at least one batch. Pass a "
                             "non-empty iterable of arrays, e.g. layer.adapt([x]).")
        first = np.asarray(first, dtype="float32")
        if not self.built:
            self._maybe_build(tuple(first.shape))
        else:
            for d in self._keep_axis:
                if first.shape[d] != self._build_input_shape[d]:
                    raise ValueError(f"The layer was built with input_shape={self._build_input_shape}, but adapt() is "
                                     f"being called with data with an incompatible shape, data.shape={first.shape}")
        total_mean = np.zeros(self._stat_shape, "float64")
        total_var = np.zeros(self._stat_shape, "float64")
        total_count = 0
        for batch in itertools.chain([first], batches):
            batch = np.asarray(batch, dtype="float32")
            count = math.prod(batch.shape[d] for d in self._reduce_axis) if self._reduce_axis else 1
            mean = batch.mean(axis=self._reduce_axis, dtype="float64")
            var = batch.var(axis=self._reduce_axis, dtype="float64")
            total_count += count
            w = count / total_count
            new_mean = total_mean * (1 - w) + mean * w
            total_var = (total_var + (total_mean - new_mean) ** 2) * (1 - w) + (var + (mean - new_mean) ** 2) * w
            total_mean = new_mean
        self.adapt_mean.assign(total_mean.astype(self.dtype))
        self.adapt_variance.assign(total_var.astype(self.dtype))

    @property
    def mean(self) -> Any:
        if self._fixed is not None:
            return self._fixed[0]
        return None if not self.built else jnp.reshape(self.adapt_mean.value, self._broadcast_shape)

    @property
    def variance(self) -> Any:
        if self._fixed is not None:
            return self._fixed[1]
        return None if not self.built else jnp.reshape(self.adapt_variance.value, self._broadcast_shape)

    def call(self, inputs: Any) -> Any:
        x = jnp.asarray(inputs, dtype=self.dtype)
        mean, variance = jnp.asarray(self.mean, self.dtype), jnp.asarray(self.variance, self.dtype)
        scale = jnp.maximum(jnp.sqrt(variance), EPSILON)
        return mean + x * scale if self.invert else (x - mean) / scale

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(), "variance": np.array(self.input_variance).tolist()}


# ------------------------------------------------------------------------------------------- Discretization
def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    values = np.sort(np.reshape(values, [-1]))
    step = max(values.size / (1.0 / epsilon), 1)
    boundaries = values[int(step - 1)::int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum = summary[1].cumsum()
    cum_percents = cum / cum[-1]
    new_bins = np.interp(percents, cum_percents, summary[0])
    cum = np.interp(percents, cum_percents, cum)
    new_weights = cum - np.concatenate((np.array([0]), cum[:-1]))
    return np.stack((new_bins, new_weights)).astype("float32")


class Discretization(Layer):
    """Bucket values by ``bin_boundaries`` (``[0, 1, 2]`` -> bins ``(-inf, 0), [0, 1), [1, 2), [2, inf)``), or learn
    ``num_bins`` quantile boundaries with ``adapt``; ``output_mode`` ``int`` / ``one_hot`` / ``multi_hot`` / ``count``.

    >>> import numpy as np
    >>> layer = Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    >>> layer(np.array([[-1.5, 1.0, 3.4, 0.5]], "float32")).tolist()
    [[0, 2, 3, 1]]
    >>> layer = Discretization(num_bins=4, epsilon=0.01)
    >>> layer.adapt(np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]]))
    >>> layer(np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])).tolist()
    [[0, 2, 3, 2], [1, 3, 3, 1]]
    """

    def __init__(self, bin_boundaries: Sequence[float] | None = None, num_bins: int | None = None,
                 epsilon: float = 0.01, output_mode: str = "int", sparse: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if sparse:
            raise ValueError("`sparse=True` cannot be used with backend jax")
        _check_mode("Discretization", output_mode, ("int", "one_hot", "multi_hot", "count"))
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: `num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Both `num_bins` and `bin_boundaries` should not be set. Received: "
                             f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = None if bin_boundaries is None else list(bin_boundaries)
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse
        self.summary = None if self.bin_boundaries else np.array([[], []], dtype="float32")

    @property
    def output_dtype(self) -> str:
        return "int32" if self.output_mode == "int" else self.dtype

    def compute_output_dtype(self, input_dtype: str) -> str:
        return self.output_dtype

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Estimate ``num_bins`` quantile boundaries from ``data`` (an array or an iterable of batches)."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized with `bin_boundaries`, "
                             "use `num_bins` instead.")
        self.summary = np.array([[], []], dtype="float32")
        for i, batch in enumerate(iterate_batches(data)):
            if steps is not None and i >= steps:
                break
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        summary = _summarize(np.array(data).astype("float32"), self.epsilon)
        merged = np.concatenate((summary, self.summary), axis=1)
        merged = np.take(merged, np.argsort(merged[0]), axis=1)
        self.summary = _compress(merged, self.epsilon)

    def finalize_state(self) -> None:
        if self.num_bins is not None:
            self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self) -> None:
        if self.num_bins is not None:
            self.summary = np.array([[], []], dtype="float32")

    def _depth(self) -> int:
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else int(self.num_bins)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        if self.output_mode in ("multi_hot", "count"):
            return shape[:1] + shape[2:] + (self._depth(),) if len(shape) >= 2 else (self._depth(),)
        return encoded_shape(shape, self.output_mode, self._depth())

    def call(self, inputs: Any) -> Any:
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at construction time or call "
                             "`adapt(dataset)` before you can start using the `Discretization` layer.")
        x = jnp.asarray(inputs)
        indices = jnp.digitize(x, jnp.asarray(self.bin_boundaries, x.dtype if "float" in str(x.dtype) else "float32"))
        return encode_categorical(indices, self.output_mode, self._depth(), self.output_dtype)

    def get_config(self) -> dict[str, Any]:
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Discretization:
        config = dict(config)
        config.pop("trainable", None)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = list(boundaries)
            return layer
        return cls(**config)


# ------------------------------------------------------------------------------------------- CategoryEncoding
class CategoryEncoding(Layer):
    """Encode integer ids in ``[0, num_tokens)`` as ``one_hot``, ``multi_hot`` (default) or ``count`` vectors.

    >>> import numpy as np
    >>> CategoryEncoding(num_tokens=4, output_mode="one_hot")(np.array([3, 2, 0, 1])).tolist()[0]
    [0.0, 0.0, 0.0, 1.0]
    >>> CategoryEncoding(num_tokens=4)(np.array([[0, 1], [0, 0], [1, 2], [3, 1]])).tolist()[2]
    [0.0, 1.0, 1.0, 0.0]
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot", sparse: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens is not known "
                             "beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError("CategoryEncoding: `sparse=True` is not supported on the JAX backend lamina uses; "
                             "use sparse=False.")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = sparse

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        if not shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot":
            if shape[-1] != 1 or len(shape) == 1:
                return shape + (self.num_tokens,)
            return shape[:-1] + (self.num_tokens,)
        return shape[:-1] + (self.num_tokens,)

    def call(self, inputs: Any, count_weights: Any = None) -> Any:
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError("`count_weights` is not used when `output_mode` is not `'count'`. Received "
                                 f"`count_weights={count_weights}`.")
            count_weights = jnp.asarray(count_weights, self.dtype)
        return encode_categorical(inputs, self.output_mode, self.num_tokens, self.dtype, count_weights)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}
