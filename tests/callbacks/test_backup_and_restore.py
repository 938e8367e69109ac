"""BackupAndRestore: bit-exact resumption mid-epoch and at epoch ends, and Keras's files and epoch counting."""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina
from tests.saving.builders import h5_tree

RNG = np.random.default_rng(0)
X = RNG.normal(size=(200, 6)).astype("float32")
Y = RNG.integers(0, 3, 200)
FIT = dict(epochs=4, batch_size=16, verbose=0, validation_split=0.2)


def build(lib, dropout=0.3):
    """The same small classifier under lamina or Keras, seeded the same way each time (a fresh process)."""
    lib.utils.set_random_seed(7)
    if lib is not lamina:
        lib.backend.clear_session()
    else:
        lamina.backend.clear_session()
    model = lib.models.Sequential([lib.layers.Input((6,)), lib.layers.Dense(16, activation="relu"),
                                   lib.layers.Dropout(dropout), lib.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def interrupter(lib, epoch, batch=None):
    """A callback that raises at the start of ``epoch`` or after its ``batch``."""

    class Interrupt(lib.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.current = 0

        def on_epoch_begin(self, e, logs=None):
            self.current = e
            if batch is None and e == epoch:
                raise RuntimeError("interrupted")

        def on_train_batch_end(self, b, logs=None):
            if batch is not None and self.current == epoch and b == batch:
                raise RuntimeError("interrupted")

    return Interrupt()


def interrupted_run(lib, backup_dir, save_freq, epoch, batch=None, **backup_args):
    model = build(lib)
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(X, Y, callbacks=[lib.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq, **backup_args),
                                   interrupter(lib, epoch, batch)], **FIT)
    return model


@pytest.fixture(scope="module")
def uninterrupted():
    model = build(lamina)
    history = model.fit(X, Y, **FIT)
    return model.get_weights(), history


@pytest.mark.slow
@pytest.mark.parametrize("save_freq, epoch, batch", [(1, 1, 4), (3, 2, 6), ("epoch", 2, None), (5, 3, 0)])
def test_resumed_run_is_bit_exact_with_an_uninterrupted_one(tmp_path, uninterrupted, save_freq, epoch, batch):
    expected, history = uninterrupted
    backup_dir = str(tmp_path / "backup")
    interrupted_run(lamina, backup_dir, save_freq, epoch, batch)
    resumed = build(lamina)  # a new process: the same seeds, a new model
    backup = lamina.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq)
    resumed_history = resumed.fit(X, Y, callbacks=[backup], **FIT)
    for got, want in zip(resumed.get_weights(), expected):
        np.testing.assert_array_equal(got, want)
    first = len(history.epoch) - len(resumed_history.epoch)
    for key, values in history.history.items():
        assert resumed_history.history[key] == values[first:], key  # the resumed epoch's mean loss included
    assert not os.path.exists(backup_dir)  # delete_checkpoint=True


@pytest.mark.slow
def test_resume_with_fused_steps_is_bit_exact(tmp_path):
    """steps_per_execution=3: backups at call ends (batch 5 ends the second call), resumed from batch 6."""
    def compiled():
        model = build(lamina)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      steps_per_execution=3)
        return model

    model = compiled()
    model.fit(X, Y, **FIT)
    expected = model.get_weights()
    backup_dir = str(tmp_path / "backup")
    model = compiled()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(X, Y, callbacks=[lamina.callbacks.BackupAndRestore(backup_dir, save_freq=3),
                                   interrupter(lamina, 1, 5)], **FIT)
    assert json.loads(open(os.path.join(backup_dir, "training_metadata.json")).read())["lamina"]["next_batch"] == 6
    model = compiled()
    model.fit(X, Y, callbacks=[lamina.callbacks.BackupAndRestore(backup_dir, save_freq=3)], **FIT)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_files_and_metadata_match_keras(tmp_path):
    import keras

    for lib, name in ((lamina, "mine"), (keras, "theirs")):
        interrupted_run(lib, str(tmp_path / name), 3, 2, 6, double_checkpoint=True)
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    assert sorted(os.listdir(mine)) == sorted(os.listdir(theirs)) == [
        "latest.weights.h5", "latest.weights.h5.bkp", "training_metadata.json", "training_metadata.json.bkp"]
    for file in ("training_metadata.json", "training_metadata.json.bkp"):
        ours = json.loads((mine / file).read_text())
        assert ours.pop("lamina")["next_batch"] == ours["batch"] + 1
        assert ours == json.loads((theirs / file).read_text())
    assert h5_tree(str(mine / "latest.weights.h5")) == h5_tree(str(theirs / "latest.weights.h5"))


@pytest.mark.slow
@pytest.mark.parametrize("save_freq, epoch", [("epoch", 2), (4, 1)])
def test_resumed_epochs_and_kept_checkpoint_match_keras(tmp_path, save_freq, epoch):
    import keras

    counts = {}
    for lib, name in ((lamina, "mine"), (keras, "theirs")):
        backup_dir = str(tmp_path / name)
        interrupted_run(lib, backup_dir, save_freq, epoch)
        model = build(lib)
        history = model.fit(X, Y, callbacks=[lib.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq,
                                                                             delete_checkpoint=False)], **FIT)
        counts[name] = (history.epoch, sorted(os.listdir(backup_dir)))
    assert counts["mine"] == counts["theirs"]


def test_lamina_resumes_from_a_keras_backup(tmp_path):
    import keras

    backup_dir = str(tmp_path / "keras_backup")
    theirs = interrupted_run(keras, backup_dir, "epoch", 2)
    model = build(lamina)
    seen = {}

    class Look(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.setdefault("epoch", epoch)
            seen.setdefault("weights", self.model.get_weights())

    model.fit(X, Y, callbacks=[lamina.callbacks.BackupAndRestore(backup_dir), Look()], **FIT)
    assert seen["epoch"] == 2  # Keras's metadata: restart at the epoch after the last backup
    for got, want in zip(seen["weights"], theirs.get_weights()):
        np.testing.assert_array_equal(got, np.asarray(want))


def test_arguments_and_errors(tmp_path):
    import keras

    for lib in (lamina, keras):
        with pytest.raises(ValueError, match="Empty `backup_dir`"):
            lib.callbacks.BackupAndRestore("")
        with pytest.raises(ValueError, match="Invalid value for argument `save_freq`"):
            lib.callbacks.BackupAndRestore(str(tmp_path), save_freq="batch")
    backup = lamina.callbacks.BackupAndRestore(str(tmp_path / "b"), save_freq=2)
    assert (backup.save_freq, backup.double_checkpoint, backup.delete_checkpoint) == (2, False, True)
    assert backup._weights_path.endswith("latest.weights.h5")


def test_corrupted_latest_backup_falls_back_to_the_previous_one(tmp_path):
    backup_dir = tmp_path / "backup"
    interrupted_run(lamina, str(backup_dir), "epoch", 3, double_checkpoint=True)
    (backup_dir / "latest.weights.h5").write_bytes(b"not an h5 file")
    model = build(lamina)
    history = model.fit(X, Y, callbacks=[lamina.callbacks.BackupAndRestore(str(backup_dir))], **FIT)
    assert history.epoch == [2, 3]  # the previous backup was taken at the end of epoch 2 (index 1)
