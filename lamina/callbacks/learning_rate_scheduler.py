"""``LearningRateScheduler``: set the learning rate from a function of the epoch."""

from __future__ import annotations

import math
from collections.abc import Callable

from lamina.callbacks.callback import Callback, Logs, _print


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
