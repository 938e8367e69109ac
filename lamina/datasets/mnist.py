"""MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grey levels.

Reads Keras's ``mnist.npz`` (arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``).

>>> ORIGIN.rsplit("/", 1)[-1]
'mnist.npz'
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from lamina.datasets._files import get_file

__all__ = ["load_data", "ORIGIN", "SHA256"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

Split = tuple[np.ndarray, np.ndarray]


def load_data(path: str = "mnist.npz", *, cache_dir: str | os.PathLike | None = None,
              origin: str | None = None) -> tuple[Split, Split]:
    """Load MNIST as ``((x_train, y_train), (x_test, y_test))``.

    ``x`` is ``uint8`` of shape ``(n, 28, 28)`` with values 0..255, ``y`` is ``uint8`` of shape ``(n,)``
    with digits 0..9; ``n`` is 60,000 for training and 10,000 for test.

    Args:
        path: the file name in the cache folder (or an absolute path to an ``mnist.npz``).
        cache_dir: the cache folder; default ``$LAMINA_DATA_DIR`` or ``~/.lamina/datasets``.
        origin: a folder URL to download from instead of the canonical one.

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    if os.path.isabs(path) and os.path.isfile(path):
        file = path
    else:
        file = get_file(path, ORIGIN, SHA256 if path == "mnist.npz" else None, cache_dir=cache_dir,
                        origin_override=origin, dataset="MNIST")
    try:
        with np.load(file, allow_pickle=False) as data:
            x_train, y_train = data["x_train"], data["y_train"]
            x_test, y_test = data["x_test"], data["y_test"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"{file} is not a valid mnist.npz ({err}); delete it and call load_data() again, or "
                         "replace it with a good copy.") from err
    return (x_train, y_train), (x_test, y_test)
