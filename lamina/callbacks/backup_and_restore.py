"""``BackupAndRestore``: back up the training state and resume an interrupted ``fit`` from it.

The files are Keras 3's: ``latest.weights.h5`` (the weights and the optimizer's variables) and
``training_metadata.json`` (``{"epoch": ..., "batch": ...}``), with ``.bkp`` copies under
``double_checkpoint=True``. Keras restarts the interrupted epoch from its first batch; lamina also records
in the metadata (under ``"lamina"``) where in the epoch the backup was taken, the run's dropout seed,
NumPy's shuffling state and the epoch's metric accumulators, so a resumed run continues at the next batch
and ends with the weights an uninterrupted run has, bit for bit. Keras reads the same files (it ignores
the extra key), and lamina reads Keras's (restarting the epoch, as Keras does).
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import numpy as np

from lamina import distribution
from lamina.callbacks.callback import Callback, Logs

_LAMINA_KEY = "lamina"


class BackupAndRestore(Callback):
    """Back up the training state to ``backup_dir`` and restore it when ``fit`` starts again.

    Args:
        backup_dir: a folder used only by this callback (it is deleted at the end of training
            unless ``delete_checkpoint=False``).
        save_freq: ``"epoch"`` (back up at the end of each epoch), an integer (every that many
            batches) or ``False`` (never; Keras's preemption mode, which lamina has no use for).
        double_checkpoint: keep the previous backup too (``*.bkp``) and fall back to it when the
            latest one cannot be read.
        delete_checkpoint: delete ``backup_dir`` when training finishes.

    >>> import numpy as np, tempfile
    >>> from lamina import layers, Sequential
    >>> model = Sequential([layers.Dense(1, input_shape=(3,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> backup = BackupAndRestore(tempfile.mkdtemp() + "/backup")
    >>> history = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, callbacks=[backup], verbose=0)
    >>> len(history.history["loss"])
    2
    """

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int | bool = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq is not False and save_freq != "epoch" and not (
                isinstance(save_freq, int) and not isinstance(save_freq, bool)):
            raise ValueError("Invalid value for argument `save_freq`. "
                             f"Received: save_freq={save_freq}. Expected either 'epoch' or an integer value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        self._next_batch = 0  # the first batch of the current epoch not yet run
        self._epoch_random_state: Any = None  # NumPy's global state as the current epoch began (its shuffle)

    # ---------------------------------------------------------------------------------- hooks
    def needs_every_batch(self, mode: str) -> bool:
        return False  # an integer save_freq counts the batches each call covers, as ModelCheckpoint does

    def wants_batch_logs(self, batch: int, mode: str = "train") -> bool:
        return False  # backups read the model, not the logs

    def on_train_begin(self, logs: Logs = None) -> None:
        try:
            self._load_model()
        except (OSError, ValueError):  # ValueError: lamina's check of the file's first bytes
            # The latest backup may be corrupted: fall back to the previous one.
            if not os.path.exists(self._prev_weights_path):
                raise
            shutil.copyfile(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                shutil.copyfile(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._current_epoch = epoch
        if self._next_batch == 0:
            self._last_batch_seen = 0
        self._epoch_random_state = np.random.get_state()

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._next_batch = batch + 1
        if self._should_save_on_batch(batch):
            self._save_model()

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        self._next_batch = 0
        self._epoch_random_state = np.random.get_state()  # the next epoch shuffles from here
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_end(self, logs: Logs = None) -> None:
        if not distribution.is_writing_process():  # several processes: process 0 owns the backup folder
            return
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)

    # ------------------------------------------------------------------------------ restore
    def _load_model(self) -> None:
        model = self._model
        if not getattr(model, "built", True):
            raise ValueError("To use the BackupAndRestore callback, you model must be built before you call "
                             f"`fit()`. Model {model} is unbuilt. You can build it beforehand by calling it on a "
                             "batch of data.")
        if os.path.exists(self._weights_path):
            model.load_weights(self._weights_path)
        if not os.path.exists(self._training_metadata_path):
            return
        with open(self._training_metadata_path, encoding="utf-8") as f:
            metadata = json.loads(f.read())
        model._initial_epoch = metadata["epoch"]
        extra = metadata.get(_LAMINA_KEY)
        if extra is None:
            return  # a Keras backup: restart the epoch, as Keras does
        model._fit_seed = extra["seed"]
        if extra.get("random_state") is not None:
            np.random.set_state(_decode_random_state(extra["random_state"]))
        next_batch = int(extra.get("next_batch", 0))
        if next_batch:
            model._initial_step = next_batch
            self._next_batch = next_batch
            self._last_batch_seen = next_batch - 1
            _set_metrics_state(model, extra.get("metrics"))

    # --------------------------------------------------------------------------------- save
    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch" or self.save_freq is False:
            return False
        if batch <= self._last_batch_seen:  # a new epoch
            added = batch + 1
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save_model(self) -> None:
        writing = distribution.is_writing_process()  # several processes: each saves (it gathers), process 0 writes
        if writing:
            os.makedirs(self.backup_dir, exist_ok=True)
        if writing and self.double_checkpoint and os.path.exists(self._weights_path):
            shutil.copyfile(self._weights_path, self._prev_weights_path)
        if writing and self.double_checkpoint and os.path.exists(self._training_metadata_path):
            shutil.copyfile(self._training_metadata_path, self._prev_training_metadata_path)
        model = self.model  # synced: the weights of the last finished step
        model.save_weights(self._weights_path, overwrite=True)
        metadata: dict[str, Any] = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        extra: dict[str, Any] = {"next_batch": self._next_batch, "seed": getattr(model, "_fit_seed", None),
                                 "random_state": _encode_random_state(self._epoch_random_state)}
        if self._next_batch:
            extra["metrics"] = _metrics_state(model)
        metadata[_LAMINA_KEY] = extra
        if not writing:
            return
        with open(self._training_metadata_path, "w", encoding="utf-8") as f:
            f.write(json.dumps(metadata))


def _encode_random_state(state: Any) -> Any:
    if state is None:
        return None
    name, keys, pos, has_gauss, cached = state
    return [name, np.asarray(keys).tolist(), int(pos), int(has_gauss), float(cached)]


def _decode_random_state(data: Any) -> tuple[Any, ...]:
    name, keys, pos, has_gauss, cached = data
    return name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached


def _metrics_state(model: Any) -> list[dict[str, Any]]:
    """The metrics' accumulators mid-epoch, exactly (a float32 survives a round trip through JSON's float)."""
    out = []
    for metric in getattr(model, "metrics", []):
        leaves = [np.asarray(leaf) for leaf in metric.state_leaves()]
        out.append({"name": metric.name, "leaves": [
            {"dtype": str(a.dtype), "shape": list(a.shape), "values": a.ravel().tolist()} for a in leaves]})
    return out


def _set_metrics_state(model: Any, saved: list[dict[str, Any]] | None) -> None:
    if not saved:
        return
    metrics = list(getattr(model, "metrics", []))
    if [m.name for m in metrics] != [s["name"] for s in saved]:
        return  # another model or compile: the resumed epoch's metrics start fresh
    for metric, entry in zip(metrics, saved):
        leaves = [np.asarray(leaf["values"], dtype=leaf["dtype"]).reshape(leaf["shape"]) for leaf in entry["leaves"]]
        metric.state = metric._unflatten(leaves)
