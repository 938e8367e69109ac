"""``ProgbarLogger``: the progress bar and per-epoch lines of ``fit``/``evaluate``/``predict``."""

from __future__ import annotations

from typing import Any

from lamina.callbacks.callback import Callback, Logs, _print


class ProgbarLogger(Callback):
    """Prints the progress bar and the per-epoch line (added by ``fit`` when ``verbose`` is not 0).

    ``verbose=1`` draws a live bar for each epoch (``Epoch 1/5`` above it when there are several
    epochs); ``verbose=2`` prints one line per epoch. ``evaluate`` and ``predict`` draw their own bar;
    the validation run inside ``fit`` draws none.

    >>> import io, contextlib
    >>> from lamina.callbacks import CallbackList
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
