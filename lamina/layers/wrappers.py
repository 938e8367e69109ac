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

    supports_masking = True

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


class Bidirectional(Wrapper):
    """Run a recurrent ``layer`` forwards and a copy backwards, then merge (``concat``, ``sum``, ``mul``,
    ``ave`` or ``None`` for a list).

    >>> from lamina import layers
    >>> layers.Bidirectional(layers.LSTM(4))(layers.Input((5, 3))).shape
    (None, 8)
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Layer | None = None, **kwargs: Any) -> None:
        from lamina.layers import deserialize, serialize

        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ValueError(f"Bidirectional: merge_mode must be one of 'sum', 'mul', 'ave', 'concat' or None, "
                             f"received {merge_mode!r}.")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: backward_layer must be a Layer, received {backward_layer!r}.")
        super().__init__(layer, **kwargs)
        config = serialize(layer)
        config.pop("build_config", None)
        config["config"]["name"] = "forward_" + _removeprefix(layer.name, "forward_")
        self.forward_layer = deserialize(config)
        if backward_layer is None:
            config = serialize(layer)
            config.pop("build_config", None)
            config["config"]["go_backwards"] = not layer.go_backwards
            config["config"]["name"] = "backward_" + _removeprefix(layer.name, "backward_")
            backward_layer = deserialize(config)
        self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError(f"Bidirectional '{self.name}': the forward and backward layers must have different "
                             "go_backwards values.")
        for attr in ("return_sequences", "return_state"):
            if getattr(self.forward_layer, attr) != getattr(self.backward_layer, attr):
                raise ValueError(f"Bidirectional '{self.name}': forward and backward layers must have the same "
                                 f"{attr}.")
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self._initial_weights = weights
        self.input_spec = InputSpec(ndim=getattr(layer.input_spec, "ndim", None) or 3)  # 5 for ConvLSTM2D
        if layer.built and layer._build_input_shape is not None:  # e.g. rebuilt from a config with build_config
            self._maybe_build(layer._build_input_shape)

    def _sublayers(self) -> list[Layer]:
        return [self.forward_layer, self.backward_layer]

    supports_masking = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) > 1:  # Keras's call(sequences, initial_state=None, mask=None, training=None)
            kwargs["initial_state"], args = args[1], args[:1]
        return super().__call__(*args, **kwargs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if not self.return_state:
            return [out, out] if self.merge_mode is None else out
        heads = [out, out] if self.merge_mode is None else [out]
        return heads + [None] * (2 * len(self.forward_layer.state_size))

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = self.forward_layer.compute_output_shape(input_shape)
        states: list[Any] = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            out: Any = tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)
        elif self.merge_mode is None:
            out = [tuple(shape), tuple(shape)]
        else:
            out = tuple(shape)
        if self.return_state:
            head = out if self.merge_mode is None else [out]
            return list(head) + states + states
        return out

    def call(self, inputs: Any, mask: Any = None, training: bool = False, initial_state: Any = None) -> Any:
        fw_state = bw_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fw_state, bw_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer.call(inputs, mask=mask, training=training, initial_state=fw_state)
        y_rev = self.backward_layer.call(inputs, mask=mask, training=training, initial_state=bw_state)
        states: list[Any] = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            out: Any = jnp.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "ave":
            out = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            out = y * y_rev
        else:
            out = [y, y_rev]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def get_config(self) -> dict[str, Any]:
        from lamina.layers import serialize

        base = Layer.get_config(self)
        return {**base, "merge_mode": self.merge_mode, "layer": serialize(self.forward_layer),
                "backward_layer": serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        from lamina.layers import deserialize

        config = dict(config)
        config["layer"] = deserialize(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize(config["backward_layer"])
        return cls(**config)


def _removeprefix(text: str, prefix: str) -> str:
    return text[len(prefix):] if text.startswith(prefix) else text
