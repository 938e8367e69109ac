"""``.weights.h5`` both ways with Keras 3, the HDF5 tree layout, and the generic walk."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lamina  # noqa: E402
from lamina import backend  # noqa: E402
from lamina import layers as L  # noqa: E402
from lamina.saving.h5_weights import keras_snake_case, plan  # noqa: E402
from tests.saving.builders import LAMINA, assert_same_outputs, h5_tree, keras_model, randomize, sample_inputs  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()
    keras.backend.clear_session()


@pytest.mark.parametrize("kind", ["nested"])
def test_weights_file_both_ways(kind, tmp_path):
    model = LAMINA[kind]()
    kmodel = keras_model(kind)
    x = sample_inputs(kind)
    randomize(model, seed=5)
    path = str(tmp_path / "l.weights.h5")
    model.save_weights(path)
    kmodel.load_weights(path)
    assert_same_outputs(kmodel(x), model(x))

    randomize(kmodel, seed=6)
    kpath = str(tmp_path / "k.weights.h5")
    kmodel.save_weights(kpath)
    strip = [(p, s, d) for p, _, s, d in h5_tree(path)]  # name attrs differ (counters); the layout must not
    assert strip == [(p, s, d) for p, _, s, d in h5_tree(kpath)]
    model.load_weights(kpath)
    assert_same_outputs(model(x), kmodel(x))


def test_keras_layout_facts():
    """The trees of keras_facts.md section 1.6: duplicates keyed by class, name attrs, root vars."""
    model = lamina.Sequential([L.Input((4,)), L.Dense(3, name="foo"), L.Dense(2), L.Activation("relu")])
    assert [(e.path, e.name, [w.shape for w in e.weights]) for e in plan(model)] == [
        ("", "sequential", []), ("layers/dense", "foo", [(4, 3), (3,)]), ("layers/dense_1", "dense", [(3, 2), (2,)]),
        ("layers/activation", "activation", [])]
    assert keras_snake_case("MaxPooling2D") == "max_pooling2d"


def test_optimizer_group_and_load_into_fresh_model(tmp_path):
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 2), "float32")
    model = lamina.Sequential([L.Input((3,)), L.Dense(2)])
    model.compile(optimizer=lamina.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    path = str(tmp_path / "sgd.weights.h5")
    model.save_weights(path)
    with h5py.File(path) as f:
        assert f["optimizer/vars"].attrs["name"] == model.optimizer.name
        assert [f[f"optimizer/vars/{i}"].shape for i in range(4)] == [(), (), (3, 2), (2,)]
        assert f["optimizer/vars/0"][()] == 2
    kmodel = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    kmodel.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    kmodel.optimizer.build(kmodel.trainable_variables)
    kmodel.load_weights(path)
    assert int(kmodel.optimizer.iterations) == 2
    for a, b in zip(kmodel.optimizer.variables, model.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-6)

    fresh = lamina.Sequential([L.Input((3,)), L.Dense(2)])
    fresh.load_weights(path)  # no optimizer: the state is ignored
    np.testing.assert_allclose(fresh.get_weights()[0], model.get_weights()[0])


def test_load_weights_from_keras_file_and_skip_mismatch(tmp_path):
    model = LAMINA["seq_dense"]()
    randomize(model)
    path = str(tmp_path / "m.keras")
    model.save(path)
    other = LAMINA["seq_dense"]()
    other.load_weights(path)
    np.testing.assert_allclose(other.get_weights()[1], model.get_weights()[1])

    wrong = lamina.Sequential([L.Input((6, 4)), L.Flatten(), L.Dense(7, name="foo"), L.Dropout(0.2), L.Dense(3),
                               L.Activation("softmax")])
    before = wrong.get_weights()
    with pytest.warns(UserWarning, match="skip_mismatch=True"):
        wrong.load_weights(path, skip_mismatch=True)
    np.testing.assert_allclose(wrong.get_weights()[0], before[0])


def test_custom_layer_with_sublayer_attributes(tmp_path):
    class Block(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.proj = L.Dense(3)
            self.parts = [L.Dense(3), L.Dense(3)]

        def build(self, input_shape):
            self.scale = self.add_weight((3,), "ones", name="scale")
            self.proj._maybe_build(input_shape)
            for p in self.parts:
                p._maybe_build((None, 3))

        def call(self, x):
            h = self.proj(x)
            for p in self.parts:
                h = p(h)
            return h * self.scale.value

        def compute_output_shape(self, s):
            return s[:-1] + (3,)

    model = lamina.Sequential([L.Input((2,)), Block()])
    paths = [e.path for e in plan(model)]
    assert paths == ["", "layers/block", "layers/block/parts/dense", "layers/block/parts/dense_1",
                     "layers/block/proj"]
    randomize(model)
    path = str(tmp_path / "c.weights.h5")
    model.save_weights(path)
    again = lamina.Sequential([L.Input((2,)), Block()])
    again.load_weights(path)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b)
