"""``lamina.config`` and ``lamina.backend`` against Keras 3: the same settings, dtype rules and errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import lamina  # noqa: E402
from lamina import backend, config  # noqa: E402


def test_defaults_match_keras():
    for name in ("backend", "floatx", "epsilon", "image_data_format", "is_interactive_logging_enabled",
                 "is_traceback_filtering_enabled", "is_flash_attention_enabled", "max_epochs", "max_steps_per_epoch",
                 "is_nnx_enabled"):
        assert getattr(config, name)() == getattr(keras.config, name)(), name


@pytest.mark.parametrize("name, value", [("floatx", "float16"), ("epsilon", 1e-4),
                                         ("image_data_format", "channels_first")])
def test_setters_round_trip_and_share_backend_state(name, value):
    old = getattr(config, name)()
    try:
        getattr(config, f"set_{name}")(value)
        assert getattr(config, name)() == value and getattr(backend, name)() == value
    finally:
        getattr(config, f"set_{name}")(old)


def test_bad_values_raise_like_keras():
    for module in (config, keras.config):
        with pytest.raises(ValueError):
            module.set_floatx("int32")
        with pytest.raises(ValueError):
            module.set_image_data_format("channels_middle")
    with pytest.raises(ValueError, match="JAX only"):
        config.set_backend("torch")
    with pytest.raises(ValueError):
        config.set_max_epochs(0)


DTYPE_CASES = [("int32", "float32"), ("bfloat16", int), ("int8", float), ("int64", "float32"), ("uint8", "int8"),
               ("float16", "bfloat16"), (int,), (float,), (int, float), ("bool", int), ("int32", complex),
               ("float64", complex), ("bool", "bool"), ("uint32", "int32"), ("float16", float), ("float64",),
               ("int64",), ("uint64", "int8"), (None,), ("float32", "complex64"), ("int16", "uint16"), ()]


@pytest.mark.parametrize("dtypes", DTYPE_CASES, ids=str)
def test_result_type_matches_keras(dtypes):
    assert backend.result_type(*dtypes) == keras.backend.result_type(*dtypes)


@pytest.mark.parametrize("dtype", [None, "float32", np.float16, np.dtype("int8"), int, float, bool, "bfloat16",
                                   "uint16", "string"], ids=str)
def test_standardize_and_kind_of_dtype_match_keras(dtype):
    assert backend.standardize_dtype(dtype) == keras.backend.standardize_dtype(dtype)
    if dtype != "string":
        assert backend.is_float_dtype(dtype) == keras.backend.is_float_dtype(dtype)
        assert backend.is_int_dtype(dtype) == keras.backend.is_int_dtype(dtype)
    with pytest.raises(ValueError, match="Invalid dtype"):
        backend.standardize_dtype("floaty")


def test_get_uid_shares_counters_with_auto_names():
    for module in (backend, keras.backend):
        module.clear_session()
    assert [backend.get_uid("dense"), backend.get_uid("dense")] == [keras.backend.get_uid("dense"),
                                                                      keras.backend.get_uid("dense")]
    assert lamina.layers.Dense(2).name == keras.layers.Dense(2).name == "dense_2"
    for module in (backend, keras.backend):
        module.clear_session()


def test_keras_tensor_helpers():
    x = lamina.layers.Input((3, 4))
    assert backend.is_keras_tensor(x) and not backend.is_keras_tensor(np.zeros(2))
    assert backend.int_shape(x) == (None, 3, 4) and backend.int_shape(np.zeros((2, 5))) == (2, 5)


def test_enable_unsafe_deserialization_lets_lambda_files_load(tmp_path, monkeypatch):
    from lamina.saving import safety

    model = {"class_name": "Lambda", "config": {"name": "lam", "function": {"class_name": "__lambda__"}}}
    custom = {"Lambda": object, "__lambda__": object}
    with pytest.raises(safety.UnsafeFileError):
        safety.check_config_objects(model, custom, safe_mode=True)
    monkeypatch.setitem(config._STATE, "safe_mode", None)
    config.enable_unsafe_deserialization()
    assert config.in_safe_mode() is False
    safety.check_config_objects(model, custom, safe_mode=True)  # no error now


def test_interactive_logging_switch_routes_messages(capsys, caplog):
    config.disable_interactive_logging()
    try:
        with caplog.at_level("INFO", logger="lamina"):
            config.print_msg("to the log")
        assert "to the log" not in capsys.readouterr().out and "to the log" in caplog.text
    finally:
        config.enable_interactive_logging()
    config.print_msg("to stdout")
    assert capsys.readouterr().out == "to stdout\n"


def test_max_epochs_and_steps_cap_fit():
    model = lamina.Sequential([lamina.layers.Input((2,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((40, 2), "float32"), np.zeros((40, 1), "float32")
    config.set_max_epochs(2)
    config.set_max_steps_per_epoch(3)
    try:
        seen = []
        callback = lamina.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
        with pytest.warns(UserWarning, match="Limiting"):
            history = model.fit(x, y, epochs=5, batch_size=4, verbose=0, callbacks=[callback])
        assert len(history.history["loss"]) == 2 and len(seen) == 6
    finally:
        config.set_max_epochs(None)
        config.set_max_steps_per_epoch(None)


def test_flash_attention_and_traceback_switches():
    config.enable_flash_attention()
    assert config.is_flash_attention_enabled() is True
    config.disable_flash_attention()
    assert config.is_flash_attention_enabled() is False
    config._STATE["flash_attention"] = None
    config.disable_traceback_filtering()
    assert not config.is_traceback_filtering_enabled()
    config.enable_traceback_filtering()
    assert config.is_traceback_filtering_enabled()
