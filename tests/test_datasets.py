"""lamina.datasets: Keras's shapes and dtypes, downloads from a local server, checksums, cache, errors."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import pickle
import socket
import struct
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from lamina.datasets import _files, cifar10, cifar100, digits, fashion_mnist, mnist


# ------------------------------------------------------------------------------------ helpers
class _Server:
    """A file server on 127.0.0.1 for one test: counts requests, stops at teardown or after 60 s."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):  # noqa: N802 - http.server's name
                outer.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.timer = threading.Timer(60.0, self.stop)
        self.timer.daemon = True

    def start(self) -> _Server:
        self.thread.start()
        self.timer.start()
        return self

    def stop(self) -> None:
        self.timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve(tmp_path):
    servers = []

    def start(files: dict[str, bytes]) -> _Server:
        root = tmp_path / f"www{len(servers)}"
        root.mkdir()
        for name, content in files.items():
            (root / name).write_bytes(content)
        server = _Server(root).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("LAMINA_DATA_DIR", raising=False)
    monkeypatch.delenv("LAMINA_DATASETS_ORIGIN", raising=False)


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _fake_mnist(n_train: int = 6, n_test: int = 4) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez(buf, x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, n_train, dtype=np.uint8),
             x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, n_test, dtype=np.uint8))
    return buf.getvalue()


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _cifar_batch(images: np.ndarray, labels: dict[str, list[int]]) -> bytes:
    # Same layout as the real files: rows of 1024 red, 1024 green, 1024 blue bytes; protocol 2.
    data = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    batch = {b"batch_label": b"fake", b"data": data, b"filenames": [b"x.png"] * len(images)}
    batch.update({k.encode(): v for k, v in labels.items()})
    return pickle.dumps(batch, protocol=2)


def _tarball(folder: str, members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _images(n: int, offset: int) -> np.ndarray:
    return ((np.arange(n * 32 * 32 * 3).reshape(n, 32, 32, 3) + offset) % 251).astype(np.uint8)


# ------------------------------------------------------------------------------------- MNIST
def test_mnist_download_checksum_and_cache_hit(serve, tmp_path, monkeypatch):
    content = _fake_mnist()
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256(content).hexdigest())
    server = serve({"mnist.npz": content})
    cache = tmp_path / "cache"
    (x_train, y_train), (x_test, y_test) = mnist.load_data(cache_dir=cache, origin=server.url)
    assert (x_train.shape, x_train.dtype) == ((6, 28, 28), np.uint8)
    assert (y_train.shape, y_train.dtype) == ((6,), np.uint8)
    assert x_test.shape == (4, 28, 28) and y_test.shape == (4,)
    assert (cache / "mnist.npz").read_bytes() == content
    assert [p for p in cache.iterdir() if p.name != "mnist.npz"] == []  # no temporary file left
    assert server.requests == ["/mnist.npz"]
    again = mnist.load_data(cache_dir=cache, origin=server.url)
    np.testing.assert_array_equal(again[0][0], x_train)
    assert len(server.requests) == 1  # served from the cache


def test_checksum_mismatch_leaves_no_file(serve, tmp_path, monkeypatch):
    server = serve({"mnist.npz": _fake_mnist()})
    monkeypatch.setattr(mnist, "SHA256", "0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(_files.ChecksumError, match="SHA-256"):
        mnist.load_data(cache_dir=cache, origin=server.url)
    assert list(cache.iterdir()) == []


def test_missing_file_without_server_says_where_to_put_it(tmp_path):
    cache = tmp_path / "nowhere"
    url = _closed_port_url()
    with pytest.raises(_files.DatasetNotFoundError) as info:
        mnist.load_data(cache_dir=cache, origin=url)
    message = str(info.value)
    assert f"{url}mnist.npz" in message and f"{cache.resolve()}/mnist.npz" in message
    assert "LAMINA_DATA_DIR" in message
    assert list(cache.iterdir()) == []
    assert isinstance(info.value, FileNotFoundError)


def test_env_cache_dir_env_origin_and_keras_cache(serve, tmp_path, monkeypatch):
    content = _fake_mnist(3, 2)
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256(content).hexdigest())
    server = serve({"mnist.npz": content})
    monkeypatch.setenv("LAMINA_DATA_DIR", str(tmp_path / "envcache"))
    monkeypatch.setenv("LAMINA_DATASETS_ORIGIN", server.url.rstrip("/"))
    (x_train, _), _ = mnist.load_data()
    assert x_train.shape == (3, 28, 28) and (tmp_path / "envcache" / "mnist.npz").is_file()
    # A copy in Keras's cache is used without downloading.
    monkeypatch.setenv("LAMINA_DATA_DIR", str(tmp_path / "empty"))
    keras_data = tmp_path / "keras_home" / "datasets"
    keras_data.mkdir(parents=True)
    (keras_data / "mnist.npz").write_bytes(content)
    assert mnist.load_data()[0][0].shape == (3, 28, 28)
    assert len(server.requests) == 1


def test_damaged_mnist_file_is_reported(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="delete it"):
        mnist.load_data(cache_dir=tmp_path)


