"""CIFAR-100: 50,000 training and 10,000 test colour images, 32x32, in 100 fine or 20 coarse classes.

Reads ``cifar-100-python.tar.gz`` (the "python version" from the CIFAR page) in place, or an extracted
``cifar-100-python`` folder in the cache. The batches are pickles, read with a restricted unpickler
(see ``lamina.datasets._cifar``).

>>> ORIGIN.rsplit("/", 1)[-1]
'cifar-100-python.tar.gz'
"""

from __future__ import annotations

import os

import numpy as np

from lamina.datasets._cifar import load_batch, read_archive
from lamina.datasets._files import default_cache_dir, get_file

__all__ = ["load_data", "ORIGIN", "SHA256"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
FOLDER = "cifar-100-python"

Split = tuple[np.ndarray, np.ndarray]


def load_data(label_mode: str = "fine", *, cache_dir: str | os.PathLike | None = None,
              origin: str | None = None) -> tuple[Split, Split]:
    """Load CIFAR-100 as ``((x_train, y_train), (x_test, y_test))``.

    ``x`` is ``uint8`` of shape ``(n, 32, 32, 3)``, ``y`` is ``uint8`` of shape ``(n, 1)``.

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).
        cache_dir: the cache folder; default ``$LAMINA_DATA_DIR`` or ``~/.lamina/datasets``.
        origin: a folder URL to download from instead of the canonical one.

    >>> (x_train, y_train), _ = load_data("coarse")  # doctest: +SKIP
    >>> int(y_train.max())  # doctest: +SKIP
    19
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'`label_mode` must be one of "fine", "coarse". Received: label_mode={label_mode}.')
    extracted = default_cache_dir(cache_dir) / FOLDER
    if extracted.is_dir():
        source = extracted
    else:
        source = get_file("cifar-100-python.tar.gz", ORIGIN, SHA256, cache_dir=cache_dir,
                          origin_override=origin, dataset="CIFAR-100")
    raw = read_archive(source, FOLDER, ("train", "test"))
    key = f"{label_mode}_labels"
    x_train, y_train = load_batch(raw["train"], key)
    x_test, y_test = load_batch(raw["test"], key)
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))
