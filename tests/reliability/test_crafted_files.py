"""A corpus of crafted ``.keras`` files: each is refused with the right exception and a message naming the
problem, runs no code and writes nothing (or, for NaN weights, loads with a warning naming them)."""

from __future__ import annotations

import io
import json
import os
import warnings
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


def _good_members(tmp_path):
    model = lamina.Sequential([L.Input((4,)), L.Dense(3, name="d"), L.Dense(2, name="out")])
    path = tmp_path / "good.keras"
    model.save(str(path))
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _edit_config(fn):
    def mutate(members, tmp_path):
        config = json.loads(members["config.json"])
        fn(config["config"]["layers"], str(tmp_path / "PWNED"))
        members["config.json"] = json.dumps(config).encode()
        return members
    return mutate


def _edit_weights(fn):
    def mutate(members, tmp_path):
        inner = tmp_path / "inner.h5"
        inner.write_bytes(members["model.weights.h5"])
        with h5py.File(inner, "a") as h5:
            fn(h5, tmp_path)
        members["model.weights.h5"] = inner.read_bytes()
        return members
    return mutate


def _set_layer(index, value):
    def edit(layers, marker):
        layers[index] = json.loads(json.dumps(value).replace("MARKER", marker))
    return edit


def _set_activation(value):
    def edit(layers, marker):
        layers[1]["config"]["activation"] = json.loads(json.dumps(value).replace("MARKER", marker))
    return edit


def _virtual(h5, tmp_path):
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f.create_dataset("k", data=np.ones((4, 3), "float32"))
    layout = h5py.VirtualLayout(shape=(4, 3), dtype="float32")
    layout[:] = h5py.VirtualSource(str(source), "k", shape=(4, 3))
    group = h5["layers/dense/vars"]
    del group["0"]
    group.create_virtual_dataset("0", layout)


def _strings(h5, tmp_path):
    group = h5["layers/dense/vars"]
    del group["0"]
    group.create_dataset("0", data=np.array([b"abc"] * 12).reshape(4, 3))


def _shape(h5, tmp_path):
    group = h5["layers/dense/vars"]
    del group["0"]
    group.create_dataset("0", data=np.ones((5, 3), "float32"))


def _truncate(members, tmp_path):
    members["model.weights.h5"] = members["model.weights.h5"][:700]
    return members


def _member(name):
    def mutate(members, tmp_path):
        members[name] = b"x"
        return members
    return mutate


CASES = [
    ("os-system-layer", _edit_config(_set_layer(1, {"module": "os", "class_name": "system",
                                                    "config": {"command": "touch MARKER"}})),
     ValueError, "Unknown layer class 'system'"),
    ("builtins-eval-layer", _edit_config(_set_layer(1, {"module": "builtins", "class_name": "eval",
                                                        "config": {"source": "open('MARKER', 'w')"}})),
     ValueError, "Unknown layer class 'eval'"),
    ("registered-name-trick", _edit_config(lambda layers, m: layers[1].update(registered_name="os>system")),
     UnsafeFileError, "custom class 'os>system'"),
    ("module-path-trick", _edit_config(_set_layer(1, {"module": "lamina.saving.atomic", "class_name": "atomic_path",
                                                      "config": {"target": "MARKER"}})),
     ValueError, "Unknown layer class 'atomic_path'"),
    ("activation-from-os", _edit_config(_set_activation({"module": "os", "class_name": "function",
                                                         "config": "system"})),
     ValueError, "(argument 'activation'): Unknown activation 'system'"),
    ("lambda-bytecode", _edit_config(_set_layer(1, {"module": "keras.layers", "class_name": "Lambda",
                                                    "config": {"name": "l", "function": {
                                                        "class_name": "__lambda__",
                                                        "config": {"code": "4wAAAA==", "defaults": None}}}})),
     UnsafeFileError, "Python bytecode"),
    ("lambda-function-activation", _edit_config(_set_activation({"class_name": "__lambda__",
                                                                 "config": {"code": "4wAAAA=="}})),
     UnsafeFileError, "bytecode"),
    ("zip-slip", _member("../../escape.txt"), UnsafeFileError, "leaves the archive"),
    ("absolute-member", _member("/etc/lamina-test"), UnsafeFileError, "absolute"),
    ("truncated-weights", _truncate, UnsafeFileError, "corrupt or truncated"),
    ("virtual-dataset", _edit_weights(_virtual), UnsafeFileError, "virtual datasets"),
    ("string-dataset", _edit_weights(_strings), UnsafeFileError, "not numeric"),
    ("wrong-shape", _edit_weights(_shape), ValueError, "weight 'kernel' has shape (4, 3), but the file's"),
]


@pytest.mark.parametrize(("mutate", "error", "match"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_crafted_file_is_refused(tmp_path, mutate, error, match):
    members = mutate(_good_members(tmp_path), tmp_path)
    path = tmp_path / "crafted.keras"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(error) as info:
        lamina.models.load_model(str(path))
    assert match in str(info.value), str(info.value)
    assert sorted(os.listdir(tmp_path)) == before  # no code ran, nothing was written
    assert not (tmp_path / "PWNED").exists()


def test_corrupted_member_crc_is_refused(tmp_path):
    members = _good_members(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    raw = bytearray(buffer.getvalue())
    at = raw.find(b'"class_name"')
    raw[at + 2] ^= 0x20  # flip one bit inside config.json's stored bytes: its CRC no longer matches
    path = tmp_path / "crc.keras"
    path.write_bytes(bytes(raw))
    with pytest.raises(UnsafeFileError, match="corrupt|CRC|Bad"):
        lamina.models.load_model(str(path))


def test_nan_weights_load_with_a_warning_naming_them(tmp_path):
    model = lamina.Sequential([L.Input((4,)), L.Dense(3, name="d"), L.Dense(2, name="out")])
    weights = [np.array(w) for w in model.get_weights()]
    weights[2][0, 1] = np.nan
    weights[3][1] = np.inf
    model.set_weights(weights)
    path = str(tmp_path / "nan.keras")
    model.save(path)
    with pytest.warns(UserWarning, match=r"NaN or inf: out/kernel \(1 of 6 values\), out/bias \(1 of 2 values\)"):
        loaded = lamina.models.load_model(path)
    assert np.isnan(loaded.get_weights()[2][0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.set_weights([np.zeros_like(w) for w in weights])
        model.save(path)
        lamina.models.load_model(path)  # finite weights: no warning