# ------------------------------------------------------------------------------ Fashion-MNIST
def test_fashion_mnist_reads_idx_files(serve, tmp_path):
    rng = np.random.default_rng(1)
    arrays = {"train-labels-idx1-ubyte.gz": rng.integers(0, 10, 5), "train-images-idx3-ubyte.gz":
              rng.integers(0, 256, (5, 28, 28)), "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 3),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28))}
    files = {name: _idx(a) for name, a in arrays.items()}
    server = serve(files)
    hashes = {name: hashlib.sha256(c).hexdigest() for name, c in files.items()}
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(
        cache_dir=tmp_path / "c", origin=server.url, sha256=hashes)
    assert x_train.shape == (5, 28, 28) and x_train.dtype == np.uint8 and y_train.shape == (5,)
    np.testing.assert_array_equal(x_test, arrays["t10k-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert sorted(p.name for p in (tmp_path / "c" / "fashion-mnist").iterdir()) == sorted(files)


def test_truncated_idx_file_is_reported(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name in fashion_mnist.FILES:
        content = _idx(np.zeros((4, 28, 28)))[:-8] if "images" in name else _idx(np.zeros(4))
        (folder / name).write_bytes(content)
    with pytest.raises(ValueError):
        fashion_mnist.load_data(cache_dir=tmp_path)


# -------------------------------------------------------------------------------------- CIFAR
def test_cifar10_tarball_download_and_pixel_layout(serve, tmp_path, monkeypatch):
    members = {f"data_batch_{i}": _cifar_batch(_images(2, i), {"labels": [i, i + 1]}) for i in range(1, 6)}
    members["test_batch"] = _cifar_batch(_images(3, 0), {"labels": [7, 8, 9]})
    members["batches.meta"] = pickle.dumps({b"label_names": [b"airplane"]}, protocol=2)
    archive = _tarball("cifar-10-batches-py", members)
    monkeypatch.setattr(cifar10, "SHA256", hashlib.sha256(archive).hexdigest())
    server = serve({"cifar-10-python.tar.gz": archive})
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(cache_dir=tmp_path, origin=server.url)
    assert (x_train.shape, x_train.dtype) == ((10, 32, 32, 3), np.uint8)
    assert (y_train.shape, y_train.dtype) == ((10, 1), np.uint8)
    assert x_test.shape == (3, 32, 32, 3) and y_test.ravel().tolist() == [7, 8, 9]
    np.testing.assert_array_equal(x_train[:2], _images(2, 1))
    np.testing.assert_array_equal(x_test, _images(3, 0))
    assert y_train.ravel().tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]
    cifar10.load_data(cache_dir=tmp_path, origin=server.url)
    assert len(server.requests) == 1


def test_cifar100_fine_and_coarse(tmp_path):
    members = {"train": _cifar_batch(_images(4, 5), {"fine_labels": [10, 20, 30, 99],
                                                     "coarse_labels": [1, 2, 3, 19]}),
               "test": _cifar_batch(_images(2, 6), {"fine_labels": [0, 1], "coarse_labels": [0, 0]}),
               "meta": b""}
    (tmp_path / "cifar-100-python.tar.gz").write_bytes(_tarball("cifar-100-python", members))
    (x_train, y_fine), (x_test, _) = cifar100.load_data(cache_dir=tmp_path)
    (_, y_coarse), _ = cifar100.load_data("coarse", cache_dir=tmp_path)
    assert x_train.shape == (4, 32, 32, 3) and y_fine.shape == (4, 1) and y_fine.dtype == np.uint8
    assert y_fine.ravel().tolist() == [10, 20, 30, 99] and y_coarse.ravel().tolist() == [1, 2, 3, 19]
    np.testing.assert_array_equal(x_test, _images(2, 6))
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data("medium", cache_dir=tmp_path)


def test_cifar_pickle_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    members = {f"data_batch_{i}": pickle.dumps({b"data": Evil()}, protocol=2) for i in range(1, 6)}
    members["test_batch"] = members["data_batch_1"]
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(_tarball("cifar-10-batches-py", members))
    with pytest.raises(ValueError, match="refused to load .*print"):
        cifar10.load_data(cache_dir=tmp_path)


def test_cifar_extracted_folder_and_wrong_archive(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(_cifar_batch(_images(1, 0), {"labels": [3]}))
    (x_train, y_train), _ = cifar10.load_data(cache_dir=tmp_path)
    assert x_train.shape == (5, 32, 32, 3) and y_train.shape == (5, 1)
    other = tmp_path / "other"
    other.mkdir()
    (other / "cifar-100-python.tar.gz").write_bytes(_tarball("elsewhere", {"train": b""}))
    with pytest.raises(ValueError, match="not the CIFAR"):
        cifar100.load_data(cache_dir=other)


# ------------------------------------------------------------------------------------- digits
def test_digits_shapes_range_and_determinism():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8 and y_test.shape == (360,)
    assert x_train.max() == 255 and x_train.min() == 0 and set(np.unique(y_train)) == set(range(10))
    (x2, y2), _ = digits.load_data()
    np.testing.assert_array_equal(x2, x_train)
    np.testing.assert_array_equal(y2, y_train)
    (x3, _), _ = digits.load_data(seed=1)
    assert not np.array_equal(x3, x_train)
    with pytest.raises(ValueError):
        digits.load_data(test_split=1.0)


def test_imports_stay_light():
    code = ("import sys, lamina.datasets, lamina.callbacks, lamina.training.progbar\n"
            "heavy = ('keras', 'torch', 'tensorflow', 'sklearn')\n"
            "bad = [m for m in heavy if m in sys.modules]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    import sys

    import pytest as _pytest

    from lamina.datasets import digits

    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with _pytest.raises(ImportError, match=r"pip install 'lamina\[demo\]'"):
        digits.load_data()
