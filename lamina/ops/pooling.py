"""Pooling kernels in pure JAX, equal to Keras 3's ``max_pool`` / ``average_pool`` / global pools.

For non-overlapping windows (``strides == pool_size``) with ``valid`` padding (or ``same`` padding that
pads nothing) the input is cropped to whole windows (Keras's floor behaviour), reshaped to
``(..., out, pool, ...)`` and reduced over the pool axes. Everything else uses ``lax.reduce_window``.

Ties and the max-pool gradient: Keras (JAX backend) differentiates ``lax.reduce_window(max)``, whose
gradient is XLA's select-and-scatter: in each window the *first* maximal element in row-major window
order receives the whole gradient. ``jnp.max``'s own gradient would instead split it evenly between
tied elements (common after ReLU, where windows of zeros tie), so the reshape path carries a
``custom_vjp`` that reproduces the first-element rule exactly.

>>> import jax.numpy as jnp
>>> x = jnp.arange(16.0).reshape(1, 4, 4, 1)
>>> max_pool(x, 2)[0, :, :, 0].tolist()
[[5.0, 7.0], [13.0, 15.0]]
>>> avg_pool(x, 2, padding="same")[0, :, :, 0].tolist()
[[2.5, 4.5], [10.5, 12.5]]
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["max_pool", "avg_pool", "average_pool", "global_pool", "pool_output_shape"]

IntOrSeq = int | Sequence[int]


def _tuple(value: IntOrSeq, rank: int, name: str) -> tuple[int, ...]:
    out = (int(value),) * rank if isinstance(value, int) else tuple(int(v) for v in value)
    if len(out) == 1 and rank != 1:
        out = out * rank
    if len(out) != rank or any(v <= 0 for v in out):
        raise ValueError(f"{name} must be an int or {rank} positive ints, received {value!r}.")
    return out


def _spatial_axes(ndim: int, data_format: str | None) -> tuple[int, ...]:
    fmt = "channels_last" if data_format is None else str(data_format).lower()
    if fmt == "channels_last":
        return tuple(range(1, ndim - 1))
    if fmt == "channels_first":
        return tuple(range(2, ndim))
    raise ValueError(f"data_format must be 'channels_last' or 'channels_first', received {data_format!r}.")


def _args(x: jax.Array, pool_size: IntOrSeq, strides: IntOrSeq | None, padding: str, data_format: str | None
          ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], str]:
    if x.ndim < 3:
        raise ValueError(f"pooling needs a (batch, *spatial, channels) input, received shape {x.shape}.")
    axes = _spatial_axes(x.ndim, data_format)
    pool = _tuple(pool_size, len(axes), "pool_size")
    step = pool if strides is None else _tuple(strides, len(axes), "strides")
    mode = str(padding).lower()
    if mode not in ("valid", "same"):
        raise ValueError(f"pooling padding must be 'valid' or 'same', received {padding!r}.")
    return axes, pool, step, mode


def pool_output_shape(spatial: Sequence[int], pool_size: Sequence[int], strides: Sequence[int],
                      padding: str) -> tuple[int, ...]:
    """Keras's pooled spatial sizes: floor for ``valid``, ceil for ``same``.

    >>> pool_output_shape((15, 15), (2, 2), (2, 2), "valid")
    (7, 7)
    """
    if padding == "valid":
        return tuple((n - p) // s + 1 for n, p, s in zip(spatial, pool_size, strides))
    return tuple(-(-n // s) for n, s in zip(spatial, strides))


def _reshape_ok(x: jax.Array, axes: tuple[int, ...], pool: tuple[int, ...], step: tuple[int, ...],
                padding: str) -> bool:
    """Whether the non-overlapping reshape path computes exactly what ``reduce_window`` would."""
    if pool != step or any(x.shape[a] < p for a, p in zip(axes, pool)):
        return False
    # 'same' with non-overlapping windows pads nothing when every axis divides evenly.
    return padding == "valid" or all(x.shape[a] % p == 0 for a, p in zip(axes, pool))


def _windows(x: jax.Array, axes: tuple[int, ...], pool: tuple[int, ...]) -> jax.Array:
    """Crop to whole windows and split each spatial axis ``n`` into ``(n // p, p)``."""
    limits = list(x.shape)
    for a, p in zip(axes, pool):
        limits[a] = (x.shape[a] // p) * p
    if tuple(limits) != x.shape:
        x = lax.slice(x, (0,) * x.ndim, tuple(limits))
    shape: list[int] = []
    for i, n in enumerate(x.shape):
        if i in axes:
            p = pool[axes.index(i)]
            shape += [n // p, p]
        else:
            shape.append(n)
    return x.reshape(shape)


def _window_axes(axes: tuple[int, ...]) -> tuple[int, ...]:
    """Positions of the pool axes in the array ``_windows`` returns."""
    return tuple(a + i + 1 for i, a in enumerate(axes))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _max_pool_reshape(x: jax.Array, axes: tuple[int, ...], pool: tuple[int, ...]) -> jax.Array:
    return jnp.max(_windows(x, axes, pool), axis=_window_axes(axes))


def _max_pool_reshape_fwd(x: jax.Array, axes: tuple[int, ...], pool: tuple[int, ...]
                          ) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    y = _max_pool_reshape(x, axes, pool)
    return y, (x, y)


def _max_pool_reshape_bwd(axes: tuple[int, ...], pool: tuple[int, ...], res: tuple[jax.Array, jax.Array],
                          g: jax.Array) -> tuple[jax.Array]:
    """Route each window's gradient to its first maximal element (XLA select-and-scatter's rule)."""
    x, y = res
    xw = _windows(x, axes, pool)
    waxes = _window_axes(axes)
    zero = jnp.zeros((), g.dtype)
    taken = jnp.zeros(y.shape, bool)
    parts: dict[tuple[int, ...], jax.Array] = {}
    for offsets in itertools.product(*(range(p) for p in pool)):  # row-major window order
        index: list[Any] = [slice(None)] * xw.ndim
        for wa, o in zip(waxes, offsets):
            index[wa] = o
        hit = (xw[tuple(index)] == y) & ~taken
        taken = taken | hit
        parts[offsets] = jnp.where(hit, g, zero)

    # Reassemble (..., out_i, pool_i, ...) by stacking the last spatial axis first.
    def assemble(prefix: tuple[int, ...]) -> jax.Array:
        depth = len(prefix)
        if depth == len(pool):
            return parts[prefix]
        pieces = [assemble(prefix + (o,)) for o in range(pool[depth])]
        # axes[depth] in y's coordinates sits at axes[depth] in the partly assembled array too, because
        # only axes after it have been expanded so far.
        return jnp.stack(pieces, axis=axes[depth] + 1)

    dxw = assemble(())
    cropped = [(x.shape[a] // p) * p for a, p in zip(axes, pool)]
    shape = list(x.shape)
    for a, n in zip(axes, cropped):
        shape[a] = n
    dx = dxw.reshape(shape)
    if tuple(shape) != x.shape:
        dx = jnp.pad(dx, [(0, full - n) for full, n in zip(x.shape, shape)])
    return (dx,)


_max_pool_reshape.defvjp(_max_pool_reshape_fwd, _max_pool_reshape_bwd)


def _window_tuple(ndim: int, axes: tuple[int, ...], values: tuple[int, ...]) -> tuple[int, ...]:
    out = [1] * ndim
    for a, v in zip(axes, values):
        out[a] = v
    return tuple(out)


def max_pool(x: jax.Array, pool_size: IntOrSeq, strides: IntOrSeq | None = None, padding: str = "valid",
             data_format: str = "channels_last", impl: str = "auto") -> jax.Array:
    """Max pooling (1D/2D/3D) equal to ``keras.ops.max_pool`` and its gradient.

    ``strides`` defaults to ``pool_size``. ``impl``: ``"auto"`` (reshape when windows do not overlap and
    nothing is padded, else ``reduce_window``), ``"reshape"`` or ``"reduce_window"``.

    >>> import jax.numpy as jnp
    >>> max_pool(jnp.ones((2, 15, 15, 3)), 2).shape
    (2, 7, 7, 3)
    >>> max_pool(jnp.ones((2, 3, 15, 15)), 3, 2, "same", "channels_first").shape
    (2, 3, 8, 8)
    """
    x = jnp.asarray(x)
    axes, pool, step, mode = _args(x, pool_size, strides, padding, data_format)
    if impl == "reshape" or (impl == "auto" and _reshape_ok(x, axes, pool, step, mode)):
        if not _reshape_ok(x, axes, pool, step, mode):
            raise ValueError("max_pool: impl='reshape' needs strides == pool_size and nothing padded.")
        return _max_pool_reshape(x, axes, pool)
    if impl not in ("auto", "reduce_window"):
        raise ValueError(f"max_pool: impl must be 'auto', 'reshape' or 'reduce_window', received {impl!r}.")
    # A Python scalar init lets lax recognise the max monoid (differentiable reduce_window_max).
    init = -jnp.inf if jnp.issubdtype(x.dtype, jnp.floating) else int(jnp.iinfo(x.dtype).min)
    return lax.reduce_window(x, init, lax.max, _window_tuple(x.ndim, axes, pool),
                             _window_tuple(x.ndim, axes, step), mode.upper())


def avg_pool(x: jax.Array, pool_size: IntOrSeq, strides: IntOrSeq | None = None, padding: str = "valid",
             data_format: str = "channels_last", impl: str = "auto") -> jax.Array:
    """Average pooling equal to ``keras.ops.average_pool``: ``same`` padding does not count padded cells.

    >>> import jax.numpy as jnp
    >>> avg_pool(jnp.ones((1, 5, 2)), 2, 1, "same")[0, :, 0].tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    x = jnp.asarray(x)
    axes, pool, step, mode = _args(x, pool_size, strides, padding, data_format)
    if impl == "reshape" or (impl == "auto" and _reshape_ok(x, axes, pool, step, mode)):
        if not _reshape_ok(x, axes, pool, step, mode):
            raise ValueError("avg_pool: impl='reshape' needs strides == pool_size and nothing padded.")
        total = jnp.sum(_windows(x, axes, pool), axis=_window_axes(axes))
        return total / math.prod(pool)
    if impl not in ("auto", "reduce_window"):
        raise ValueError(f"avg_pool: impl must be 'auto', 'reshape' or 'reduce_window', received {impl!r}.")
    window = _window_tuple(x.ndim, axes, pool)
    stride = _window_tuple(x.ndim, axes, step)
    zero = 0.0 if jnp.issubdtype(x.dtype, jnp.floating) else 0
    total = lax.reduce_window(x, zero, lax.add, window, stride, mode.upper())
    if mode == "valid":
        return total / math.prod(pool)
    ones = jnp.ones([n if w != 1 else 1 for n, w in zip(x.shape, window)], x.dtype)
    counts = lax.reduce_window(ones, zero, lax.add, window, stride, mode.upper())
    return total / counts


average_pool = avg_pool


def global_pool(x: jax.Array, op: str = "mean", data_format: str = "channels_last", keepdims: bool = False
                ) -> jax.Array:
    """``max`` or ``mean``/``avg`` over every spatial axis, as Keras's ``Global*Pooling`` layers.

    Keras computes these with ``ops.max`` / ``ops.mean``; so does this, hence the max gradient splits
    evenly between tied maxima here (unlike windowed max pooling).

    >>> import jax.numpy as jnp
    >>> global_pool(jnp.ones((2, 7, 7, 64)), "max", keepdims=True).shape
    (2, 1, 1, 64)
    """
    x = jnp.asarray(x)
    axes = _spatial_axes(x.ndim, data_format)
    kind = str(op).lower()
    if kind == "max":
        return jnp.max(x, axis=axes, keepdims=keepdims)
    if kind in ("mean", "avg", "average"):
        return jnp.mean(x, axis=axes, keepdims=keepdims)
    raise ValueError(f"global_pool: op must be 'max' or 'mean', received {op!r}.")
