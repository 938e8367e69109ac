"""Utilities: ``to_categorical``, ``set_random_seed`` and friends.

>>> from lamina.utils import to_categorical
>>> to_categorical([0, 2], num_classes=3).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np


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


def set_random_seed(seed: int) -> None:
    """Seed Python, NumPy and lamina (initializers, dropout, shuffling) so that runs repeat exactly."""
    import jax  # noqa: F401 - importing JAX draws from NumPy's global generator: do it before seeding

    from lamina import backend

    random.seed(seed)
    np.random.seed(seed)
    backend.SEEDS.reseed(seed)


def __getattr__(name: str) -> Any:
    if name in ("plot_model", "plot_history"):
        from lamina import plotting

        return getattr(plotting, name)
    raise AttributeError(f"module 'lamina.utils' has no attribute {name!r}")
