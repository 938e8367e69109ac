"""Crafted files that declare far more data than they hold are refused before any large allocation.

Each load runs in a child process capped at 512 MiB more memory (see ``memory.py``); the file declares 1 GiB.
The bar is the issue's: no crafted file makes a load allocate more than 2x what the model's own weights need
(plus a fixed allowance for the interpreter, h5py and JAX's first compilations).
"""

from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina import backend
from lamina import layers as L

from .memory import run_limited

pytestmark = pytest.mark.slow
ALLOWANCE_MB = 64


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()


def _trained_model():
    model = lamina.Sequential([L.Input((8,)), L.Dense(16, activation="relu"), L.Dense(4)])
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(32, 8)).astype("float32"), rng.normal(size=(32, 4)).astype("float32"), verbose=0)
    return model


def _model_mb(model) -> float:
    return sum(w.size * 4 for w in model.weights) / 2**20


def _add_optimizer_bomb(h5: h5py.File) -> None:
    """Replace optimizer dataset 2 by one declaring 1 GiB, chunked and compressed, with 2 MiB really stored."""
    group = h5["optimizer/vars"]
    del group["2"]
    ds = group.create_dataset("2", shape=(2**28,), dtype="float32", chunks=(2**16,), compression="gzip")
    ds[: 2**19] = np.random.default_rng(0).normal(size=2**19).astype("float32")  # incompressible: 2 MiB


def _bomb_keras_file(tmp_path) -> str:
    model = _trained_model()
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    inner = tmp_path / "inner.weights.h5"
    inner.write_bytes(members["model.weights.h5"])
    with h5py.File(inner, "a") as h5:
        _add_optimizer_bomb(h5)
    members["model.weights.h5"] = inner.read_bytes()
    bomb = str(tmp_path / "bomb.keras")
    with zipfile.ZipFile(bomb, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return bomb


def _check(result, model_mb: float, match: str | None) -> None:
    assert result.error_type != "ChildDied", result.output
    assert result.added_mb <= 2 * model_mb + ALLOWANCE_MB, f"added {result.added_mb:.0f} MiB: {result.output[-800:]}"
    if match is None:
        assert result.error is None, result.output
    else:
        assert result.error is not None and match in result.error, result.output


def test_optimizer_bomb_in_keras_file_is_refused_with_compile(tmp_path):
    bomb = _bomb_keras_file(tmp_path)
    result = run_limited(f"lamina.models.load_model({bomb!r})")
    _check(result, _model_mb(_trained_model()), "optimizer dataset")


def test_optimizer_bomb_is_never_read_without_compile(tmp_path):
    bomb = _bomb_keras_file(tmp_path)
    result = run_limited(f"m = lamina.models.load_model({bomb!r}, compile=False)\nassert m.optimizer is None")
    _check(result, _model_mb(_trained_model()), None)


def test_optimizer_bomb_in_weights_file_is_refused_by_load_weights(tmp_path):
    model = _trained_model()
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "a") as h5:
        if "optimizer" not in h5:
            pytest.skip("lamina writes no optimizer state into .weights.h5")
        _add_optimizer_bomb(h5)
    code = f"""
    m = lamina.Sequential([lamina.layers.Input((8,)), lamina.layers.Dense(16, activation="relu"),
                           lamina.layers.Dense(4)])
    m.compile("adam", "mse")
    m.load_weights({path!r})
    """
    _check(run_limited(code), _model_mb(model), "optimizer dataset")
    code_plain = f"""
    m = lamina.Sequential([lamina.layers.Input((8,)), lamina.layers.Dense(16, activation="relu"),
                           lamina.layers.Dense(4)])
    m.load_weights({path!r})  # no optimizer: its state is not read at all
    """
    _check(run_limited(code_plain), _model_mb(model), None)


def test_config_declaring_a_huge_layer_is_refused_before_building(tmp_path):
    model = lamina.Sequential([L.Input((14,)), L.Dense(10, name="d")])
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    for layer in config["config"]["layers"]:
        if layer["config"].get("name") == "d":
            layer["config"]["units"] = 10_000_000  # 150 M parameters: 572 MiB as float32
    members["config.json"] = json.dumps(config).encode()
    bomb = str(tmp_path / "bomb.keras")
    with zipfile.ZipFile(bomb, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    result = run_limited(f"lamina.models.load_model({bomb!r})")
    _check(result, _model_mb(model), "parameters")
    assert "150,000,000 parameters" in result.error


def test_legacy_h5_config_declaring_a_huge_layer_is_refused(tmp_path):
    model = lamina.Sequential([L.Input((14,)), L.Dense(10, name="d")])
    path = str(tmp_path / "m.h5")
    model.save(path)
    with h5py.File(path, "a") as h5:
        config = json.loads(h5.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["config"].get("name") == "d":
                layer["config"]["units"] = 10_000_000
        h5.attrs["model_config"] = json.dumps(config)
    result = run_limited(f"lamina.models.load_model({path!r})")
    _check(result, _model_mb(model), "parameters")


def test_a_good_file_loads_within_twice_its_weights(tmp_path):
    model = lamina.Sequential([L.Input((1024,)), L.Dense(2048), L.Dense(1024)])  # 4.2 M parameters, 16 MiB
    path = str(tmp_path / "big.keras")
    model.save(path)
    result = run_limited(f"m = lamina.models.load_model({path!r})\nassert m.count_params() == {model.count_params()}")
    _check(result, _model_mb(model), None)


def test_zip_bomb_config_is_refused_without_inflating_it(tmp_path):
    model = lamina.Sequential([L.Input((4,)), L.Dense(3)])
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    bomb = str(tmp_path / "bomb.keras")
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n, data in members.items():
            z.writestr(n, data if n != "config.json" else b" " * (256 << 20))  # 256 MiB of spaces, ~250 KiB stored
    result = run_limited(f"lamina.models.load_model({bomb!r})")
    _check(result, _model_mb(model), "config.json")
