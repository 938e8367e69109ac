"""Attention layers: ``MultiHeadAttention``, ``GroupQueryAttention``, ``Attention`` and ``AdditiveAttention``.

``MultiHeadAttention(num_heads, key_dim)`` projects ``query``, ``key`` and ``value`` with ``EinsumDense``
sublayers named ``query``, ``key``, ``value`` (kernels ``(features, heads, key_dim)``, biases
``(heads, key_dim)``), lets each query position attend over the key positions of ``attention_axes`` (by
default every axis between batch and features), and projects back with ``attention_output`` (kernel
``(heads, value_dim, features)``). Weights and file layout are Keras's, so ``.keras`` and ``.weights.h5``
files load both ways. Masks from ``Embedding(mask_zero=True)`` or ``Masking`` on the query, value and key
combine with ``attention_mask`` (``(batch, T, S)``, true = attend) and ``use_causal_mask``.

>>> from lamina import layers
>>> x = layers.Input((10, 16))
>>> mha = layers.MultiHeadAttention(num_heads=2, key_dim=8)
>>> mha(x, x).shape
(None, 10, 16)
>>> mha.count_params()  # 3 x (16 x 2 x 8 + 2 x 8) + (2 x 8 x 16 + 16)
1088
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from lamina import initializers
from lamina.graph import KerasTensor
from lamina.layers.activation import Softmax
from lamina.layers.base import Layer
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.regularization import Dropout
from lamina.ops.nn import heads_major_attention, heads_major_fits

Shape = tuple[int | None, ...]


def _reg(identifier: Any) -> Any:
    from lamina import regularizers

    return regularizers.get(identifier) if identifier is not None else None


def _ser_reg(value: Any) -> Any:
    from lamina import regularizers

    return regularizers.serialize(value)


def _shape(value: Any) -> Shape | None:
    if value is None:
        return None
    if isinstance(value, KerasTensor):
        return tuple(value.shape)
    return (None,) + tuple(jnp.shape(value))[1:]


# ------------------------------------------------------------------------------------ einsum equations
def _letter(i: int) -> str:
    return string.ascii_lowercase[i]


def projection_equation(free_dims: int, bound_dims: int, output_dims: int) -> tuple[str, str, int]:
    """``(equation, bias_axes, output_rank)`` of a projection: free axes kept, bound axes contracted."""
    inp = "".join(_letter(i) for i in range(free_dims))
    out = inp
    kernel = "".join(_letter(free_dims + i) for i in range(bound_dims))
    inp += kernel
    new = "".join(_letter(free_dims + bound_dims + i) for i in range(output_dims))
    return f"{inp},{kernel + new}->{out + new}", new, len(out + new)


def attention_equations(rank: int, attn_axes: tuple[int, ...]) -> tuple[str, str, int]:
    """Dot-product and combine equations for projected tensors of ``rank`` (last two axes heads, channels)."""
    target = "".join(_letter(i) for i in range(rank))
    batch_dims = tuple(i for i in range(rank) if i not in attn_axes and i != rank - 1)
    offset, source = rank, ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += _letter(offset)
            offset += 1
    product = ("".join(target[i] for i in batch_dims) + "".join(target[i] for i in attn_axes)
               + "".join(source[i] for i in attn_axes))
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def causal_mask(q_len: int, v_len: int) -> Any:
    """``(1, T, S)`` lower-triangular boolean mask: query ``i`` sees keys ``j <= i``."""
    return (jnp.arange(q_len)[:, None] >= jnp.arange(v_len)[None, :])[None]


def sliding_window_mask(q_len: int, v_len: int, window: int) -> Any:
    return (jnp.abs(jnp.arange(q_len)[:, None] - jnp.arange(v_len)[None, :]) < window)[None]


def _as_bool(mask: Any) -> Any:
    mask = jnp.asarray(mask)
    return mask if mask.dtype == jnp.bool_ else mask != 0


class _QueryValueKeyCall(Layer):
    """Calling convention of ``MultiHeadAttention``/``GroupQueryAttention``: ``layer(query, value, key=None,
    ...)``; builds from the three shapes and gives the symbolic shape rule the call's keyword arguments."""

    supports_masking = True
    _context: dict[str, Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = list(args)
        for name in ("query", "value"):
            if len(args) < (1 if name == "query" else 2):
                if name not in kwargs:
                    raise TypeError(f"{type(self).__name__} '{self.name}' needs `{name}`: call it as "
                                    "layer(query, value) (self-attention: layer(x, x)).")
                args.append(kwargs.pop(name))
        key = args[2] if len(args) > 2 else kwargs.get("key")
        shapes = {"query_shape": _shape(args[0]), "value_shape": _shape(args[1])}
        if key is not None:
            shapes["key_shape"] = _shape(key)
        if not self.built:
            self.build_from_shapes(**shapes)
        self._check_attention_mask(shapes, kwargs.get("attention_mask"))
        self._context = {**shapes, "return_attention_scores": bool(kwargs.get("return_attention_scores"))}
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._context = None

    def build_from_shapes(self, query_shape: Shape, value_shape: Shape, key_shape: Shape | None = None) -> None:
        """Build for these shapes (Keras's ``build(query_shape, value_shape, key_shape)``), once."""
        shapes = {"query_shape": tuple(query_shape), "value_shape": tuple(value_shape)}
        if key_shape is not None:
            shapes["key_shape"] = tuple(key_shape)
        self.build(**shapes)
        self._build_shapes_dict = shapes
        self._build_input_shape = shapes["query_shape"]
        self.built = True

    def _check_attention_mask(self, shapes: dict[str, Shape], mask: Any) -> None:
        if mask is None:
            return
        got = tuple(mask.shape) if isinstance(mask, KerasTensor) else tuple(jnp.shape(mask))
        q, v = shapes["query_shape"], shapes["value_shape"]
        want = (q[0],) + tuple(q[1:-1]) + tuple(v[1:-1])
        ok = len(got) <= len(want) and all(g is None or w is None or g in (1, w)
                                           for g, w in zip(got[::-1], want[::-1]))
        if len(q) == 3 and not ok:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': attention_mask has shape {got} but must broadcast to "
                f"(batch, query_length, key_length) = {want} (true where a query position may attend to a key "
                "position). For a padding mask of shape (batch, key_length) use mask[:, None, :]; or give the "
                "inputs a Keras mask (Embedding(mask_zero=True) or Masking) and leave attention_mask unset.")

    def _combined_mask(self, query: Any, value: Any, query_mask: Any, value_mask: Any, key_mask: Any,
                       attention_mask: Any, use_causal_mask: bool, sliding_window: int | None) -> Any:
        """Keras's merge of the input masks, the causal and window masks and ``attention_mask`` (``&``)."""
        auto = None
        if query_mask is not None:
            auto = _as_bool(query_mask)[..., None]
        for m in (value_mask, key_mask):
            if m is not None:
                m = _as_bool(m)[..., None, :]
                auto = m if auto is None else auto & m
        if use_causal_mask:
            m = causal_mask(query.shape[1], value.shape[1])
            auto = m if auto is None else auto & m
        if sliding_window is not None:
            m = sliding_window_mask(query.shape[1], value.shape[1], sliding_window)
            auto = m if auto is None else auto & m
        if attention_mask is not None:
            attention_mask = _as_bool(attention_mask)
        if auto is not None:
            attention_mask = auto if attention_mask is None else attention_mask & auto
        return attention_mask

    def _common_sublayer_kwargs(self) -> dict[str, Any]:
        return {"kernel_regularizer": self._kernel_regularizer, "bias_regularizer": self._bias_regularizer,
                "activity_regularizer": self._activity_regularizer, "dtype": self.dtype,
                "kernel_initializer": initializers.get(initializers.serialize(self._kernel_initializer)),
                "bias_initializer": initializers.get(initializers.serialize(self._bias_initializer))}

    def _track_helpers(self, *helpers: Layer) -> None:
        """Track sublayers held under private names (Keras's file layout lists them as ``_softmax``, ...)."""
        for layer in helpers:
            if all(layer is not t for t in self._tracked_layers):
                self._tracked_layers.append(layer)

    def _fast_attention(self, query: Any, key: Any, value: Any, mask: Any, is_causal: bool, scale: float) -> Any:
        """``jax.nn.dot_product_attention`` on ``(B, T, N, H)`` tensors, as Keras's JAX backend computes it (in
        :func:`~lamina.ops.nn.heads_major_attention`'s faster layout where it fits)."""
        if mask is not None:
            while mask.ndim < 4:
                mask = jnp.expand_dims(mask, -3)
            mask = _as_bool(mask)
        if heads_major_fits(query, key, mask=mask):
            return heads_major_attention(query, key, value, mask=mask, scale=scale, is_causal=is_causal)
        return jax.nn.dot_product_attention(query, key, value, mask=mask, scale=scale, is_causal=is_causal,
                                            implementation="xla")


