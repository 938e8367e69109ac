"""``ReversibleEmbedding``: an ``Embedding`` that can also project vectors back onto the vocabulary.

``layer(ids)`` looks ids up as ``Embedding`` does; ``layer(vectors, reverse=True)`` computes logits
``vectors @ embeddings.T`` (``tie_weights=True``, the default: the same table both ways) or
``vectors @ reverse_embeddings`` (``tie_weights=False``: a second ``(output_dim, input_dim)`` table), optionally
soft-capped as ``tanh(logits / cap) * cap``. Language models use it to share the input and output embeddings.

>>> import numpy as np
>>> from lamina import layers
>>> emb = layers.ReversibleEmbedding(10, 4)
>>> vectors = emb(np.array([[1, 2, 3]]))
>>> vectors.shape, emb(vectors, reverse=True).shape
((1, 3, 4), (1, 3, 10))
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lamina.explain import Details, register_explainer
from lamina.graph import KerasTensor
from lamina.layers.embedding import Embedding

Shape = tuple[int | None, ...]


class ReversibleEmbedding(Embedding):
    """``Embedding`` plus ``call(inputs, reverse=True)``: ``(..., output_dim)`` -> ``(..., input_dim)`` logits."""

    def __init__(self, input_dim: int, output_dim: int, tie_weights: bool = True,
                 embeddings_initializer: Any = "uniform", embeddings_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False, reverse_dtype: Any = None,
                 logit_soft_cap: float | None = None, **kwargs: Any) -> None:
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap
        self._reversed = False  # whether the latest call projected back (then its output has no mask)

    def build(self, input_shape: Shape) -> None:
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight((self.output_dim, self.input_dim),
                                                      self.embeddings_initializer, name="reverse_embeddings")

    def call(self, inputs: Any, reverse: bool = False) -> Any:
        self._reversed = bool(reverse)
        if not reverse:
            return super().call(inputs)
        if inputs.shape[-1] != self.output_dim:
            raise ValueError(f"ReversibleEmbedding '{self.name}': reverse=True projects vectors of size "
                             f"{self.output_dim} onto the {self.input_dim} ids, but the input has shape "
                             f"{tuple(inputs.shape)}. Pass the embedded vectors (..., {self.output_dim}).")
        kernel = self.embeddings.value.T if self.tie_weights else self.reverse_embeddings.value
        if self.reverse_dtype is not None:
            inputs, kernel = inputs.astype(self.reverse_dtype), kernel.astype(self.reverse_dtype)
        logits = jnp.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = jnp.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """``ids != 0`` for a forward call with ``mask_zero``; no mask for logits (``reverse=True``)."""
        if self._reversed:
            return None
        return super().compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape: Shape, reverse: bool = False) -> Shape:
        if reverse:
            return tuple(input_shape[:-1]) + (self.input_dim,)
        return tuple(input_shape) + (self.output_dim,)

    def compute_output_spec(self, inputs: Any, reverse: bool = False) -> KerasTensor:
        self._reversed = bool(reverse)
        if not self.built:
            self._maybe_build(tuple(inputs.shape) if not reverse else tuple(inputs.shape[:-1]))
        dtype = (self.reverse_dtype or self.compute_dtype) if reverse else self.compute_dtype
        return KerasTensor(self.compute_output_shape(tuple(inputs.shape), reverse), dtype=str(dtype))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}


@register_explainer(ReversibleEmbedding)
def _explain_reversible(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    vocab, dim = int(layer.input_dim), int(layer.output_dim)
    desc = (f"ReversibleEmbedding looks ids (0 to {vocab - 1}) up in a {vocab}x{dim} table like Embedding; called "
            f"with reverse=True it contracts the last axis ({dim}) of its input with the "
            + ("same table, transposed (tied weights), " if layer.tie_weights else "separate reverse table ")
            + f"giving {vocab} logits per position, shared over all positions.")
    arithmetic = f"{vocab:,} x {dim:,} weights = {vocab * dim:,}"
    if not layer.tie_weights:
        arithmetic = (f"{vocab:,} x {dim:,} weights + {dim:,} x {vocab:,} reverse weights = "
                      f"{2 * vocab * dim:,}")
    return Details(desc, arithmetic=arithmetic)
