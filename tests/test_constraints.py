"""``lamina.constraints`` against ``keras.constraints``: projections, names, configs, (de)serialization, and
constraints applied after each optimizer step in ``fit``."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import constraints, layers
from tests.oracle import keras

RNG = np.random.default_rng(0)
W = RNG.normal(size=(5, 4)).astype("float32") * 3
W4 = RNG.normal(size=(3, 3, 2, 4)).astype("float32")

CASES = [
    ("MaxNorm", {}, W),
    ("MaxNorm", {"max_value": 1.5, "axis": 1}, W),
    ("MaxNorm", {"max_value": 1.0, "axis": [0, 1, 2]}, W4),
    ("NonNeg", {}, W),
    ("UnitNorm", {}, W),
    ("UnitNorm", {"axis": 1}, W),
    ("MinMaxNorm", {}, W),
    ("MinMaxNorm", {"min_value": 1.0, "max_value": 2.0, "rate": 0.5, "axis": 1}, W),
    ("Constraint", {}, W),
]


@pytest.mark.parametrize("name,kwargs,w", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_projection_and_config_match_keras(name, kwargs, w) -> None:
    ours, theirs = getattr(constraints, name)(**kwargs), getattr(keras.constraints, name)(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(w)), np.asarray(theirs(w)), rtol=1e-6, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert constraints.serialize(ours) == keras.constraints.serialize(theirs)
    back = constraints.deserialize(keras.constraints.serialize(theirs))
    assert type(back) is type(ours) and back.get_config() == ours.get_config()


def test_names_and_get_match_keras() -> None:
    public = sorted(n for n in dir(keras.constraints) if not n.startswith("_"))
    assert all(hasattr(constraints, n) for n in public), [n for n in public if not hasattr(constraints, n)]
    for alias in ("max_norm", "min_max_norm", "non_neg", "unit_norm", "MaxNorm", "NonNeg"):
        assert type(constraints.get(alias)).__name__ == type(keras.constraints.get(alias)).__name__
    assert constraints.get(None) is None
    fn = lambda w: w  # noqa: E731
    assert constraints.get(fn) is fn
    with pytest.raises(ValueError, match="constraint"):
        constraints.get("no_such_constraint")


def test_dense_config_carries_constraints_like_keras() -> None:
    ours = layers.Dense(3, kernel_constraint="max_norm", bias_constraint=constraints.NonNeg()).get_config()
    theirs = keras.layers.Dense(3, kernel_constraint="max_norm", bias_constraint=keras.constraints.NonNeg()
                                ).get_config()
    assert ours["kernel_constraint"] == theirs["kernel_constraint"]
    assert ours["bias_constraint"] == theirs["bias_constraint"]
    rebuilt = layers.Dense.from_config(theirs)
    assert isinstance(rebuilt.kernel_constraint, constraints.MaxNorm)


def test_constraints_applied_after_each_step_like_keras() -> None:
    x = RNG.normal(size=(32, 5)).astype("float32")
    y = RNG.normal(size=(32, 4)).astype("float32") * 5

    def make(lib, constraint_lib, optimizer):
        inputs = lib.Input((5,))
        out = lib.layers.Dense(4, kernel_constraint=constraint_lib.MaxNorm(0.5),
                               bias_constraint=constraint_lib.NonNeg())(inputs)
        model = lib.Model(inputs, out)
        model.compile(optimizer=optimizer, loss="mse")
        return model

    keras.backend.clear_session()
    theirs = make(keras, keras.constraints, keras.optimizers.SGD(0.1))
    lamina.backend.clear_session()
    ours = make(lamina, constraints, lamina.optimizers.SGD(0.1))
    ours.set_weights(theirs.get_weights())
    theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    kernel, bias = ours.get_weights()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.5 + 1e-5) and np.all(bias >= 0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
