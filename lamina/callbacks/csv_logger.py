"""``CSVLogger``: one CSV row of logs per epoch."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from typing import Any

from lamina import distribution
from lamina.callbacks.callback import Callback, Logs


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
