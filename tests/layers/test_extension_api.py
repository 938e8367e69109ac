"""The API for writing your own layers, against Keras 3: ``add_weight``/``add_variable`` with every argument,
``add_loss``/``losses``, build on first use, inferred output shapes, ``compute_output_spec``, sublayers tracked
as attributes and inside lists/dicts/tuples, ``training`` passed down, build configs.

Each custom layer is written once against a namespace ``K`` (lamina or Keras) and an ``ops`` module
(``jax.numpy`` for lamina, ``keras.ops`` for Keras: the names used here are the same in both)."""

from __future__ import annotations

import types

import jax.numpy as jnp
import numpy as np
import pytest

import lamina  # noqa: E402
from lamina import backend as lamina_backend  # noqa: E402
from lamina import layers  # noqa: E402
from tests.oracle import KERAS, LAMINA, keras

OPS = {"lamina": jnp, "keras": keras.ops}


def _fresh(lib: types.SimpleNamespace) -> None:
    (keras.backend if lib is KERAS else lamina_backend).clear_session()


def _custom_classes(K: types.SimpleNamespace) -> types.SimpleNamespace:
    ops = OPS[K.name]

    class Linear(K.layers.Layer):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1], self.units), "random_normal", name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True, name="b",
                                     regularizer="l2", constraint="non_neg", aggregation="mean")
            self.steps = self.add_variable((), "zeros", dtype="int32", trainable=False, name="steps")

        def call(self, x):
            return ops.matmul(x, self.w.value) + self.b.value  # .value: Weight-as-array is another issue

    class Stack(K.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.blocks = [K.layers.Dense(4), K.layers.Dense(2)]
            self.by_name = {"b": K.layers.Dense(3), "a": K.layers.Dense(5)}
            self.pair = (K.layers.Dense(6), Linear(2))
            self.head = K.layers.Dense(1)

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            x = self.by_name["a"](self.by_name["b"](x))
            x = self.pair[1](self.pair[0](x))
            return self.head(x)

    class Penalized(K.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = K.layers.Dense(3, kernel_regularizer=K.regularizers.L2(0.1))

        def call(self, x):
            y = self.inner(x)
            self.add_loss(0.5 * ops.sum(ops.square(y)))
            return y

    class Noisy(K.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.drop = K.layers.Dropout(0.5)

        def call(self, x, training=None):
            return self.drop(x, training=training) * 2

    class NoShape(K.layers.Layer):
        def call(self, x):
            return ops.concatenate([x, ops.square(x)], axis=-1)[:, 1:]

    return types.SimpleNamespace(Linear=Linear, Stack=Stack, Penalized=Penalized, Noisy=Noisy, NoShape=NoShape)


LIBS = [("lamina", LAMINA), ("keras", KERAS)]
for _name, _lib in LIBS:
    _lib.regularizers = lamina.regularizers if _name == "lamina" else keras.regularizers


def _both(make) -> tuple:
    out = []
    for _, lib in reversed(LIBS):
        _fresh(lib)
        out.append(make(lib, _custom_classes(lib)))
    return out[1], out[0]  # (lamina, keras)


def test_add_weight_every_argument_matches_keras() -> None:
    ours, theirs = _both(lambda K, C: C.Linear(3))
    for layer in (ours, theirs):
        layer.build((None, 4))
    assert [(w.name, tuple(w.shape), str(w.dtype), w.trainable) for w in ours.weights] == \
        [(w.name, tuple(w.shape), str(w.dtype), w.trainable) for w in theirs.weights]
    assert [w.name for w in ours.trainable_weights] == [w.name for w in theirs.trainable_weights]
    assert type(ours.b.constraint).__name__ == type(theirs.b.constraint).__name__ == "NonNeg"
    assert type(ours.b.regularizer).__name__ == type(theirs.b.regularizer).__name__ == "L2"
    assert ours.b.aggregation == theirs.b.aggregation == "mean"
    assert ours.w.autocast is True and ours.b.overwrite_with_gradient is False


@pytest.mark.parametrize("args,kwargs,error", [
    (("w",), {}, ValueError),
    (((2,), "zeros", "float32", True), {}, TypeError),
    (((2,),), {"shape": (3,)}, ValueError),
])
def test_add_weight_argument_errors_match_keras(args, kwargs, error) -> None:
    for lib in (layers, keras.layers):
        with pytest.raises(error):
            lib.Layer().add_weight(*args, **kwargs)


def test_nested_layers_in_lists_dicts_tuples_tracked_in_keras_order() -> None:
    x = np.random.default_rng(0).normal(size=(2, 7)).astype("float32")
    ours, theirs = _both(lambda K, C: C.Stack())
    ours(x), theirs(x)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert len(ours._flatten_layers()) == len(theirs._flatten_layers())
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


def test_layers_appended_after_assignment_are_tracked() -> None:
    for lib in (layers, keras.layers):
        class Later(lib.Layer):
            def __init__(self, lib=lib):
                super().__init__()
                self.parts = []
                self.parts.append(lib.Dense(2))

            def call(self, x):
                return self.parts[0](x)

        layer = Later()
        layer(np.ones((1, 3), "float32"))
        assert [tuple(w.shape) for w in layer.weights] == [(3, 2), (2,)]


def test_add_loss_and_losses_match_keras_eagerly() -> None:
    x = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
    ours, theirs = _both(lambda K, C: C.Penalized())
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    theirs(x)
    ours(x)
    assert len(ours.losses) == len(theirs.losses) == 2  # the add_loss term, then the kernel's L2 penalty
    np.testing.assert_allclose([float(v) for v in ours.losses], [float(v) for v in theirs.losses], rtol=1e-5)
    ours(x), theirs(x)
    assert len(ours.losses) == len(theirs.losses) == 2  # each outermost call starts afresh


def test_model_losses_gather_sublayers_and_train_with_add_loss() -> None:
    x = np.random.default_rng(2).normal(size=(16, 5)).astype("float32")
    y = np.random.default_rng(3).normal(size=(16, 3)).astype("float32")

    def make(K, C):
        inputs = K.Input((5,))
        model = K.Model(inputs, C.Penalized()(inputs))
        model.compile(optimizer="sgd", loss="mse")
        return model

    ours, theirs = _both(make)
    ours.set_weights(theirs.get_weights())
    ours(x), theirs(x)
    np.testing.assert_allclose(sorted(float(v) for v in ours.losses), sorted(float(v) for v in theirs.losses),
                               rtol=1e-5)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-4)


def test_build_on_first_use_and_build_config_match_keras() -> None:
    ours, theirs = _both(lambda K, C: C.Linear(2))
    assert ours.built is theirs.built is False
    ours(np.ones((3, 4), "float32")), theirs(np.ones((3, 4), "float32"))
    assert ours.built is theirs.built is True
    # Keras builds an eagerly called layer for the first batch's size; lamina leaves the batch axis None.
    assert ours.get_build_config() == {"input_shape": [None, 4]}
    assert list(theirs.get_build_config()["input_shape"])[1:] == [4]
    fresh, fresh_keras = _both(lambda K, C: C.Linear(2))
    fresh.build_from_config(theirs.get_build_config())
    fresh_keras.build_from_config(theirs.get_build_config())
    assert fresh.built and [tuple(w.shape) for w in fresh.weights] == [tuple(w.shape) for w in fresh_keras.weights]


def test_output_shape_inferred_when_not_written() -> None:
    ours, theirs = _both(lambda K, C: C.NoShape()(K.Input((4, 3))))
    assert tuple(ours.shape) == tuple(theirs.shape) == (None, 3, 6)
    assert str(ours.dtype) == str(theirs.dtype) == "float32"


def test_compute_output_spec_matches_keras() -> None:
    for lib, make_input in ((layers, layers.Input), (keras.layers, keras.Input)):
        spec = lib.Dense(4).compute_output_spec(make_input((2, 3)))
        assert tuple(spec.shape) == (None, 2, 4) and str(spec.dtype) == "float32"

    class Spec(layers.Layer):
        def call(self, x):
            return x[..., :1]

        def compute_output_spec(self, x):
            return lamina.graph.KerasTensor(x.shape[:-1] + (1,), dtype="float16")

    out = Spec()(layers.Input((5,)))
    assert out.shape == (None, 1) and out.dtype == "float16"


def test_training_flag_reaches_sublayers() -> None:
    x = np.ones((64, 32), "float32")
    for name, lib in LIBS:
        _fresh(lib)
        layer = _custom_classes(lib).Noisy()
        np.testing.assert_array_equal(np.asarray(layer(x)), 2 * x)
        dropped = np.asarray(layer(x, training=True))
        assert 0.3 < (dropped == 0).mean() < 0.7, name
        inputs = lib.Input((32,))
        model = lib.Model(inputs, layer(inputs))
        np.testing.assert_array_equal(np.asarray(model.predict(x, verbose=0)), 2 * x)


def test_custom_layer_in_functional_model_matches_keras() -> None:
    x = np.random.default_rng(4).normal(size=(3, 6)).astype("float32")

    def make(K, C):
        inputs = K.Input((6,))
        return K.Model(inputs, C.Linear(4)(C.Stack()(inputs)))

    ours, theirs = _both(make)
    assert ours.count_params() == theirs.count_params()
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def _masked_conv_model(K, ops):
    """keras-io's PixelCNN pattern: ``call`` assigns a masked kernel to a sublayer's weight, then calls it."""

    class MaskedConv(K.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__()
            self.conv = K.layers.Conv2D(**kwargs)

        def build(self, input_shape):
            self.conv.build(input_shape)
            self.mask = np.ones(tuple(self.conv.kernel.shape), "float32")
            self.mask[1:] = 0.0

        def call(self, inputs):
            self.conv.kernel.assign(self.conv.kernel * self.mask)
            return self.conv(inputs)

    x = K.Input((6, 6, 1))
    return K.Model(x, K.layers.Flatten()(MaskedConv(filters=2, kernel_size=3, padding="same")(x)))


def test_weight_assigned_in_call_is_not_leaked_by_tracing_and_matches_keras() -> None:
    ours, theirs = _masked_conv_model(lamina, jnp), _masked_conv_model(keras, keras.ops)
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 1)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    for model in (ours, theirs):
        model.compile("sgd", "mse")
        model.fit(x, np.zeros((4, 72)), epochs=2, verbose=0)
    assert all(isinstance(w, np.ndarray) for w in ours.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
