"""``input``, ``output``, ``input_shape``, ``output_shape``, ``input_names``, ``output_names`` compared with Keras 3."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import pytest

import lamina
from lamina import backend as lamina_backend


def _multi(K):
    a, b = K.Input((4, 3), name="a"), K.Input((4, 2), name="b")
    return K.Model([a, b], [K.layers.Dense(5, name="y1")(a), K.layers.Dense(6, name="y2")(b)])


def _dict(K):
    a, b = K.Input((4, 3), name="a"), K.Input((4, 2), name="b")
    return K.Model({"a": a, "b": b}, {"o1": K.layers.Dense(5, name="y1")(a), "o2": K.layers.Dense(6, name="y2")(b)})


def _single(K):
    x = K.Input((28, 28), name="img")
    return K.Model(x, K.layers.Dense(10, name="out")(K.layers.Flatten()(x)))


def _single_in_multi_out(K):
    x = K.Input((8,), name="x")
    h = K.layers.Dense(4, name="h")(x)
    return K.Model(x, [K.layers.Dense(1, name="p")(h), K.layers.Dense(3, name="q")(h)])


def _unknown_axes(K):
    x = K.Input((None, 7), name="seq")
    return K.Model(x, K.layers.Dense(3, name="proj")(K.layers.LSTM(5, return_sequences=True)(x)))


def _nested_outer(K):
    x = K.Input((3,), name="inner_in")
    inner = K.Model(x, K.layers.Dense(2, name="inner_out")(x), name="inner")
    z = K.Input((3,), name="outer_in")
    return K.Model(z, K.layers.Dense(1, name="outer_out")(inner(z)))


def _nested_inner_called_again(K):
    x = K.Input((3,), name="inner_in")
    inner = K.Model(x, K.layers.Dense(2, name="inner_out")(x), name="inner")
    for _ in range(2):  # called on new inputs: the model still answers with its own inputs and outputs
        z = K.Input((3,))
        K.Model(z, inner(z))
    return inner


def _shared(K):
    d = K.layers.Dense(2, name="shared")
    p, q = K.Input((3,), name="p"), K.Input((3,), name="q")
    return K.Model([p, q], [d(p), d(q)])


def _sequential(K):
    return K.Sequential([K.Input((3,)), K.layers.Dense(2, name="d")])


FUNCTIONAL = [_multi, _dict, _single, _single_in_multi_out, _unknown_axes, _nested_outer,
              _nested_inner_called_again, _shared]
K_LAMINA = lamina
K_KERAS = keras


def _build(describe, lib):
    (keras.backend if lib is keras else lamina_backend).clear_session()
    return describe(lib)


def _kind(structure):
    return type(structure).__name__ if isinstance(structure, (list, dict)) else "tensor"


def _shapes(structure):
    if isinstance(structure, dict):
        return {k: tuple(v.shape) for k, v in structure.items()}
    if isinstance(structure, list):
        return [tuple(v.shape) for v in structure]
    return tuple(structure.shape)


@pytest.mark.parametrize("describe", FUNCTIONAL, ids=lambda f: f.__name__.strip("_"))
def test_functional_attributes_match_keras(describe):
    ours, theirs = _build(describe, lamina), _build(describe, keras)
    assert ours.input_shape == theirs.input_shape
    assert ours.output_shape == theirs.output_shape
    assert ours.output_names == theirs.output_names
    assert _kind(ours.input) == _kind(theirs.input) and _shapes(ours.input) == _shapes(theirs.input)
    assert _kind(ours.output) == _kind(theirs.output) and _shapes(ours.output) == _shapes(theirs.output)
    # Keras 3 dropped input_names; lamina keeps Keras 2's meaning: the Input layers' names, in order.
    assert ours.input_names == [t._keras_history.operation.name for t in theirs.inputs]


def test_sequential_shapes_match_keras():
    ours, theirs = _build(_sequential, lamina), _build(_sequential, keras)
    assert ours.input_shape == theirs.input_shape == (None, 3)
    assert ours.output_shape == theirs.output_shape == (None, 2)
    assert ours.output_names == ["d"] and _shapes(ours.output) == (None, 2)


def test_shared_layer_output_names_the_fix_and_get_output_at_works():
    model = _build(_shared, lamina)
    layer = model.get_layer("shared")
    with pytest.raises(AttributeError, match=r"multiple inbound nodes.*get_output_at\(node_index\)"):
        _ = layer.output
    with pytest.raises(AttributeError, match=r"get_input_at\(node_index\)"):
        _ = layer.input
    assert layer.get_output_at(1) is model.output[1]
    assert layer.get_input_at(0) is model.input[0]
    assert layer.get_output_shape_at(0) == (None, 2)
    with pytest.raises(ValueError, match="no node 2"):
        layer.get_output_at(2)


def test_unbuilt_sequential_says_how_to_build():
    lamina_backend.clear_session()
    model = lamina.Sequential([lamina.layers.Dense(2)])
    with pytest.raises(AttributeError, match="build it first"):
        _ = model.output_names
