"""``CallbackList``: the callbacks of one ``fit``/``evaluate``/``predict`` called as one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lamina.callbacks.callback import Callback, Logs
from lamina.callbacks.history import History
from lamina.callbacks.progbar_logger import ProgbarLogger


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
