"""Wrappers: ``TimeDistributed`` applies a layer to every slice along axis 1 with shared weights.

For ``Dense`` it changes nothing (``Dense`` already acts on the last axis); it matters for layers such as
``Conv2D`` or ``Flatten`` that would otherwise treat the time axis as data.

>>> from lamina import layers
>>> layers.TimeDistributed(layers.Dense(10))(layers.Input((20, 5))).shape
(None, 20, 10)
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lamina.layers.base import InputSpec, Layer, _batchless


class Wrapper(Layer):
    """Base class of layers that hold one inner ``layer``."""

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"{type(self).__name__} wraps a Layer instance, received {layer!r}.")
        super().__init__(**kwargs)
        self.layer = layer

    def get_config(self) -> dict[str, Any]:
        from lamina.layers import serialize

        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Wrapper:
        from lamina.layers import deserialize

        config = dict(config)
        config["layer"] = deserialize(config["layer"])
        return cls(**config)


class TimeDistributed(Wrapper):
    """Apply ``layer`` to each of the ``T`` slices of a ``(batch, T, ...)`` input."""

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)
        self.input_spec = InputSpec(min_ndim=3)

    def _inner_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (None,) + tuple(input_shape[2:])

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.layer._maybe_build(self._inner_shape(input_shape))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        inner = self.layer.compute_output_shape(self._inner_shape(input_shape))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def call(self, inputs: Any, training: bool = False) -> Any:
        batch, steps = inputs.shape[0], inputs.shape[1]
        flat = jnp.reshape(inputs, (batch * steps,) + tuple(inputs.shape[2:]))
        self.layer._check_input_spec(_batchless(tuple(flat.shape)))
        out = self.layer._call_with_training(flat, (), {}, training)
        return jnp.reshape(out, (batch, steps) + tuple(out.shape[1:]))

    def _rank_hint(self, got: int, want: int) -> str:
        return " TimeDistributed needs inputs of shape (batch, time, ...)."
