"""Bad training data is refused before the first step, over all of its rows, naming the input and the row."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import backend
from lamina import layers as L
from lamina.training import input_checks


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()


def _model(loss="sparse_categorical_crossentropy", inputs=3):
    model = lamina.Sequential([L.Input((inputs,)), L.Dense(4, activation="softmax")])
    model.compile("adam", loss)
    return model


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3), dtype=np.float32), rng.integers(0, 4, n)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_inputs_is_refused_before_any_step(bad):
    model = _model()
    before = model.get_weights()
    x, y = _data()
    x[237, 2] = bad
    with pytest.raises(ValueError, match=r"x contains NaN or inf \(first at row 237, of 300 rows\)"):
        model.fit(x, y, batch_size=32, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing trained


def test_nan_in_targets_and_dict_inputs_are_named():
    inp = L.Input((3,), name="pixels")
    model = lamina.Model({"pixels": inp}, L.Dense(2)(inp))
    model.compile("adam", "mse")
    x, _ = _data(50)
    y = np.zeros((50, 2), "float32")
    y[41, 0] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN or inf \(first at row 41"):
        model.fit({"pixels": x}, y, verbose=0)
    x[7, 0] = np.nan
    with pytest.raises(ValueError, match=r"x\['pixels'\] contains NaN or inf \(first at row 7"):
        model.fit({"pixels": x}, y, verbose=0)


def test_the_check_can_be_turned_off():
    model = _model(loss="mse")
    x, _ = _data(64)
    x[3, 0] = np.nan
    input_checks.set_enabled(False)
    try:
        model.fit(x, np.zeros((64, 4), "float32"), verbose=0)
    finally:
        input_checks.set_enabled(True)
    assert np.isnan(model.get_weights()[0]).any()  # what the check prevents


def test_label_out_of_range_past_the_first_batch_is_refused():
    model = _model()
    x, y = _data()
    y[200] = 9
    with pytest.raises(ValueError, match=r"class id 9 \(first bad row: 200\).*4 classes"):
        model.fit(x, y, batch_size=32, verbose=0)
    y[200] = -1
    with pytest.raises(ValueError, match=r"class id -1 \(first bad row: 200\)"):
        model.fit(x, y, batch_size=32, verbose=0)


@pytest.mark.parametrize("n", [0])
def test_fit_on_zero_samples_is_an_error(n):
    model = _model()
    x, y = _data()
    with pytest.raises(ValueError, match=r"received 0 samples \(x \(0, 3\), y \(0,\)\)"):
        model.fit(x[:n], y[:n], verbose=0)


def test_unknown_activation_in_a_config_names_the_layer_and_argument(tmp_path):
    config = {"class_name": "Dense", "config": {"name": "head", "units": 3, "activation": "relux"}}
    with pytest.raises(ValueError, match=r"layer 'head' \(Dense\) from its config \(argument 'activation'\): "
                                         r"Unknown activation 'relux'"):
        lamina.layers.deserialize(config)
