"""Host staging: large NumPy inputs reach the CPU device through reused aligned buffers, never stale data."""

import jax
import numpy as np
import pytest

from lamina import callbacks, layers, models, utils
from lamina.training import staging

ROWS = 2048  # 2048 x 256 float32 = 2 MiB: above staging.MIN_BYTES


@pytest.fixture(autouse=True)
def empty_pool(monkeypatch):
    monkeypatch.delenv("LAMINA_STAGING_BYTES", raising=False)
    staging.clear()
    yield
    staging.clear()


def _array(seed, dtype="float32"):
    return np.random.default_rng(seed).normal(size=(ROWS, 256)).astype(dtype)


def test_put_adopts_an_aligned_buffer_and_reuses_it_with_fresh_contents():
    a, b = _array(0), _array(1)
    with staging.borrowed() as host:
        first = host.put(a)
        pointer = first.unsafe_buffer_pointer()
        np.testing.assert_array_equal(np.asarray(first), a)
    assert pointer % staging.ALIGNMENT == 0
    assert staging.idle_bytes() == a.nbytes
    with pytest.raises(RuntimeError):
        np.asarray(first)  # the view of a returned buffer is retired, not left to read the next call's data
    with staging.borrowed() as host:
        second = host.put(b)  # same shape: the same memory, refilled
        assert second.unsafe_buffer_pointer() == pointer
        np.testing.assert_array_equal(np.asarray(second), b)


def test_a_nested_call_gets_its_own_buffer():
    a, b = _array(0), _array(1)
    with staging.borrowed() as outer:
        kept = outer.put(a)
        with staging.borrowed() as inner:
            inner_view = inner.put(b)
            assert inner_view.unsafe_buffer_pointer() != kept.unsafe_buffer_pointer()
        with staging.borrowed() as inner:
            inner.put(b)
        np.testing.assert_array_equal(np.asarray(kept), a)


def test_buffers_are_not_returned_after_an_error():
    with pytest.raises(KeyError), staging.borrowed() as host:
        view = host.put(_array(0))
        raise KeyError("boom")
    assert staging.idle_bytes() == 0
    np.testing.assert_array_equal(np.asarray(view), _array(0))  # still valid: nothing reuses it


def test_float64_is_staged_as_float32_and_small_or_jax_arrays_are_copied_as_usual():
    a = _array(0, "float64")
    with staging.borrowed() as host:
        view = host.put(a)
        assert view.dtype == np.float32
        np.testing.assert_allclose(np.asarray(view), a.astype(np.float32))
        assert not host.can_stage(np.zeros((4, 4), np.float32))
        assert not host.can_stage(jax.numpy.zeros((ROWS, 256)))
    assert staging.idle_bytes() == a.nbytes // 2


def test_the_idle_limit_and_the_switch(monkeypatch):
    monkeypatch.setenv("LAMINA_STAGING_BYTES", str(3 << 20))
    with staging.borrowed() as host:
        host.put(_array(0))
        host.put(_array(1)[: ROWS // 2].copy())  # 1 MiB: still fits the 3 MiB limit
        host.put(_array(2)[:, :128].copy())  # another 1 MiB buffer: over the limit, dropped
    assert staging.idle_bytes() == 3 << 20
    monkeypatch.setenv("LAMINA_STAGING_BYTES", "0")
    with staging.borrowed() as host:
        assert not host.can_stage(_array(0))


def _model():
    utils.set_random_seed(0)
    model = models.Sequential([layers.Input((256,)), layers.Dense(8, activation="relu"),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_an_array_changed_in_place_between_calls_is_seen():
    model = _model()
    x, other = _array(0), _array(1)
    y = (x[:, 0] > 0).astype("int32")
    model.fit(x, y, batch_size=256, epochs=1, verbose=0)
    before = model.predict(x, batch_size=256, verbose=0)
    assert staging.idle_bytes() > 0
    x[...] = other
    np.testing.assert_allclose(model.predict(x, batch_size=256, verbose=0),
                               model.predict(other.copy(), batch_size=256, verbose=0), rtol=1e-6)
    assert not np.allclose(before, model.predict(x, batch_size=256, verbose=0))
    assert model.evaluate(x, y, batch_size=256, verbose=0) == model.evaluate(other.copy(), y, batch_size=256,
                                                                               verbose=0)


def test_predict_inside_fit_on_same_shaped_data_does_not_disturb_training():
    x, probe = _array(0), _array(1)
    y = (x[:, 0] > 0).astype("int32")
    runs = []
    for probing in (False, True):
        model = _model()
        extra = [callbacks.LambdaCallback(on_epoch_end=lambda e, logs, m=model: m.predict(probe, verbose=0))]
        np.random.seed(0)
        history = model.fit(x, y, batch_size=128, epochs=2, verbose=0, callbacks=extra if probing else [],
                            validation_data=(probe, y))
        runs.append((history.history, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for w1, w2 in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(w1, w2)
