"""check_targets / warn_for_model: errors that name the layer and the fix, and LaminaShapeWarning."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import importlib.util
import warnings

import numpy as np
import pytest

from lamina import backend, layers
from lamina.models import Model, Sequential
from lamina.shape_checks import LaminaShapeWarning, check_targets, loss_name, warn_for_model


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()
    yield


def cifar_model():
    model = Sequential()
    model.add(layers.Dense(512, activation="relu", input_shape=(32, 32, 3)))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def seed_003_model():
    in_ = layers.Input((5, 10))
    return Model(in_, layers.Dense(100, activation="relu", name="dense_1")(in_))


def mnist_model(units=10, activation="softmax"):
    return Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(units, activation=activation)])


def no_warnings(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LaminaShapeWarning)
        fn(*args)


def test_seed_001_one_hot_targets_name_layer_and_flatten():
    onehot = np.eye(10, dtype="float32")[np.arange(8) % 10]
    with pytest.raises(ValueError) as info:
        check_targets(cifar_model(), onehot, "categorical_crossentropy")
    message = str(info.value)
    assert "dense_1" in message and "Flatten" in message
    assert "(None, 10)" in message and "(None, 32, 32, 10)" in message
    assert "dense_1 was applied to the last axis of (None, 32, 32, 512) and kept the axes (32, 32)" in message
    assert "add Flatten() before dense" in message and "GlobalAveragePooling2D" in message


def test_seed_003_targets():
    with pytest.raises(ValueError) as info:
        check_targets(seed_003_model(), np.zeros((4, 100), "float32"), "categorical_crossentropy")
    message = str(info.value)
    assert "dense_1" in message and "Flatten() before dense_1" in message and "(None, 5, 100)" in message


def test_integer_labels_with_categorical_crossentropy():
    for labels in (np.arange(6) % 10, (np.arange(6) % 10)[:, None]):
        with pytest.raises(ValueError, match="sparse_categorical_crossentropy") as info:
            check_targets(mnist_model(), labels, "categorical_crossentropy")
        assert "to_categorical" in str(info.value) and "dense" in str(info.value)


def test_sparse_labels_are_valid_for_sparse_losses():
    model = mnist_model()
    for labels in (np.arange(6) % 10, (np.arange(6) % 10)[:, None], (np.arange(6) % 10).astype("float32")):
        no_warnings(check_targets, model, labels, "sparse_categorical_crossentropy")
    no_warnings(check_targets, model, np.eye(10)[np.arange(6)], "categorical_crossentropy")


def test_one_hot_labels_with_sparse_loss():
    with pytest.raises(ValueError, match="one-hot") as info:
        check_targets(mnist_model(), np.eye(10)[np.arange(6)], "sparse_categorical_crossentropy")
    assert "categorical_crossentropy" in str(info.value) and "argmax" in str(info.value)


def test_sparse_label_out_of_range():
    with pytest.raises(ValueError, match="class id 9") as info:
        check_targets(mnist_model(units=5), np.arange(10), "sparse_categorical_crossentropy")
    assert "Dense(10)" in str(info.value)


def test_regression_targets_never_broadcast():
    model = Sequential([layers.Dense(1, input_shape=(3,))])
    no_warnings(check_targets, model, np.zeros(8), "mse")  # (N,) vs (N, 1): reshaped as Keras 2 did
    no_warnings(check_targets, model, np.zeros((8, 1)), "mean_squared_error")
    model = Sequential([layers.Dense(5, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"\(None,\).*\(None, 5\)"):
        check_targets(model, np.zeros(8), "mse")


def test_binary_crossentropy_with_two_units():
    with pytest.raises(ValueError, match="sigmoid"):
        check_targets(mnist_model(units=2), np.zeros(8), "binary_crossentropy")
    no_warnings(check_targets, mnist_model(units=1, activation="sigmoid"), np.zeros(8), "binary_crossentropy")


def test_wrong_number_of_classes():
    with pytest.raises(ValueError, match="Dense\\(4"):
        check_targets(mnist_model(units=10), np.eye(4)[np.arange(8) % 4], "categorical_crossentropy")


def test_loss_objects_functions_and_dicts():
    def categorical_crossentropy(y_true, y_pred):
        return 0.0

    class CategoricalCrossentropy:
        pass

    assert loss_name(categorical_crossentropy) == "categorical_crossentropy"
    assert loss_name(CategoricalCrossentropy()) == "categorical_crossentropy"
    assert loss_name("MSE") == "mse"
    with pytest.raises(ValueError, match="Flatten"):
        check_targets(cifar_model(), np.zeros((4, 10)), CategoricalCrossentropy())
    a = layers.Input((4,))
    model = Model(a, {"cls": layers.Dense(3, name="cls")(a), "reg": layers.Dense(1, name="reg")(a)})
    no_warnings(check_targets, model, {"cls": np.arange(4) % 3, "reg": np.zeros(4)},
                {"cls": "sparse_categorical_crossentropy", "reg": "mse"})
    with pytest.raises(ValueError, match="reg"):
        check_targets(model, {"cls": np.arange(4) % 3, "reg": np.zeros((4, 3))},
                      {"cls": "sparse_categorical_crossentropy", "reg": "mse"})


def test_custom_loss_mismatch_warns_instead_of_raising():
    def my_loss(y_true, y_pred):
        return 0.0

    with pytest.warns(LaminaShapeWarning, match="Flatten"):
        check_targets(cifar_model(), np.zeros((4, 10)), my_loss)


def test_warning_dense_on_image_ending_rank_4():
    with pytest.warns(LaminaShapeWarning, match="one prediction per position") as record:
        warn_for_model(cifar_model(), "sparse_categorical_crossentropy")
    assert "Flatten() before dense" in str(record[0].message)
    assert record[0].filename == __file__  # points at the caller, not inside lamina


def test_no_warning_for_sequence_tagging_or_flat_models():
    model = Sequential([layers.Embedding(100, 8, input_shape=(12,)), layers.LSTM(16, return_sequences=True),
                        layers.Dense(5, activation="softmax")])
    no_warnings(warn_for_model, model, "sparse_categorical_crossentropy")
    no_warnings(check_targets, model, np.zeros((4, 12), "int32"), "sparse_categorical_crossentropy")
    no_warnings(warn_for_model, mnist_model(), "categorical_crossentropy")


def test_softmax_over_one_unit():
    with pytest.warns(LaminaShapeWarning, match="softmax over an axis of size 1"):
        warn_for_model(mnist_model(units=1, activation="softmax"), "binary_crossentropy")
    model = Sequential([layers.Dense(1, input_shape=(4,)), layers.Activation("softmax")])
    with pytest.warns(LaminaShapeWarning, match="softmax over an axis of size 1"):
        warn_for_model(model, "mse")
    with pytest.warns(LaminaShapeWarning, match="always 0"):
        warn_for_model(mnist_model(units=1, activation="sigmoid"), "categorical_crossentropy")


def test_label_encoding_warnings():
    with pytest.warns(LaminaShapeWarning, match="sparse_categorical_crossentropy"):
        check_targets(mnist_model(units=3), np.array([[0, 2, 1], [3, 0, 0]]), "categorical_crossentropy")
    # Dense on (10, 4) outputs (None, 10, 10): one-hot (N, 10) targets fit the shape a sparse loss expects.
    model = Sequential([layers.Dense(10, input_shape=(10, 4), activation="softmax")])
    with pytest.warns(LaminaShapeWarning, match="look one-hot"):
        check_targets(model, np.eye(10, dtype="float32")[np.arange(6)], "sparse_categorical_crossentropy")
    model = Sequential([layers.Dense(10, input_shape=(6, 4), activation="softmax")])
    with pytest.raises(ValueError, match="look one-hot"):
        check_targets(model, np.eye(10, dtype="float32")[np.zeros((2, 6), int)], "sparse_categorical_crossentropy")


@pytest.mark.skipif(importlib.util.find_spec("lamina.optimizers") is None
                    or importlib.util.find_spec("lamina.losses") is None, reason="training stack not merged yet")
def test_fit_raises_before_any_step():
    model = cifar_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    x = np.zeros((8, 32, 32, 3), "float32")
    y = np.eye(10, dtype="float32")[np.arange(8)]
    with pytest.raises(ValueError, match="Flatten") as info:
        model.fit(x, y, epochs=1, verbose=0)
    assert "dense_1" in str(info.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(ValueError, match="dense_1"):
        model.evaluate(x, y, verbose=0)
