"""Distillation against keras.distillation: the same teacher, student, losses and data train the student to the
same weights with the same logged losses; the losses alone give the same values; errors match."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina
from lamina import distillation

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 6)).astype("float32")
Y = RNG.integers(0, 3, size=(32,))


def _models(mod):
    def net(name, hidden):
        inp = mod.Input((6,))
        h = mod.layers.Dense(hidden, activation="relu", name=f"{name}_hidden")(inp)
        f = mod.layers.Dense(4, name=f"{name}_feat")(h)
        return mod.Model(inp, mod.layers.Dense(3, name=f"{name}_logits")(f), name=name)

    return net("teacher", 8), net("student", 5)


def _losses(mod):
    d = mod.distillation
    return [d.LogitsDistillation(temperature=2.0),
            d.LogitsDistillation(temperature=1.5, loss=mod.losses.KLDivergence()),
            d.FeatureDistillation(loss="mse", teacher_layer_name="teacher_feat", student_layer_name="student_feat")]


@pytest.mark.parametrize("which", [[0], [1], [2], [0, 2]])
def test_distiller_fit_matches_keras(which):
    kt, ks = _models(keras)
    lt, ls = _models(lamina)
    lt.set_weights(kt.get_weights())
    ls.set_weights(ks.get_weights())
    kl, ll = [_losses(keras)[i] for i in which], [_losses(lamina)[i] for i in which]
    weights = [1.0, 0.5][:len(which)]
    kd = keras.distillation.Distiller(kt, ks, kl, distillation_loss_weights=weights, student_loss_weight=0.3)
    ld = distillation.Distiller(lt, ls, ll, distillation_loss_weights=weights, student_loss_weight=0.3)
    kd.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    ld.compile(optimizer=lamina.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    kh = kd.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    lh = ld.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    for key in ("student_loss", "distillation_loss", "total_loss"):
        np.testing.assert_allclose(lh[key], kh[key], rtol=1e-4, atol=1e-6, err_msg=key)
    for a, b in zip(ls.get_weights(), ks.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(lt.get_weights(), kt.get_weights()):  # the teacher stays frozen
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.asarray(ld.predict(X, verbose=0)), np.asarray(kd.predict(X, verbose=0)),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("index", [0, 1])
def test_logits_losses_match_keras(index):
    t, s = RNG.normal(size=(4, 3)).astype("float32"), RNG.normal(size=(4, 3)).astype("float32")
    ours, theirs = _losses(lamina)[index], _losses(keras)[index]
    np.testing.assert_allclose(float(ours.compute_loss(t, s)), float(theirs.compute_loss(t, s)), rtol=1e-5)
    assert ours.get_config()["temperature"] == theirs.get_config()["temperature"]


def test_errors_match_keras():
    for mod in (keras, lamina):
        teacher, student = _models(mod)
        d = mod.distillation
        with pytest.raises(ValueError, match="temperature must be positive"):
            d.LogitsDistillation(temperature=0.0)
        with pytest.raises(ValueError, match="at least one non-`None`"):
            d.FeatureDistillation(loss=None)
        with pytest.raises(ValueError, match="between 0.0 and 1.0"):
            d.Distiller(teacher, student, d.LogitsDistillation(), student_loss_weight=2.0)
        with pytest.raises(ValueError, match="cannot be `None`"):
            d.Distiller(teacher, student, None)
        with pytest.raises(ValueError, match="must match"):
            d.Distiller(teacher, student, [d.LogitsDistillation()], distillation_loss_weights=[1.0, 2.0])
        with pytest.raises(ValueError, match="In teacher model"):
            d.Distiller(teacher, student, d.FeatureDistillation(teacher_layer_name="nope"))
        with pytest.raises(ValueError, match="'loss' cannot be `None`"):
            d.Distiller(teacher, student, d.LogitsDistillation()).compile(optimizer="sgd")
