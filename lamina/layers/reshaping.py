"""Reshaping layers: ``Flatten`` and ``Reshape``.

>>> from lamina import layers
>>> layers.Flatten()(layers.Input((28, 28))).shape
(None, 784)
>>> layers.Reshape((-1, 4))(layers.Input((2, 6))).shape
(None, 3, 4)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from lamina import backend
from lamina.layers.base import Layer, shape_str


class Flatten(Layer):
    """Flatten everything but the batch axis: ``(None, 28, 28)`` -> ``(None, 784)``."""

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)

    def call(self, inputs: Any) -> Any:
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = jnp.moveaxis(inputs, 1, -1)
        return jnp.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (one entry may be ``-1``); the batch axis is kept."""

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(target_shape, int):
            target_shape = (target_shape,)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape '{self.name}': at most one -1 is allowed in target_shape, received "
                             f"{self.target_shape}.")
        if any(d == 0 or d < -1 for d in self.target_shape):
            raise ValueError(f"Reshape '{self.name}': target_shape sizes must be positive (or one -1), "
                             f"received {self.target_shape}.")

    def _resolve(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return tuple(None if d == -1 else d for d in self.target_shape)
        total = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        fix = (f" Choose a target_shape whose sizes multiply to {total}"
               + (f", e.g. ({total},) or use -1 for one axis." if -1 not in self.target_shape else "."))
        if -1 in self.target_shape:
            if total % known:
                raise ValueError(
                    f"Reshape '{self.name}': cannot reshape input of shape {shape_str(tuple(input_shape))} "
                    f"({total} values per sample) into target_shape {self.target_shape}: {total} is not "
                    f"divisible by {known}.{fix}")
            return tuple(total // known if d == -1 else d for d in self.target_shape)
        if known != total:
            raise ValueError(
                f"Reshape '{self.name}': cannot reshape input of shape {shape_str(tuple(input_shape))} "
                f"({total} values per sample) into target_shape {self.target_shape} ({known} values).{fix}")
        return self.target_shape

    def build(self, input_shape: Sequence[int | None]) -> None:
        self._resolve(input_shape)

    def call(self, inputs: Any) -> Any:
        target = self._resolve((None,) + tuple(inputs.shape[1:]))
        return jnp.reshape(inputs, (inputs.shape[0],) + tuple(-1 if d is None else d for d in target))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": self.target_shape}
