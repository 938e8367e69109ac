"""Fused steps (``steps_per_execution``): same numbers as one step per call, callbacks, no retracing."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lamina import callbacks, layers, models, utils


def _model(steps_per_execution, dropout=0.25):
    utils.set_random_seed(3)
    model = models.Sequential([layers.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(dropout),
                               layers.BatchNormalization(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=steps_per_execution)
    return model


@pytest.fixture()
def xy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(203, 6)).astype("float32")  # 12 full batches of 16 and a partial one of 11
    return x, (x[:, 0] + x[:, 1] > 0).astype("int32") + (x[:, 2] > 1).astype("int32")


@pytest.mark.parametrize("fused", ["auto", 5])
def test_fused_steps_give_the_same_training_as_one_step_per_call(xy, fused):
    x, y = xy
    runs = []
    for spe in (1, fused):
        model = _model(spe)
        np.random.seed(0)  # the epoch permutations
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.2)
        runs.append((history.history, model.get_weights(), model.evaluate(x, y, batch_size=16, verbose=0),
                     model.predict(x, batch_size=16, verbose=0)))
    (h1, w1, e1, p1), (h2, w2, e2, p2) = runs
    assert sorted(h1) == sorted(h2) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key in h1:
        np.testing.assert_allclose(h1[key], h2[key], rtol=1e-5, atol=1e-6)
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e1, e2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p1, p2, rtol=1e-5, atol=1e-6)


def _batch_ends(steps_per_execution, x, y, epochs):
    """The batch indices ``on_train_batch_end`` sees when fitting with batch size 16."""
    seen = []
    _model(steps_per_execution).fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=[
        callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))])
    return seen


def test_auto_runs_every_batch_when_a_callback_has_batch_hooks(xy):
    assert _batch_ends("auto", *xy, epochs=2) == list(range(13)) * 2


def test_fixed_steps_per_execution_calls_batch_hooks_once_per_group(xy):
    # as Keras: the last batch index of each call; the partial batch alone
    assert _batch_ends(4, *xy, epochs=1) == [3, 7, 11, 12]


def test_auto_fuses_when_no_callback_needs_every_batch(xy):
    x, y = xy
    model = _model("auto")
    calls = []
    model.fit(x, y, batch_size=8, epochs=4, verbose=0,
              callbacks=[callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: calls.append(epoch))])
    pacer = model._paces[("train", 8)]
    assert pacer.target is not None and pacer.target > 1  # measured, then fused
    train_fns = [key for key in model._jit_cache if key[0] == "train"]
    assert sorted(key[2] for key in train_fns) == [False, True]  # the single step and the fused loop
    assert pacer.steps_per_call(25) > 1  # 25 full batches of 8
    for key in train_fns:
        # one trace per batch size (full and the partial last), whatever the lengths of the fused calls
        assert model._jit_cache[key]._cache_size() <= 2


def test_fused_calls_of_any_length_share_one_compilation(xy):
    x, y = xy
    model = _model(5)  # 12 full batches of 16: calls of 5, 5 and 2 steps, then the partial batch alone
    seen = []
    model.fit(x, y, batch_size=16, epochs=2, verbose=0,
              callbacks=[callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))])
    assert seen == [4, 9, 11, 12] * 2
    fused = [fn for key, fn in model._jit_cache.items() if key[0] == "train" and key[2]]
    assert len(fused) == 1 and fused[0]._cache_size() == 1


def test_auto_is_saved_as_the_integer_keras_expects(xy, tmp_path):
    x, y = xy
    model = _model("auto")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    import json
    import zipfile

    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        config = json.loads(z.read("config.json"))
    assert config["compile_config"]["steps_per_execution"] == 1  # Keras files hold an integer


def test_persistent_compilation_cache_is_used_on_a_second_run(tmp_path):
    script = textwrap.dedent("""
        import logging, numpy as np
        import jax
        jax.config.update("jax_log_compiles", True)
        logging.basicConfig(level=logging.WARNING)
        from lamina import layers, models
        model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.ones((8, 3), "float32"), np.ones((8, 2), "float32"), batch_size=4, verbose=0)
    """)
    env = {**os.environ, "LAMINA_COMPILATION_CACHE": str(tmp_path / "cache"), "JAX_PLATFORMS": "cpu"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
            for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    assert any(p.name.endswith("-cache") for p in (tmp_path / "cache").iterdir())
    assert "Persistent compilation cache hit" not in runs[0].stderr
    assert "Persistent compilation cache hit" in runs[1].stderr


@pytest.mark.parametrize("bad", [0, -2, "fast", 1.5])
def test_compile_rejects_a_bad_steps_per_execution(bad):
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=bad)


def test_auto_cuts_an_epoch_into_equal_calls():
    from lamina.training.trainer import _Pacer

    pacer = _Pacer(None, 256)
    pacer.target = 256
    assert [pacer.steps_per_call(n) for n in (1875, 468, 100, 1)] == [234, 234, 100, 1]
    bounds = [(i * 32, 32) for i in range(10)] + [(320, 5)]
    pacer.target = 4  # 10 full batches -> 2 calls of 5 steps (none left over), then the partial batch
    assert [(i, steps) for i, _, _, steps in pacer.calls(bounds)] == [(0, 5), (5, 5), (10, 1)]
    pacer.target = 11  # 78 full batches (CNN, batch 128): 6 calls of 13 rather than 8 of 9 and 6 single steps
    assert pacer.steps_per_call(78) == 13
    pacer.target = 3  # 11 full batches, calls of at most 4 steps: 3 calls of 3 (2 left) beat 4 of 2 (3 left)
    assert pacer.steps_per_call(11) == 3
    fixed = _Pacer(4, 256)
    assert [(i, steps) for i, _, _, steps in fixed.calls(bounds)] == [(0, 4), (4, 4), (8, 1), (9, 1), (10, 1)]


def test_dynamic_pacing_ends_with_a_shorter_call():
    from lamina.training.trainer import _Pacer

    pacer = _Pacer(None, 256, dynamic=True)
    bounds = [(i * 32, 32) for i in range(10)] + [(320, 5)]
    first = [(i, steps) for i, _, _, steps in pacer.calls(bounds) if not pacer.done(None)]
    assert first[:4] == [(0, 1), (1, 1), (2, 1), (3, 1)]  # compile, then 3 timed single steps
    assert pacer.target is not None
    pacer.target = 4  # 10 full batches -> 3 calls of 4, 4 and 2; the partial batch alone
    assert [(i, steps) for i, _, _, steps in pacer.calls(bounds)] == [(0, 4), (4, 4), (8, 2), (10, 1)]
    pacer.target = 256
    assert [pacer.steps_per_call(n) for n in (1875, 468, 78, 1)] == [235, 234, 78, 1]
    fixed = _Pacer(4, 256, dynamic=True)
    assert [(i, steps) for i, _, _, steps in fixed.calls(bounds)] == [(0, 4), (4, 4), (8, 2), (10, 1)]


def test_only_auto_single_steps_compile_for_a_short_compilation(xy, monkeypatch):
    from lamina.training import loop

    asked = []
    original = loop.short_lived_compile_options
    monkeypatch.setattr(loop, "short_lived_compile_options", lambda: asked.append(1) or original())
    x, y = xy
    _model(5).fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert asked == []  # fixed pacing: every step runs with XLA's default options
    model = _model("auto")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert asked == [1]  # auto: its whole-batch single step only, not the fused loop
    assert sorted(key[2:] for key in model._jit_cache if key[0] == "train") == [(False, False), (True, True)]


def test_evaluate_fuses_calls_of_any_length_with_one_compilation(xy):
    x, y = xy
    one, five = _model(1), _model(5)
    five.set_weights(one.get_weights())
    expected = one.evaluate(x, y, batch_size=16, verbose=0)
    seen = []
    got = five.evaluate(x, y, batch_size=16, verbose=0, callbacks=[
        callbacks.LambdaCallback(on_test_batch_end=lambda batch, logs: seen.append(batch))])
    assert seen == [4, 9, 11, 12]  # 12 full batches: calls of 5, 5 and 2, then the partial batch
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    fused = [fn for key, fn in five._jit_cache.items() if key[0] == "test_indexed" and key[2]]
    assert len(fused) == 1 and fused[0]._cache_size() == 1


def test_a_jax_without_the_short_lived_options_falls_back_to_defaults(xy, monkeypatch):
    from lamina import backend

    monkeypatch.setattr(backend, "SHORT_LIVED_CPU_OPTIONS", {"xla_cpu_no_such_option_for_this_test": True})
    monkeypatch.setattr(backend, "_SHORT_LIVED_REFUSED", False)
    x, y = xy
    model = _model("auto")
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert backend.short_lived_compile_options() is None  # refused once, then XLA's defaults
