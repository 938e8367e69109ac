"""``training`` left unset, as Keras 3 resolves it: ``model(x)`` runs each layer with its ``call`` default, so the
augmentation layers (``training=True``) augment and Dropout (``training=False``) does not; ``predict``/``evaluate``
and an explicit ``training=`` anywhere win."""

import keras
import numpy as np
import pytest

import lamina


def _models(lib):
    seq = lib.Sequential([lib.Input((6, 6, 3)), lib.layers.RandomFlip(seed=1), lib.layers.RandomInvert(seed=2)])
    inp = lib.Input((6, 6, 3))
    fun = lib.Model(inp, lib.layers.RandomRotation(0.3, seed=3)(lib.layers.Dropout(0.5)(inp)))
    return {"sequential": seq, "functional": fun}


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_model_call_without_training_augments_as_in_keras(kind):
    x = np.random.default_rng(0).uniform(0, 255, (8, 6, 6, 3)).astype("float32")
    for lib in (keras, lamina):
        model = _models(lib)[kind]
        changed = {t: not np.allclose(np.asarray(model(x) if t == "unset" else model(x, training=t)), x)
                   for t in ("unset", True, False)}
        assert changed == {"unset": True, True: True, False: False}, f"{lib.__name__}: {changed}"
        np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_dropout_stays_off_and_explicit_false_inside_wins():
    x = np.ones((4, 10), "float32")
    model = lamina.Sequential([lamina.layers.Input((10,)), lamina.layers.Dropout(0.9)])
    np.testing.assert_array_equal(np.asarray(model(x)), x)

    class Custom(lamina.Model):
        def __init__(self):
            super().__init__()
            self.flip = lamina.layers.RandomInvert(seed=0)

        def call(self, inputs):
            return self.flip(inputs, training=False) + self.flip(inputs)

    y = np.full((2, 3, 3, 3), 10.0, "float32")
    out = np.asarray(Custom()(y))
    assert np.all((out == 20.0) | (out == 255.0))  # first term untouched, second inverted or not
    assert np.any(out == 255.0)
