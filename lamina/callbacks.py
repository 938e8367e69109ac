"""Callbacks: objects whose hooks ``fit``/``evaluate``/``predict`` call, with Keras's names and semantics.

The hooks are those of Keras 3 (``on_train_begin``, ``on_epoch_end(epoch, logs)``,
``on_train_batch_end(batch, logs)``, ...), plus one lamina addition that keeps training fast:
:meth:`Callback.wants_batch_logs`. Reading metric values after a batch copies them from the device to
the host and waits for the step to finish; the training loop asks ``callbacks.wants_batch_logs(batch)``
first and passes ``logs=None`` when nobody needs them. A callback that overrides a batch-end hook gets
logs after every batch (as in Keras); the progress bar asks for them only when it is about to redraw.

>>> class Count(Callback):
...     def on_epoch_end(self, epoch, logs=None):
...         print(epoch, logs)
>>> callbacks = CallbackList([Count()], epochs=1, steps=2, verbose=0)
>>> callbacks.on_train_begin()
>>> callbacks.on_epoch_end(0, {"loss": 0.5})
0 {'loss': 0.5}
>>> callbacks.wants_batch_logs(0)
False
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from lamina import distribution

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
    "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
]

Logs = dict[str, Any] | None

_BATCH_END_HOOKS = {
    "train": ("on_train_batch_end", "on_batch_end"),
    "test": ("on_test_batch_end",),
    "predict": ("on_predict_batch_end",),
}


def _print(message: str) -> None:
    import sys

    if not distribution.is_writing_process():  # several processes: process 0 prints
        return
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


_BATCH_HOOKS = {"train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
                "test": ("on_test_batch_begin", "on_test_batch_end"),
                "predict": ("on_predict_batch_begin", "on_predict_batch_end")}


class Callback:
    """Base class: every hook does nothing. Subclass and override the hooks you need.

    Attributes:
        model: the model being trained (set by ``set_model``).
        params: ``{"verbose": ..., "epochs": ..., "steps": ...}`` (set by ``set_params``).

    >>> class Printer(Callback):
    ...     def on_epoch_begin(self, epoch, logs=None):
    ...         print("epoch", epoch)
    >>> Printer().on_epoch_begin(3)
    epoch 3
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The model these callbacks are attached to, holding the weights of the last finished step.

        Inside ``fit`` the newest training state may be ahead of the model's weights; reading ``self.model``
        writes it back first (Keras's ``jax_state_sync``), so ``self.model.get_weights()``, the optimizer's
        ``learning_rate`` and the metrics are current, and changes made to them apply from the next step.
        """
        sync = getattr(self._model, "_sync_live_state", None)
        if sync is not None:
            sync()
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        self._model = model

    def needs_every_batch(self, mode: str) -> bool:
        """Whether this callback must see every batch of ``mode`` ("train", "test" or "predict").

        True when it defines a batch hook (in a subclass or, as ``LambdaCallback`` does, on the instance);
        ``steps_per_execution="auto"`` then runs one step per compiled call. Override to return False for a
        callback that copes with batch indices that jump by several steps.
        """
        hooks = _BATCH_HOOKS[mode]
        return any(hook in vars(self) or getattr(type(self), hook) is not getattr(Callback, hook) for hook in hooks)

    def set_model(self, model: Any) -> None:
        """Attach the model (called by ``fit`` before training)."""
        self._model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Receive the run's parameters (``verbose``, ``epochs``, ``steps``)."""
        self.params = params

    def wants_batch_logs(self, batch: int, mode: str = "train") -> bool:
        """Whether this callback needs the metric values after ``batch`` (``mode``: train/test/predict).

        The default is ``True`` exactly when the class (or instance) overrides a batch-end hook for
        that mode. Override it to ask for logs less often.

        >>> Callback().wants_batch_logs(0)
        False
        """
        return _overrides(self, _BATCH_END_HOOKS.get(mode, ()))

    # Keras 2 aliases: the train-batch hooks forward to them, so overriding either works.
    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Alias of ``on_train_batch_begin`` (Keras 2 name)."""

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Alias of ``on_train_batch_end`` (Keras 2 name)."""

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        """Called at the start of an epoch (``epoch`` counts from 0)."""

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        """Called at the end of an epoch with the epoch's metrics (and ``val_`` ones)."""

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before a training batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after a training batch with the running metric values (or ``None``, see module doc)."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before an evaluation batch."""

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after an evaluation batch."""

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before a prediction batch."""

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after a prediction batch (``logs`` may hold ``outputs``)."""

    def on_train_begin(self, logs: Logs = None) -> None:
        """Called once when ``fit`` starts."""

    def on_train_end(self, logs: Logs = None) -> None:
        """Called once when ``fit`` ends, with the last epoch's logs."""

    def on_test_begin(self, logs: Logs = None) -> None:
        """Called when ``evaluate`` starts."""

    def on_test_end(self, logs: Logs = None) -> None:
        """Called when ``evaluate`` ends, with its metrics."""

    def on_predict_begin(self, logs: Logs = None) -> None:
        """Called when ``predict`` starts."""

    def on_predict_end(self, logs: Logs = None) -> None:
        """Called when ``predict`` ends."""


def _overrides(callback: Callback, names: Iterable[str]) -> bool:
    cache = callback.__dict__.setdefault("_lamina_override_cache", {})
    key = tuple(names)
    if key not in cache:
        cache[key] = any(
            name in callback.__dict__ or getattr(type(callback), name, None) is not getattr(Callback, name)
            for name in key
        )
    return cache[key]


class CallbackList(Callback):
    """Calls a list of callbacks as one; what ``fit``/``evaluate``/``predict`` drive.

    Args:
        callbacks: a callback or a list of them (``None`` for none).
        add_history: append a :class:`History` if none is in the list.
        add_progbar: append a :class:`ProgbarLogger` if none is in the list.
        model: passed to every callback's ``set_model``.
        **params: passed to every callback's ``set_params`` (``verbose``, ``epochs``, ``steps``).

    >>> cbs = CallbackList(None, add_history=True, verbose=0, epochs=1, steps=1)
    >>> [type(c).__name__ for c in cbs]
    ['History']
    """

    def __init__(self, callbacks: Callback | Iterable[Callback] | None = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, **params: Any) -> None:
        super().__init__()
        if callbacks is None:
            items: list[Callback] = []
        elif isinstance(callbacks, Callback):
            items = [callbacks]
        else:
            items = list(_flatten(callbacks))
        for cb in items:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be instances of lamina.callbacks.Callback; got {cb!r}.")
        self.callbacks = items
        self._history = next((c for c in items if isinstance(c, History)), None)
        self._progbar = next((c for c in items if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self._modes: list[str] = []
        self.set_model(model)
        self.set_params(params)

    def __iter__(self):  # noqa: ANN204 - a plain iterator over the callbacks
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def append(self, callback: Callback) -> None:
        """Add a callback at the end, giving it the model and params already set."""
        if isinstance(callback, History) and self._history is None:
            self._history = callback
        if isinstance(callback, ProgbarLogger) and self._progbar is None:
            self._progbar = callback
        self.callbacks.append(callback)
        if self._model is not None:
            callback.set_model(self._model)
        if self.params:
            callback.set_params(self.params)

    def set_model(self, model: Any) -> None:
        if model is None:
            return
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def wants_batch_logs(self, batch: int, mode: str | None = None) -> bool:
        """Whether any callback needs the metric values after ``batch``.

        ``mode`` defaults to the phase opened by the last ``on_train_begin``/``on_test_begin``/
        ``on_predict_begin`` still running ("train" if none).
        """
        if mode is None:
            mode = self._modes[-1] if self._modes else "train"
        return any(cb.wants_batch_logs(batch, mode) for cb in self.callbacks)

    def needs_every_batch(self, mode: str) -> bool:
        """Whether a callback other than the history and progress bar needs every batch of ``mode``.

        ``fit``/``evaluate``/``predict`` then run one step per call instead of fusing several
        (``steps_per_execution="auto"``), so those hooks see every batch as in Keras.
        """
        return any(cb.needs_every_batch(mode) for cb in self.callbacks if not isinstance(cb, (History, ProgbarLogger)))

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs: Logs = None) -> None:
        self._modes.append("train")
        self._call("on_train_begin", logs)

    def on_train_end(self, logs: Logs = None) -> None:
        self._call("on_train_end", logs)
        _pop(self._modes, "train")

    def on_test_begin(self, logs: Logs = None) -> None:
        self._modes.append("test")
        self._call("on_test_begin", logs)

    def on_test_end(self, logs: Logs = None) -> None:
        self._call("on_test_end", logs)
        _pop(self._modes, "test")

    def on_predict_begin(self, logs: Logs = None) -> None:
        self._modes.append("predict")
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs: Logs = None) -> None:
        self._call("on_predict_end", logs)
        _pop(self._modes, "predict")

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._call("on_epoch_begin", epoch, logs if logs is not None else {})

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        # One shared dict, as in Keras: a callback may add keys (``learning_rate``) that later ones see.
        self._call("on_epoch_end", epoch, logs if logs is not None else {})

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call("on_train_batch_end", batch, logs)

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        self.on_train_batch_end(batch, logs)

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call("on_predict_batch_end", batch, logs)


def _flatten(items: Any) -> Iterable[Any]:
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            yield item


def _pop(stack: list[str], mode: str) -> None:
    if stack and stack[-1] == mode:
        stack.pop()


class History(Callback):
    """Records each epoch's logs; ``fit`` returns it.

    ``history`` maps each metric name to its per-epoch values, in the order the logs come (``fit``
    sorts them alphabetically, as Keras 3 does); ``epoch`` lists the epoch indices.

    >>> h = History()
    >>> h.on_train_begin()
    >>> h.on_epoch_end(0, {"accuracy": 0.5, "loss": 0.7})
    >>> h.history, h.epoch
    ({'accuracy': [0.5], 'loss': [0.7]}, [0])
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self._model is not None:
            try:
                self._model.history = self
            except AttributeError:
                pass


class ProgbarLogger(Callback):
    """Prints the progress bar and the per-epoch line (added by ``fit`` when ``verbose`` is not 0).

    ``verbose=1`` draws a live bar for each epoch (``Epoch 1/5`` above it when there are several
    epochs); ``verbose=2`` prints one line per epoch. ``evaluate`` and ``predict`` draw their own bar;
    the validation run inside ``fit`` draws none.

    >>> import io, contextlib
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     cbs = CallbackList(None, add_progbar=True, verbose=2, epochs=2, steps=1)
    ...     cbs.on_train_begin()
    ...     cbs.on_epoch_begin(0)
    ...     cbs.on_train_batch_end(0, None)
    ...     cbs.on_epoch_end(0, {"loss": 0.5})
    >>> buf.getvalue().splitlines()[0], buf.getvalue().splitlines()[1].endswith("- loss: 0.5000")
    ('Epoch 1/2', True)
    """

    def __init__(self) -> None:
        super().__init__()
        self.progbar: Any = None
        self.target: int | None = None
        self.verbose = 1
        self.epochs = 1
        self.seen = 0
        self._in_fit = False

    def set_params(self, params: dict[str, Any]) -> None:
        from lamina.training.progbar import resolve_verbose

        super().set_params(params)
        self.verbose = resolve_verbose(params.get("verbose", 1))
        self.epochs = params.get("epochs", 1) or 1
        self.target = params.get("steps")

    def wants_batch_logs(self, batch: int, mode: str = "train") -> bool:
        if self.verbose != 1 or (mode == "test" and self._in_fit) or mode == "predict":
            return False
        if self.progbar is None:
            return True
        return self.progbar.should_update()

    def _new_bar(self) -> None:
        from lamina.training.progbar import Progbar

        self.seen = 0
        self.progbar = Progbar(self.target, verbose=self.verbose, stateful_metrics=True, unit_name="step")

    def _update(self, batch: int, logs: Logs) -> None:
        if self.progbar is None:
            self._new_bar()
        self.seen = batch + 1
        # verbose=2 draws nothing here; the call only records the position and the step time.
        self.progbar.update(self.seen, logs or None, finalize=False)

    def _finish(self, logs: Logs) -> None:
        if self.progbar is None:
            self._new_bar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.seen
        self.progbar.update(self.target, logs or None, finalize=True)

    def on_train_begin(self, logs: Logs = None) -> None:
        self._in_fit = True

    def on_train_end(self, logs: Logs = None) -> None:
        self._in_fit = False

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._new_bar()
        if self.verbose and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._update(batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._finish(logs)

    def on_test_begin(self, logs: Logs = None) -> None:
        if not self._in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs: Logs = None) -> None:
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs: Logs = None) -> None:
        self._new_bar()

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._update(batch, None)

    def on_predict_end(self, logs: Logs = None) -> None:
        self._finish(None)


# ------------------------------------------------------------------------------ monitored metrics
_HIGHER_IS_BETTER = ("acc", "accuracy", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2", "fmeasure")
_LOWER_IS_BETTER = ("loss", "error", "crossentropy", "mse", "mae", "mape", "msle", "hinge", "divergence",
                    "kld", "poisson", "logcosh", "huber")


def _direction_from_name(monitor: str, model: Any) -> str | None:
    """``"min"``, ``"max"`` or ``None`` for a monitored log name such as ``val_accuracy``."""
    name = monitor.removeprefix("val_")
    try:
        metrics = list(getattr(model, "metrics", None) or [])
    except Exception:  # noqa: BLE001 - a model that cannot list its metrics yet: fall back to the name
        metrics = []
    for metric in metrics:
        direction = getattr(metric, "direction", None) or getattr(metric, "_direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    lowered = name.lower()
    if lowered == "loss" or lowered.endswith("_loss"):
        return "min"
    words = lowered.split("_")
    if any(k in words for k in _HIGHER_IS_BETTER):
        return "max"
    if any(k in lowered for k in _LOWER_IS_BETTER):
        return "min"
    if "accuracy" in lowered:
        return "max"
    return None


class _MonitorCallback(Callback):
    """Shared logic: which way is better, and whether a value improves on a reference by ``min_delta``."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0.0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                          stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self._sign: int | None = None  # -1: lower is better, +1: higher is better

    def _resolve_mode(self) -> None:
        if self._sign is not None:
            return
        mode = self.mode
        if mode == "auto":
            mode = _direction_from_name(self.monitor, self._model)
            if mode is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but lamina can't tell "
                    "whether that metric should be maximized or minimized. Pass `mode='max'` in order to "
                    "monitor based on the highest metric value, or pass `mode='min'` in order to use the "
                    "lowest value.")
        self._sign = 1 if mode == "max" else -1

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        self._resolve_mode()
        if reference is None:
            return True
        if self._sign > 0:
            return value - self.min_delta > reference
        return value + self.min_delta < reference


