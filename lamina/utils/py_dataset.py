"""``PyDataset`` (alias ``Sequence``): a dataset written as a Python class of batches, which ``fit`` reads directly.

>>> import numpy as np
>>> class Squares(PyDataset):
...     def __len__(self):
...         return 3
...     def __getitem__(self, index):
...         x = np.full((2, 1), index, dtype="float32")
...         return x, x ** 2
>>> [float(y[0, 0]) for _, y in Squares()]
[0.0, 1.0, 4.0]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["PyDataset", "Sequence"]


class PyDataset:
    """Subclass it with ``__getitem__(index) -> batch`` and ``__len__() -> number of batches``.

    ``on_epoch_begin``/``on_epoch_end`` run around each pass. ``workers``, ``use_multiprocessing`` and
    ``max_queue_size`` are Keras's loading options; lamina reads batches in the training thread, so they are
    recorded but do not start workers.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning batch `index`.")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__() returning the number of batches "
                                  "(or the `num_batches` property).")

    @property
    def num_batches(self) -> int | None:
        """The number of batches (``len(self)``), ``None`` when the dataset does not define it."""
        try:
            return len(self)
        except (NotImplementedError, TypeError):
            return None

    def on_epoch_begin(self) -> None:
        """Called before each epoch."""

    def on_epoch_end(self) -> None:
        """Called after each epoch (shuffle the samples here)."""

    def __iter__(self) -> Iterator[Any]:
        """The batches of one epoch, ``on_epoch_begin`` before and ``on_epoch_end`` after."""
        self.on_epoch_begin()
        count = self.num_batches
        if count is None:
            index = 0
            while True:
                try:
                    batch = self[index]
                except IndexError:
                    break
                yield batch
                index += 1
        else:
            for index in range(count):
                yield self[index]
        self.on_epoch_end()


Sequence = PyDataset