def _scores_heads_major(key: Any, query: Any) -> Any:
    """``einsum("aecd,abcd->acbe", key, query)`` (``(B, S, N, H)``, ``(B, T, N, H)`` -> ``(B, N, T, S)``)
    with the heads moved before the positions first: XLA's CPU backend runs the batched product faster so
    (see :func:`~lamina.ops.nn.heads_major_attention`)."""
    q, k = jnp.transpose(query, (0, 2, 1, 3)), jnp.transpose(key, (0, 2, 1, 3))
    return jax.lax.dot_general(q, k, (((3,), (3,)), ((0, 1), (0, 1))))


def _combine_heads_major(probs: Any, value: Any) -> Any:
    """``einsum("acbe,aecd->abcd", probs, value)`` (``(B, N, T, S)``, ``(B, S, N, H)`` -> ``(B, T, N, H)``)."""
    out = jax.lax.dot_general(probs, jnp.transpose(value, (0, 2, 1, 3)), (((3,), (2,)), ((0, 1), (0, 1))))
    return jnp.transpose(out, (0, 2, 1, 3))


# ----------------------------------------------------------------------------------- MultiHeadAttention
class MultiHeadAttention(_QueryValueKeyCall):
    """Multi-head (scaled dot-product) attention, Keras 3's ``MultiHeadAttention``.

    Call ``layer(query, value, key=None, attention_mask=None, return_attention_scores=False, training=None,
    use_causal_mask=False)``; the output has the query's shape (last axis ``output_shape`` if given).
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: Any = None, attention_axes: Any = None,
                 sliding_window: int | None = None, flash_attention: bool | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs: Any) -> None:
        if not isinstance(num_heads, int) or num_heads <= 0:
            raise ValueError("Received an invalid value for argument `num_heads`, expected a positive integer. "
                             f"Received: num_heads={num_heads}")
        if not isinstance(key_dim, int) or key_dim <= 0:
            raise ValueError("Received an invalid value for argument `key_dim`, expected a positive integer. "
                             f"Received: key_dim={key_dim}")
        if value_dim is not None and (not isinstance(value_dim, int) or value_dim <= 0):
            raise ValueError("Received an invalid value for argument `value_dim`, expected a positive integer or "
                             f"`None`. Received: value_dim={value_dim}")
        super().__init__(**kwargs)
        self._num_heads, self._key_dim = num_heads, key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = float(dropout)
        self._use_bias = bool(use_bias)
        self._use_gate = bool(use_gate)
        if output_shape:
            output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self._output_shape = output_shape or None
        if flash_attention and self._dropout > 0.0:
            raise ValueError("Dropout is not supported when flash attention is enabled. Please set dropout to 0.0 "
                             "to use flash attention.")
        self._flash_attention = flash_attention
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = _reg(kernel_regularizer)
        self._bias_regularizer = _reg(bias_regularizer)
        self._activity_regularizer = _reg(activity_regularizer)
        self._kernel_constraint, self._bias_constraint = kernel_constraint, bias_constraint
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"`attention_axes` must be an int, list, or tuple.Received: "
                             f"attention_axes={attention_axes}")
        self._attention_axes = tuple(attention_axes) if attention_axes else None
        if sliding_window is not None and (not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError(f"`sliding_window` must be `None` or a positive integer. Received: "
                             f"sliding_window={sliding_window}")
        self._sliding_window = sliding_window
        self.seed = seed
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(key_dim))

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)

    def build(self, query_shape: Shape, value_shape: Shape, key_shape: Shape | None = None) -> None:
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be equal. Received: "
                             f"value_shape={value_shape} and key_shape={key_shape}")

        def proj(rank: int, dims: Sequence[int], name: str, activation: Any = None) -> EinsumDense:
            equation, bias_axes, out_rank = projection_equation(rank - 1, 1, 2)
            return EinsumDense(equation, output_shape=[None] * (out_rank - 1 - len(dims)) + list(dims),
                               bias_axes=bias_axes if self._use_bias else None, name=name, activation=activation,
                               **self._common_sublayer_kwargs())

        self.query_dense = proj(len(query_shape), [self._num_heads, self._key_dim], "query")
        self.query_dense._maybe_build(tuple(query_shape))
        self.key_dense = proj(len(key_shape), [self._num_heads, self._key_dim], "key")
        self.key_dense._maybe_build(tuple(key_shape))
        if self._use_gate:
            self.gate_dense = proj(len(query_shape), [self._num_heads, self._value_dim], "gate", "sigmoid")
            self.gate_dense._maybe_build(tuple(query_shape))
        self.value_dense = proj(len(value_shape), [self._num_heads, self._value_dim], "value")
        self.value_dense._maybe_build(tuple(value_shape))
        rank = len(value_shape) + 1
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(a if a >= 0 else (rank - 1) + a for a in self._attention_axes)
        self._dot_product_equation, self._combine_equation, scores_rank = attention_equations(
            rank, self._attention_axes)
        norm_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))
        self._softmax = Softmax(axis=norm_axes, dtype=self.dtype)
        self._dropout_layer = Dropout(rate=self._dropout, dtype=self.dtype, seed=self.seed)
        self._track_helpers(self._softmax, self._dropout_layer)
        out_dims = list(self._output_shape) if self._output_shape else [query_shape[-1]]
        equation, bias_axes, out_rank = projection_equation(len(query_shape) - 1, 2, len(out_dims))
        self.output_dense = EinsumDense(equation, output_shape=[None] * (out_rank - 1 - len(out_dims)) + out_dims,
                                        bias_axes=bias_axes if self._use_bias else None, name="attention_output",
                                        **self._common_sublayer_kwargs())
        dense_in = list(self.query_dense.compute_output_shape(tuple(query_shape)))
        dense_in[-1] = self._value_dim
        self.output_dense._maybe_build(tuple(dense_in))

    def compute_output_shape(self, query_shape: Shape, value_shape: Shape | None = None,
                             key_shape: Shape | None = None) -> Any:
        ctx = self._context or {}
        value_shape = tuple(value_shape or ctx.get("value_shape") or query_shape)
        key_shape = tuple(key_shape or ctx.get("key_shape") or value_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be equal. Received: "
                             f"value_shape={value_shape} and key_shape={key_shape}")
        query_shape = tuple(query_shape)
        out = query_shape[:-1] + tuple(self._output_shape) if self._output_shape else query_shape
        if ctx.get("return_attention_scores"):
            return [out, (query_shape[0], self._num_heads, query_shape[1], value_shape[1])]
        return out

    def call(self, query: Any, value: Any, key: Any = None, query_mask: Any = None, value_mask: Any = None,
             key_mask: Any = None, attention_mask: Any = None, return_attention_scores: bool = False,
             training: bool = False, use_causal_mask: bool = False) -> Any:
        if key is None:
            key = value
        causal_only = (use_causal_mask and query_mask is None and value_mask is None and key_mask is None
                       and attention_mask is None and self._sliding_window is None)
        if not causal_only:
            attention_mask = self._combined_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                                                 use_causal_mask, self._sliding_window)
        gate = self.gate_dense.call(query) if self._use_gate else None
        q = self.query_dense.call(query)
        k = self.key_dense.call(key)
        v = self.value_dense.call(value)
        out, scores = self._compute_attention(q, k, v, attention_mask, training, return_attention_scores,
                                              causal_only)
        if gate is not None:
            out = out * gate
        out = self.output_dense.call(out)
        return (out, scores) if return_attention_scores else out

    def _compute_attention(self, query: Any, key: Any, value: Any, attention_mask: Any, training: bool,
                           return_attention_scores: bool, causal_only: bool) -> tuple[Any, Any]:
        if not (self._dropout > 0.0 or return_attention_scores or query.ndim != 4):
            return self._fast_attention(query, key, value, attention_mask, causal_only,
                                        self._inverse_sqrt_key_dim), None
        if causal_only:
            attention_mask = causal_mask(query.shape[1], value.shape[1])
        query = query * jnp.asarray(self._inverse_sqrt_key_dim, query.dtype)
        heads_major = query.ndim == 4 and self._attention_axes == (1,)
        scores = (_scores_heads_major(key, query) if heads_major
                  else jnp.einsum(self._dot_product_equation, key, query))
        if attention_mask is not None:
            axis = -len(self._attention_axes) * 2 - 1
            for _ in range(scores.ndim - attention_mask.ndim):
                attention_mask = jnp.expand_dims(attention_mask, axis)
        scores = self._softmax.call(scores, mask=attention_mask)
        dropped = self._dropout_layer.call(scores, training=training) if self._dropout > 0.0 else scores
        if heads_major:
            return _combine_heads_major(dropped, value), scores
        return jnp.einsum(self._combine_equation, dropped, value), scores

    def get_config(self) -> dict[str, Any]:
        base = super().get_config()
        base.pop("activity_regularizer", None)
        return {**base, "num_heads": self._num_heads, "key_dim": self._key_dim, "value_dim": self._value_dim,
                "dropout": self._dropout, "use_bias": self._use_bias, "use_gate": self._use_gate,
                "output_shape": list(self._output_shape) if self._output_shape else None,
                "attention_axes": list(self._attention_axes) if self._attention_axes is not None else None,
                "sliding_window": self._sliding_window,
                "kernel_initializer": initializers.serialize(self._kernel_initializer),
                "bias_initializer": initializers.serialize(self._bias_initializer),
                "kernel_regularizer": _ser_reg(self._kernel_regularizer),
                "bias_regularizer": _ser_reg(self._bias_regularizer),
                "activity_regularizer": _ser_reg(self._activity_regularizer), "kernel_constraint": None,
                "bias_constraint": None, "seed": self.seed}


# --------------------------------------------------------------------------------- GroupQueryAttention
class GroupedQueryAttention(_QueryValueKeyCall):
    """Grouped-query attention: ``num_query_heads`` query heads share ``num_key_value_heads`` key/value heads
    (each key/value head serves ``num_query_heads // num_key_value_heads`` query heads). Exported as
    ``GroupQueryAttention`` too (Keras's public name; files and auto names use the class name).

    >>> from lamina import layers
    >>> x = layers.Input((10, 16))
    >>> gqa = layers.GroupQueryAttention(head_dim=8, num_query_heads=4, num_key_value_heads=2)
    >>> gqa(x, x).shape, gqa.name
    ((None, 10, 16), 'grouped_query_attention')
    """

    _keras_class_name = "GroupQueryAttention"  # the name Keras writes in configs

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int, dropout: float = 0.0,
                 use_bias: bool = True, sliding_window: int | None = None, flash_attention: bool | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.head_dim, self.num_query_heads, self.num_key_value_heads = head_dim, num_query_heads, num_key_value_heads
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError("`num_query_heads` must be divisible by `num_key_value_heads`.")
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.use_gate = bool(use_gate)
        if sliding_window is not None and (not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError(f"`sliding_window` must be `None` or a positive integer. Received: "
                             f"sliding_window={sliding_window}")
        self.sliding_window = sliding_window
        self._flash_attention = flash_attention
        self.kernel_initializer = self._kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = self._bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = self._kernel_regularizer = _reg(kernel_regularizer)
        self.bias_regularizer = self._bias_regularizer = _reg(bias_regularizer)
        self._activity_regularizer = _reg(activity_regularizer)
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.seed = seed
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(head_dim))

    def build(self, query_shape: Shape, value_shape: Shape, key_shape: Shape | None = None) -> None:
        key_shape = value_shape if key_shape is None else key_shape
        self.feature_dim = query_shape[-1]
        common = self._common_sublayer_kwargs
        bias = (lambda axes: axes if self.use_bias else None)
        self._query_dense = EinsumDense("bqm,muh->bquh", output_shape=(None, self.num_query_heads, self.head_dim),
                                       bias_axes=bias("uh"), name="query", **common())
        self._track_helpers(self._query_dense)  # Keras keeps them private: file keys _query_dense, ...
        self._query_dense._maybe_build(tuple(query_shape))
        self._key_dense = EinsumDense("bkm,mvh->bkvh", output_shape=(None, self.num_key_value_heads, self.head_dim),
                                     bias_axes=bias("vh"), name="key", **common())
        self._track_helpers(self._key_dense)
        self._key_dense._maybe_build(tuple(key_shape))
        if self.use_gate:
            self._gate_dense = EinsumDense("bqm,muh->bquh", output_shape=(None, self.num_query_heads, self.head_dim),
                                          bias_axes=bias("uh"), activation="sigmoid", name="gate", **common())
            self._track_helpers(self._gate_dense)
            self._gate_dense._maybe_build(tuple(query_shape))
        self._value_dense = EinsumDense("bkm,mvh->bkvh",
                                       output_shape=(None, self.num_key_value_heads, self.head_dim),
                                       bias_axes=bias("vh"), name="value", **common())
        self._track_helpers(self._value_dense)
        self._value_dense._maybe_build(tuple(value_shape))
        self._softmax = Softmax(axis=-1, dtype=self.dtype)
        self._dropout_layer = Dropout(rate=self.dropout, dtype=self.dtype, seed=self.seed)
        self._track_helpers(self._softmax, self._dropout_layer)
        self._output_dense = EinsumDense("bquh,uhm->bqm", output_shape=(None, self.feature_dim),
                                        bias_axes=bias("m"), name="attention_output", **common())
        self._track_helpers(self._output_dense)
        self._output_dense._maybe_build((None, None, self.num_query_heads, self.head_dim))

    def compute_output_shape(self, query_shape: Shape, value_shape: Shape | None = None,
                             key_shape: Shape | None = None) -> Any:
        ctx = self._context or {}
        value_shape = tuple(value_shape or ctx.get("value_shape") or query_shape)
        if query_shape[-1] != value_shape[-1]:
            raise ValueError(f"The last dimension of `query_shape` and `value_shape` must be equal, but are "
                             f"{query_shape[-1]}, {value_shape[-1]}. Received: query_shape={query_shape}, "
                             f"value_shape={value_shape}")
        if ctx.get("return_attention_scores"):
            return [tuple(query_shape), (query_shape[0], self.num_query_heads, query_shape[1], value_shape[1])]
        return tuple(query_shape)

    def call(self, query: Any, value: Any, key: Any = None, query_mask: Any = None, value_mask: Any = None,
             key_mask: Any = None, attention_mask: Any = None, return_attention_scores: bool = False,
             training: bool = False, use_causal_mask: bool = False) -> Any:
        if key is None:
            key = value
        causal_only = (use_causal_mask and query_mask is None and value_mask is None and key_mask is None
                       and attention_mask is None and self.sliding_window is None)
        if not causal_only:
            attention_mask = self._combined_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                                                 use_causal_mask, self.sliding_window)
        gate = self._gate_dense.call(query) if self.use_gate else None
        q = self._query_dense.call(query)
        k = jnp.repeat(self._key_dense.call(key), self.num_repeats, axis=2)
        v = jnp.repeat(self._value_dense.call(value), self.num_repeats, axis=2)
        if not (self.dropout > 0.0 or return_attention_scores):
            out, scores = self._fast_attention(q, k, v, attention_mask, causal_only,
                                               self._inverse_sqrt_head_dim), None
        else:
            if causal_only:
                attention_mask = causal_mask(q.shape[1], v.shape[1])
            q = q * jnp.asarray(self._inverse_sqrt_head_dim, q.dtype)
            scores = jnp.einsum("bquh,bkuh->buqk", q, k)
            if attention_mask is not None:
                for _ in range(scores.ndim - attention_mask.ndim):
                    attention_mask = jnp.expand_dims(attention_mask, -3)
            scores = self._softmax.call(scores, mask=attention_mask)
            dropped = self._dropout_layer.call(scores, training=training) if self.dropout > 0.0 else scores
            out = jnp.einsum("buqk,bkuh->bquh", dropped, v)
        if gate is not None:
            out = out * gate
        out = self._output_dense.call(out)
        return (out, scores) if return_attention_scores else out

    def get_config(self) -> dict[str, Any]:
        base = super().get_config()
        base.pop("activity_regularizer", None)
        return {**base, "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias,
                "use_gate": self.use_gate, "sliding_window": self.sliding_window, "dropout": self.dropout,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _ser_reg(self.kernel_regularizer),
                "bias_regularizer": _ser_reg(self.bias_regularizer),
                "activity_regularizer": _ser_reg(self._activity_regularizer), "kernel_constraint": None,
                "bias_constraint": None, "seed": self.seed}


# ------------------------------------------------------------------------------ Attention (Luong, Bahdanau)
class Attention(Layer):
    """Dot-product (Luong) attention over ``[query, value]`` or ``[query, value, key]``:
    ``softmax(query @ key^T) @ value`` (``score_mode="concat"``: ``sum(tanh(query + key))`` scores).

    >>> import numpy as np
    >>> q, v = np.ones((1, 2, 3), "float32"), np.ones((1, 4, 3), "float32")
    >>> Attention()([q, v]).shape
    (1, 2, 3)
    """

    supports_masking = True
    _context: dict[str, Any] | None = None

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        if score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. "
                             f"Received: score_mode={score_mode}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._context = {"return_attention_scores": bool(kwargs.get("return_attention_scores"))}
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._context = None

    def _validate(self, inputs: Any, mask: Any = None) -> None:
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, value] or "
                             f"[query, value, key]. Received: inputs={inputs}.")
        if len(inputs) < 2 or len(inputs) > 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely [query, value] or "
                             f"[query, value, key]. Received length: {len(inputs)}.")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{name} layer mask must be a list of length 2 or 3, namely [query_mask, value_mask]. "
                             f"Received: mask={mask}.")

    def build(self, input_shape: Any) -> None:
        self._validate(input_shape)
        self.scale = self.add_weight((), "ones", name="scale") if self.use_scale else None
        self.concat_score_weight = (self.add_weight((), "ones", name="concat_score_weight")
                                    if self.score_mode == "concat" else None)

    def _calculate_scores(self, query: Any, key: Any) -> Any:
        if self.score_mode == "dot":
            scores = jnp.matmul(query, jnp.swapaxes(key, -2, -1))
            return scores * self.scale.value if self.scale is not None else scores
        q, k = jnp.expand_dims(query, -2), jnp.expand_dims(key, -3)
        inner = q + k if self.scale is None else self.scale.value * (q + k)
        return self.concat_score_weight.value * jnp.sum(jnp.tanh(inner), axis=-1)

    def call(self, inputs: Any, mask: Any = None, training: bool = False, return_attention_scores: bool = False,
             use_causal_mask: bool = False) -> Any:
        self._validate(inputs, mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        scores = self._calculate_scores(q, k)
        scores_mask = None if v_mask is None else _as_bool(v_mask)
        if use_causal_mask:
            causal = causal_mask(scores.shape[-2], scores.shape[-1])
            scores_mask = causal if scores_mask is None else jnp.expand_dims(scores_mask, -2) & causal
        if scores_mask is not None:
            if scores_mask.ndim == 2:
                scores_mask = jnp.expand_dims(scores_mask, -2)
            big = 65504.0 if scores.dtype == jnp.float16 else 1.0e9
            scores = jnp.where(scores_mask, scores, scores - big)
        weights = jax.nn.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = Dropout(self.dropout, seed=self.seed).call(weights, training=True)
        out = jnp.matmul(weights, v)
        if q_mask is not None:
            out = jnp.where(_as_bool(q_mask)[..., None], out, 0)
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None or mask[0] is None:
            return None
        return jnp.asarray(mask[0])

    def compute_output_shape(self, input_shape: Any) -> Any:
        query, value = tuple(input_shape[0]), tuple(input_shape[1])
        key = tuple(input_shape[2]) if len(input_shape) > 2 else value
        out = query[:-1] + (value[-1],)
        if (self._context or {}).get("return_attention_scores"):
            return [out, query[:-1] + (key[-2],)]
        return out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: scores ``sum(scale * tanh(query + key), -1)`` with a learned ``scale``
    of shape ``(dim,)``."""

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape: Any) -> None:
        self._validate(input_shape)
        dim = input_shape[0][-1]
        self.scale = self.add_weight((dim,), "glorot_uniform", name="scale") if self.use_scale else None

    def _calculate_scores(self, query: Any, key: Any) -> Any:
        scale = self.scale.value if self.scale is not None else 1.0
        return jnp.sum(scale * jnp.tanh(jnp.expand_dims(query, -2) + jnp.expand_dims(key, -3)), axis=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config


GroupQueryAttention = GroupedQueryAttention
