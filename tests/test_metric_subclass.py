"""``Metric`` subclasses written as in Keras 3 (``add_variable``/``add_weight``, ``update_state``, ``result``,
``reset_state``), eagerly and inside ``compile``'s jitted step, against Keras; functions as metrics."""

from __future__ import annotations

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina  # noqa: E402
from lamina import backend as lamina_backend  # noqa: E402
from lamina import metrics  # noqa: E402
from tests.oracle import KERAS, LAMINA, keras

# lamina.ops is filled by another issue; until then jax.numpy (plus the two keras.ops names it lacks) stands in.
JNP_OPS = types.SimpleNamespace(**{k: getattr(jnp, k) for k in dir(jnp) if not k.startswith("_")},
                                cast=lambda x, dtype: jnp.asarray(x).astype(dtype), one_hot=jax.nn.one_hot)
OPS = {"lamina": JNP_OPS, "keras": keras.ops}
LAMINA.metrics, KERAS.metrics = lamina.metrics, keras.metrics


def _classes(K: types.SimpleNamespace) -> types.SimpleNamespace:
    ops = OPS[K.name]

    class PositiveRate(K.metrics.Metric):
        """Weighted share of predictions above a threshold."""

        def __init__(self, threshold=0.5, name="positive_rate", **kwargs):
            super().__init__(name=name, **kwargs)
            self.threshold = threshold
            self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
            self.total = self.add_weight(name="total", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            hits = ops.cast(ops.greater(y_pred, self.threshold), "float32")
            weight = ops.ones_like(hits) if sample_weight is None else ops.reshape(
                ops.cast(sample_weight, "float32"), (-1, 1)) * ops.ones_like(hits)
            self.hits.assign_add(ops.sum(hits * weight))
            self.total.assign_add(ops.sum(weight))

        def result(self):
            return self.hits.value / ops.maximum(self.total.value, 1.0)

        def get_config(self):
            return {**super().get_config(), "threshold": self.threshold}

    class Histogram(K.metrics.Metric):
        """A vector variable with a non-zero initializer (reset_state zeroes it, as in Keras)."""

        def __init__(self, name="histogram", **kwargs):
            super().__init__(name=name, **kwargs)
            self.bins = self.add_variable((3,), "ones", name="bins")

        def update_state(self, y_true, y_pred, sample_weight=None):
            idx = ops.clip(ops.cast(ops.floor(ops.reshape(y_pred, (-1,)) * 3), "int32"), 0, 2)
            self.bins.assign(self.bins.value + ops.sum(ops.one_hot(idx, 3), axis=0))

        def result(self):
            return self.bins.value[2] / ops.sum(self.bins.value)

    def mean_error(y_true, y_pred):
        return ops.mean(y_pred - y_true, axis=-1)

    return types.SimpleNamespace(PositiveRate=PositiveRate, Histogram=Histogram, mean_error=mean_error)


def _both(make):
    keras.backend.clear_session()
    theirs = make(KERAS, _classes(KERAS))
    lamina_backend.clear_session()
    ours = make(LAMINA, _classes(LAMINA))
    return ours, theirs


RNG = np.random.default_rng(0)
Y_TRUE = RNG.integers(0, 2, (12, 1)).astype("float32")
Y_PRED = RNG.random((12, 1)).astype("float32")
WEIGHTS = RNG.random(12).astype("float32")


@pytest.mark.parametrize("cls", ["PositiveRate", "Histogram"])
@pytest.mark.parametrize("weighted", [False, True])
def test_eager_update_result_reset_match_keras(cls: str, weighted: bool) -> None:
    ours, theirs = _both(lambda K, C: getattr(C, cls)())
    assert [(v.name, tuple(v.shape), str(v.dtype)) for v in ours.variables] == \
        [(v.name, tuple(v.shape), str(v.dtype)) for v in theirs.variables]
    for half in (slice(0, 6), slice(6, 12)):
        sw = WEIGHTS[half] if weighted else None
        ours.update_state(Y_TRUE[half], Y_PRED[half], sample_weight=sw)
        theirs.update_state(Y_TRUE[half], Y_PRED[half], sample_weight=sw)
        np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)
    ours.reset_state(), theirs.reset_state()
    np.testing.assert_allclose([np.asarray(v) for v in ours.variables], [np.asarray(v) for v in theirs.variables])
    np.testing.assert_allclose(float(ours(Y_TRUE, Y_PRED)), float(theirs(Y_TRUE, Y_PRED)), rtol=1e-6)


def test_config_and_base_class() -> None:
    ours, theirs = _both(lambda K, C: C.PositiveRate(threshold=0.3))
    assert ours.get_config() == theirs.get_config()
    assert type(ours).from_config(ours.get_config()).threshold == 0.3
    assert isinstance(ours, metrics.Metric)
    for name in ("accuracy", "AUC", "Precision", "mse", "Mean"):
        assert isinstance(metrics.get(name, (4, 1), (4, 1)), metrics.Metric), name


def _model(K, C, metric_list):
    inputs = K.Input((3,))
    model = K.Model(inputs, K.layers.Dense(1, activation="sigmoid")(inputs))
    model.compile(optimizer=K.name == "keras" and keras.optimizers.SGD(0.1) or lamina.optimizers.SGD(0.1),
                  loss="binary_crossentropy", metrics=metric_list(C))
    return model


@pytest.mark.parametrize("weighted", [False, True])
def test_in_compile_evaluate_and_fit_match_keras(weighted: bool) -> None:
    x = RNG.normal(size=(40, 3)).astype("float32")
    y = RNG.integers(0, 2, (40, 1)).astype("float32")
    sw = RNG.random(40).astype("float32") if weighted else None

    def metric_list(C):
        return [C.PositiveRate(), C.Histogram(), C.mean_error, "accuracy"]

    ours, theirs = _both(lambda K, C: _model(K, C, metric_list))
    ours.set_weights(theirs.get_weights())
    got = ours.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0, return_dict=True)
    want = theirs.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-4, atol=1e-6, err_msg=key)
    h_ours = ours.fit(x, y, sample_weight=sw, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    h_theirs = theirs.fit(x, y, sample_weight=sw, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert sorted(h_ours) == sorted(h_theirs)
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-3, atol=1e-5, err_msg=key)


def test_stateless_api() -> None:
    m = _classes(LAMINA).PositiveRate()
    state = m.stateless_reset_state()
    state = m.stateless_update_state(state, Y_TRUE, Y_PRED)
    assert float(m.stateless_result(state)) == pytest.approx(float((Y_PRED > 0.5).mean()))
    assert float(m.hits.value) == 0.0  # the stateless calls leave the variables alone


def test_add_variable_before_super_init_is_a_clear_error() -> None:
    class Broken(metrics.Metric):
        def __init__(self):
            self.v = self.add_variable((), "zeros")

    with pytest.raises(RuntimeError, match="super"):
        Broken()
