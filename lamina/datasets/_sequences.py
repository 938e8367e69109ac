"""The word-index encoding shared by ``imdb`` and ``reuters`` (Keras's rules, step for step)."""

from __future__ import annotations

from typing import Any

import numpy as np


def encode(xs: list[Any], start_char: int | None, index_from: int) -> list[list[int]]:
    """Shift word indices by ``index_from`` and put ``start_char`` in front."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    if index_from:
        return [[w + index_from for w in x] for x in xs]
    return [list(x) for x in xs]


def drop_long(maxlen: int, xs: list[list[int]], labels: Any) -> tuple[list[list[int]], list[Any]]:
    """Keep only the sequences shorter than ``maxlen`` (Keras drops them rather than truncating)."""
    kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def limit_vocabulary(xs: list[list[int]], num_words: int | None, skip_top: int, oov_char: int | None
                     ) -> list[list[int]]:
    """Words outside ``[skip_top, num_words)`` become ``oov_char`` (or are dropped when it is ``None``)."""
    if not num_words:
        num_words = max(max(x) for x in xs if x) if any(xs) else 0
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def as_object_array(xs: list[list[int]]) -> np.ndarray:
    """A 1-D object array of lists (NumPy would make a 2-D int array of equal-length lists)."""
    out = np.empty(len(xs), dtype=object)
    for i, x in enumerate(xs):
        out[i] = x
    return out
