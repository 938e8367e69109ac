"""``pad_sequences`` (and its ``preprocessing.sequence`` spelling) against Keras on a table of cases."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from lamina.preprocessing.sequence import pad_sequences as keras2_spelling  # noqa: E402
from lamina.utils import pad_sequences  # noqa: E402

SEQS = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
CASES = [
    (SEQS, {}),
    (SEQS, {"maxlen": 2}),
    (SEQS, {"maxlen": 3, "padding": "post"}),
    (SEQS, {"maxlen": 3, "truncating": "post"}),
    (SEQS, {"maxlen": 6, "padding": "post", "truncating": "post", "value": -1}),
    (SEQS, {"dtype": "float32", "value": 0.5}),
    ([[[1, 2], [3, 4]], [[5, 6]]], {"maxlen": 3}),
    ([np.array([1.5, 2.5]), np.array([3.5])], {"dtype": "float64"}),
    ([["a", "b"], ["c"]], {"dtype": object, "value": "<pad>"}),
    ([[1], [2, 3]], {"maxlen": 1, "truncating": "pre"}),
]


@pytest.mark.parametrize("sequences, kwargs", CASES, ids=[str(k) for _, k in CASES])
def test_matches_keras(sequences, kwargs):
    expected = keras.utils.pad_sequences(sequences, **kwargs)
    for fn in (pad_sequences, keras2_spelling):
        got = fn(sequences, **kwargs)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert got.tolist() == expected.tolist()


@pytest.mark.parametrize("kwargs, match", [({"padding": "middle"}, "Padding type"),
                                           ({"truncating": "middle"}, "Truncating type"),
                                           ({"value": "x"}, "not compatible")])
def test_errors_match_keras(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.utils.pad_sequences(SEQS, **kwargs)
    with pytest.raises(ValueError, match=match):
        pad_sequences(SEQS, **kwargs)
    with pytest.raises(ValueError, match="non-iterable"):
        pad_sequences([1, 2])
    with pytest.raises(ValueError, match="different from expected shape"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])
