"""Bad input gives a ValueError that names the layer and the shapes and says how to fix it."""

from __future__ import annotations

import numpy as np
import pytest

from lamina import Model, Sequential, layers


def error_of(fn) -> str:
    with pytest.raises(ValueError) as err:
        fn()
    return str(err.value)


@pytest.mark.parametrize("symbolic", [True, False], ids=["symbolic", "eager"])
def test_dense_called_on_another_last_axis(symbolic):
    dense = layers.Dense(4, name="fc")
    dense(layers.Input((3,)))
    other = layers.Input((5,)) if symbolic else np.ones((2, 5), "float32")
    msg = error_of(lambda: dense(other))
    assert '"fc" (Dense)' in msg
    assert "size 3" in msg and ("(None, 5)" if symbolic else "(2, 5)") in msg
    assert "create a new Dense layer" in msg


def test_sequential_add_after_shape_change_names_both_shapes():
    model = Sequential([layers.Input((6,)), layers.Dense(4, name="fc")])
    shared = model.layers[0]
    msg = error_of(lambda: Sequential([layers.Input((8,)), shared]))
    assert '"fc"' in msg and "size 6" in msg and "(None, 8)" in msg


@pytest.mark.parametrize("target,detail", [((7,), "(7 values)"), ((5, -1), "not divisible by 5")])
def test_reshape_wrong_total_size(target, detail):
    msg = error_of(lambda: layers.Reshape(target, name="rs")(layers.Input((3, 4))))
    assert "Reshape 'rs'" in msg and "(None, 3, 4)" in msg and "12 values" in msg and detail in msg
    assert "multiply to 12" in msg


def test_reshape_wrong_total_size_eager():
    msg = error_of(lambda: layers.Reshape((7,), name="rs")(np.ones((2, 3, 4), "float32")))
    assert "Reshape 'rs'" in msg and "multiply to 12" in msg


def test_reshape_two_unknown_axes():
    assert "at most one -1" in error_of(lambda: layers.Reshape((-1, -1)))


def test_predict_missing_batch_axis():
    model = Sequential([layers.Input((3, 4)), layers.Flatten(), layers.Dense(2)], name="s")
    msg = error_of(lambda: model.predict(np.ones((3, 4)), verbose=0))
    assert "model 's'" in msg and "(None, 3, 4)" in msg and "(3, 4)" in msg and "np.expand_dims(x, 0)" in msg


def test_predict_unflattened_images():
    model = Sequential([layers.Input((784,)), layers.Dense(2)], name="s")
    msg = error_of(lambda: model.predict(np.ones((5, 28, 28)), verbose=0))
    assert "(None, 784)" in msg and "(5, 28, 28)" in msg and "x.reshape(len(x), 784)" in msg and "Flatten" in msg


def test_predict_wrong_rank_functional():
    x = layers.Input((4, 2), name="pixels")
    model = Model(x, layers.Dense(1)(x), name="m")
    # (2, 4, 2, 1) would be accepted: a trailing axis of size 1 is dropped, as Keras does
    msg = error_of(lambda: model.predict(np.ones((2, 4, 2, 3)), verbose=0))
    assert "model 'm'" in msg and "'pixels'" in msg and "(None, 4, 2)" in msg and "(2, 4, 2, 3)" in msg


def test_predict_wrong_number_of_inputs():
    a, b = layers.Input((2,), name="a"), layers.Input((2,), name="b")
    model = Model([a, b], layers.Add()([a, b]), name="m")
    msg = error_of(lambda: model.predict(np.ones((3, 2)), verbose=0))
    assert "expects 2 inputs" in msg and "'a'" in msg and "'b'" in msg


def test_outputs_not_connected_to_inputs():
    a, b = layers.Input((3,), name="a"), layers.Input((3,), name="b")
    out = layers.Dense(2, name="head")(b)
    msg = error_of(lambda: Model(a, out, name="m"))
    assert "Model 'm'" in msg and "layer 'head' (Dense)" in msg and "Input 'b' (None, 3)" in msg
    assert "Model(inputs=[...])" in msg


def test_duplicate_names_in_functional_model():
    x = layers.Input((3,))
    h = layers.Dense(2, name="same")(x)
    msg = error_of(lambda: Model(x, layers.Dense(2, name="same")(h)))
    assert "['same']" in msg and "name=" in msg


def test_summary_on_unbuilt_sequential():
    model = Sequential([layers.Dense(10, name="d")], name="s")
    msg = error_of(model.summary)
    assert "'s'" in msg and "model.build(input_shape=(None, 784))" in msg and "Input(shape=(784,))" in msg


def test_count_params_on_unbuilt_sequential():
    assert "not yet been built" in error_of(Sequential([layers.Dense(10)]).count_params)


def test_set_weights_with_wrong_shapes():
    model = Sequential([layers.Input((3,)), layers.Dense(2, name="d")], name="s")
    msg = error_of(lambda: model.set_weights([np.zeros((4, 2)), np.zeros(2)]))
    assert "'d/kernel'" in msg and "(3, 2)" in msg and "(4, 2)" in msg
    assert "2 weights" in error_of(lambda: model.set_weights([np.zeros((3, 2))]))


def test_dense_on_rank_one_input_explains():
    msg = error_of(lambda: Sequential([layers.Dense(2, name="dd")]).predict(np.ones((5,)), verbose=0))
    assert '"dd" (Dense)' in msg and "min_ndim=2" in msg and "input_shape=(features,)" in msg
