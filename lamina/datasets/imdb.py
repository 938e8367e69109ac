"""IMDB movie reviews for sentiment classification: 25,000 training and 25,000 test reviews, as word indices.

Reads Keras's ``imdb.npz`` (object arrays of word-index lists ``x_train``/``x_test``, labels ``y_train``/``y_test``)
and ``imdb_word_index.json``, through the same cache as the other datasets.

>>> ORIGIN.rsplit("/", 1)[-1], WORD_INDEX_ORIGIN.rsplit("/", 1)[-1]
('imdb.npz', 'imdb_word_index.json')
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from lamina.datasets import _sequences
from lamina.datasets._files import get_file
from lamina.datasets._npz import load_npz

__all__ = ["load_data", "get_word_index", "ORIGIN", "SHA256", "WORD_INDEX_ORIGIN", "WORD_INDEX_MD5"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"

Split = tuple[np.ndarray, np.ndarray]


def _file(path: str, origin: str, digest: str, default: str, cache_dir: Any, override: str | None) -> Any:
    if os.path.isabs(path) and os.path.isfile(path):
        return path
    return get_file(path, origin, digest if path == default else None, cache_dir=cache_dir,
                    origin_override=override, dataset="IMDB")


def load_data(path: str = "imdb.npz", num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
              seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3, *,
              cache_dir: str | os.PathLike | None = None, origin: str | None = None,
              **kwargs: Any) -> tuple[Split, Split]:
    """Load IMDB as ``((x_train, y_train), (x_test, y_test))``, Keras's encoding exactly.

    ``x`` is a 1-D object array of lists of word indices (``start_char``, then each word's frequency rank plus
    ``index_from``); ``y`` holds 0/1 labels. Both splits are shuffled with ``seed``.

    Args:
        path: the file name in the cache folder (or an absolute path to an ``imdb.npz``).
        num_words: keep the ``num_words`` most frequent words; rarer ones become ``oov_char``.
        skip_top: also turn the ``skip_top`` most frequent words into ``oov_char``.
        maxlen: drop reviews of ``maxlen`` words or more.
        seed: the shuffling seed.
        start_char: the index marking each review's start (``None``: no marker).
        oov_char: the index of removed words (``None``: remove them).
        index_from: the offset added to every word index.
        cache_dir: the cache folder; default ``$LAMINA_DATA_DIR`` or ``~/.lamina/datasets``.
        origin: a folder URL to download from instead of Keras's.
    """
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    data = load_npz(_file(path, ORIGIN, SHA256, "imdb.npz", cache_dir, origin))
    rng = np.random.RandomState(seed)
    x_train, labels_train = data["x_train"], data["y_train"]
    x_test, labels_test = data["x_test"], data["y_test"]
    order = np.arange(len(x_train))
    rng.shuffle(order)
    x_train, labels_train = x_train[order], labels_train[order]
    order = np.arange(len(x_test))
    rng.shuffle(order)
    x_test, labels_test = x_test[order], labels_test[order]
    train = _sequences.encode(list(x_train), start_char, index_from)
    test = _sequences.encode(list(x_test), start_char, index_from)
    if maxlen:
        train, labels_train = _sequences.drop_long(maxlen, train, labels_train)
        test, labels_test = _sequences.drop_long(maxlen, test, labels_test)
        if not train or not test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                             "Increase maxlen.")
    xs = _sequences.limit_vocabulary(train + test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    n = len(train)
    return ((_sequences.as_object_array(xs[:n]), labels[:n]), (_sequences.as_object_array(xs[n:]), labels[n:]))


def get_word_index(path: str = "imdb_word_index.json", *, cache_dir: str | os.PathLike | None = None,
                   origin: str | None = None) -> dict[str, int]:
    """The word -> frequency rank mapping (add ``index_from`` to match ``load_data``'s indices)."""
    with open(_file(path, WORD_INDEX_ORIGIN, WORD_INDEX_MD5, "imdb_word_index.json", cache_dir, origin)) as f:
        return json.load(f)
