"""Model.to_json gives Keras's JSON text for the same model (names given, as lamina's automatic Input names
follow Keras 2 by design)."""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import pytest

import lamina


def sequential(lib):
    return lib.Sequential([lib.layers.Input((4,), name="features"), lib.layers.Dense(5, activation="relu"),
                           lib.layers.Dropout(0.25), lib.layers.Dense(2, name="logits")], name="seq")


def functional(lib):
    a, b = lib.layers.Input((3,), name="a"), lib.layers.Input((3,), name="b")
    joined = lib.layers.Concatenate(name="join")([lib.layers.Dense(4, name="da")(a), b])
    return lib.Model([a, b], lib.layers.Dense(1, activation="sigmoid", name="out")(joined), name="two_inputs")


@pytest.mark.parametrize("build", [sequential, functional])
@pytest.mark.parametrize("compiled", [False, True])
def test_to_json_is_keras_json(build, compiled):
    import keras

    texts = []
    for lib in (lamina, keras):
        lib.backend.clear_session()
        model = build(lib)
        if compiled:
            model.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
        texts.append(model.to_json())
    mine, theirs = texts
    assert json.loads(mine) == json.loads(theirs)
    assert mine == theirs
    reloaded = json.loads(lamina.models.model_from_json(mine).to_json())
    assert reloaded == {**json.loads(mine), "compile_config": {}}  # model_from_json does not compile
