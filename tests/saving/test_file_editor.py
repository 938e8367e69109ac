"""KerasFileEditor against Keras's: the same file reads as the same weights tree; the same edits give files that
load the same way in both; compare() gives the same verdicts."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina
from lamina.saving import KerasFileEditor

keras = pytest.importorskip("keras")


def _model(mod, units=3):
    return mod.Sequential([mod.Input((4,)), mod.layers.Dense(units, name="first"), mod.layers.Dense(2, name="last")])


def _same_tree(a, b):
    assert list(a) == list(b)
    for key in a:
        if isinstance(a[key], dict):
            _same_tree(a[key], b[key])
        else:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("editor")
    model = _model(keras)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 4)), np.ones((4, 2)), verbose=0)
    model.save(folder / "m.keras")
    model.save_weights(folder / "m.weights.h5")
    return folder, model


@pytest.mark.parametrize("name", ["m.keras", "m.weights.h5"])
def test_reads_the_same_tree_as_keras(files, name):
    folder, _ = files
    ours, theirs = KerasFileEditor(str(folder / name)), keras.saving.KerasFileEditor(str(folder / name))
    _same_tree(ours.weights_dict, theirs.weights_dict)
    assert ours.config == theirs.config
    ours.summary()


def test_compare_matches_keras(files):
    folder, _ = files
    for reference in (_model, lambda mod: _model(mod, units=5)):
        ours = KerasFileEditor(str(folder / "m.keras")).compare(reference(lamina))
        theirs = keras.saving.KerasFileEditor(str(folder / "m.keras")).compare(reference(keras))
        assert ours["status"] == theirs["status"]
        if theirs["status"] == "success":
            assert ours == theirs


def test_edits_match_keras_and_load(files, tmp_path):
    folder, trained = files
    editors = [KerasFileEditor(str(folder / "m.keras")), keras.saving.KerasFileEditor(str(folder / "m.keras"))]
    for editor in editors:
        editor.rename_object("layers/dense", "renamed")
        editor.delete_object("optimizer")
        editor.add_weights("layers/renamed", {"2": np.zeros(3, "float32")})
        editor.delete_weight("layers/renamed", "2")
        editor.add_object("layers/extra", {"0": np.ones((2,), "float32")})
        editor.delete_object("layers/extra")
        editor.rename_object("layers/renamed", "dense")
    _same_tree(editors[0].weights_dict, editors[1].weights_dict)
    editors[0].save(str(tmp_path / "ours.weights.h5"))
    editors[1].save(str(tmp_path / "theirs.weights.h5"))
    for path in ("ours.weights.h5", "theirs.weights.h5"):
        k_model, l_model = _model(keras), _model(lamina)
        k_model.load_weights(str(tmp_path / path))
        l_model.load_weights(str(tmp_path / path))
        for a, b, c in zip(l_model.get_weights(), k_model.get_weights(), trained.get_weights()):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, c)


def test_errors_match_keras(files):
    folder, _ = files
    ours = KerasFileEditor(str(folder / "m.keras"))
    ours.weights_dict["optimizer"]["dense"] = {"0": np.zeros(1)}
    with pytest.raises(ValueError, match="more than once"):  # (Keras miscounts a name found once; lamina does not)
        ours.rename_object("dense", "x")
    for cls in (KerasFileEditor, keras.saving.KerasFileEditor):
        with pytest.raises(ValueError, match="Invalid filename"):
            cls(str(folder / "m.h5"))
        editor = cls(str(folder / "m.keras"))
        with pytest.raises(ValueError, match="does not appear"):
            editor.rename_object("nope", "x")
        with pytest.raises(ValueError, match="leaf name"):
            editor.rename_object("layers/dense", "a/b")
        with pytest.raises(ValueError, match="not found in model"):
            editor.delete_object("layers/nope")
        with pytest.raises(ValueError, match="should be a dict"):
            editor.add_weights("layers/dense", [1])
        with pytest.raises(ValueError, match="not found in object"):
            editor.delete_weight("layers/dense", "7")
        with pytest.raises(ValueError, match="expected a `.weights.h5`"):
            editor.save(str(folder / "x.keras"))
