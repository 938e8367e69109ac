"""Pooling layers: ``MaxPooling1D/2D/3D``, ``AveragePooling1D/2D/3D`` and the global poolings.

>>> from lamina import layers
>>> layers.MaxPooling2D()(layers.Input((28, 28, 32))).shape
(None, 14, 14, 32)
>>> layers.GlobalAveragePooling2D(keepdims=True)(layers.Input((7, 7, 64))).shape
(None, 1, 1, 64)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from lamina.layers.base import InputSpec, Layer, shape_str
from lamina.layers.convolution import _ops_function, conv_output_length, data_format_of, normalize_tuple

Shape = tuple[int | None, ...]


def _window(rank: int, pool: Sequence[int], strides: Sequence[int], data_format: str
            ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if data_format == "channels_last":
        return (1,) + tuple(pool) + (1,), (1,) + tuple(strides) + (1,)
    return (1, 1) + tuple(pool), (1, 1) + tuple(strides)


def max_pool(x: Any, pool_size: Sequence[int], strides: Sequence[int], padding: str, data_format: str) -> Any:
    """Max over windows of ``pool_size`` every ``strides`` (``valid`` or ``same`` padding)."""
    fast = _ops_function("pooling", "max_pool")
    if fast is not None:
        return fast(x, pool_size, strides, padding, data_format)
    rank = x.ndim - 2
    window, step = _window(rank, pool_size, strides, data_format)
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, step, padding.upper())


def avg_pool(x: Any, pool_size: Sequence[int], strides: Sequence[int], padding: str, data_format: str) -> Any:
    """Mean over windows; with ``same`` padding the padded positions are not counted (as in Keras)."""
    fast = _ops_function("pooling", "avg_pool")
    if fast is not None:
        return fast(x, pool_size, strides, padding, data_format)
    rank = x.ndim - 2
    window, step = _window(rank, pool_size, strides, data_format)
    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, step, padding.upper())
    if padding == "valid":
        return total / math.prod(pool_size)
    ones = jnp.ones([d if w != 1 else 1 for d, w in zip(x.shape, window)], x.dtype)
    counts = jax.lax.reduce_window(ones, 0.0, jax.lax.add, window, step, padding.upper())
    return total / counts


def global_pool(x: Any, op: str, data_format: str, keepdims: bool) -> Any:
    """``max`` or ``mean`` over all spatial axes."""
    fast = _ops_function("pooling", "global_pool")
    if fast is not None:
        return fast(x, op, data_format, keepdims)
    axes = tuple(range(1, x.ndim - 1)) if data_format == "channels_last" else tuple(range(2, x.ndim))
    return (jnp.max if op == "max" else jnp.mean)(x, axis=axes, keepdims=keepdims)


class BasePooling(Layer):
    """Windowed pooling shared by the max and average layers."""

    _writes_build_config = False

    _op = "max"

    def __init__(self, rank: int, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        self.rank = rank
        self.pool_size = normalize_tuple(pool_size, rank, "pool_size", who)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, rank, "strides", who)
        padding = str(padding).lower()
        if padding not in ("valid", "same"):
            raise ValueError(f"{who}: padding must be 'valid' or 'same', received {padding!r}.")
        self.padding = padding
        self.data_format = data_format_of(data_format, who)
        self.input_spec = InputSpec(ndim=rank + 2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        last = self.data_format == "channels_last"
        spatial = tuple(input_shape[1:-1]) if last else tuple(input_shape[2:])
        out = tuple(conv_output_length(n, p, self.padding, s) for n, p, s in zip(spatial, self.pool_size,
                                                                                 self.strides))
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': pool_size {self.pool_size} is larger than its input: input "
                f"shape {shape_str(tuple(input_shape))} has spatial size {spatial}, giving output size {out} with "
                "padding='valid'. Use padding='same', a smaller pool_size, or fewer pooling layers.")
        if last:
            return (input_shape[0],) + out + (input_shape[-1],)
        return (input_shape[0], input_shape[1]) + out

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def call(self, inputs: Any) -> Any:
        fn = max_pool if self._op == "max" else avg_pool
        return fn(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": list(self.pool_size), "padding": self.padding,
                "strides": list(self.strides), "data_format": self.data_format}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)


class MaxPooling1D(BasePooling):
    """Max over windows of ``pool_size`` steps (default 2)."""

    _op = "max"

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(1, pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(BasePooling):
    """Max over ``pool_size`` windows (default ``(2, 2)``, strides default to ``pool_size``)."""

    _op = "max"

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(2, pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(BasePooling):
    """Max over ``pool_size`` 3-D windows (default ``(2, 2, 2)``)."""

    _op = "max"

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(3, pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(BasePooling):
    """Mean over windows of ``pool_size`` steps (required, as in Keras 3)."""

    _op = "avg"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(1, pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(BasePooling):
    """Mean over ``pool_size`` windows (required, as in Keras 3)."""

    _op = "avg"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(2, pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(BasePooling):
    """Mean over ``pool_size`` 3-D windows (required, as in Keras 3)."""

    _op = "avg"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(3, pool_size, strides, padding, data_format, **kwargs)


class BaseGlobalPooling(Layer):
    """Max or mean over every spatial axis; ``keepdims=True`` keeps them with size 1."""

    _writes_build_config = False

    _op = "max"
    rank = 2

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format_of(data_format, f"{type(self).__name__} '{self.name}'")
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        last = self.data_format == "channels_last"
        channels = input_shape[-1] if last else input_shape[1]
        if not self.keepdims:
            return (input_shape[0], channels)
        ones = (1,) * self.rank
        return (input_shape[0],) + ones + (channels,) if last else (input_shape[0], channels) + ones

    def call(self, inputs: Any) -> Any:
        return global_pool(inputs, self._op, self.data_format, self.keepdims)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Max over the steps axis: ``(batch, steps, features)`` -> ``(batch, features)``."""

    _op, rank = "max", 1


