"""Array plumbing for fit/evaluate/predict: structures of arrays, sample counts, batch slicing.

>>> import numpy as np
>>> from lamina.training import data
>>> data.num_samples({"a": np.zeros((4, 2))})
4
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np


def to_arrays(x: Any) -> Any:
    """NumPy/JAX arrays (float64 -> float32), keeping lists and dicts of inputs."""
    if isinstance(x, dict):
        return {k: to_arrays(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and x and all(hasattr(v, "shape") or isinstance(v, (list, tuple))
                                                  for v in x) and any(hasattr(v, "shape") for v in x):
        return [to_arrays(v) for v in x]
    if isinstance(x, jax.Array):
        return x
    arr = np.asarray(x)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return arr


def first_array(x: Any) -> Any:
    """The first array in a structure (for its shape)."""
    if isinstance(x, dict):
        return first_array(next(iter(x.values())))
    if isinstance(x, list):
        return first_array(x[0])
    return x


def num_samples(x: Any) -> int:
    """The common first-axis size of every array; a clear error if they disagree."""
    sizes = {int(a.shape[0]) for a in jax.tree_util.tree_leaves(x)}
    if len(sizes) != 1:
        raise ValueError(f"All input arrays must have the same number of samples; received sizes {sorted(sizes)}.")
    return sizes.pop()


def slice_batch(x: Any, start: int, stop: int, pad_to: int | None = None) -> Any:
    """Rows ``start:stop`` of every array, zero-padded to ``pad_to`` rows when given."""

    def cut(a: Any) -> Any:
        part = a[start:stop]
        if pad_to is not None and part.shape[0] < pad_to:
            pad = [(0, pad_to - part.shape[0])] + [(0, 0)] * (part.ndim - 1)
            part = np.pad(np.asarray(part), pad)
        return part

    return jax.tree_util.tree_map(cut, x)
