"""Attention layers against Keras 3: MultiHeadAttention and GroupQueryAttention (weights, masks, causal masks,
scores, attention axes, files both ways), Attention and AdditiveAttention (the oracle table), and a small
transformer block (summary counts, fit)."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import json
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import pytest

import lamina
from lamina import layers

from .layer_oracle import Case, check_layer

ORACLE = [
    Case("Attention", {}, [(2, 3, 4), (2, 5, 4)], id="attention-dot"),
    Case("Attention", {"use_scale": True}, [(2, 3, 4), (2, 5, 6), (2, 5, 4)], id="attention-scale-key"),
    Case("Attention", {"score_mode": "concat", "use_scale": True}, [(2, 3, 4), (2, 5, 4)], id="attention-concat"),
    Case("Attention", {"dropout": 0.3}, [(2, 3, 4), (2, 5, 4)], training=False, id="attention-dropout-inference"),
    Case("AdditiveAttention", {}, [(2, 3, 4), (2, 5, 4)], id="additive"),
    Case("AdditiveAttention", {"use_scale": False}, [(2, 3, 4), (2, 5, 4), (2, 5, 4)], id="additive-noscale"),
]


@pytest.mark.parametrize("case", ORACLE, ids=str)
def test_attention_layers_match_keras(case):
    check_layer(case)


@dataclass
class MHACase:
    kwargs: dict[str, Any]
    query: tuple[int, ...] = (2, 5, 8)
    value: tuple[int, ...] | None = None
    key: tuple[int, ...] | None = None
    call: dict[str, Any] = field(default_factory=dict)
    attention_mask: str | None = None  # "random": a random (B, T, S) mask
    cls: str = "MultiHeadAttention"
    id: str = ""

    def __str__(self):
        return self.id


MHA_CASES = [
    MHACase({"num_heads": 2, "key_dim": 4}, id="self"),
    MHACase({"num_heads": 2, "key_dim": 4}, call={"return_attention_scores": True}, id="scores"),
    MHACase({"num_heads": 2, "key_dim": 4}, call={"use_causal_mask": True}, id="causal"),
    MHACase({"num_heads": 2, "key_dim": 4}, call={"use_causal_mask": True, "return_attention_scores": True},
            id="causal-scores"),
    MHACase({"num_heads": 2, "key_dim": 4}, attention_mask="random", id="attention-mask"),
    MHACase({"num_heads": 2, "key_dim": 4}, attention_mask="random", call={"use_causal_mask": True},
            id="attention-mask-causal"),
    MHACase({"num_heads": 2, "key_dim": 4}, attention_mask="random", call={"return_attention_scores": True},
            id="attention-mask-scores"),
    MHACase({"num_heads": 3, "key_dim": 4, "output_shape": 7}, value=(2, 6, 5), key=(2, 6, 3), id="cross-key"),
    MHACase({"num_heads": 3, "key_dim": 4, "value_dim": 6, "output_shape": (7,)}, value=(2, 6, 5),
            call={"return_attention_scores": True}, id="value-dim"),
    MHACase({"num_heads": 2, "key_dim": 4, "attention_axes": (1, 2)}, query=(2, 3, 4, 8), id="axes-2d"),
    MHACase({"num_heads": 2, "key_dim": 4, "attention_axes": 2}, query=(2, 3, 4, 8),
            call={"return_attention_scores": True}, id="axes-last"),
    MHACase({"num_heads": 2, "key_dim": 4, "use_bias": False, "use_gate": True}, id="gate-nobias"),
    MHACase({"num_heads": 2, "key_dim": 4, "sliding_window": 2}, call={"use_causal_mask": True}, id="window"),
    MHACase({"num_heads": 2, "key_dim": 4, "dropout": 0.5}, id="dropout-inference"),
    MHACase({"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2}, cls="GroupQueryAttention",
            id="gqa"),
    MHACase({"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2}, value=(2, 6, 8),
            call={"return_attention_scores": True, "use_causal_mask": True}, cls="GroupQueryAttention",
            id="gqa-cross-causal-scores"),
    MHACase({"head_dim": 4, "num_query_heads": 2, "num_key_value_heads": 1, "use_gate": True}, key=(2, 5, 3),
            attention_mask="random", cls="GroupQueryAttention", id="gqa-key-mask-gate"),
]


def _mha_inputs(case, rng):
    q = rng.normal(size=case.query).astype("float32")
    v = rng.normal(size=case.value).astype("float32") if case.value else q
    args = [q, v] + ([rng.normal(size=case.key).astype("float32")] if case.key else [])
    call = dict(case.call)
    if case.attention_mask:
        mask = rng.random((case.query[0], case.query[1], (case.value or case.query)[1])) > 0.4
        mask[:, :, 0] = True
        call["attention_mask"] = mask
    return args, call


@pytest.mark.parametrize("case", MHA_CASES, ids=str)
def test_mha_matches_keras(case):
    rng = np.random.default_rng(0)
    args, call = _mha_inputs(case, rng)
    klayer = getattr(keras.layers, case.cls)(**case.kwargs)
    llayer = getattr(layers, case.cls)(**case.kwargs)
    # symbolic shapes
    kin = [keras.Input(a.shape[1:]) for a in args]
    lin = [layers.Input(a.shape[1:]) for a in args]
    sym = {k: v for k, v in call.items() if k != "attention_mask"}
    kout, lout = klayer(*kin, **sym), llayer(*lin, **sym)
    kshapes = [tuple(t.shape) for t in (kout if isinstance(kout, tuple) else [kout])]
    lshapes = [tuple(t.shape) for t in (lout if isinstance(lout, (tuple, list)) else [lout])]
    assert lshapes[0] == kshapes[0]
    if len(kshapes) > 1 and case.query[1] == (case.value or case.query)[1]:
        assert lshapes[1] == kshapes[1]
    # weights: names, order, shapes
    assert [w.path.split("/")[-2:] for w in llayer.weights] == [w.path.split("/")[-2:] for w in klayer.weights]
    assert [w.shape for w in llayer.weights] == [tuple(w.shape) for w in klayer.weights]
    assert llayer.count_params() == klayer.count_params()
    kweights = [(0.5 * rng.normal(size=tuple(w.shape))).astype("float32") for w in klayer.weights]
    klayer.set_weights(kweights)
    llayer.set_weights(kweights)
    kres, lres = klayer(*args, **call), llayer(*args, **call)
    kres = kres if isinstance(kres, tuple) else (kres,)
    lres = lres if isinstance(lres, tuple) else (lres,)
    assert len(kres) == len(lres)
    for a, b in zip(lres, kres):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-5)
    # config
    lconfig, kconfig = llayer.get_config(), klayer.get_config()
    strip = lambda c: {k: v for k, v in json.loads(json.dumps(c)).items() if k != "name"}  # noqa: E731
    assert strip(lconfig) == strip(kconfig)
    again = type(llayer).from_config(json.loads(json.dumps(lconfig)))
    assert strip(again.get_config()) == strip({**lconfig, "attention_axes": again.get_config()["attention_axes"]}
                                              if "attention_axes" in lconfig else lconfig)


def test_mha_keras_masks_propagate_like_keras():
    """Embedding(mask_zero=True) masks flow into the query/value masks and out of the layer, as in Keras."""
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 20, size=(3, 6)).astype("int32")
    ids[1, 4:] = 0
    ids[2, 2:] = 0

    def build(lib):
        inp = lib.Input((6,), dtype="int32")
        x = lib.layers.Embedding(20, 8, mask_zero=True, name="emb")(inp)
        x = lib.layers.MultiHeadAttention(2, 4, name="mha")(x, x)
        x = lib.layers.GlobalAveragePooling1D()(x)
        return lib.Model(inp, lib.layers.Dense(2, name="out")(x))

    kmodel, lmodel = build(keras), build(lamina)
    lmodel.set_weights(kmodel.get_weights())
    np.testing.assert_allclose(np.asarray(lmodel.predict(ids, verbose=0)), kmodel.predict(ids, verbose=0),
                               rtol=2e-5, atol=2e-5)
    # eager: the output keeps the query's mask
    emb = layers.Embedding(20, 8, mask_zero=True)
    x = emb(ids)
    out = layers.MultiHeadAttention(2, 4)(x, x)
    assert np.asarray(layers.masks.get_mask(out)).tolist() == (ids != 0).tolist()


def test_mha_masking_layer_and_causal_in_model():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    x[1, 3:] = 0.0

    def build(lib):
        inp = lib.Input((5, 3))
        m = lib.layers.Masking()(inp)
        y = lib.layers.MultiHeadAttention(2, 4, name="mha")(m, m, use_causal_mask=True)
        return lib.Model(inp, y)

    kmodel, lmodel = build(keras), build(lamina)
    lmodel.set_weights(kmodel.get_weights())
    np.testing.assert_allclose(np.asarray(lmodel(x)), np.asarray(kmodel(x)), rtol=2e-5, atol=2e-5)


def test_attention_layer_masks_match_keras():
    rng = np.random.default_rng(3)
    q, v = rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, 5, 4)).astype("float32")
    masks = [np.array([[1, 1, 0], [1, 1, 1]], bool), np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)]
    for cls in ("Attention", "AdditiveAttention"):
        k, la = getattr(keras.layers, cls)(), getattr(layers, cls)()
        k([q, v])
        la([q, v])
        la.set_weights(k.get_weights())
        for causal in (False, True):
            ko = k([q, q], mask=[masks[0], masks[0]], use_causal_mask=causal, return_attention_scores=True)
            lo = la([q, q], mask=[masks[0], masks[0]], use_causal_mask=causal, return_attention_scores=True)
            for a, b in zip(lo, ko):
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
        ko, lo = k([q, v], mask=[None, masks[1]]), la([q, v], mask=[None, masks[1]])
        np.testing.assert_allclose(np.asarray(lo), np.asarray(ko), rtol=1e-5, atol=1e-5)


def test_attention_mask_of_wrong_shape_names_the_fix():
    mha = layers.MultiHeadAttention(2, 4, name="mha_bad")
    x = np.ones((2, 5, 8), "float32")
    with pytest.raises(ValueError, match=r"mha_bad.*\(batch, query_length, key_length\).*mask\[:, None, :\]"):
        mha(x, x, attention_mask=np.ones((2, 7), bool))


def test_mha_param_count_of_the_issue():
    x = layers.Input((10, 64))
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=64)
    mha(x, x)
    assert mha.count_params() == 3 * (64 * 2 * 64 + 2 * 64) + (2 * 64 * 64 + 64) == 33_216


def _mha_model(lib):
    inp = lib.Input((6,), dtype="int32")
    x = lib.layers.Embedding(30, 8, mask_zero=True)(inp)
    y = lib.layers.MultiHeadAttention(2, 4, attention_axes=1, dropout=0.1)(x, x)
    g = lib.layers.GroupQueryAttention(4, 2, 1)(y, x)
    e = lib.layers.EinsumDense("abc,cd->abd", output_shape=(None, 3), bias_axes="d")(g)
    n = lib.layers.RMSNormalization()(e)
    return lib.Model(inp, lib.layers.Dense(1)(lib.layers.GlobalAveragePooling1D()(n)))


def test_keras_file_from_keras_loads_in_lamina_and_back(tmp_path):
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 30, size=(4, 6)).astype("int32")
    kmodel = _mha_model(keras)
    kmodel.set_weights([(0.3 * rng.normal(size=w.shape)).astype("float32") for w in kmodel.get_weights()])
    expected = kmodel.predict(ids, verbose=0)
    kpath = str(tmp_path / "k.keras")
    kmodel.save(kpath)
    lmodel = lamina.models.load_model(kpath)
    np.testing.assert_allclose(np.asarray(lmodel.predict(ids, verbose=0)), expected, rtol=2e-5, atol=2e-5)
    lpath = str(tmp_path / "l.keras")
    lmodel.save(lpath)
    again = keras.models.load_model(lpath)
    np.testing.assert_allclose(again.predict(ids, verbose=0), expected, rtol=2e-5, atol=2e-5)
    # weights files both ways
    lfresh = _mha_model(lamina)
    kmodel.save_weights(str(tmp_path / "k.weights.h5"))
    lfresh.load_weights(str(tmp_path / "k.weights.h5"))
    np.testing.assert_allclose(np.asarray(lfresh.predict(ids, verbose=0)), expected, rtol=2e-5, atol=2e-5)
    lfresh.save_weights(str(tmp_path / "l.weights.h5"))
    kfresh = _mha_model(keras)
    kfresh.load_weights(str(tmp_path / "l.weights.h5"))
    np.testing.assert_allclose(kfresh.predict(ids, verbose=0), expected, rtol=2e-5, atol=2e-5)


def _h5_tree(path):
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        f.visit(lambda name: out.__setitem__(name, (f[name].attrs.get("name"), getattr(f[name], "shape", None))))
    return out


def test_weights_file_layout_equals_keras(tmp_path):
    kmodel, lmodel = _mha_model(keras), _mha_model(lamina)
    kmodel.save_weights(str(tmp_path / "k.weights.h5"))
    lmodel.save_weights(str(tmp_path / "l.weights.h5"))
    ktree, ltree = _h5_tree(tmp_path / "k.weights.h5"), _h5_tree(tmp_path / "l.weights.h5")

    def norm(tree):  # layer names carry per-process counters; compare the paths and shapes
        return {k: v[1] for k, v in tree.items()}

    assert norm(ltree) == norm(ktree)


def _transformer(lib, maxlen=20, vocab=200, embed_dim=32, num_heads=2, ff_dim=32):
    """keras-io's "Text classification with Transformer" block (its custom position embedding left out)."""
    inp = lib.Input((maxlen,), dtype="int32")
    x = lib.layers.Embedding(vocab, embed_dim)(inp)
    attn = lib.layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)(x, x)
    attn = lib.layers.Dropout(0.1)(attn)
    out1 = lib.layers.LayerNormalization(epsilon=1e-6)(lib.layers.Add()([x, attn]))
    ffn = lib.layers.Dense(ff_dim, activation="relu")(out1)
    ffn = lib.layers.Dense(embed_dim)(ffn)
    ffn = lib.layers.Dropout(0.1)(ffn)
    out2 = lib.layers.LayerNormalization(epsilon=1e-6)(lib.layers.Add()([out1, ffn]))
    x = lib.layers.GlobalAveragePooling1D()(out2)
    x = lib.layers.Dropout(0.1)(x)
    x = lib.layers.Dense(20, activation="relu")(x)
    x = lib.layers.Dropout(0.1)(x)
    return lib.Model(inp, lib.layers.Dense(2, activation="softmax")(x))


def test_transformer_block_summary_counts_and_fit():
    kmodel, lmodel = _transformer(keras), _transformer(lamina)
    assert lmodel.count_params() == kmodel.count_params()
    assert [lay.count_params() for lay in lmodel.layers] == [lay.count_params() for lay in kmodel.layers]
    lines = []
    lmodel.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "multi_head_attention" in text and f"{kmodel.count_params():,}" in text
    rng = np.random.default_rng(5)
    x = rng.integers(0, 200, size=(256, 20)).astype("int32")
    y = (x[:, 0] < 100).astype("int32")  # learnable from the first token
    lmodel.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = lmodel.fit(x, y, batch_size=32, epochs=6, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.75
