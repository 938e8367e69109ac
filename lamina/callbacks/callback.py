"""The base class of all callbacks, with Keras 3's hooks and lamina's ``wants_batch_logs``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lamina import distribution

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
