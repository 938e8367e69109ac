"""Fashion-MNIST: 60,000 training and 10,000 test images of clothing, 28x28 grey levels, 10 classes.

Reads the four gzipped IDX files of the original distribution from ``<cache>/fashion-mnist/``.
Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag,
9 Ankle boot (``CLASS_NAMES``).

>>> FILES[0]
'train-labels-idx1-ubyte.gz'
"""

from __future__ import annotations

import os

import numpy as np

from lamina.datasets._files import get_file
from lamina.datasets._idx import read_idx

__all__ = ["load_data", "ORIGIN", "FILES", "SHA256", "CLASS_NAMES"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
# The project publishes MD5 sums only; no SHA-256 is checked unless one is passed to load_data.
SHA256: dict[str, str] = {}
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")
SUBDIR = "fashion-mnist"

Split = tuple[np.ndarray, np.ndarray]


def load_data(*, cache_dir: str | os.PathLike | None = None, origin: str | None = None,
              sha256: dict[str, str] | None = None) -> tuple[Split, Split]:
    """Load Fashion-MNIST as ``((x_train, y_train), (x_test, y_test))``.

    ``x`` is ``uint8`` of shape ``(n, 28, 28)``, ``y`` is ``uint8`` of shape ``(n,)``.

    Args:
        cache_dir: the cache folder (files go in its ``fashion-mnist`` folder).
        origin: a folder URL to download from instead of the canonical one.
        sha256: expected SHA-256 per file name, checked on download.

    >>> (x_train, y_train), _ = load_data()  # doctest: +SKIP
    >>> x_train.shape  # doctest: +SKIP
    (60000, 28, 28)
    """
    hashes = {**SHA256, **(sha256 or {})}
    paths = [get_file(name, ORIGIN + name, hashes.get(name), cache_dir=cache_dir, subdir=SUBDIR,
                      origin_override=origin, dataset="Fashion-MNIST") for name in FILES]
    y_train, x_train, y_test, x_test = (read_idx(p) for p in paths)
    for x, y, part in ((x_train, y_train, "training"), (x_test, y_test, "test")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"Fashion-MNIST {part} files disagree: images {x.shape}, labels {y.shape}.")
    return (x_train, y_train), (x_test, y_test)
