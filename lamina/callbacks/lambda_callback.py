"""``LambdaCallback``: a callback made of plain functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina.callbacks.callback import Callback

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
