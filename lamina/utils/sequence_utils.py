"""``pad_sequences``: lists of sequences of different lengths -> one padded array (Keras's rules).

>>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
[[2, 3], [0, 4]]
>>> pad_sequences([[1], [2, 3]], padding="post").tolist()
[[1, 0], [2, 3]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["pad_sequences"]


def pad_sequences(sequences: Sequence[Any], maxlen: int | None = None, dtype: Any = "int32", padding: str = "pre",
                  truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Pad (or cut) every sequence to ``maxlen`` (default: the longest) and stack them.

    Args:
        sequences: a list of sequences (lists or arrays; items may themselves be arrays of one shape).
        maxlen: the output length.
        dtype: the output dtype (``object`` for strings of varying lengths).
        padding: ``"pre"`` or ``"post"``: where the padding goes.
        truncating: ``"pre"`` or ``"post"``: which end of a longer sequence is cut.
        value: the padding value.

    Returns:
        An array of shape ``(len(sequences), maxlen) + item_shape``.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    lengths = []
    sample_shape: tuple[int, ...] = ()
    found_shape = False
    for item in sequences:
        try:
            lengths.append(len(item))
        except TypeError as err:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {item}") from err
        if not found_shape and len(item):
            sample_shape = np.asarray(item).shape[1:]
            found_shape = True
    if maxlen is None:
        maxlen = int(np.max(lengths)) if lengths else 0
    is_text = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\nYou should set "
                         "`dtype=object` for variable length strings.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    out = np.full((len(sequences), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for index, item in enumerate(sequences):
        if not len(item):
            continue
        kept = np.asarray(item[-maxlen:] if truncating == "pre" else item[:maxlen], dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {index} is different from "
                             f"expected shape {sample_shape}")
        if padding == "post":
            out[index, : len(kept)] = kept
        else:
            out[index, -len(kept):] = kept
    return out
