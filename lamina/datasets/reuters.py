"""Reuters newswires classified into 46 topics: 11,228 wires as word indices, split 80/20 by default.

Reads Keras's ``reuters.npz`` (object array ``x`` of word-index lists, labels ``y``) and
``reuters_word_index.json``.

>>> len(get_label_names()), get_label_names()[:3]
(46, ('cocoa', 'grain', 'veg-oil'))
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from lamina.datasets import _sequences
from lamina.datasets._files import get_file
from lamina.datasets._npz import load_npz

__all__ = ["load_data", "get_word_index", "get_label_names", "ORIGIN", "SHA256", "WORD_INDEX_ORIGIN",
           "WORD_INDEX_MD5"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters_word_index.json"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"

_LABELS = ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
           "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
           "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi",
           "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver",
           "wpi", "hog", "lead")

Split = tuple[np.ndarray, np.ndarray]


def _file(path: str, origin: str, digest: str, default: str, cache_dir: Any, override: str | None) -> Any:
    if os.path.isabs(path) and os.path.isfile(path):
        return path
    return get_file(path, origin, digest if path == default else None, cache_dir=cache_dir,
                    origin_override=override, dataset="Reuters")


def load_data(path: str = "reuters.npz", num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
              test_split: float = 0.2, seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2,
              index_from: int = 3, *, cache_dir: str | os.PathLike | None = None,
              origin: str | None = None) -> tuple[Split, Split]:
    """Load Reuters as ``((x_train, y_train), (x_test, y_test))``, Keras's encoding exactly.

    The wires are shuffled with ``seed``, encoded as in ``imdb.load_data`` (same ``num_words``, ``skip_top``,
    ``maxlen``, ``start_char``, ``oov_char``, ``index_from``), and the last ``test_split`` fraction is the test set.
    """
    data = load_npz(_file(path, ORIGIN, SHA256, "reuters.npz", cache_dir, origin))
    xs, labels = data["x"], data["y"]
    order = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(order)
    xs, labels = xs[order], labels[order]
    encoded = _sequences.encode(list(xs), start_char, index_from)
    if maxlen:
        encoded, labels = _sequences.drop_long(maxlen, encoded, labels)
    encoded = _sequences.limit_vocabulary(encoded, num_words, skip_top, oov_char)
    n = int(len(encoded) * (1 - test_split))
    labels = np.asarray(labels)
    return ((_sequences.as_object_array(encoded[:n]), np.array(labels[:n])),
            (_sequences.as_object_array(encoded[n:]), np.array(labels[n:])))


def get_word_index(path: str = "reuters_word_index.json", *, cache_dir: str | os.PathLike | None = None,
                   origin: str | None = None) -> dict[str, int]:
    """The word -> frequency rank mapping (add ``index_from`` to match ``load_data``'s indices)."""
    with open(_file(path, WORD_INDEX_ORIGIN, WORD_INDEX_MD5, "reuters_word_index.json", cache_dir, origin)) as f:
        return json.load(f)


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed like the labels."""
    return _LABELS
