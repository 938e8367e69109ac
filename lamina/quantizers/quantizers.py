"""Quantization arithmetic with Keras 3's names (``keras.quantizers``): int8/int4 abs-max quantizers, int4 packing,
fake quantization with trainable ranges, and the float8 scaling helpers.

>>> import numpy as np
>>> q, scale = abs_max_quantize(np.array([[1.0, -2.0, 0.5]], "float32"), axis=-1)
>>> np.asarray(q).tolist(), round(float(np.asarray(scale)[0, 0]), 3)
([[64, -127, 32]], 63.5)
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

_EPSILON = 1e-7  # Keras's backend.epsilon() default, bound at import as Keras does


def _std_dtype(dtype: Any) -> str:
    return str(jnp.dtype(dtype))


class Quantizer:
    """Base class: ``quantizer(x)`` returns the quantized form of ``x`` (identity here).

    >>> Quantizer().output_dtype
    'int8'
    """

    def __init__(self, output_dtype: str = "int8") -> None:
        self.output_dtype = output_dtype

    def __call__(self, x: Any) -> Any:
        return x

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Quantizer:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{self} does not implement get_config()")


def abs_max_quantize(inputs: Any, axis: Any, value_range: tuple[int, int] = (-127, 127), dtype: str = "int8",
                     epsilon: float = _EPSILON, to_numpy: bool = False) -> tuple[Any, Any]:
    """Symmetric quantization: ``scale = value_range[1] / (max|x| + epsilon)`` along ``axis``, ``q = round(x·scale)``.

    Returns ``(quantized, scale)``; ``to_numpy=True`` computes on the host.

    >>> q, s = abs_max_quantize(np.ones((2, 2), "float32"), axis=0)
    >>> np.asarray(q).dtype.name, np.asarray(s).shape
    ('int8', (1, 2))
    """
    if to_numpy:
        original = _std_dtype(inputs.dtype)
        x = np.asarray(inputs)
        axis_np = tuple(axis) if isinstance(axis, list) else axis
        scale = np.divide(value_range[1], np.add(np.max(np.abs(x), axis=axis_np, keepdims=True), epsilon))
        out = np.clip(np.round(np.multiply(x, scale)), value_range[0], value_range[1]).astype(dtype)
        return jnp.asarray(out), jnp.asarray(scale, dtype=original)
    x = jnp.asarray(inputs)
    axis = tuple(axis) if isinstance(axis, list) else axis
    scale = jnp.divide(value_range[1], jnp.max(jnp.abs(x), axis=axis, keepdims=True) + epsilon).astype(x.dtype)
    out = jnp.clip(jnp.round(x * scale), value_range[0], value_range[1]).astype(dtype)
    return out, scale


def abs_max_quantize_grouped_with_zero_point(inputs: Any, block_size: int, value_range: tuple[int, int] = (-8, 7),
                                             dtype: str = "int8", epsilon: float = _EPSILON,
                                             to_numpy: bool = False) -> tuple[Any, Any, Any]:
    """Asymmetric per-group quantization of a 2-D ``(input_dim, output_dim)`` kernel, groups of ``block_size`` rows.

    Returns ``(quantized, scale, zero_point)``, the last two of shape ``(ceil(input_dim / block_size), output_dim)``.

    >>> q, s, z = abs_max_quantize_grouped_with_zero_point(np.ones((6, 3), "float32"), block_size=4)
    >>> q.shape, s.shape, z.shape
    ((6, 3), (2, 3), (2, 3))
    """
    original = _std_dtype(inputs.dtype)
    xp = np if to_numpy else jnp
    x = xp.asarray(inputs)
    input_dim, output_dim = x.shape
    groups = math.ceil(input_dim / block_size)
    qmin, qmax = value_range
    padded = xp.concatenate([x, xp.zeros((groups * block_size - input_dim, output_dim), x.dtype)], axis=0)
    blocks = padded.reshape(groups, block_size, output_dim)
    low, high = blocks.min(axis=1, keepdims=True), blocks.max(axis=1, keepdims=True)
    if to_numpy:
        scale = (high - low + epsilon) / (qmax - qmin)
    else:  # Keras's tensor path widens an empty range by one on each side
        same = low == high
        low, high = jnp.where(same, low - 1, low), jnp.where(same, high + 1, high)
        scale = (high - low + epsilon) / (qmax - qmin)
        scale = jnp.where(scale <= 0, 1e-8, scale)
    zero = xp.clip(xp.round(-low / scale) + qmin, qmin, qmax)
    out = xp.clip(xp.round(blocks / scale) + zero, qmin, qmax).astype(dtype)
    out = out.reshape(groups * block_size, output_dim)[:input_dim]
    scale, zero = scale[:, 0].astype(original), zero[:, 0].astype("int8")
    return jnp.asarray(out), jnp.asarray(scale), jnp.asarray(zero)


class AbsMaxQuantizer(Quantizer):
    """:func:`abs_max_quantize` as an object: ``AbsMaxQuantizer()(x, axis=-1) -> (quantized, scale)``.

    >>> AbsMaxQuantizer(value_range=(-8, 7)).get_config()["value_range"]
    (-8, 7)
    """

    def __init__(self, axis: Any = None, value_range: tuple[int, int] = (-127, 127), epsilon: float = _EPSILON,
                 output_dtype: str = "int8") -> None:
        super().__init__(output_dtype=output_dtype)
        self.axis = None if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
        self.value_range = value_range
        self.epsilon = epsilon
        if output_dtype == "int8" and (value_range[0] < -128 or value_range[1] > 127):
            raise ValueError("Quantizer with output_dtype='int8' requires value_range to be within the interval "
                             f"[-128, 127]. Received: value_range={value_range}")

    def __call__(self, x: Any, axis: Any = None, to_numpy: bool = False) -> tuple[Any, Any]:
        axis = self.axis if axis is None else axis
        return abs_max_quantize(x, -1 if axis is None else axis, self.value_range, self.output_dtype, self.epsilon,
                                to_numpy)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"value_range": self.value_range, "epsilon": self.epsilon,
                                  "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = self.axis
        return config


def _nudged_range(low: Any, high: Any, num_bits: int, narrow_range: bool) -> tuple[Any, Any, Any, Any]:
    dtype = jnp.result_type(low.dtype, jnp.float32)
    low, high = low.astype(dtype), high.astype(dtype)
    qmax, qmin = (1 << num_bits) - 1, (1 if narrow_range else 0)
    scale = (high - low) / (qmax - qmin)
    inv_scale = (qmax - qmin) / (high - low)
    zero = jnp.round(jnp.clip(qmin - low / scale, qmin, qmax))
    return (qmin - zero) * scale, (qmax - zero) * scale, scale, inv_scale


def fake_quant_with_min_max_vars(inputs: Any, min_vals: Any, max_vals: Any, num_bits: int = 8,
                                 narrow_range: bool = False, axis: int | None = None) -> Any:
    """Quantize to ``num_bits`` levels in ``[min_vals, max_vals]`` (nudged so zero is exact) and dequantize.

    Gradients pass straight through inside the range and flow to ``min_vals``/``max_vals`` outside it, so the
    range can be trained. ``axis`` gives per-channel ranges.

    >>> out = fake_quant_with_min_max_vars(np.array([0.1, 0.5, 2.0], "float32"), 0.0, 1.0, num_bits=2)
    >>> [round(float(v), 4) for v in out]
    [0.0, 0.6667, 1.0]
    """
    x, low, high = jnp.asarray(inputs), jnp.asarray(min_vals), jnp.asarray(max_vals)
    num_bits = int(num_bits)
    if axis is not None:
        axis = axis % x.ndim
    reduce_axes = tuple(i for i in range(x.ndim) if i != axis)

    @jax.custom_vjp
    def fake_quant(x: Any, low: Any, high: Any) -> Any:
        return forward(x, low, high)[0]

    def forward(x: Any, low: Any, high: Any) -> tuple[Any, Any]:
        nmin, nmax, scale, inv_scale = _nudged_range(low, high, num_bits, narrow_range)
        zero = jnp.floor(-nmin * inv_scale + 0.5)
        clamped = jnp.clip(x.astype(nmin.dtype), nmin, nmax) - nmin
        out = (jnp.floor(clamped * inv_scale - zero + 0.5) * scale).astype(x.dtype)
        return out, (x, low, high, nmin, nmax)

    def backward(res: Any, g: Any) -> tuple[Any, Any, Any]:
        x, low, high, nmin, nmax = res
        dx = jnp.where((x >= nmin) & (x <= nmax), g, 0.0).astype(x.dtype)
        axes = reduce_axes if axis is not None else None
        dmin = jnp.sum(jnp.where(x <= nmin, g, 0.0), axis=axes).reshape(low.shape).astype(low.dtype)
        dmax = jnp.sum(jnp.where(x >= nmax, g, 0.0), axis=axes).reshape(high.shape).astype(high.dtype)
        return dx, dmin, dmax

    fake_quant.defvjp(forward, backward)
    return fake_quant(x, low, high)


def compute_float8_scale(amax: Any, scale: Any, dtype_max: Any, margin: int = 0) -> Any:
    """The next float8 scale from the recent absolute maximum ``amax`` (the old ``scale`` where ``amax`` is 0 or
    not finite).

    >>> float(compute_float8_scale(np.float32(2.0), np.float32(1.0), 448.0))
    0.004464285913854837
    """
    amax, scale = jnp.asarray(amax), jnp.asarray(scale)
    old = 1.0 / scale
    factor = (dtype_max / amax) / (2 ** margin)
    factor = jnp.where(amax > 0.0, factor, old)
    factor = jnp.where(jnp.isfinite(amax), factor, old)
    return 1.0 / factor


def compute_float8_amax_history(x: Any, amax_history: Any) -> Any:
    """``amax_history`` rolled left by one with ``max|x|`` written at position 0.

    >>> compute_float8_amax_history(np.array([-3.0, 1.0], "float32"), np.array([1.0, 2.0], "float32")).tolist()
    [3.0, 1.0]
    """
    history = jnp.asarray(amax_history)
    update = jnp.max(jnp.abs(jnp.asarray(x))).astype(history.dtype)
    return jnp.roll(history, -1).at[0].set(update)


def quantize_and_dequantize(inputs: Any, scale: Any, quantized_dtype: str, compute_dtype: str) -> Any:
    """``inputs / scale`` clipped to ``quantized_dtype``'s range, cast to it and back, times ``scale``.

    >>> float(quantize_and_dequantize(np.float32(1.1), np.float32(1.0), "float8_e4m3fn", "float32"))
    1.125
    """
    dtype_max = jnp.asarray(float(ml_dtypes.finfo(quantized_dtype).max), compute_dtype)
    scale = jnp.asarray(scale).astype(compute_dtype)
    x = jnp.clip(jnp.asarray(inputs) / scale, -dtype_max, dtype_max).astype(quantized_dtype)
    return x.astype(compute_dtype) * scale


def pack_int4(arr: Any, axis: int = 0, dtype: str = "int8") -> tuple[Any, tuple[int, ...], int]:
    """Pack int4 values (int8 in ``[-8, 7]``) two per byte along ``axis``: the first row in the low nibble.

    Returns ``(packed, packed_shape, original_length)``.

    >>> packed, shape, n = pack_int4(np.array([[-3, 7], [2, -8], [1, 0]], np.int8))
    >>> np.asarray(packed).tolist(), shape, n
    ([[45, -121], [1, 0]], (2, 2), 3)
    """
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    if _std_dtype(arr.dtype) != dtype:
        raise TypeError(f"Expected {dtype} tensor for packing, got {_std_dtype(arr.dtype)}.")
    x = np.moveaxis(np.asarray(arr), axis % np.ndim(arr), 0)
    n = x.shape[0]
    if n % 2:
        x = np.concatenate([x, np.zeros((1,) + x.shape[1:], x.dtype)], axis=0)
    mask = np.array(0x0F, dtype)
    packed = (np.bitwise_and(x[::2], mask) | np.left_shift(np.bitwise_and(x[1::2], mask), np.array(4, dtype)))
    packed = np.moveaxis(packed.astype(dtype), 0, axis % np.ndim(arr))
    return jnp.asarray(packed), tuple(packed.shape), n


def unpack_int4(packed: Any, orig_len: int, axis: int = 0, dtype: str = "int8") -> Any:
    """Inverse of :func:`pack_int4`: the int8 values in ``[-8, 7]`` (or nibbles ``[0, 15]`` for ``"uint8"``).

    >>> unpack_int4(np.array([[45, -121], [1, 0]], np.int8), 3).tolist()
    [[-3, 7], [2, -8], [1, 0]]
    """
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    if _std_dtype(packed.dtype) not in ("int8", "uint8"):
        raise TypeError(f"Expected int8 or uint8 tensor for unpacking, got {packed.dtype}")
    p = jnp.asarray(packed)
    axis = axis % p.ndim
    p = jnp.moveaxis(p, axis, 0)
    low = jnp.bitwise_and(p, 0x0F)
    high = jnp.bitwise_and(jnp.right_shift(p, 4), 0x0F)
    if dtype == "int8":
        low, high = jnp.bitwise_xor(low, 8) - 8, jnp.bitwise_xor(high, 8) - 8
    out = jnp.stack([low.astype(dtype), high.astype(dtype)], axis=1).reshape((-1,) + p.shape[1:])[:orig_len]
    return jnp.moveaxis(out, 0, axis)
