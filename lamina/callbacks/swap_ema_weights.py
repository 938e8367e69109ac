"""``SwapEMAWeights``: evaluate (and checkpoint) with the optimizer's moving averages of the weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.callbacks.callback import Callback, Logs


class SwapEMAWeights(Callback):
    """Swap the model's weights with the optimizer's moving averages (``use_ema=True``) around evaluation.

    During ``evaluate`` (and the validation inside ``fit``) and ``predict`` the model holds the averages;
    with ``swap_on_epoch=True`` it also holds them from the end of each epoch to the start of the next, so
    callbacks after this one (``ModelCheckpoint``) see the averaged weights. Training always continues from
    the raw weights.

    Args:
        swap_on_epoch: also swap at the end of each epoch (and back at the start of the next).

    >>> SwapEMAWeights(swap_on_epoch=True).swap_on_epoch
    True
    """

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizer(self) -> Any:
        optimizer = self.model.optimizer  # synced: the weights of the last finished step
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if not getattr(optimizer, "use_ema", False) or optimizer.state is None or "average" not in optimizer.state:
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                             f"Received: use_ema={getattr(optimizer, 'use_ema', False)}")
        return optimizer

    def _swap_variables(self) -> None:
        from lamina.optimizers import ema  # optimizers import layers; callbacks stay light to import

        optimizer = self._optimizer()
        weights = self._model.trainable_weights
        current = [np.asarray(w) for w in weights]
        ema.assign_averages(optimizer, weights)
        ema.set_averages(optimizer, current)

    def _finalize_ema_values(self) -> None:
        from lamina.optimizers import ema

        optimizer = self._optimizer()
        ema.set_averages(optimizer, [np.asarray(w) for w in self._model.trainable_weights])

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            # fit ends by writing the averages into the weights: after the last epoch they must be the
            # averages again (the model holds them now), as in Keras.
            if epoch == self.params.get("epochs", 0) - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs: Logs = None) -> None:
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_test_end(self, logs: Logs = None) -> None:
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_predict_begin(self, logs: Logs = None) -> None:
        self.on_test_begin(logs)

    def on_predict_end(self, logs: Logs = None) -> None:
        # Keras 3.15 tests ``not self._ema_weights_in_model`` here, so its predict leaves the averages in
        # the model; lamina swaps back, as the docstring of both promises.
        self.on_test_end(logs)
