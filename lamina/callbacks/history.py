"""``History``: the per-epoch logs that ``fit`` returns."""

from __future__ import annotations

from typing import Any

from lamina.callbacks.callback import Callback, Logs


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
