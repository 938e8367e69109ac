"""``.keras`` files both ways between lamina and Keras 3: predictions, configs, compile state."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import json  # noqa: E402
import zipfile  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lamina  # noqa: E402
from lamina import backend  # noqa: E402
from tests.saving.builders import LAMINA, assert_same_outputs, h5_tree, keras_model, randomize, sample_inputs  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()
    keras.backend.clear_session()


@pytest.mark.parametrize("kind", sorted(LAMINA))
def test_lamina_to_keras_and_back(kind, tmp_path):
    model = LAMINA[kind]()
    randomize(model)
    x = sample_inputs(kind)
    expected = model(x)
    path = str(tmp_path / "m.keras")
    model.save(path)

    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in z.infolist())
        config_text = z.read("config.json").decode()
        assert "\n" not in config_text and json.dumps(json.loads(config_text)) == config_text
        assert json.loads(config_text)["compile_config"] == {}
        metadata = json.loads(z.read("metadata.json"))
        assert {"keras_version", "date_saved"} <= set(metadata)

    kmodel = keras.saving.load_model(path)
    assert_same_outputs(kmodel(x), expected)

    # The HDF5 tree equals the one Keras writes for the same model.
    kpath = str(tmp_path / "k.keras")
    kmodel.save(kpath)
    assert h5_tree(path) == h5_tree(kpath)

    again = lamina.models.load_model(kpath)
    assert [type(layer).__name__ for layer in again.layers] == [type(layer).__name__ for layer in model.layers]
    assert_same_outputs(again(x), expected)


@pytest.mark.parametrize("kind", ["multi_io_shared", "nested", "cnn"])
def test_keras_file_loads_in_lamina(kind, tmp_path):
    kmodel = keras_model(kind)
    randomize(kmodel, seed=3)
    x = sample_inputs(kind)
    path = str(tmp_path / "k.keras")
    kmodel.save(path)
    model = lamina.models.load_model(path)
    assert_same_outputs(model(x), kmodel(x))
    assert model.name == kmodel.name
    assert [layer.name for layer in model.layers] == [layer.name for layer in kmodel.layers]


def test_compiled_state_round_trips_with_keras(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")
    model = lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = str(tmp_path / "fit.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        compile_config = json.loads(z.read("config.json"))["compile_config"]
    assert compile_config["optimizer"]["class_name"] == "Adam"
    assert compile_config["loss"] == "mse" and compile_config["metrics"] == ["mae"]

    kmodel = keras.saving.load_model(path)
    assert kmodel.optimizer.__class__.__name__ == "Adam"
    kvars = [np.asarray(v) for v in kmodel.optimizer.variables]
    assert len(kvars) == len(model.optimizer.variables) == 6
    for a, b in zip(kvars, model.optimizer.variables):
        np.testing.assert_allclose(a, b, rtol=1e-6)

    # Keras -> lamina: the compile settings and the optimizer state come back.
    kmodel.fit(x, y, epochs=1, batch_size=8, verbose=0)
    kpath = str(tmp_path / "kfit.keras")
    kmodel.save(kpath)
    loaded = lamina.models.load_model(kpath)
    assert loaded.compiled and type(loaded.optimizer).__name__ == "Adam"
    assert int(loaded.optimizer.iterations) == 4
    for a, b in zip(loaded.optimizer.variables, kmodel.optimizer.variables):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6)
    assert np.isfinite(loaded.evaluate(x, y, verbose=0)).all()
    assert not lamina.models.load_model(kpath, compile=False).compiled


def test_unsupported_keras_layer_is_named(tmp_path):
    kmodel = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Dense(3), keras.layers.Solarization()])
    path = str(tmp_path / "u.keras")
    kmodel.save(path)
    import zipfile  # lamina now has every keras.layers class: rename this one to a class nobody has

    with zipfile.ZipFile(path) as src:
        members = {name: src.read(name) for name in src.namelist()}
    members["config.json"] = members["config.json"].replace(b'"Solarization"', b'"ImaginaryLayer"')
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    with pytest.raises(ValueError, match=r"ImaginaryLayer.*supports:.*Dense"):
        lamina.models.load_model(path)


def test_save_requires_keras_suffix_and_built_model(tmp_path):
    model = LAMINA["seq_dense"]()
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(str(tmp_path / "m.txt"))
    with pytest.raises(ValueError, match="not been built"):
        lamina.Sequential([lamina.layers.Dense(2)]).save(str(tmp_path / "m.keras"))
    model.save(str(tmp_path / "m.keras"))
    with pytest.raises(FileExistsError):
        model.save(str(tmp_path / "m.keras"), overwrite=False)
