"""Functional and subclassed models against Keras 3: shapes, parameter counts, weight order and predictions."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import json

import numpy as np
import pytest

from lamina import Model, layers
from tests.oracle import _as_list, build_both, compare, first_difference, strip_config


def rank3_dense(K):
    x = K.Input((5, 7))
    return K.Model(x, K.layers.Dense(4, activation="relu")(x))


def rank4_dense(K):
    x = K.Input((3, 4, 5))
    return K.Model(x, K.layers.Dense(6)(K.layers.Dense(3, activation="tanh")(x)))


def rank5_dense(K):
    x = K.Input((2, 3, 4, 5))
    return K.Model(x, K.layers.Dense(2, use_bias=False)(x))


def flatten_reshape_chain(K):
    x = K.Input((6, 4))
    h = K.layers.Flatten()(x)
    h = K.layers.Reshape((-1, 8))(h)
    h = K.layers.Dense(5)(h)
    h = K.layers.Reshape((5, 3, -1))(h)
    h = K.layers.Flatten()(h)
    return K.Model(x, K.layers.Dense(2, activation="softmax")(h))


def time_distributed(K):
    x = K.Input((7, 3))
    h = K.layers.TimeDistributed(K.layers.Dense(4, activation="sigmoid"))(x)
    return K.Model(x, K.layers.TimeDistributed(K.layers.Dense(2))(h))


def activations_rescaling_dropout(K):
    x = K.Input((10,))
    h = K.layers.Rescaling(1 / 255, offset=-0.5)(x)
    h = K.layers.Dense(8)(h)
    for name in ("relu", "tanh", "sigmoid", "elu", "selu", "softplus", "gelu", "swish", "linear"):
        h = K.layers.Activation(name)(h)
    h = K.layers.Dropout(0.5)(h)
    return K.Model(x, K.layers.Activation("softmax")(K.layers.Dense(3)(h)))


def multi_input(K):
    a, b = K.Input((4,)), K.Input((3, 2))
    hb = K.layers.Flatten()(b)
    h = K.layers.Concatenate()([K.layers.Dense(5)(a), hb])
    return K.Model([a, b], K.layers.Dense(1)(h))


def multi_output(K):
    x = K.Input((6,))
    h = K.layers.Dense(8, activation="relu")(x)
    return K.Model(x, [K.layers.Dense(2)(h), K.layers.Dense(3, activation="softmax")(h)])


def multi_io_shared(K):
    a, b = K.Input((4,)), K.Input((4,))
    shared = K.layers.Dense(3, activation="tanh")
    ha, hb = shared(a), shared(b)
    out1 = K.layers.Dense(2)(K.layers.Add()([ha, hb]))
    out2 = K.layers.Dense(1)(shared(K.layers.Dense(4)(hb)))
    return K.Model([a, b], [out1, out2])


def shared_twice_in_chain(K):
    x = K.Input((5,))
    square = K.layers.Dense(5, activation="relu")
    return K.Model(x, square(square(x)))


def sequential_inside_functional(K):
    x = K.Input((5, 10))
    h = K.layers.Rescaling(0.5)(x)
    h = K.layers.TimeDistributed(K.layers.Dense(5))(h)
    h = K.layers.Reshape((25,))(h)
    h = K.layers.Dense(6, activation="relu")(h)
    inner = K.Sequential([K.layers.Dense(4), K.layers.Dense(2)])
    return K.Model(x, inner(h))


def functional_inside_sequential(K):
    i = K.Input((8,))
    inner = K.Model(i, K.layers.Dense(4, activation="relu")(i))
    return K.Sequential([K.Input((8,)), inner, K.layers.Dense(3)])


def functional_inside_functional_twice(K):
    i = K.Input((3,))
    inner = K.Model(i, K.layers.Dense(3, activation="tanh")(i))
    x = K.Input((3,))
    return K.Model(x, K.layers.Dense(1)(inner(inner(x))))


def dict_outputs(K):
    x = K.Input((4,))
    h = K.layers.Dense(3)(x)
    return K.Model(x, {"a": K.layers.Dense(2)(h), "b": K.layers.Dense(1)(h)})


def branch_merge(K):
    x = K.Input((8, 3))
    left = K.layers.Flatten()(K.layers.Dense(2)(x))
    right = K.layers.Dense(16)(K.layers.Reshape((24,))(x))
    return K.Model(x, K.layers.Dense(1)(K.layers.Concatenate()([left, right])))


def shared_at_two_depths(K):
    x = K.Input((3,))
    shared = K.layers.Dense(3)
    y = shared(shared(x))
    return K.Model(x, [y, K.layers.Dense(2)(shared(K.layers.Reshape((1, 3))(x)))])


CASES = [
    (shared_at_two_depths, [(2, 3)]),
    (rank3_dense, [(3, 5, 7)]),
    (rank4_dense, [(2, 3, 4, 5)]),
    (rank5_dense, [(2, 2, 3, 4, 5)]),
    (flatten_reshape_chain, [(3, 6, 4)]),
    (time_distributed, [(4, 7, 3)]),
    (activations_rescaling_dropout, [(5, 10)]),
    (multi_input, [(3, 4), (3, 3, 2)]),
    (multi_output, [(4, 6)]),
    (multi_io_shared, [(3, 4), (3, 4)]),
    (shared_twice_in_chain, [(2, 5)]),
    (sequential_inside_functional, [(3, 5, 10)]),
    (functional_inside_sequential, [(3, 8)]),
    (functional_inside_functional_twice, [(4, 3)]),
    (dict_outputs, [(2, 4)]),
    (branch_merge, [(3, 8, 3)]),
]


@pytest.mark.parametrize("describe,shapes", CASES, ids=[c[0].__name__ for c in CASES])
def test_matches_keras(describe, shapes):
    compare(describe, shapes)


def subclassed(K):
    class TwoTower(K.Model):
        def __init__(self):
            super().__init__()
            self.body = K.layers.Dense(6, activation="relu")
            self.head_a = K.layers.Dense(3)
            self.head_b = K.layers.Dense(3)

        def call(self, inputs):
            h = self.body(inputs)
            return K.layers.Activation("softmax")(self.head_a(h) + self.head_b(h))

    return TwoTower()


def test_subclassed_model_matches_keras():
    lm, km = compare(subclassed, [(4, 5)], symbolic=False)
    assert [w.shape for w in lm.weights] == [(5, 6), (6,), (6, 3), (3,), (6, 3), (3,)]


def subclassed_two_inputs(K):
    class Pair(K.Model):
        def __init__(self):
            super().__init__()
            self.left = K.layers.Dense(4)
            self.right = K.layers.Dense(4, activation="relu")

        def call(self, inputs):
            return self.left(inputs[0]) * self.right(inputs[1])

    return Pair()


def test_subclassed_two_inputs_built_by_predict_matches_keras():
    compare(subclassed_two_inputs, [(3, 2), (3, 5)], symbolic=False)


def test_subclassed_build_with_input_shape():
    lm, _ = build_both(subclassed)
    lm.build((None, 5))  # like tf.keras 2: traces call() (Keras 3 would only warn and create nothing)
    assert lm.built and lm.count_params() == 5 * 6 + 6 + 2 * (6 * 3 + 3)
    lines = []
    lm.summary(print_fn=lines.append)
    assert lines[4].startswith("dense (Dense)                multiple                  36")


# ---------------------------------------------------------------------------------------- graph errors
def test_outputs_not_connected_to_inputs():
    a, b = layers.Input((3,), name="a"), layers.Input((3,), name="b")
    out = layers.Dense(2, name="head")(b)
    with pytest.raises(ValueError) as err:
        Model(a, out)
    msg = str(err.value)
    assert "head" in msg and "'b'" in msg and "inputs" in msg


def test_model_input_must_come_from_input():
    x = layers.Input((3,))
    h = layers.Dense(2, name="middle")(x)
    with pytest.raises(ValueError, match="middle"):
        Model(h, layers.Dense(1)(h))


def test_get_layer_by_name_and_index():
    lm, _ = build_both(multi_output)
    assert lm.get_layer(index=0).name == "input_1"
    assert lm.get_layer("dense_1") is lm.layers[2]
    with pytest.raises(ValueError, match="No such layer: 'nope'.*dense_1"):
        lm.get_layer("nope")
    with pytest.raises(ValueError, match="out of range"):
        lm.get_layer(index=99)


# ---------------------------------------------------------------------------------------- configs
CONFIG_CASES = [shared_at_two_depths, rank3_dense, flatten_reshape_chain, multi_input, multi_io_shared,
                sequential_inside_functional, dict_outputs]


@pytest.mark.parametrize("describe", CONFIG_CASES, ids=[c.__name__ for c in CONFIG_CASES])
def test_config_round_trip_and_matches_keras(describe):
    lm, km = build_both(describe)
    config = lm.get_config()
    text = json.dumps(config)
    again = Model.from_config(json.loads(text))
    assert json.dumps(again.get_config()) == text
    again.set_weights(lm.get_weights())
    xs = [np.random.default_rng(0).normal(size=(2,) + t.shape[1:]).astype("float32") for t in lm.inputs]
    x = xs[0] if len(xs) == 1 else xs
    a, b = lm.predict(x, verbose=0), again.predict(x, verbose=0)
    for p, q in zip(_as_list(a), _as_list(b), strict=True):
        np.testing.assert_array_equal(np.asarray(p), np.asarray(q))

    kconfig = json.loads(json.dumps(km.get_config()))
    lconfig = json.loads(text)
    assert [entry["class_name"] for entry in lconfig["layers"]] == [e["class_name"] for e in kconfig["layers"]]
    diff = first_difference(strip_config(lconfig), strip_config(kconfig))
    assert diff is None, diff


def test_keras_functional_config_loads_in_lamina():
    lm, km = build_both(multi_io_shared)
    rebuilt = Model.from_config(json.loads(json.dumps(km.get_config())))
    rebuilt.set_weights(km.get_weights())
    xs = [np.ones((2, 4), "float32"), np.full((2, 4), 0.5, "float32")]
    for p, q in zip(rebuilt.predict(xs, verbose=0), km.predict(xs, verbose=0)):
        np.testing.assert_allclose(p, q, atol=1e-5)


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_trailing_axis_of_one_is_added_or_dropped_like_keras(kind):
    import keras

    def make(K):
        if kind == "sequential":
            return K.Sequential([K.Input((6, 6, 1)), K.layers.Conv2D(2, 3), K.layers.Flatten(), K.layers.Dense(3)])
        x = K.Input((6, 6, 1))
        return K.Model(x, K.layers.Dense(3)(K.layers.Flatten()(K.layers.Conv2D(2, 3)(x))))

    import lamina

    ours, theirs = make(lamina), make(keras)
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(0).normal(size=(4, 6, 6)).astype("float32")  # no channel axis
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    ours.compile("sgd", "mse")
    ours.fit(x, np.zeros((4, 3)), epochs=1, verbose=0)
    x5 = np.zeros((4, 6, 6, 1, 1), "float32")  # an extra trailing axis of one is dropped
    assert ours.predict(x5, verbose=0).shape == theirs.predict(x5, verbose=0).shape == (4, 3)
    with pytest.raises(ValueError, match=r"expects shape \(None, 6, 6, 1\), but received an array of shape \(4, 6\)"):
        ours.predict(np.zeros((4, 6), "float32"), verbose=0)
