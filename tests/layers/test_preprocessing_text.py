"""Hashing, HashedCrossing, StringLookup, IntegerLookup and TextVectorization without TensorFlow.

Keras 3 on JAX refuses these layers when TensorFlow is missing, so the expectations are Keras's documented examples
(its docstrings, which its test suite runs with TensorFlow) and hand-derived values."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.layers.preprocessing_text import fingerprint64

A_TO_E = [["A"], ["B"], ["C"], ["D"], ["E"]]

# (layer kwargs, input, expected output): Keras's docstring examples
HASHING = [
    ({"num_bins": 3}, A_TO_E, [[1], [0], [1], [1], [2]]),
    ({"num_bins": 3, "mask_value": ""}, [["A"], ["B"], [""], ["C"], ["D"]], [[1], [1], [0], [2], [2]]),
    ({"num_bins": 3, "salt": [133, 137]}, A_TO_E, [[1], [2], [1], [0], [2]]),
    ({"num_bins": 3, "salt": 133}, A_TO_E, [[0], [0], [2], [1], [0]]),
]


@pytest.mark.parametrize("kwargs,data,expected", HASHING, ids=str)
def test_hashing_matches_keras_examples(kwargs, data, expected):
    assert np.asarray(layers.Hashing(**kwargs)(data)).tolist() == expected


def test_hashing_modes_ints_and_config():
    ints = layers.Hashing(num_bins=4)(np.array([[1], [22], [333]]))
    again = layers.Hashing(num_bins=4)(np.array([["1"], ["22"], ["333"]]))  # ints hash as their decimal strings
    np.testing.assert_array_equal(ints, again)
    hot = layers.Hashing(num_bins=4, output_mode="one_hot")(np.array([["1"], ["22"], ["333"]]))
    assert hot.shape == (3, 4) and np.asarray(hot).sum(axis=1).tolist() == [1, 1, 1]
    np.testing.assert_array_equal(np.argmax(hot, axis=1), np.asarray(ints)[:, 0])
    config = json.loads(json.dumps(layers.Hashing(num_bins=3, salt=7).get_config()))
    assert config["salt"] == [7, 7] and layers.Hashing.from_config(config).salt == [7, 7]


def test_fingerprint64_known_values_and_lengths():
    assert fingerprint64(b"") == 0x9AE16A3B2F90404F  # farmhash: the empty string hashes to k2
    for n in (1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 300):  # every code path runs
        value = fingerprint64(bytes(range(n % 256)) * (n // 256 + 1))
        assert 0 <= value < 2 ** 64


def test_hashed_crossing_matches_keras_examples():
    feat1, feat2 = np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])
    assert np.asarray(layers.HashedCrossing(num_bins=5)((feat1, feat2))).tolist() == [1, 4, 1, 1, 3]
    hot = np.asarray(layers.HashedCrossing(num_bins=5, output_mode="one_hot")((feat1, feat2)))
    assert hot.argmax(axis=1).tolist() == [1, 4, 1, 1, 3] and hot.dtype == np.float32


VOCAB = ["a", "b", "c", "d"]
DATA = [["a", "c", "d"], ["d", "z", "b"]]
COUNT_DATA = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
STRING_LOOKUP = [
    ({"vocabulary": VOCAB}, DATA, [[1, 3, 4], [4, 0, 2]]),
    ({"vocabulary": VOCAB, "num_oov_indices": 2}, [["a", "c", "d"], ["m", "z", "b"]], [[2, 4, 5], [0, 1, 3]]),
    ({"vocabulary": VOCAB, "output_mode": "one_hot"}, ["a", "b", "c", "d", "z"], np.eye(5)[[1, 2, 3, 4, 0]].tolist()),
    ({"vocabulary": VOCAB, "output_mode": "multi_hot"}, COUNT_DATA, [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]),
    ({"vocabulary": VOCAB, "output_mode": "count"}, COUNT_DATA, [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]),
    ({"vocabulary": VOCAB, "output_mode": "tf_idf", "idf_weights": [0.25, 0.75, 0.6, 0.4]}, COUNT_DATA,
     [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]]),
    ({"vocabulary": ["[UNK]"] + VOCAB, "output_mode": "tf_idf", "idf_weights": [0.9, 0.25, 0.75, 0.6, 0.4]},
     COUNT_DATA, [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]]),
    ({"vocabulary": VOCAB, "mask_token": ""}, [["a", ""], ["z", "d"]], [[2, 0], [1, 5]]),
]


@pytest.mark.parametrize("kwargs,data,expected", STRING_LOOKUP, ids=str)
def test_string_lookup_matches_keras_examples(kwargs, data, expected):
    np.testing.assert_allclose(np.asarray(layers.StringLookup(**kwargs)(data)), expected, rtol=1e-6)


def test_string_lookup_adapt_invert_and_vocabulary():
    layer = layers.StringLookup()
    layer.adapt(DATA)
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]  # by count, then reverse order
    assert np.asarray(layer(DATA)).tolist() == [[5, 3, 1], [1, 2, 4]]
    assert layer.vocabulary_size() == 6 and layer.get_vocabulary(include_special_tokens=False)[0] == "d"
    inverse = layers.StringLookup(vocabulary=VOCAB, invert=True)
    assert inverse([[1, 3, 4], [4, 0, 2]]).tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    forward = layers.StringLookup(vocabulary=VOCAB)
    assert inverse(forward(DATA)).tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    capped = layers.StringLookup(max_tokens=3)
    capped.adapt(DATA)
    assert capped.get_vocabulary() == ["[UNK]", "d", "z"]
    gen = layers.StringLookup()
    gen.adapt(iter([np.array(["x", "y"]), np.array(["y"])]))  # a generator of batches
    assert gen.get_vocabulary() == ["[UNK]", "y", "x"]
    with pytest.raises(ValueError, match="repeated term"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)(["q"])


def test_string_lookup_tf_idf_adapt():
    docs = [["a", "b", "b"], ["b", "c"], ["b"]]
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.adapt(docs)
    assert layer.get_vocabulary() == ["[UNK]", "b", "c", "a"]
    idf = np.log(1 + 3 / (1 + np.array([3, 1, 1])))
    expected_weights = np.concatenate([[idf.mean()], idf])
    np.testing.assert_allclose(layer.idf_weights, expected_weights, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layer([["b", "b", "z"]])), [[1 * expected_weights[0], 2 * idf[0], 0, 0]],
                               rtol=1e-6)


def test_string_lookup_vocabulary_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\nd\n", encoding="utf-8")
    assert np.asarray(layers.StringLookup(vocabulary=str(path))(DATA)).tolist() == [[1, 3, 4], [4, 0, 2]]


INTEGER_LOOKUP = [
    ({"vocabulary": [12, 36, 1138, 42]}, [[12, 1138, 42], [42, 1000, 36]], [[1, 3, 4], [4, 0, 2]]),
    ({"vocabulary": [12, 36, 1138, 42], "num_oov_indices": 2}, [[12, 1138, 42], [37, 1000, 36]],
     [[2, 4, 5], [1, 0, 3]]),
    ({"vocabulary": [10, 20, 30], "num_oov_indices": 4, "oov_method": "floormod"},
     [100, 300, 700, 1100, 1700, 2000], [0, 0, 0, 0, 0, 0]),
    ({"vocabulary": [10, 20, 30], "num_oov_indices": 4, "oov_method": "farmhash"},
     [100, 300, 700, 1100, 1700, 2000], [3, 3, 2, 2, 0, 1]),
    ({"vocabulary": [12, 36, 1138, 42], "output_mode": "count"}, [[12, 1138, 42, 42], [42, 7, 36, 7]],
     [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]),
]


@pytest.mark.parametrize("kwargs,data,expected", INTEGER_LOOKUP, ids=str)
def test_integer_lookup_matches_keras_examples(kwargs, data, expected):
    np.testing.assert_allclose(np.asarray(layers.IntegerLookup(**kwargs)(np.array(data))), expected)


def test_integer_lookup_adapt():
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    layer = layers.IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    assert np.asarray(layer(data)).tolist() == [[5, 2, 1], [1, 3, 4]]
    config = json.loads(json.dumps(layers.IntegerLookup(vocabulary=[3, 4]).get_config()))
    assert config["vocabulary"] == [3, 4] and config["oov_token"] == -1 and config["vocabulary_size"] == 3


def test_text_vectorization_matches_keras_examples():
    layer = layers.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert np.asarray(layer([["foo qux bar"], ["qux baz"]])).tolist() == [[4, 1, 3, 0], [1, 2, 0, 0]]
    given = layers.TextVectorization(max_tokens=5000, output_sequence_length=4,
                                     vocabulary=["earth", "wind", "and", "fire"])
    assert given.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]


TEXTS = ["The quick brown fox!", "the LAZY dog, the end.", "Quick quick: DOG?"]


def test_text_vectorization_standardize_split_ngrams():
    layer = layers.TextVectorization()
    layer.adapt(TEXTS)
    assert layer.get_vocabulary()[:5] == ["", "[UNK]", "the", "quick", "dog"]
    out = np.asarray(layer(["the dog", "a quick brown fox jumps"]))  # padded to the longest row
    vocab = layer.get_vocabulary()
    assert out.shape == (2, 5) and out[0].tolist() == [vocab.index("the"), vocab.index("dog"), 0, 0, 0]
    assert out[1].tolist()[:2] == [1, vocab.index("quick")]
    chars = layers.TextVectorization(split="character", standardize="lower")
    chars.adapt(["abca", "Bc"])
    assert chars.get_vocabulary() == ["", "[UNK]", "c", "b", "a"]
    grams = layers.TextVectorization(ngrams=2, standardize=None)
    grams.adapt(["x y z"])
    assert set(grams.get_vocabulary()[2:]) == {"x", "y", "z", "x y", "y z"}
    custom = layers.TextVectorization(standardize=lambda a: np.char.upper(a.astype(str)),
                                      split=lambda a: [s.split("-") for s in a])
    custom.adapt(["a-b-b"])
    assert custom.get_vocabulary() == ["", "[UNK]", "B", "A"]
    no_split = layers.TextVectorization(split=None, standardize=None)
    no_split.adapt(np.array([["x y"], ["x y"], ["z"]]))
    assert no_split.get_vocabulary() == ["", "[UNK]", "x y", "z"]


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
def test_text_vectorization_bag_of_words(mode):
    layer = layers.TextVectorization(output_mode=mode, max_tokens=6, pad_to_max_tokens=True)
    layer.adapt(TEXTS)
    out = np.asarray(layer(["the the dog zebra"]))
    vocab = layer.get_vocabulary()
    assert out.shape == (1, 6) and vocab[0] == "[UNK]"
    the, dog = vocab.index("the"), vocab.index("dog")
    if mode == "multi_hot":
        assert out[0].tolist() == [1.0 if i in (0, the, dog) else 0.0 for i in range(6)]
    elif mode == "count":
        assert out[0, the] == 2 and out[0, dog] == 1 and out[0, 0] == 1
    else:
        assert out[0, the] == pytest.approx(2 * np.log(1 + 3 / (1 + 2)), rel=1e-6)


def test_text_vectorization_feeds_a_model_and_saves(tmp_path):
    texts = np.array(["good movie", "bad movie", "good good fun", "bad boring"] * 8)
    labels = np.array([1, 0, 1, 0] * 8, "float32")
    vectorize = layers.TextVectorization(max_tokens=20, output_sequence_length=5)
    vectorize.adapt(texts)
    ids = vectorize(texts)
    model = lamina.Sequential([lamina.layers.Input((5,), dtype="int32"), lamina.layers.Embedding(20, 4),
                               lamina.layers.GlobalAveragePooling1D(), lamina.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, labels, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3
    strings_in = lamina.layers.Input((1,), dtype="string")
    assert tuple(vectorize(strings_in).shape) == (None, 5)
    again = layers.TextVectorization.from_config(json.loads(json.dumps(vectorize.get_config())))
    assert again._lookup_layer._frozen_vocab_size == vectorize.vocabulary_size() == 7


def test_vocabularies_survive_keras_files(tmp_path):
    lookup = layers.IntegerLookup(name="ids")
    lookup.adapt(np.array([[5, 7, 7], [9, 7, 5]]))
    ints = lamina.layers.Input((3,), dtype="int32")
    encoded = lamina.layers.Embedding(5, 2, name="emb")(lookup(ints))
    model = lamina.Model(ints, encoded)
    x = np.array([[5, 9, 100], [7, 7, 5]], "int32")
    expected = model.predict(x, verbose=0)  # IntegerLookup runs inside the jitted predict step
    np.testing.assert_array_equal(np.asarray(lookup(x)), [[2, 3, 0], [1, 1, 2]])
    path = str(tmp_path / "ids.keras")
    model.save(path)
    loaded = lamina.saving.load_model(path)
    assert loaded.get_layer("ids").get_vocabulary() == [-1, 7, 5, 9]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected)

    vectorize = layers.TextVectorization(name="vec", output_mode="tf_idf")
    vectorize.adapt(TEXTS)
    texts = lamina.layers.Input((1,), dtype="string")
    text_model = lamina.Model(texts, lamina.layers.Dense(2, name="d")(vectorize(texts)))
    path = str(tmp_path / "text.keras")
    text_model.save(path)
    import zipfile

    with zipfile.ZipFile(path) as zf:
        assert "assets/layers/text_vectorization/vocabulary.txt" in zf.namelist()
    restored = lamina.saving.load_model(path).get_layer("vec")
    assert restored.get_vocabulary() == vectorize.get_vocabulary()
    np.testing.assert_allclose(np.asarray(restored(["the quick dog"])), np.asarray(vectorize(["the quick dog"])),
                               rtol=1e-6)


def test_text_layers_work_where_tensorflow_cannot_be_imported():
    code = ("import sys; sys.modules['tensorflow'] = None\n"
            "from lamina import layers\n"
            "v = layers.TextVectorization(output_sequence_length=3)\n"
            "v.adapt(['a b', 'b c'])\n"
            "print(v(['b a d']).tolist(), layers.Hashing(3)([['A']]).tolist())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[[2, 4, 1]] [[1]]"  # vocabulary: b, then c and a (ties in reverse order)
