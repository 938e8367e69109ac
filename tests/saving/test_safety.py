"""Malicious and corrupt files give a clear error and nothing else (no files written, no code run)."""

import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina import backend
from lamina import layers as L
from lamina.saving import UnsafeFileError


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()


@pytest.fixture()
def good(tmp_path):
    model = lamina.Sequential([L.Input((4,)), L.Dense(3, name="d")])
    path = tmp_path / "good.keras"
    model.save(str(path))
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    return model, members


def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            if isinstance(name, zipfile.ZipInfo):
                z.writestr(name, data)
            else:
                z.writestr(name, data)
    return str(path)


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_path_traversal_member(tmp_path, good):
    _, members = good
    folder = tmp_path / "in"
    folder.mkdir()
    path = _zip(folder / "evil.keras", {**members, "../escaped.txt": b"x", "/abs.txt": b"y"})
    before = _files(tmp_path)
    with pytest.raises(UnsafeFileError, match="leaves the archive|absolute"):
        lamina.models.load_model(path)
    assert _files(tmp_path) == before


def test_symlink_member(tmp_path, good):
    _, members = good
    info = zipfile.ZipInfo("assets/link")
    info.create_system = 3
    info.external_attr = (0o120777 << 16)
    path = _zip(tmp_path / "link.keras", {**members, info: b"/etc/passwd"})
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        lamina.models.load_model(path)


def test_zip_bomb(tmp_path, good):
    _, members = good
    path = _zip(tmp_path / "bomb.keras", {"metadata.json": members["metadata.json"],
                                          "config.json": members["config.json"],
                                          "model.weights.h5": b"\0" * (40 << 20)}, zipfile.ZIP_DEFLATED)
    assert os.path.getsize(path) < (1 << 20)
    with pytest.raises(UnsafeFileError, match="decompression bomb"):
        lamina.models.load_model(path)


def test_lambda_with_code_never_runs(tmp_path, good):
    _, members = good
    marker = tmp_path / "pwned"
    config = json.loads(members["config.json"])
    payload = f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"
    config["config"]["layers"].append({
        "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
        "config": {"name": "lam", "function": {"class_name": "__lambda__", "config": {"code": payload}}}})
    path = _zip(tmp_path / "lambda.keras", {**members, "config.json": json.dumps(config).encode()})
    with pytest.raises(UnsafeFileError, match="Lambda layer 'lam'.*safe_mode=False"):
        lamina.models.load_model(path)
    with pytest.raises(ValueError, match="not Python bytecode"):  # allowed now, but the payload is not bytecode
        lamina.models.load_model(path, safe_mode=False)
    assert not marker.exists()


def test_custom_class_needs_custom_objects(tmp_path, good):
    _, members = good
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["registered_name"] = "evil>Dense"
    config["config"]["layers"][1]["module"] = "os"
    path = _zip(tmp_path / "custom.keras", {**members, "config.json": json.dumps(config).encode()})
    with pytest.raises(UnsafeFileError, match="custom class 'evil>Dense'.*custom_objects"):
        lamina.models.load_model(path)
    model = lamina.models.load_model(path, custom_objects={"Dense": L.Dense})
    assert model.layers[0].name == "d"


def test_deeply_nested_config(tmp_path, good):
    _, members = good
    deep = "[" * 5000 + "]" * 5000
    config = members["config.json"].decode().replace('"trainable": true', f'"trainable": true, "x": {deep}', 1)
    path = _zip(tmp_path / "deep.keras", {**members, "config.json": config.encode()})
    with pytest.raises(UnsafeFileError, match="nests deeper"):
        lamina.models.load_model(path)


def test_truncated_files(tmp_path, good):
    model, members = good
    wpath = tmp_path / "m.weights.h5"
    model.save_weights(str(wpath))
    data = wpath.read_bytes()
    cut = tmp_path / "cut.weights.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnsafeFileError, match="corrupt or truncated"):
        model.load_weights(str(cut))
    kcut = tmp_path / "cut.keras"
    kcut.write_bytes((tmp_path / "good.keras").read_bytes()[:-200])
    with pytest.raises(UnsafeFileError, match="corrupt or truncated"):
        lamina.models.load_model(str(kcut))
    inner = _zip(tmp_path / "inner.keras", {**members, "model.weights.h5": members["model.weights.h5"][:1500]})
    with pytest.raises(UnsafeFileError, match="corrupt or truncated"):
        lamina.models.load_model(inner)


def test_mismatched_shapes_name_layer_weight_and_shapes(tmp_path, good):
    model, _ = good
    other = lamina.Sequential([L.Input((5,)), L.Dense(3, name="d")])
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"layer 'd'.*weight 'kernel' has shape \(5, 3\).*shape \(4, 3\)"):
        other.load_weights(str(tmp_path / "good.keras"))
    for a, b in zip(other.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    fewer = lamina.Sequential([L.Input((4,)), L.Dense(3, name="d", use_bias=False)])
    with pytest.raises(ValueError, match="has 1 weights.*file has 2"):
        fewer.load_weights(str(tmp_path / "good.keras"))


def test_wrong_magic_bytes(tmp_path, good):
    model, _ = good
    text = tmp_path / "notes.keras"
    text.write_text("hello")
    with pytest.raises(UnsafeFileError, match="not a .keras file.*b'hello'"):
        lamina.models.load_model(str(text))
    fake = tmp_path / "fake.weights.h5"
    fake.write_bytes((tmp_path / "good.keras").read_bytes())
    with pytest.raises(UnsafeFileError, match="not an HDF5 weights file.*zip archive"):
        model.load_weights(str(fake))
    with pytest.raises(FileNotFoundError):
        lamina.models.load_model(str(tmp_path / "missing.keras"))


def test_hdf5_links_are_refused(tmp_path, good):
    model, _ = good
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as f:
        f["secret"] = np.ones((4, 3), "float32")
    path = tmp_path / "link.weights.h5"
    model.save_weights(str(path))
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.ExternalLink(str(outside), "secret")
    with pytest.raises(UnsafeFileError, match="ExternalLink"):
        model.load_weights(str(path))
