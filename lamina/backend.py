"""The thin ``backend`` namespace Keras code reaches for: ``placeholder``, ``clear_session``, seeds.

>>> from lamina import backend
>>> backend.placeholder(shape=(None, 28, 28)).shape
(None, 28, 28)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina import naming

_IMAGE_DATA_FORMAT = "channels_last"
_FLOATX = "float32"
_EPSILON = 1e-7


class _SeedState:
    """Global random state: a NumPy generator for initializers and a counter for JAX keys."""

    def __init__(self, seed: int | None = None) -> None:
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        self.seed = seed
        self.numpy = np.random.default_rng(seed)
        self.key_counter = 0

    def next_seed(self) -> int:
        return int(self.numpy.integers(0, 2**31 - 1))


SEEDS = _SeedState()


def clear_session() -> None:
    """Reset the automatic names (``dense``, ``dense_1``, ...) as Keras does."""
    naming.reset()


def placeholder(shape: Any = None, ndim: int | None = None, dtype: str = "float32", name: str | None = None):
    """A symbolic tensor of ``shape`` (``None`` for unknown sizes), usable as ``InputLayer(input_tensor=...)``."""
    from lamina.graph import KerasTensor

    if shape is None:
        if ndim is None:
            raise ValueError("placeholder() needs `shape` or `ndim`.")
        shape = (None,) * ndim
    return KerasTensor(tuple(None if d is None else int(d) for d in shape), dtype=dtype, name=name)


def image_data_format() -> str:
    """``"channels_last"`` unless changed with ``set_image_data_format``."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    """Set the default ``data_format`` of image layers."""
    global _IMAGE_DATA_FORMAT
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', not {data_format!r}.")
    _IMAGE_DATA_FORMAT = data_format


def floatx() -> str:
    """The default float dtype, ``"float32"``."""
    return _FLOATX


def epsilon() -> float:
    """The fuzz factor Keras uses to clip probabilities, ``1e-7``."""
    return _EPSILON


def standardize_data_format(data_format: str | None) -> str:
    """``None`` -> the global default; otherwise check the value and return it lower-cased."""
    if data_format is None:
        return image_data_format()
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"data_format must be 'channels_last' or 'channels_first', received {data_format!r}."
        )
    return value
