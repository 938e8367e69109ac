"""ReversibleEmbedding against Keras 3: forward lookups (the oracle table), reverse projections with tied and
untied weights and soft caps, masks, configs, and ``.keras`` files both ways."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import json

import keras
import numpy as np
import pytest

import lamina
from lamina import layers

from .layer_oracle import Case, check_layer

CASES = [
    Case("ReversibleEmbedding", {"input_dim": 12, "output_dim": 4}, (2, 5), int_input=12, id="tied"),
    Case("ReversibleEmbedding", {"input_dim": 12, "output_dim": 3, "tie_weights": False, "mask_zero": True},
         (2, 5), int_input=12, id="untied-mask"),
    Case("ReversibleEmbedding", {"input_dim": 9, "output_dim": 3, "logit_soft_cap": 2.0}, (3, 4), int_input=9,
         id="soft-cap"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward_matches_keras(case: Case) -> None:
    check_layer(case)


@pytest.mark.parametrize("kwargs", [{}, {"tie_weights": False}, {"logit_soft_cap": 1.5},
                                    {"tie_weights": False, "logit_soft_cap": 3.0}], ids=str)
def test_reverse_matches_keras(kwargs) -> None:
    rng = np.random.default_rng(0)
    k, lam = keras.layers.ReversibleEmbedding(11, 4, **kwargs), layers.ReversibleEmbedding(11, 4, **kwargs)
    ids = rng.integers(0, 11, size=(2, 3))
    k(ids)
    lam(ids)
    k.set_weights([rng.normal(size=w.shape).astype("float32") for w in k.get_weights()])
    lam.set_weights(k.get_weights())
    assert [w.shape for w in lam.weights] == [tuple(w.shape) for w in k.weights]
    vectors = rng.normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(lam(vectors, reverse=True)), np.asarray(k(vectors, reverse=True)),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(lam(ids)), np.asarray(k(ids)), rtol=1e-6)
    lconf, kconf = lam.get_config(), k.get_config()
    lconf.pop("name"), kconf.pop("name")
    assert json.loads(json.dumps(lconf)) == json.loads(json.dumps(kconf))


def test_symbolic_shapes_and_masks() -> None:
    ids = layers.Input((6,), dtype="int32")
    emb = layers.ReversibleEmbedding(20, 8, mask_zero=True)
    x = emb(ids)
    logits = emb(x, reverse=True)
    assert x.shape == (None, 6, 8) and logits.shape == (None, 6, 20)
    assert emb.compute_mask(np.array([[1, 0]])) is None  # the last call was the reverse one
    emb(np.array([[1, 0]]))
    assert emb.compute_mask(np.array([[1, 0]])).tolist() == [[True, False]]


def test_reverse_input_of_the_wrong_size_names_the_fix() -> None:
    emb = layers.ReversibleEmbedding(10, 4, name="rev_bad")
    emb(np.array([[1]]))
    with pytest.raises(ValueError, match=r"rev_bad.*\(\.\.\., 4\)"):
        emb(np.ones((1, 2, 5), "float32"), reverse=True)


def _model(lib, tie: bool):
    ids = lib.Input((5,), dtype="int32")
    emb = lib.layers.ReversibleEmbedding(30, 6, tie_weights=tie)
    x = lib.layers.Dense(6, activation="tanh")(emb(ids))
    return lib.Model(ids, emb(x, reverse=True))


@pytest.mark.parametrize("tie", [True, False])
def test_keras_files_both_ways(tmp_path, tie) -> None:
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 30, size=(4, 5)).astype("int32")
    kmodel = _model(keras, tie)
    kmodel.set_weights([(0.5 * rng.normal(size=w.shape)).astype("float32") for w in kmodel.get_weights()])
    expected = kmodel.predict(ids, verbose=0)
    kmodel.save(str(tmp_path / "k.keras"))
    lmodel = lamina.models.load_model(str(tmp_path / "k.keras"))
    assert lmodel.count_params() == kmodel.count_params()
    np.testing.assert_allclose(np.asarray(lmodel.predict(ids, verbose=0)), expected, rtol=1e-5, atol=1e-5)
    lmodel.save(str(tmp_path / "l.keras"))
    again = keras.models.load_model(str(tmp_path / "l.keras"))
    np.testing.assert_allclose(again.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_explain_counts_the_tied_table_once() -> None:
    model = _model(lamina, True)
    record = next(r for r in lamina.explain(model, print_fn=lambda line: None) if r.class_name == "ReversibleEmbedding")
    assert record.arithmetic == "30 x 6 weights = 180" and record.params == 180
