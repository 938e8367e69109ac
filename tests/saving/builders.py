"""Equivalent lamina and Keras models for the saving tests (same architecture, built in each library)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from lamina import Model, Sequential  # noqa: E402
from lamina import layers as L  # noqa: E402


def randomize(model, seed: int = 0) -> None:
    """Give every weight distinct positive values (positive keeps BatchNorm variances valid)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.05, 0.5, np.shape(w)).astype("float32") for w in model.get_weights()])


# ------------------------------------------------------------------------------------------------ lamina
def lamina_seq_dense():
    return Sequential([L.Input((6, 4)), L.Flatten(), L.Dense(10, activation="relu", name="foo"), L.Dropout(0.2),
                       L.Dense(3), L.Activation("softmax")])


def lamina_seq_reshape():
    return Sequential([L.Dense(12, input_shape=(6,)), L.Reshape((3, 4)), L.TimeDistributed(L.Dense(2)),
                       L.Flatten(), L.Rescaling(2.0, offset=1.0)])


def lamina_multi_io_shared():
    a, b = L.Input((4,), name="a"), L.Input((4,), name="b")
    shared = L.Dense(3, activation="tanh")
    ha, hb = shared(a), shared(b)
    out1 = L.Dense(2, name="out1")(L.Concatenate()([ha, hb]))
    out2 = L.Activation("sigmoid", name="out2")(hb)
    return Model([a, b], [out1, out2])


def lamina_nested():
    x = L.Input((5, 10), name="x")
    h = L.Rescaling(0.5)(x)
    h = L.TimeDistributed(L.Dense(5))(h)
    h = L.Reshape((25,))(h)
    h = L.Dense(6, activation="relu")(h)
    inner = Sequential([L.Dense(4), L.Dense(2)], name="inner")
    return Model(x, inner(h), name="outer")


def lamina_cnn():
    return Sequential([L.Input((8, 8, 2)), L.Conv2D(4, 3), L.BatchNormalization(), L.MaxPooling2D(),
                       L.Conv2D(3, 2, padding="same", activation="relu"), L.GlobalAveragePooling2D(), L.Dense(2)])


def lamina_rnn():
    return Sequential([L.Input((5,)), L.Embedding(12, 3), L.LSTM(4, return_sequences=True),
                       L.Bidirectional(L.GRU(2)), L.LayerNormalization(), L.Dense(2)])


LAMINA = {"seq_dense": lamina_seq_dense, "seq_reshape": lamina_seq_reshape, "multi_io_shared": lamina_multi_io_shared,
          "nested": lamina_nested, "cnn": lamina_cnn, "rnn": lamina_rnn}


# ------------------------------------------------------------------------------------------------- keras
def keras_model(kind: str):
    import keras
    from keras import layers as K

    if kind == "seq_dense":
        return keras.Sequential([keras.Input((6, 4)), K.Flatten(), K.Dense(10, activation="relu", name="foo"),
                                 K.Dropout(0.2), K.Dense(3), K.Activation("softmax")])
    if kind == "seq_reshape":
        return keras.Sequential([keras.Input((6,)), K.Dense(12), K.Reshape((3, 4)), K.TimeDistributed(K.Dense(2)),
                                 K.Flatten(), K.Rescaling(2.0, offset=1.0)])
    if kind == "multi_io_shared":
        a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
        shared = K.Dense(3, activation="tanh")
        ha, hb = shared(a), shared(b)
        out1 = K.Dense(2, name="out1")(K.Concatenate()([ha, hb]))
        return keras.Model([a, b], [out1, K.Activation("sigmoid", name="out2")(hb)])
    if kind == "nested":
        x = keras.Input((5, 10), name="x")
        h = K.Dense(6, activation="relu")(K.Reshape((25,))(K.TimeDistributed(K.Dense(5))(K.Rescaling(0.5)(x))))
        inner = keras.Sequential([K.Dense(4), K.Dense(2)], name="inner")
        return keras.Model(x, inner(h), name="outer")
    if kind == "cnn":
        return keras.Sequential([keras.Input((8, 8, 2)), K.Conv2D(4, 3), K.BatchNormalization(), K.MaxPooling2D(),
                                 K.Conv2D(3, 2, padding="same", activation="relu"), K.GlobalAveragePooling2D(),
                                 K.Dense(2)])
    if kind == "rnn":
        return keras.Sequential([keras.Input((5,)), K.Embedding(12, 3), K.LSTM(4, return_sequences=True),
                                 K.Bidirectional(K.GRU(2)), K.LayerNormalization(), K.Dense(2)])
    raise KeyError(kind)


def sample_inputs(kind: str, seed: int = 1):
    rng = np.random.default_rng(seed)
    if kind == "seq_dense":
        return rng.normal(size=(3, 6, 4)).astype("float32")
    if kind == "seq_reshape":
        return rng.normal(size=(3, 6)).astype("float32")
    if kind == "multi_io_shared":
        return [rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(3, 4)).astype("float32")]
    if kind == "nested":
        return rng.normal(size=(3, 5, 10)).astype("float32")
    if kind == "cnn":
        return rng.normal(size=(3, 8, 8, 2)).astype("float32")
    if kind == "rnn":
        return rng.integers(0, 12, size=(3, 5)).astype("int32")
    raise KeyError(kind)


def assert_same_outputs(a, b, atol: float = 1e-5) -> None:
    a = a if isinstance(a, (list, tuple)) else [a]
    b = b if isinstance(b, (list, tuple)) else [b]
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=1e-5)


def h5_tree(source) -> list[tuple]:
    """Every group/dataset path with its attrs, shape and dtype (an h5py file path, file object or bytes)."""
    import io
    import zipfile

    if isinstance(source, str) and source.endswith(".keras"):
        with zipfile.ZipFile(source) as z:
            source = io.BytesIO(z.read("model.weights.h5"))
    out: list[tuple] = []
    with h5py.File(source, "r") as f:
        f.visititems(lambda n, o: out.append((n, sorted((k, str(v)) for k, v in o.attrs.items()),
                                              getattr(o, "shape", None), str(getattr(o, "dtype", "group")))))
    return out
