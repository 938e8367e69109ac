"""``imdb``, ``reuters``, ``boston_housing``, ``california_housing`` on small files in Keras's formats, compared with
Keras's own loaders on the same files; downloads from a server on 127.0.0.1 with hash checks."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras.src.datasets.boston_housing as keras_boston  # noqa: E402
import keras.src.datasets.california_housing as keras_california  # noqa: E402
import keras.src.datasets.imdb as keras_imdb  # noqa: E402
import keras.src.datasets.reuters as keras_reuters  # noqa: E402

from lamina.datasets import _files, boston_housing, california_housing, imdb, reuters  # noqa: E402
from lamina.datasets._npz import load_npz  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("LAMINA_DATA_DIR", raising=False)
    monkeypatch.delenv("LAMINA_DATASETS_ORIGIN", raising=False)


def _ragged(n: int, vocab: int = 40) -> np.ndarray:
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = [int(w) for w in RNG.integers(1, vocab, 3 + (i * 7) % 11)]
    return out


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


IMDB = _npz(x_train=_ragged(30), y_train=RNG.integers(0, 2, 30), x_test=_ragged(20), y_test=RNG.integers(0, 2, 20))
REUTERS = _npz(x=_ragged(40), y=RNG.integers(0, 46, 40))
BOSTON = _npz(x=RNG.normal(size=(50, 13)), y=RNG.normal(size=50))
CALIFORNIA = _npz(x=RNG.normal(size=(700, 8)).astype("float32"), y=RNG.normal(size=700).astype("float32"))
WORDS = json.dumps({"the": 1, "movie": 2, "great": 3}).encode()


def _same(ours, theirs):
    (xa, ya), (xb, yb) = ours
    (xc, yc), (xd, yd) = theirs
    for a, b in ((xa, xc), (ya, yc), (xb, xd), (yb, yd)):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert [list(v) if isinstance(v, list) else v for v in a.tolist()] == b.tolist()


def _cache(tmp_path, name, content) -> str:
    folder = tmp_path / "cache"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(content)
    return str(folder)


def _keras_reads(monkeypatch, module, path):
    monkeypatch.setattr(module, "get_file", lambda *args, **kwargs: path)


IMDB_CASES = [{}, {"num_words": 20}, {"skip_top": 5, "num_words": 30}, {"maxlen": 9}, {"seed": 7, "index_from": 0},
              {"start_char": None, "oov_char": None, "num_words": 15}, {"start_char": None, "index_from": 2}]


@pytest.mark.parametrize("kwargs", IMDB_CASES, ids=str)
def test_imdb_matches_keras(tmp_path, monkeypatch, kwargs):
    cache = _cache(tmp_path, "imdb.npz", IMDB)
    _keras_reads(monkeypatch, keras_imdb, os.path.join(cache, "imdb.npz"))
    _same(imdb.load_data(cache_dir=cache, **kwargs), keras_imdb.load_data(**kwargs))


@pytest.mark.parametrize("kwargs", IMDB_CASES + [{"test_split": 0.5}], ids=str)
def test_reuters_matches_keras(tmp_path, monkeypatch, kwargs):
    cache = _cache(tmp_path, "reuters.npz", REUTERS)
    _keras_reads(monkeypatch, keras_reuters, os.path.join(cache, "reuters.npz"))
    _same(reuters.load_data(cache_dir=cache, **kwargs), keras_reuters.load_data(**kwargs))
    assert reuters.get_label_names() == keras_reuters.get_label_names()


def test_maxlen_too_small_raises_like_keras(tmp_path, monkeypatch):
    cache = _cache(tmp_path, "imdb.npz", IMDB)
    _keras_reads(monkeypatch, keras_imdb, os.path.join(cache, "imdb.npz"))
    with pytest.raises(ValueError, match="Increase maxlen"):
        keras_imdb.load_data(maxlen=2)
    with pytest.raises(ValueError, match="Increase maxlen"):
        imdb.load_data(cache_dir=cache, maxlen=2)


@pytest.mark.parametrize("kwargs", [{}, {"test_split": 0.5, "seed": 1}, {"test_split": 0.0}], ids=str)
def test_housing_matches_keras(tmp_path, monkeypatch, kwargs):
    cache = _cache(tmp_path, "boston_housing.npz", BOSTON)
    _keras_reads(monkeypatch, keras_boston, os.path.join(cache, "boston_housing.npz"))
    _same(boston_housing.load_data(cache_dir=cache, **kwargs), keras_boston.load_data(**kwargs))
    cache = _cache(tmp_path, "california_housing.npz", CALIFORNIA)
    _keras_reads(monkeypatch, keras_california, os.path.join(cache, "california_housing.npz"))
    for version in ("large", "small"):
        _same(california_housing.load_data(version, cache_dir=cache, **kwargs),
              keras_california.load_data(version, **kwargs))
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data("medium", cache_dir=cache)
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=1.0, cache_dir=cache)


def test_downloads_from_local_server_with_hashes(serve, tmp_path, monkeypatch):
    monkeypatch.setattr(imdb, "SHA256", hashlib.sha256(IMDB).hexdigest())
    monkeypatch.setattr(imdb, "WORD_INDEX_MD5", hashlib.md5(WORDS).hexdigest())
    server = serve({"imdb.npz": IMDB, "imdb_word_index.json": WORDS, "reuters_word_index.json": WORDS})
    cache = tmp_path / "dl"
    (x_train, _), _ = imdb.load_data(cache_dir=cache, origin=server.url)
    assert len(x_train) == 30 and (cache / "imdb.npz").read_bytes() == IMDB
    assert imdb.get_word_index(cache_dir=cache, origin=server.url) == {"the": 1, "movie": 2, "great": 3}
    with pytest.raises(_files.ChecksumError, match="MD5"):  # the published MD5 of Reuters's index differs
        reuters.get_word_index(cache_dir=cache, origin=server.url)
    assert not (cache / "reuters_word_index.json").exists()


def test_object_arrays_load_without_running_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    arr = np.empty(1, dtype=object)
    arr[0] = Evil()
    path = tmp_path / "evil.npz"
    np.savez(path, x=arr)
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        load_npz(path)
