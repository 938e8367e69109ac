"""lamina.losses against keras.losses (JAX backend): values, reductions, sample weights, shapes, configs."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina import losses

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
N, C = 8, 4


def _probs(shape):
    x = RNG.random(shape).astype("float32") + 0.05
    return x / x.sum(-1, keepdims=True)


def _cases():
    onehot = np.eye(C, dtype="float32")[RNG.integers(0, C, N)]
    ids = RNG.integers(0, C, N)
    reg_t, reg_p = RNG.normal(size=(N, 3)).astype("float32"), RNG.normal(size=(N, 3)).astype("float32")
    bin_t, bin_p = RNG.integers(0, 2, (N, 1)).astype("float32"), RNG.random((N, 1)).astype("float32")
    logits = RNG.normal(size=(N, C)).astype("float32") * 3
    return [
        ("MeanSquaredError", {}, reg_t, reg_p),
        ("MeanAbsoluteError", {}, reg_t, reg_p),
        ("MeanAbsolutePercentageError", {}, reg_t, reg_p),
        ("MeanSquaredLogarithmicError", {}, reg_t, reg_p),
        ("CosineSimilarity", {}, reg_t, reg_p),
        ("Huber", {}, reg_t, reg_p),
        ("Huber", {"delta": 0.5}, reg_t, reg_p),
        ("LogCosh", {}, reg_t, reg_p),
        ("Hinge", {}, bin_t, reg_p[:, :1]),
        ("SquaredHinge", {}, bin_t, reg_p[:, :1]),
        ("CategoricalHinge", {}, onehot, logits),
        ("KLDivergence", {}, _probs((N, C)), _probs((N, C))),
        ("Poisson", {}, np.abs(reg_t), np.abs(reg_p)),
        ("BinaryCrossentropy", {}, bin_t, bin_p),
        ("BinaryCrossentropy", {"label_smoothing": 0.1}, bin_t, bin_p),
        ("BinaryCrossentropy", {"from_logits": True}, bin_t, logits[:, :1]),
        ("BinaryCrossentropy", {}, bin_t[:, 0], bin_p),  # (N,) targets vs (N, 1) predictions
        ("BinaryCrossentropy", {}, (reg_t > 0).astype("float32"), np.clip(np.abs(reg_p), 0, 1)),
        ("CategoricalCrossentropy", {}, onehot, _probs((N, C))),
        ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, onehot, logits),
        (
            "CategoricalCrossentropy",
            {},
            onehot,
            np.eye(C, dtype="float32")[RNG.integers(0, C, N)],
        ),  # clipping
        ("SparseCategoricalCrossentropy", {}, ids, _probs((N, C))),
        ("SparseCategoricalCrossentropy", {}, ids[:, None], _probs((N, C))),
        ("SparseCategoricalCrossentropy", {"from_logits": True}, ids, logits),
        ("SparseCategoricalCrossentropy", {"ignore_class": 1}, ids, logits),
        ("MeanSquaredError", {}, reg_t[:, 0], reg_p[:, :1]),  # (N,) vs (N, 1)
        ("MeanAbsoluteError", {}, reg_t[:, :1], reg_p[:, 0]),  # (N, 1) vs (N,)
    ]


CASES = _cases()


@pytest.mark.parametrize("cls,kwargs,y_true,y_pred", CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_losses_match_keras(cls, kwargs, y_true, y_pred):
    sw = RNG.random(N).astype("float32")
    for reduction in ("sum_over_batch_size", "sum", None, "mean_with_sample_weight"):
        k = getattr(keras.losses, cls)(reduction=reduction, **kwargs)
        lam = getattr(losses, cls)(reduction=reduction, **kwargs)
        for weight in (None, sw, sw[:, None]):
            expected = np.asarray(k(y_true, y_pred, sample_weight=weight))
            got = np.asarray(lam(y_true, y_pred, sample_weight=weight))
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
        assert lam.get_config() == k.get_config()
        assert losses.serialize(lam) == keras.losses.serialize(k)


def test_jitted_loss_matches_eager():
    cls, kwargs, t, p = CASES[-5]
    lam = getattr(losses, cls)(**kwargs)
    sw = RNG.random(N).astype("float32")
    np.testing.assert_allclose(
        jax.jit(lambda a, b, w: lam(a, b, sample_weight=w))(t, p, sw), lam(t, p, sw), rtol=1e-6
    )


@pytest.mark.parametrize(
    "name",
    [
        "mean_squared_error",
        "mean_absolute_error",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "cosine_similarity",
        "huber",
        "log_cosh",
        "kl_divergence",
        "poisson",
        "hinge",
        "squared_hinge",
        "categorical_hinge",
    ],
)
def test_functions_match_keras(name):
    t, p = _probs((N, C)), _probs((N, C))
    np.testing.assert_allclose(
        np.asarray(getattr(losses, name)(t, p)),
        np.asarray(getattr(keras.losses, name)(t, p)),
        rtol=1e-6,
        atol=1e-6,
    )
    assert getattr(losses, name)(t, p).shape == (N,)


def test_crossentropy_functions_and_call_shape():
    onehot = np.eye(C, dtype="float32")[RNG.integers(0, C, N)]
    p = _probs((N, C))
    np.testing.assert_allclose(
        losses.categorical_crossentropy(onehot, p),
        keras.losses.categorical_crossentropy(onehot, p),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(onehot.argmax(-1), p),
        keras.losses.sparse_categorical_crossentropy(onehot.argmax(-1), p),
        rtol=1e-6,
    )
    assert losses.CategoricalCrossentropy().call(jnp.asarray(onehot), jnp.asarray(p)).shape == (N,)
    seq_t, seq_p = RNG.integers(0, C, (2, 5)), _probs((2, 5, C))
    w = RNG.random(2).astype("float32")
    # per-timestep losses (2, 5) with one weight per sequence: Keras needs (2, 1), lamina also takes (2,)
    np.testing.assert_allclose(
        losses.SparseCategoricalCrossentropy()(seq_t, seq_p, sample_weight=w),
        keras.losses.SparseCategoricalCrossentropy()(seq_t, seq_p, sample_weight=w[:, None]),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="sample_weight"):
        losses.MeanSquaredError()(np.zeros((N, 1)), np.zeros((N, 1)), sample_weight=np.ones(3))


def test_never_broadcasts_silently():
    y = np.zeros((N,), "float32")
    for loss in ("mse", "mae", "binary_crossentropy", "huber"):
        with pytest.raises(ValueError, match=r"\(8,\).*\(8, 3\)"):
            losses.get(loss)(y, np.zeros((N, 3), "float32"))
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.get("categorical_crossentropy")(RNG.integers(0, C, N), _probs((N, C)))
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        losses.get("sparse_categorical_crossentropy")(np.eye(C)[RNG.integers(0, C, N)], _probs((N, C)))
    with pytest.raises(ValueError, match="last layer"):
        losses.mean_squared_error(np.zeros((N, 2)), np.zeros((N, 3)))
    # (N,) vs (N, 1) is reshaped, never (N, N)
    assert losses.get("mse").call(jnp.zeros((N,)), jnp.ones((N, 1))).shape == (N,)
    assert (
        float(losses.get("mse")(np.arange(N, dtype="float32"), np.arange(N, dtype="float32")[:, None])) == 0.0
    )


def test_get_and_serialize():
    assert losses.get(None) is None
    assert isinstance(losses.get("MeanSquaredError"), losses.MeanSquaredError)
    assert losses.get("mse").name == "mse"
    inst = losses.Huber()
    assert losses.get(inst) is inst
    assert isinstance(losses.get(losses.Poisson), losses.Poisson)
    assert losses.serialize(losses.mean_squared_error) == keras.losses.serialize(
        keras.losses.mean_squared_error
    )
    assert (
        losses.deserialize(keras.losses.serialize(keras.losses.mean_squared_error))
        is losses.mean_squared_error
    )
    cfg = keras.losses.serialize(keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
    assert losses.get(cfg).get_config() == cfg["config"]
    own = losses.get(lambda t, p: jnp.abs(t - p).sum(-1))
    assert float(own(jnp.zeros((2, 2)), jnp.ones((2, 2)))) == 2.0
    with pytest.raises(ValueError, match="Could not interpret"):
        losses.get("nope")


@pytest.mark.parametrize(
    "shapes", [((N,), (N, 1)), ((N, 1), (N, 1)), ((N,), (N, C)), ((N, 1), (N, C)), ((N, C), (N, C))]
)
def test_crossentropy_alias_resolves_like_keras(shapes):
    t_shape, p_shape = shapes
    if p_shape[-1] == 1:
        t, p = RNG.integers(0, 2, t_shape).astype("float32"), RNG.random(p_shape).astype("float32")
        expected = keras.losses.binary_crossentropy(t.reshape(p_shape), p).mean()
    elif t_shape == p_shape:
        t, p = np.eye(C, dtype="float32")[RNG.integers(0, C, N)], _probs(p_shape)
        expected = keras.losses.categorical_crossentropy(t, p).mean()
    else:
        t, p = RNG.integers(0, C, t_shape), _probs(p_shape)
        expected = keras.losses.sparse_categorical_crossentropy(t, p).mean()
    lam = losses.get("crossentropy")
    assert lam.name == "crossentropy"
    np.testing.assert_allclose(float(lam(t, p)), float(expected), rtol=1e-6)
