"""Datasets from folders, time series and splits: Keras's file order, labels and splits, and ``fit`` reading them."""

from __future__ import annotations

import os
import wave

import jax
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

from keras.src.utils import dataset_utils as keras_dataset_utils  # noqa: E402

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.utils import (  # noqa: E402
    audio_dataset_from_directory,
    dataset_utils,  # noqa: E402
    image_dataset_from_directory,
    save_img,
    split_dataset,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)

CLASSES = {"cats": 7, "dogs": 5, "owls": 4}


@pytest.fixture
def image_dir(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for cls, count in CLASSES.items():
        (root / cls / "sub").mkdir(parents=True)
        for i in range(count):
            shape = (10 + i, 14, 3)
            folder = root / cls / ("sub" if i % 3 == 0 else "")
            save_img(folder / f"{cls}_{i}.{'png' if i % 2 else 'jpg'}", rng.integers(0, 256, shape), scale=False)
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return root


def _keras_index(directory, labels, formats, seed, split=None, subset=None, class_names=None):
    paths, found, names = keras_dataset_utils.index_directory(str(directory), labels, formats=formats,
                                                              class_names=class_names, shuffle=True, seed=seed,
                                                              verbose=False)
    paths, found = keras_dataset_utils.get_training_or_validation_split(paths, found, split, subset)
    return paths, (None if found is None else list(np.asarray(found))), names


@pytest.mark.parametrize("subset", ["training", "validation"])
def test_image_dataset_order_labels_and_split_match_keras(image_dir, subset):
    ds = image_dataset_from_directory(image_dir, image_size=(8, 8), batch_size=4, seed=3, validation_split=0.25,
                                      subset=subset, shuffle=True, verbose=False)
    paths, labels, names = _keras_index(image_dir, "inferred", dataset_utils.IMAGE_FORMATS, 3, 0.25, subset)
    assert ds.class_names == names == sorted(CLASSES)
    assert ds.file_paths == paths
    if subset == "validation":  # no per-epoch shuffle on the validation part: batches follow file_paths
        got = np.concatenate([y for _, y in ds])
        assert got.tolist() == labels
    batches = list(ds)
    assert sum(len(y) for _, y in batches) == len(paths) and len(ds) == len(batches)
    x, y = batches[0]
    assert x.shape[1:] == (8, 8, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert 0.0 <= x.min() and x.max() <= 255.0


def test_subset_both_is_disjoint_and_complete(image_dir):
    train, val = image_dataset_from_directory(image_dir, image_size=(8, 8), seed=1, validation_split=0.3,
                                              subset="both", verbose=False)
    assert not set(train.file_paths) & set(val.file_paths)
    assert len(train.file_paths) + len(val.file_paths) == sum(CLASSES.values())
    # each label is the class folder of its file
    labels = np.concatenate([y for _, y in val])
    assert [os.path.relpath(p, image_dir).split(os.sep)[0] for p in val.file_paths] == \
        [val.class_names[i] for i in labels]


def test_label_modes_color_modes_and_formats(image_dir):
    cat = image_dataset_from_directory(image_dir, label_mode="categorical", image_size=5, shuffle=False,
                                       color_mode="grayscale", verbose=False)
    x, y = next(iter(cat))
    assert x.shape == (16, 5, 5, 1) and y.shape == (16, 3) and y.dtype == np.float32 and (y.sum(1) == 1).all()
    binary = image_dataset_from_directory(image_dir, label_mode="binary", class_names=["dogs", "cats"],
                                          image_size=(4, 6), shuffle=False, verbose=False, data_format="channels_first")
    x, y = next(iter(binary))
    assert x.shape == (12, 3, 4, 6) and y.shape == (12, 1) and binary.class_names == ["dogs", "cats"]
    assert y[:5].ravel().tolist() == [0.0] * 5  # dogs first, in the order given
    no_labels = image_dataset_from_directory(image_dir, labels=None, image_size=(4, 4), batch_size=None,
                                             shuffle=False, verbose=False, crop_to_aspect_ratio=True)
    first = next(iter(no_labels))
    assert isinstance(first, np.ndarray) and first.shape == (4, 4, 3) and len(no_labels) == 16
    padded = image_dataset_from_directory(image_dir, image_size=(6, 6), pad_to_aspect_ratio=True, shuffle=False,
                                          verbose=False)
    assert next(iter(padded))[0].shape[1:] == (6, 6, 3)


def test_argument_errors(image_dir):
    with pytest.raises(ValueError, match="must provide a `seed`"):
        image_dataset_from_directory(image_dir, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="`validation_split` must be set"):
        image_dataset_from_directory(image_dir, subset="training", seed=1)
    with pytest.raises(ValueError, match="exactly 2"):
        image_dataset_from_directory(image_dir, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="did not match"):
        image_dataset_from_directory(image_dir, class_names=["cats", "lions"], verbose=False)
    with pytest.raises(ValueError, match="label_mode"):
        image_dataset_from_directory(image_dir, label_mode="sparse")
    with pytest.raises(ValueError, match="lengths of `labels`"):
        image_dataset_from_directory(image_dir, labels=[0, 1], verbose=False)


def test_found_message(image_dir, capsys):
    image_dataset_from_directory(image_dir, seed=1, validation_split=0.25, subset="training")
    out = capsys.readouterr().out
    assert "Found 16 files belonging to 3 classes." in out and "Using 12 files for training." in out


def test_fit_reads_an_image_dataset_directly(image_dir):
    ds = image_dataset_from_directory(image_dir, image_size=(8, 8), batch_size=5, seed=0, verbose=False)
    ds = ds.map(lambda x, y: (x / 255.0, y)).prefetch(2).cache()
    model = lamina.Sequential([layers.Input((8, 8, 3)), layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert model.evaluate(ds, verbose=0)[0] > 0


def test_resize_is_tf_bilinear_without_antialiasing():
    image = np.random.default_rng(1).normal(size=(9, 13, 2)).astype("float32")
    for size in [(4, 5), (20, 7), (9, 13)]:
        expected = jax.image.resize(image, size + (2,), method="linear", antialias=False)
        np.testing.assert_allclose(dataset_utils._resize(image, size, "bilinear"), expected, atol=1e-5)


def test_text_dataset(tmp_path):
    root = tmp_path / "texts"
    for cls in ("neg", "pos"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            (root / cls / f"{i}.txt").write_text(f"{cls} review number {i}", encoding="utf-8")
    (root / "pos" / "skip.md").write_text("ignored")
    ds = text_dataset_from_directory(root, batch_size=4, max_length=7, seed=5, verbose=False)
    paths, labels, names = _keras_index(root, "inferred", (".txt",), 5)
    assert ds.file_paths == paths and ds.class_names == names == ["neg", "pos"]
    texts = np.concatenate([x for x, _ in ds])
    assert texts.dtype == object and all(len(t) <= 7 and t[:3] in ("neg", "pos") for t in texts)
    ordered = text_dataset_from_directory(root, shuffle=False, label_mode="binary", verbose=False)
    x, y = next(iter(ordered))
    assert x.tolist()[0] == "neg review number 0" and y.ravel().tolist() == [0, 0, 0, 1, 1, 1]


def _write_wav(path, samples, rate=8000):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((samples * 32767).astype("<i2").tobytes())


def test_audio_dataset(tmp_path):
    root = tmp_path / "audio"
    for c, cls in enumerate(("no", "yes")):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            _write_wav(root / cls / f"{i}.wav", np.linspace(-0.5, 0.5, 100 + 50 * i + c))
    ds = audio_dataset_from_directory(root, batch_size=4, shuffle=False, verbose=False)
    x, y = next(iter(ds))
    assert x.shape == (4, 151, 1) and x.dtype == np.float32 and y.tolist() == [0, 0, 1, 1]
    assert abs(x[0, 0, 0] + 0.5) < 1e-3 and x[0, 120, 0] == 0.0  # padded to the batch's longest
    fixed = audio_dataset_from_directory(root, output_sequence_length=80, shuffle=False, verbose=False)
    assert next(iter(fixed))[0].shape == (4, 80, 1)
    with pytest.raises(ValueError, match="does not resample"):
        next(iter(audio_dataset_from_directory(root, sampling_rate=16000, shuffle=False, verbose=False)))


def test_timeseries_windows_and_targets():
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data, data * 10, sequence_length=5, sequence_stride=3, sampling_rate=2,
                                       batch_size=8, start_index=10, end_index=60)
    windows = np.concatenate([x for x, _ in ds])
    targets = np.concatenate([y for _, y in ds])
    starts = np.arange(0, 60 - 10 - 4 * 2, 3) + 10
    assert windows.tolist() == [list(range(s, s + 10, 2)) for s in starts]
    assert targets.tolist() == (starts * 10).tolist()
    # Keras's docstring example: sequences 0..9, 1..10, ... with the target the next value
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10, batch_size=None)
    first = next(iter(ds))
    assert first[0].tolist() == list(range(10)) and int(first[1]) == 10
    shuffled = timeseries_dataset_from_array(data, None, sequence_length=4, shuffle=True, seed=2, batch_size=200)
    got = next(iter(shuffled))
    assert sorted(got[:, 0].tolist()) == list(range(97)) and got[:, 0].tolist() != list(range(97))
    with pytest.raises(ValueError, match="start_index"):
        timeseries_dataset_from_array(data, None, 3, start_index=200)


def test_split_dataset_matches_keras_order():
    keras_split = pytest.importorskip("keras.src.utils.dataset_utils")
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    left, right = split_dataset((x, y), left_size=0.7, shuffle=True, seed=4)
    samples = list(zip(x, y))
    import random

    random.Random(4).shuffle(samples)
    assert [int(b) for _, b in left] == [int(s[1]) for s in samples[:7]]
    assert [int(b) for _, b in right] == [int(s[1]) for s in samples[7:]]
    assert keras_split._rescale_dataset_split_sizes(0.7, None, 10) == dataset_utils._split_sizes(0.7, None, 10)
    for sizes in [(3, None), (None, 0.25), (0.5, 0.3), (2, 3)]:
        assert keras_split._rescale_dataset_split_sizes(*sizes, 10) == dataset_utils._split_sizes(*sizes, 10)
    for bad in [(0, 0), (11, None), (0.6, 0.6), (0.0, None)]:
        with pytest.raises(ValueError):
            keras_split._rescale_dataset_split_sizes(*bad, 10)
        with pytest.raises(ValueError):
            dataset_utils._split_sizes(*bad, 10)
    with pytest.raises(ValueError, match="At least one"):
        split_dataset(np.arange(10))
    batched_left, _ = split_dataset(dataset_utils.Dataset.from_arrays((x, y), batch_size=3), right_size=4)
    assert [len(b) for _, b in batched_left] == [3, 3]
    arrays_left, arrays_right = split_dataset(np.arange(10), left_size=4)
    assert len(arrays_left) == 4 and len(arrays_right) == 6 and next(iter(arrays_left.batch(3))).tolist() == [0, 1, 2]


def test_dataset_methods():
    ds = dataset_utils.Dataset.from_arrays({"a": np.arange(10), "b": np.arange(10) * 2}, batch_size=4)
    assert len(ds) == 3 and next(iter(ds))["b"].tolist() == [0, 2, 4, 6]
    assert len(ds.take(2)) == 2 and len(list(ds.take(2))) == 2
    assert len(list(ds.repeat(2))) == 6
    unbatched = ds.unbatch()
    assert len(unbatched) == 10 and int(next(iter(unbatched))["a"]) == 0
    assert [len(b["a"]) for b in unbatched.batch(4, drop_remainder=True)] == [4, 4]
    shuffled = dataset_utils.Dataset.from_arrays(np.arange(50), batch_size=50).shuffle(10, seed=1)
    first, second = next(iter(shuffled)).tolist(), next(iter(shuffled)).tolist()
    assert sorted(first) == list(range(50)) and first != second  # a new order every epoch
