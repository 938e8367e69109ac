"""STFTSpectrogram and MelSpectrogram against Keras 3: numerics of every mode, layouts, kernels, configs and
``.keras`` files both ways."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import json

import keras
import numpy as np
import pytest

import lamina
from lamina import layers

from .layer_oracle import Case, check_layer

STFT_CASES = [
    Case("STFTSpectrogram", {"frame_length": 32, "frame_step": 16}, (2, 200, 1), atol=1e-4, id="log"),
    Case("STFTSpectrogram", {"mode": "magnitude", "frame_length": 24, "fft_length": 32, "padding": "same"},
         (2, 150, 2), atol=1e-4, id="magnitude-same-2ch"),
    Case("STFTSpectrogram", {"mode": "psd", "frame_length": 16, "window": "hamming", "scaling": "spectrum"},
         (2, 100, 1), atol=1e-4, id="psd-hamming"),
    Case("STFTSpectrogram", {"mode": "real", "frame_length": 16, "periodic": True}, (1, 80, 3), atol=1e-4,
         id="real-periodic"),
    Case("STFTSpectrogram", {"mode": "imag", "frame_length": 16, "scaling": None}, (1, 80, 1), atol=1e-4,
         id="imag"),
    Case("STFTSpectrogram", {"mode": "stft", "frame_length": 16, "expand_dims": True}, (2, 64, 2), atol=1e-4,
         id="stft-expand"),
    Case("STFTSpectrogram", {"mode": "log", "frame_length": 16, "data_format": "channels_first"}, (2, 2, 64),
         atol=1e-4, id="channels-first"),
    Case("STFTSpectrogram", {"mode": "magnitude", "frame_length": 16, "data_format": "channels_first",
                             "expand_dims": True}, (2, 3, 64), atol=1e-4, id="channels-first-expand"),
]


@pytest.mark.parametrize("case", STFT_CASES, ids=str)
def test_stft_matches_keras(case: Case) -> None:
    check_layer(case)


@pytest.mark.parametrize("mode", ["log", "magnitude", "psd", "real", "imag", "angle", "stft"])
def test_stft_initial_kernels_equal_keras(mode) -> None:
    """The kernels as initialized (not copied) give Keras's numbers: the STFT itself."""
    x = np.random.default_rng(0).normal(size=(2, 300, 1)).astype("float32")
    kw = {"mode": mode, "frame_length": 64, "frame_step": 32, "window": "hann"}
    k, lam = keras.layers.STFTSpectrogram(**kw), layers.STFTSpectrogram(**kw)
    expected, got = np.asarray(k(x)), np.asarray(lam(x))
    assert got.shape == expected.shape
    if mode == "angle":  # the phase of near-zero bins is ill-conditioned: compare where the magnitude is real
        mag = np.asarray(keras.layers.STFTSpectrogram(**{**kw, "mode": "magnitude"})(x))
        np.testing.assert_allclose(got[mag > 1e-3], expected[mag > 1e-3], rtol=1e-3, atol=1e-3)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    for lw, kw_ in zip(lam.get_weights(), k.get_weights()):
        np.testing.assert_allclose(lw, kw_, rtol=1e-6, atol=1e-6)


def test_stft_errors_like_keras() -> None:
    with pytest.raises(ValueError, match="frame_step"):
        layers.STFTSpectrogram(frame_length=16, frame_step=32)
    with pytest.raises(ValueError, match="Output mode"):
        layers.STFTSpectrogram(mode="loud")
    with pytest.raises(TypeError, match="float32"):
        layers.STFTSpectrogram(frame_length=8)(np.ones((1, 40, 1), "int32"))
    with pytest.raises(ValueError, match=r"stft_bad.*add a channel axis"):
        layers.STFTSpectrogram(frame_length=8, name="stft_bad")(layers.Input((400,)))


MEL_KWARGS = [
    {"fft_length": 256, "sequence_stride": 64, "num_mel_bins": 16},
    {"fft_length": 512, "sequence_stride": 128, "sequence_length": 400, "num_mel_bins": 40, "sampling_rate": 22050,
     "min_freq": 50.0, "max_freq": 8000.0, "window": "hamming"},
    {"fft_length": 128, "sequence_stride": 32, "num_mel_bins": 8, "power_to_db": False, "mag_exp": 1.0},
    {"fft_length": 256, "sequence_stride": 100, "num_mel_bins": 12, "top_db": 20.0, "ref_power": 2.0,
     "min_power": 1e-6},
]


@pytest.mark.slow
@pytest.mark.parametrize("kwargs", MEL_KWARGS, ids=str)
def test_mel_matches_keras(kwargs) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(2000) / 16000
    x = (np.sin(2 * np.pi * 440 * t)[None] + 0.3 * rng.normal(size=(3, 2000))).astype("float32")
    k, lam = keras.layers.MelSpectrogram(**kwargs), layers.MelSpectrogram(**kwargs)
    expected, got = np.asarray(k(x)), np.asarray(lam(x))
    assert got.shape == expected.shape
    scale = 1e-3 if kwargs.get("power_to_db", True) else 1e-4 * float(np.abs(expected).max())
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=scale)
    np.testing.assert_allclose(np.asarray(lam(x[0])), np.asarray(k(x[0])), rtol=1e-4, atol=scale)
    assert lam(layers.Input((2000,))).shape == k(keras.Input((2000,))).shape
    lconf, kconf = lam.get_config(), k.get_config()
    lconf.pop("name"), kconf.pop("name")
    assert json.loads(json.dumps(lconf)) == json.loads(json.dumps(kconf))
    assert lam.count_params() == 0


def _model(lib):
    inp = lib.Input((400, 1))
    x = lib.layers.STFTSpectrogram(frame_length=32, frame_step=16, expand_dims=True)(inp)
    x = lib.layers.Conv2D(2, 3)(x)
    return lib.Model(inp, lib.layers.Dense(1)(lib.layers.GlobalAveragePooling2D()(x)))


def test_keras_files_both_ways(tmp_path) -> None:
    x = np.random.default_rng(2).normal(size=(2, 400, 1)).astype("float32")
    kmodel = _model(keras)
    expected = kmodel.predict(x, verbose=0)
    kmodel.save(str(tmp_path / "k.keras"))
    lmodel = lamina.models.load_model(str(tmp_path / "k.keras"))
    np.testing.assert_allclose(np.asarray(lmodel.predict(x, verbose=0)), expected, rtol=1e-4, atol=1e-4)
    lmodel.save(str(tmp_path / "l.keras"))
    again = keras.models.load_model(str(tmp_path / "l.keras"))
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    record = lamina.explain(lmodel, print_fn=lambda line: None)[1]
    assert record.arithmetic == "32 x 1 x 17 real_kernel + 32 x 1 x 17 imag_kernel = 1,088" == (
        f"32 x 1 x 17 real_kernel + 32 x 1 x 17 imag_kernel = {kmodel.layers[1].count_params():,}")


def test_mel_explain_text() -> None:
    model = lamina.Sequential([layers.Input((2000,)), layers.MelSpectrogram(fft_length=256, num_mel_bins=16)])
    record = lamina.explain(model, print_fn=lambda line: None)[0]
    assert "16 mel bands" in record.description and "129 bins" in record.description and record.params == 0
