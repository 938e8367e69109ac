"""Keras 3's top-level names on ``lamina``: the classes, ``version()``, and the scopes (``name_scope``, ``device``,
``remat``)."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import lamina  # noqa: E402
from lamina import scopes  # noqa: E402


@pytest.mark.parametrize("name, expected", [
    ("Layer", "lamina.layers.base.Layer"), ("Model", "lamina.models.model.Model"),
    ("KerasTensor", "lamina.graph.KerasTensor"), ("InputSpec", "lamina.layers.base.InputSpec"),
    ("Variable", "lamina.layers.base.Weight"), ("Initializer", "lamina.initializers.Initializer"),
    ("Regularizer", "lamina.regularizers.Regularizer"), ("Optimizer", "lamina.optimizers.Optimizer"),
])
def test_top_level_classes(name, expected):
    value = getattr(lamina, name)
    assert f"{value.__module__}.{value.__qualname__}" == expected
    assert name in dir(lamina) and hasattr(keras, name)


def test_submodules_and_version():
    for name in ("config", "tree", "ops", "random", "preprocessing", "utils", "datasets", "backend"):
        assert getattr(lamina, name).__name__ == f"lamina.{name}"
    assert lamina.version() == lamina.__version__
    with pytest.raises(AttributeError):
        lamina.no_such_name  # noqa: B018


def test_custom_layer_subclasses_top_level_layer():
    class Double(lamina.Layer):
        def call(self, x):
            return x * 2

    out = Double()(jnp.ones((2, 3)))
    assert out.shape == (2, 3) and float(out.sum()) == 12.0


def test_name_scope_matches_keras_paths():
    from keras.src.backend.common.name_scope import current_path as keras_path

    for module, path in ((lamina, scopes.current_path), (keras, keras_path)):
        owner = object()
        with module.name_scope("outer"):
            with module.name_scope("inner", caller=owner), module.name_scope("inner", caller=owner):
                assert path() == "outer/inner"  # the same caller does not nest twice
            with module.name_scope("abs", override_parent="root/x"):
                assert path() == "root/x/abs"
        assert path() == ""
    with pytest.raises(ValueError, match="cannot contain"):
        lamina.name_scope("a/b")


def test_device_and_remat():
    with lamina.device("cpu:0"):
        assert jnp.ones(2).devices() == {jax.devices("cpu")[0]}
    with pytest.raises(ValueError, match="Unknown device"):
        lamina.device("tpu:7")
    f = lambda x: jnp.sin(x) * x  # noqa: E731
    assert float(jax.grad(lamina.remat(f))(0.7)) == pytest.approx(float(jax.grad(f)(0.7)))


def test_light_namespaces_import_no_framework_and_no_jax():
    from tests.test_import import imported_after

    loaded = imported_after("import lamina; lamina.config.floatx(); lamina.tree.flatten([1]); lamina.version(); "
                            "lamina.utils.pad_sequences([[1]]); lamina.preprocessing.sequence")
    assert not any(loaded[m] for m in ("keras", "tensorflow", "torch", "jax", "matplotlib", "h5py")), loaded
