"""``Embedding``: integer ids ``(batch, ...)`` -> vectors ``(batch, ..., output_dim)``.

With ``mask_zero=True`` id 0 is padding: ``compute_mask`` gives ``ids != 0``, which recurrent layers use
to skip padded steps (pass it as ``mask=`` or let a following recurrent layer pick it up).

>>> import numpy as np
>>> from lamina import layers
>>> emb = layers.Embedding(10, 4, mask_zero=True)
>>> emb(np.array([[1, 2, 0]])).shape
(1, 3, 4)
>>> emb.compute_mask(np.array([[1, 2, 0]])).tolist()
[[True, True, False]]
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lamina import initializers
from lamina.layers.base import Layer

Shape = tuple[int | None, ...]


class Embedding(Layer):
    """A trainable lookup table ``embeddings`` of shape ``(input_dim, output_dim)``."""

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None, mask_zero: bool = False,
                 weights: Any = None, lora_rank: int | None = None, input_length: int | None = None,
                 activity_regularizer: Any = None, **kwargs: Any) -> None:
        from lamina import regularizers

        super().__init__(activity_regularizer=regularizers.get(activity_regularizer), **kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Embedding '{self.name}': {arg} must be a positive integer, received {value!r}.")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.input_length = input_length
        self._initial_weights = weights
        if input_length is not None and self._batch_input_shape is None:
            self._batch_input_shape = (None, int(input_length))

    def build(self, input_shape: Shape) -> None:
        self.embeddings = self.add_weight((self.input_dim, self.output_dim), self.embeddings_initializer,
                                          name="embeddings", regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs: Any) -> Any:
        ids = inputs.astype(jnp.int32) if inputs.dtype != jnp.int32 else inputs
        return jnp.take(self.embeddings.value, ids, axis=0, mode="clip")

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """``inputs != 0`` when ``mask_zero``, else ``None``."""
        if not self.mask_zero:
            return None
        return jnp.not_equal(jnp.asarray(inputs), 0)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape) + (self.output_dim,)

    def compute_output_dtype(self, input_dtype: str) -> str:
        return self.dtype

    def get_config(self) -> dict[str, Any]:
        from lamina import regularizers

        base = super().get_config()
        base.pop("activity_regularizer", None)
        return {**base, "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "embeddings_constraint": None, "mask_zero": self.mask_zero, "quantization_config": None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Embedding:
        config = {k: v for k, v in config.items() if k not in ("quantization_config", "lora_alpha")}
        return cls(**config)