def _as_float(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class EarlyStopping(_MonitorCallback):
    """Stop training when a monitored metric has stopped improving.

    Args:
        monitor: the log to watch (``"val_loss"``).
        min_delta: a change smaller than this is no improvement.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints ``Epoch N: early stopping`` and the restore message.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the name: losses go down, accuracies up).
        baseline: training stops if the metric does not beat this within ``patience`` epochs.
        restore_best_weights: at the end of training, put back the weights of the best epoch.
        start_from_epoch: epochs to wait before watching at all (warm-up).

    >>> stop = EarlyStopping(monitor="loss", patience=1)
    >>> stop.patience, stop.monitor
    (1, 'loss')
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: Any = None
        self.best_epoch = 0

    def on_train_begin(self, logs: Logs = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        current = _as_float(current)
        if self.restore_best_weights and self.best_weights is None:
            # Keep some weights even if no epoch ever improves (the baseline case).
            self.best_weights = self._model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self._model.stop_training = True

    def on_train_end(self, logs: Logs = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self._model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: Logs) -> Any:
        """The monitored value from ``logs``, or ``None`` with a warning listing what is available."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs)}", stacklevel=2)
        return value


class ModelCheckpoint(_MonitorCallback):
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


class ReduceLROnPlateau(_MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for ``patience`` epochs.

    After a reduction, ``cooldown`` epochs pass before waiting starts again. The learning rate never
    goes below ``min_lr``. The current rate is added to the epoch's logs as ``learning_rate`` (so it
    appears in ``History``, as in Keras 3).

    >>> ReduceLROnPlateau(factor=0.5, patience=2).factor
    0.5
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 **kwargs: Any) -> None:
        if "epsilon" in kwargs:  # Keras 2 name of min_delta
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"Unexpected keyword arguments for ReduceLROnPlateau: {sorted(kwargs)}")
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        """Whether the cooldown after the last reduction is still running."""
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: Logs = None) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        optimizer = self._model.optimizer
        if logs is not None:
            logs["learning_rate"] = float(optimizer.learning_rate)
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs or {})}.", stacklevel=2)
            return
        current = _as_float(current)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                # Compare in float32, as the rate is stored: a float64 min_lr must not block forever.
                if _float32(old_lr) > _float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        _print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


