"""``ModelCheckpoint``: save the model or its weights during training."""

from __future__ import annotations

import os
import warnings
from typing import Any

from lamina import distribution
from lamina.callbacks.callback import Logs, _print
from lamina.callbacks.monitor_callback import MonitorCallback, _as_float


class ModelCheckpoint(MonitorCallback):
    """Save the model (or its weights) during training.

    ``filepath`` may hold format fields filled from the epoch (1-based) and the logs, for example
    ``"ckpt/model-{epoch:02d}-{val_loss:.2f}.keras"``. Full models need a ``.keras`` (or ``.h5``)
    suffix; ``save_weights_only=True`` needs ``.weights.h5``, as in Keras.

    Args:
        filepath: where to save; format fields ``epoch``, ``batch`` (with an integer ``save_freq``)
            and any log name.
        monitor: the log compared when ``save_best_only``.
        verbose: 1 prints a line for each save decision.
        save_best_only: save only when ``monitor`` improves.
        save_weights_only: call ``model.save_weights(path)`` instead of ``model.save(path)``.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        save_freq: ``"epoch"`` or an integer number of batches.
        initial_value_threshold: a first best value to beat.

    >>> ModelCheckpoint("m-{epoch:02d}.keras").filepath.format(epoch=3)
    'm-03.keras'
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or a "
                             "positive integer (a number of batches).")
        self.save_freq = save_freq
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                             "provided must end in `.weights.h5` (Keras weights format). "
                             f"Received: filepath={self.filepath}")
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5")):
            raise ValueError("The filepath provided must end in `.keras` (Keras model format). "
                             f"Received: filepath={self.filepath}")
        self._batches_since_save = 0
        self._last_batch: int | None = None
        self._epoch = 0

    def _batches_added(self, batch: int) -> int:
        if self._last_batch is None or batch <= self._last_batch:
            return batch + 1
        return batch - self._last_batch

    def needs_every_batch(self, mode: str) -> bool:
        return False  # an integer save_freq counts the batches each call covers

    def wants_batch_logs(self, batch: int, mode: str = "train") -> bool:
        if mode != "train" or self.save_freq == "epoch":
            return False
        return self._batches_since_save + self._batches_added(batch) >= self.save_freq

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += self._batches_added(batch)
        self._last_batch = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _file_path(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> str:
        fields = {k: _as_float(v) for k, v in logs.items()}
        if batch is not None and "batch" not in fields:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(epoch=epoch + 1, **fields)
        except KeyError as err:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {err}") from None

    def _should_save(self, epoch: int, logs: dict[str, Any], filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        current = _as_float(current)
        best_text = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_text} to {current:.5f}, "
                       f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_text}")
        return False

    def _save(self, epoch: int, batch: int | None, logs: Logs) -> None:
        logs = logs or {}
        filepath = self._file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise OSError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {filepath}")
        if not self._should_save(epoch, logs, filepath):
            return
        folder = os.path.dirname(filepath)
        if folder and distribution.is_writing_process():
            os.makedirs(folder, exist_ok=True)
        model = self.model  # synced: the weights of the last finished step
        if self.save_weights_only:
            model.save_weights(filepath)
        else:
            model.save(filepath)
