"""CIFAR-10: 50,000 training and 10,000 test colour images, 32x32, in 10 classes.

Reads ``cifar-10-python.tar.gz`` (the "python version" from the CIFAR page) in place, or an extracted
``cifar-10-batches-py`` folder in the cache. Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer,
5 dog, 6 frog, 7 horse, 8 ship, 9 truck (``CLASS_NAMES``). The batches are pickles, read with a
restricted unpickler (see ``lamina.datasets._cifar``).

>>> ORIGIN.rsplit("/", 1)[-1]
'cifar-10-python.tar.gz'
"""

from __future__ import annotations

import os

import numpy as np

from lamina.datasets._cifar import load_batch, read_archive
from lamina.datasets._files import default_cache_dir, get_file

__all__ = ["load_data", "ORIGIN", "SHA256", "CLASS_NAMES"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
FOLDER = "cifar-10-batches-py"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

Split = tuple[np.ndarray, np.ndarray]


def load_data(*, cache_dir: str | os.PathLike | None = None,
              origin: str | None = None) -> tuple[Split, Split]:
    """Load CIFAR-10 as ``((x_train, y_train), (x_test, y_test))``.

    ``x`` is ``uint8`` of shape ``(n, 32, 32, 3)`` (channels last), ``y`` is ``uint8`` of shape
    ``(n, 1)``, as in Keras.

    Args:
        cache_dir: the cache folder; default ``$LAMINA_DATA_DIR`` or ``~/.lamina/datasets``.
        origin: a folder URL to download from instead of the canonical one.

    >>> (x_train, y_train), _ = load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.shape  # doctest: +SKIP
    ((50000, 32, 32, 3), (50000, 1))
    """
    names = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
    extracted = default_cache_dir(cache_dir) / FOLDER
    if extracted.is_dir():
        source = extracted
    else:
        source = get_file("cifar-10-python.tar.gz", ORIGIN, SHA256, cache_dir=cache_dir,
                          origin_override=origin, dataset="CIFAR-10")
    raw = read_archive(source, FOLDER, names)
    parts = [load_batch(raw[name], "labels") for name in names[:-1]]
    x_train = np.concatenate([x for x, _ in parts])
    y_train = np.concatenate([y for _, y in parts]).reshape(-1, 1)
    x_test, y_test = load_batch(raw["test_batch"], "labels")
    return (x_train, y_train), (x_test, y_test.reshape(-1, 1))
