"""RematScope and remat against Keras: same settings and errors; a model built in a scope trains to the same
weights as without it (rematerialization changes memory, not results)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.scopes import get_current_remat_mode

keras = pytest.importorskip("keras")


def test_remat_mode_stack_matches_keras():
    from keras.src.backend.common.remat import get_current_remat_mode as keras_mode

    for lib, current in ((keras, keras_mode), (lamina, get_current_remat_mode)):
        assert current() is None
        with lib.RematScope(mode="larger_than", output_size_threshold=10):
            assert tuple(current()) == ("larger_than", 10, [])
            with lib.RematScope(mode="list_of_layers", layer_names=["a"]):
                assert tuple(current()) == ("list_of_layers", 1024, ["a"])
        assert current() is None
        with pytest.raises(ValueError, match="Invalid mode"):
            lib.RematScope(mode="some")


MODES = [("full", {}), ("activations", {}), ("larger_than", {"output_size_threshold": 8}),
         ("list_of_layers", {"layer_names": ["hidden"]})]


@pytest.mark.parametrize("mode,kwargs", MODES + [("larger_than", {"output_size_threshold": 10_000}),
                                                 ("list_of_layers", {"layer_names": ["other"]})])
def test_call_is_rematerialized_where_the_mode_says(mode, kwargs):
    with lamina.RematScope(mode=mode, **kwargs):
        dense = layers.Dense(8, activation="relu", name="hidden")
    dense.build((None, 4))
    jaxpr = str(jax.make_jaxpr(lambda x: dense(x))(jnp.ones((2, 4))))
    expected = "threshold" not in str(kwargs) or kwargs["output_size_threshold"] < 16
    expected = expected and kwargs.get("layer_names", ["hidden"]) == ["hidden"]
    assert ("checkpoint" in jaxpr or "remat" in jaxpr) == expected, jaxpr


@pytest.mark.parametrize("mode,kwargs", MODES)
def test_layers_built_in_a_scope_train_the_same(mode, kwargs):
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)

    def model(scope):
        lamina.utils.set_random_seed(1)
        with scope:
            hidden = layers.Dense(8, activation="relu", name="hidden")
            out = layers.Dense(1)
        m = lamina.Sequential([layers.Input((4,)), hidden, out])
        m.compile(optimizer="sgd", loss="mse")
        m.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
        return m

    plain = model(lamina.RematScope(mode=None))
    remat = model(lamina.RematScope(mode=mode, **kwargs))
    assert remat.layers[0]._remat_mode.mode == mode
    for a, b in zip(remat.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_remat_keeps_gradients():
    f = lambda x: jnp.sin(x) ** 2 * jnp.cos(x)  # noqa: E731
    assert float(jax.grad(lamina.remat(f))(0.7)) == pytest.approx(float(jax.grad(f)(0.7)), rel=1e-6)
