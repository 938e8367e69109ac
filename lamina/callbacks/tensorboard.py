"""``TensorBoard``: Keras's TensorBoard callback, writing real event files without TensorFlow.

The runs, tags and steps are Keras's: ``<log_dir>/train`` holds ``epoch_<name>`` (and ``epoch_learning_rate``)
per epoch, ``batch_<name>`` per batch with ``update_freq``, weight histograms ``<weight path>/histogram``
with ``histogram_freq`` and the model's JSON (tag ``keras``, the graph plugin's conceptual graph) with
``write_graph``; ``<log_dir>/validation`` holds ``epoch_<name>`` of the ``val_`` logs and
``evaluation_<name>_vs_iterations`` (at the optimizer's iteration count) each time an evaluation ends.
The files are written by :mod:`lamina.callbacks.event_file`.

What is not written: the op-level graph of the train function (Keras writes it only on TensorFlow: a JAX
step has no GraphDef), weight images (``write_images``), profiles (``profile_batch``) and embeddings
(``embeddings_freq``); these arguments are accepted and ignored with a warning.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from typing import Any

import numpy as np

from lamina import distribution
from lamina.callbacks.callback import Callback, Logs
from lamina.callbacks.event_file import EventFileWriter, histogram_summary, scalar_summary, string_summary


class TensorBoard(Callback):
    """Write scalars, weight histograms and the model's graph for TensorBoard.

    Args:
        log_dir: the folder of the runs (``train/`` and ``validation/`` are made inside).
        histogram_freq: write weight histograms every that many epochs (0: never).
        write_graph: write the model's JSON for TensorBoard's graph dashboard.
        write_images: ignored (with a warning): weight images are not written.
        write_steps_per_second: also write ``epoch_steps_per_second`` (and ``batch_steps_per_second``).
        update_freq: ``"epoch"``, ``"batch"`` or an integer: write ``batch_<name>`` scalars every that many
            batches (counted over the whole run, as Keras does).
        profile_batch: ignored (with a warning when set): no profiler traces.
        embeddings_freq, embeddings_metadata: ignored (with a warning when set).

    >>> import numpy as np, tempfile
    >>> from lamina import layers, Sequential
    >>> model = Sequential([layers.Dense(1, input_shape=(3,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> logs = tempfile.mkdtemp()
    >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, callbacks=[TensorBoard(logs)], verbose=0)
    >>> sorted(os.listdir(logs))
    ['train']
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: str | int = "epoch",
                 profile_batch: int | tuple[int, int] = 0, embeddings_freq: int = 0,
                 embeddings_metadata: Any = None) -> None:
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        if self.update_freq != "epoch" and not (isinstance(self.update_freq, int) and self.update_freq > 0):
            raise ValueError(f"TensorBoard(update_freq=...) takes 'epoch', 'batch' or a positive integer; received "
                             f"{update_freq!r}.")
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        ignored = [name for name, value in (("write_images", write_images), ("profile_batch", profile_batch),
                                            ("embeddings_freq", embeddings_freq)) if value]
        if ignored:
            warnings.warn(f"lamina's TensorBoard callback ignores {', '.join(ignored)}: it writes scalars, weight "
                          "histograms and the model graph only.", stacklevel=2)
        self._global_train_batch = 0
        self._global_test_batch = 0
        self._last_train_batch = -1
        self._writers: dict[str, EventFileWriter] = {}
        self._batch_start_time = 0.0
        self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0

    # ------------------------------------------------------------------------------ writers
    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._close_writers()
        self._writers = {}
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        if self.write_graph:
            self._write_model_graph()

    def _writer(self, run: str) -> EventFileWriter | _NoWriter:
        if not distribution.is_writing_process():  # several processes: process 0 writes the event files
            return _NoWriter()
        if run not in self._writers:
            self._writers[run] = EventFileWriter(self._train_dir if run == "train" else self._val_dir)
        return self._writers[run]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()

    def _scalar(self, run: str, tag: str, value: Any, step: int) -> None:
        self._writer(run).add_summary(scalar_summary(tag, float(np.asarray(value))), step)

    def _write_model_graph(self) -> None:
        model = self._model
        if type(model).__name__ != "Sequential" and not getattr(model, "_functional", False):
            return  # Keras writes the conceptual graph of Sequential and functional models only
        try:
            text = _model_json(model)
        except Exception as error:  # noqa: BLE001 - as in Keras: a model that cannot serialize writes no graph
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {error}", stacklevel=3)
            return
        self._writer("train").add_summary(string_summary("keras", text, "graph_keras_model", b"1"), 0)

    # -------------------------------------------------------------------------- batch pacing
    def needs_every_batch(self, mode: str) -> bool:
        # Batch scalars (update_freq) and batch timing need every batch; epoch scalars cope with fused steps.
        return mode == "train" and (self.update_freq != "epoch" or self.write_steps_per_second)

    def wants_batch_logs(self, batch: int, mode: str = "train") -> bool:
        if mode != "train" or self.update_freq == "epoch":
            return False
        return (self._global_train_batch + self._batches_added(batch)) % self.update_freq == 0

    def _batches_added(self, batch: int) -> int:
        return batch + 1 if batch <= self._last_train_batch else batch - self._last_train_batch

    # --------------------------------------------------------------------------------- hooks
    def on_train_begin(self, logs: Logs = None) -> None:
        self._global_train_batch = 0
        self._last_train_batch = -1

    def on_train_end(self, logs: Logs = None) -> None:
        self._close_writers()

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._last_train_batch = -1
        if self.write_steps_per_second:
            self._epoch_start_iterations = int(self._model.optimizer.iterations)
            self._epoch_start_time = time.time()

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._global_train_batch += self._batches_added(batch)
        self._last_train_batch = batch
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        step = self._global_train_batch
        if self.write_steps_per_second:
            self._scalar("train", "batch_steps_per_second", 1.0 / max(time.time() - self._batch_start_time, 1e-9),
                         step)
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                self._scalar("train", f"batch_{name}", value, step)

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._global_test_batch += 1

    def on_test_end(self, logs: Logs = None) -> None:
        optimizer = getattr(self._model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "iterations"):
            return
        step = int(optimizer.iterations)
        for name, value in (logs or {}).items():
            self._scalar("validation", f"evaluation_{name}_vs_iterations", value, step)
        self._writer("validation").flush()

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._log_epoch_metrics(epoch, logs)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    def _log_epoch_metrics(self, epoch: int, logs: Logs) -> None:
        if not logs:
            return
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self._model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train_logs["learning_rate"] = float(np.asarray(optimizer.learning_rate))
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._epoch_start_time, 1e-9)
            train_logs["steps_per_second"] = (int(optimizer.iterations) - self._epoch_start_iterations) / elapsed
        for name, value in train_logs.items():
            self._scalar("train", f"epoch_{name}", value, epoch)
        for name, value in val_logs.items():
            self._scalar("validation", f"epoch_{name}", value, epoch)
        for writer in self._writers.values():
            writer.flush()

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        model = self.model  # synced: the weights of the last finished step
        for layer in model.layers:
            for weight in layer.weights:
                path = weight.path
                if not path.startswith(f"{model.name}/"):
                    path = f"{model.name}/{path}"  # Keras 3's variable path starts with the model's name
                tag = f"{path.replace(':', '_')}/histogram"
                writer.add_summary(histogram_summary(tag, np.asarray(weight)), epoch)
        writer.flush()


class _NoWriter:
    """What a process other than process 0 writes to: nothing."""

    def add_summary(self, summary: bytes, step: int) -> None:
        pass

    def flush(self) -> None:
        pass


def _model_json(model: Any) -> str:
    """``model.to_json()``: Keras's serialized config of the model."""
    to_json = getattr(model, "to_json", None)
    if to_json is not None:
        return to_json()
    from lamina.saving import serialization_lib  # saving sits beside callbacks, above the model

    return json.dumps(serialization_lib.serialize_keras_object(model))
