"""InputSpec with Keras 3's arguments (dtype, shape, ndim, max_ndim, min_ndim, axes, allow_last_axis_squeeze,
name, optional): configs equal to Keras's, and a custom layer's spec refuses the inputs Keras's refuses."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import keras
import numpy as np
import pytest

import lamina
from lamina import layers

SPECS = [{"ndim": 3}, {"shape": (None, 28, 28)}, {"dtype": "float32", "min_ndim": 2, "axes": {-1: 4}},
         {"max_ndim": 4, "optional": True}, {"shape": (None, 5, 1), "allow_last_axis_squeeze": True}]


@pytest.mark.parametrize("kwargs", SPECS, ids=str)
def test_config_and_repr_match_keras(kwargs) -> None:
    ours, theirs = layers.InputSpec(**kwargs), keras.layers.InputSpec(**kwargs)
    assert ours.get_config() == {k: (tuple(v) if k == "shape" and v is not None else v)
                                 for k, v in theirs.get_config().items()}
    assert repr(ours) == repr(theirs)
    assert layers.InputSpec.from_config(ours.get_config()).get_config() == ours.get_config()


def _custom(lib, **spec):
    class Doubler(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = lib.layers.InputSpec(**spec)

        def call(self, inputs):
            return inputs * 2

    return Doubler()


@pytest.mark.parametrize("spec,shape,ok", [
    ({"shape": (None, 3, 4)}, (2, 3, 4), True),
    ({"shape": (None, 3, 4)}, (2, 3, 5), False),
    ({"shape": (None, 3, 4)}, (2, 3), False),
    ({"shape": (None, 5, 1), "allow_last_axis_squeeze": True}, (2, 5), True),
    ({"axes": {-1: 4}}, (2, 4), True),
    ({"axes": {-1: 4}}, (2, 3), False),
], ids=str)
def test_custom_layer_checks_like_keras(spec, shape, ok) -> None:
    x = np.ones(shape, "float32")
    for lib in (keras, lamina):
        layer = _custom(lib, **spec)
        if ok:
            assert np.asarray(layer(x)).shape == shape
        else:
            with pytest.raises(ValueError, match="incompatible with the layer"):
                layer(x)