class GlobalMaxPooling2D(BaseGlobalPooling):
    """Max over height and width: ``(batch, h, w, channels)`` -> ``(batch, channels)``."""

    _op, rank = "max", 2


class GlobalMaxPooling3D(BaseGlobalPooling):
    """Max over the three spatial axes."""

    _op, rank = "max", 3


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Mean over the steps axis; with a ``(batch, steps)`` mask, the mean of the unmasked steps (as Keras)."""

    _op, rank = "mean", 1

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return super().call(inputs)
        last = self.data_format == "channels_last"
        steps = 1 if last else 2
        keep = jnp.expand_dims(jnp.asarray(mask).astype(bool), 2 if last else 1)
        total = jnp.sum(jnp.where(keep, inputs, 0), axis=steps, keepdims=self.keepdims)
        return total / jnp.sum(keep.astype(inputs.dtype), axis=steps, keepdims=self.keepdims)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Mean over height and width: ``(batch, h, w, channels)`` -> ``(batch, channels)``."""

    _op, rank = "mean", 2


class GlobalAveragePooling3D(BaseGlobalPooling):
    """Mean over the three spatial axes."""

    _op, rank = "mean", 3


MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool3D, GlobalAvgPool3D = GlobalMaxPooling3D, GlobalAveragePooling3D


# --------------------------------------------------------------------------------------- adaptive
def adaptive_windows(length: int, size: int) -> list[tuple[int, int]]:
    """The ``size`` windows ``[floor(i * L / size), ceil((i + 1) * L / size))`` that adaptive pooling reduces.

    >>> adaptive_windows(5, 3)
    [(0, 2), (1, 4), (3, 5)]
    """
    return [((i * length) // size, -((-(i + 1) * length) // size)) for i in range(size)]


def adaptive_pool(x: Any, output_size: Sequence[int], op: str, data_format: str) -> Any:
    """Average or max pooling to a fixed ``output_size`` (windows as in PyTorch and Keras), axis by axis."""
    start = 1 if data_format == "channels_last" else 2
    reduce = jnp.mean if op == "mean" else jnp.max
    for offset, size in enumerate(output_size):
        axis = start + offset
        pieces = [reduce(jax.lax.slice_in_dim(x, a, b, axis=axis), axis=axis, keepdims=True)
                  for a, b in adaptive_windows(x.shape[axis], size)]
        x = jnp.concatenate(pieces, axis=axis)
    return x


class BaseAdaptivePooling(Layer):
    """Pool each spatial axis to ``output_size`` entries, whatever the input size."""

    rank = 1
    _op = "mean"

    def __init__(self, output_size: Any, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        rank = self.rank
        if isinstance(output_size, int):
            size = (output_size,) * rank
        elif isinstance(output_size, (tuple, list)) and len(output_size) == rank:
            size = tuple(int(s) for s in output_size)
        else:
            names = {1: "an integer or (length,) tuple", 2: "an integer or (height, width) tuple",
                     3: "an integer or (depth, height, width) tuple"}[rank]
            raise TypeError(f"`output_size` must be {names}. Received: {output_size} of type {type(output_size)}")
        self.output_size = size
        self.data_format = data_format_of(data_format, f"{type(self).__name__} '{self.name}'")
        self.input_spec = InputSpec(ndim=rank + 2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def call(self, inputs: Any) -> Any:
        return adaptive_pool(inputs, self.output_size, self._op, self.data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_size": list(self.output_size), "data_format": self.data_format}


class AdaptiveAveragePooling1D(BaseAdaptivePooling):
    """Average ``(batch, steps, channels)`` down to ``output_size`` steps.

    >>> from lamina import layers
    >>> layers.AdaptiveAveragePooling1D(4)(layers.Input((10, 3))).shape
    (None, 4, 3)
    """

    rank, _op = 1, "mean"


class AdaptiveAveragePooling2D(BaseAdaptivePooling):
    """Average images down to ``output_size`` ``(height, width)``."""

    rank, _op = 2, "mean"


class AdaptiveAveragePooling3D(BaseAdaptivePooling):
    """Average volumes down to ``output_size`` ``(depth, height, width)``."""

    rank, _op = 3, "mean"


class AdaptiveMaxPooling1D(BaseAdaptivePooling):
    """Max over windows of ``(batch, steps, channels)`` giving ``output_size`` steps."""

    rank, _op = 1, "max"


class AdaptiveMaxPooling2D(BaseAdaptivePooling):
    """Max over windows of images giving ``output_size`` ``(height, width)``."""

    rank, _op = 2, "max"


class AdaptiveMaxPooling3D(BaseAdaptivePooling):
    """Max over windows of volumes giving ``output_size`` ``(depth, height, width)``."""

    rank, _op = 3, "max"