def _float32(value: float) -> float:
    import struct

    return struct.unpack("f", struct.pack("f", value))[0]


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)``.

    ``schedule`` may also take only ``epoch``. The rate in force is added to the epoch's logs as
    ``learning_rate``.

    >>> sched = LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    >>> sched.schedule(0, 0.1)
    0.05
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        optimizer = self._model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # schedule(epoch), the old signature
            lr = self.schedule(epoch)
        try:
            lr = float(lr)
        except (TypeError, ValueError):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}") from None
        if not math.isfinite(lr):
            raise ValueError(f"The output of the `schedule` function should be a finite float. Got: {lr}")
        optimizer.learning_rate = lr
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self._model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file.

    The columns are ``epoch`` and the log names sorted (fixed at the first epoch); when there is no
    validation data the ``val_`` columns are still written, holding ``NA`` (as Keras does).

    Args:
        filename: the CSV file.
        separator: the column separator.
        append: append to an existing file (the header is written only if the file is empty).

    >>> CSVLogger("training.log", separator=";").sep
    ';'
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: list[str] | None = None
        self.writer: Any = None
        self.csv_file: Any = None
        self._write_header = True

    def on_train_begin(self, logs: Logs = None) -> None:
        self._write_header = True
        if not distribution.is_writing_process():  # several processes: process 0 writes the file
            return
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as f:
                self._write_header = not f.readline()
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs or {}
        if not distribution.is_writing_process():
            return
        if self.csv_file is None or self.csv_file.closed:
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            self.writer = csv.writer(self.csv_file, delimiter=self.sep, lineterminator="\r\n")
            if self._write_header:
                self.writer.writerow(["epoch", *self.keys])
        self.writer.writerow([epoch, *(_csv_value(logs.get(k, "NA")) for k in self.keys)])
        self.csv_file.flush()

    def on_train_end(self, logs: Logs = None) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _csv_value(value: Any) -> Any:
    if isinstance(value, str):
        return value
    shape = getattr(value, "shape", None)
    if shape == ():
        return float(value)
    if isinstance(value, Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite.

    Args:
        raise_error: raise ``RuntimeError`` instead of setting ``model.stop_training``.

    >>> TerminateOnNaN().raise_error
    False
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            _print(f"Batch {batch}: Invalid loss, terminating training")
            self._model.stop_training = True


_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
          "on_train_batch_end", "on_batch_begin", "on_batch_end", "on_test_begin", "on_test_end",
          "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
          "on_predict_batch_begin", "on_predict_batch_end")


class LambdaCallback(Callback):
    """A callback made of functions: pass any hook by name (``on_epoch_end=lambda epoch, logs: ...``).

    Epoch hooks take ``(epoch, logs)``, batch hooks ``(batch, logs)``, begin/end hooks ``(logs)``.

    >>> seen = []
    >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    >>> cb.on_epoch_end(0, {}); seen
    [0]
    """

    def __init__(self, on_epoch_begin: Callable | None = None, on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None, on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None, on_train_batch_end: Callable | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, value in kwargs.items():
            if name not in _HOOKS:
                raise TypeError(f"LambdaCallback got an unknown hook {name!r}; "
                                f"known hooks: {', '.join(_HOOKS)}.")
            hooks[name] = value
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)
