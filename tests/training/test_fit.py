"""fit/evaluate/predict behaviour: batching, repeatability, generators, errors, callbacks."""

import numpy as np
import pytest

from lamina import callbacks, layers, models, utils


def _model(dropout: float = 0.0):
    model = models.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dropout(dropout),
                               layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture()
def xy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(90, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


def test_history_keys_and_partial_last_batch(xy):
    x, y = xy
    model = _model()
    seen = []
    cb = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, validation_split=0.2, callbacks=[cb])
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.epoch == [0, 1]
    assert seen == [0, 1, 2, 0, 1, 2]  # 72 training samples -> 3 batches, the last one partial


def test_set_random_seed_makes_fit_repeatable(xy):
    x, y = xy
    runs = []
    for _ in range(2):
        utils.set_random_seed(7)
        model = _model(dropout=0.3)
        runs.append(model.fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"])
    assert runs[0] == runs[1]


def test_generator_input_and_steps_per_epoch(xy):
    x, y = xy

    def batches():
        while True:
            for i in range(0, 90, 30):
                yield x[i:i + 30], y[i:i + 30]

    model = _model()
    history = model.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(x[:5], verbose=0).shape == (5, 2)


def test_steps_per_execution_gives_the_same_training(xy):
    x, y = xy
    results = []
    for spe in (1, 4):
        utils.set_random_seed(3)
        model = models.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(2)])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", steps_per_execution=spe)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_fit_before_compile_and_bad_inputs_raise_clear_errors(xy):
    x, y = xy
    model = models.Sequential([layers.Dense(2, input_shape=(4,))])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"expects shape \(None, 4\)"):
        model.fit(x[:, :3], y, verbose=0)


def test_evaluate_returns_scalar_list_or_dict(xy):
    x, y = xy
    model = _model()
    assert isinstance(model.evaluate(x, y, verbose=0), list)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"accuracy", "loss"}
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def test_early_stopping_restores_best_weights(xy):
    x, y = xy
    model = _model()
    stop = callbacks.EarlyStopping(monitor="loss", patience=0, restore_best_weights=True, min_delta=10.0)
    history = model.fit(x, y, epochs=5, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) < 5


def test_verbose_two_prints_one_line_per_epoch(xy, capsys):
    x, y = xy
    model = _model()
    model.fit(x, y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert out.count("Epoch 1/2") == 1 and out.count("Epoch 2/2") == 1
    assert "loss:" in out and "accuracy:" in out


def test_set_random_seed_repeats_the_first_run_of_a_fresh_process():
    """Importing JAX draws from NumPy's global generator; seeding first must still give the same shuffles."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import numpy as np
        from lamina import utils
        losses = []
        for _ in range(2):
            utils.set_random_seed(0)
            from lamina import layers, models
            model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            x = np.arange(160, dtype="float32").reshape(40, 4) % 7
            history = model.fit(x, np.arange(40) % 3, batch_size=8, epochs=2, verbose=0)
            losses.append(history.history["loss"])
        assert losses[0] == losses[1], losses
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
