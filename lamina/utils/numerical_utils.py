"""Label and vector helpers: ``to_categorical``, ``normalize``.

>>> to_categorical([0, 2], num_classes=3).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
>>> normalize(np.array([[3.0, 4.0]])).tolist()
[[0.6, 0.8]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["to_categorical", "normalize"]


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer labels (float64 NumPy output, as Keras 3; a trailing axis of 1 is squeezed)."""
    y = np.asarray(x, dtype="int64")
    if y.ndim >= 1 and y.shape[-1] == 1 and y.ndim > 1:
        y = y.reshape(y.shape[:-1])
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical expects non-negative integer labels, found {int(y.min())}.")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and y.max() >= num_classes:
        raise ValueError(f"to_categorical: label {int(y.max())} does not fit num_classes={num_classes}.")
    out = np.zeros(y.shape + (num_classes,))
    np.put_along_axis(out, y[..., None], 1.0, axis=-1)
    return out


def normalize(x: Any, axis: int = -1, order: int = 2) -> Any:
    """``x`` divided by its ``order``-norm along ``axis`` (zero vectors stay zero).

    NumPy arrays give NumPy arrays (as Keras); other arrays are computed with JAX. ``axis=0`` normalizes along
    axis 0 (Keras 3.15 silently uses the last axis there and fails on non-square input).
    """
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1
        return x / np.expand_dims(norm, axis)
    import jax.numpy as jnp

    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype("float32")
    norm = jnp.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / jnp.where(norm == 0, 1, norm)
