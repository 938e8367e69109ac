"""Small standard datasets, returned in Keras's shapes and dtypes.

``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``, ``imdb``, ``reuters``, ``boston_housing`` and
``california_housing`` read the standard files from a cache folder
(``~/.lamina/datasets``, or ``$LAMINA_DATA_DIR``, or ``load_data(cache_dir=...)``) and download them when
missing. ``digits`` needs no download: scikit-learn's 8x8 handwritten digits ship inside that package.

>>> from lamina import datasets
>>> (x_train, y_train), (x_test, y_test) = datasets.digits.load_data()
>>> x_train.shape, x_train.dtype.name, int(x_train.max())
((1437, 8, 8), 'uint8', 255)
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("mnist", "fashion_mnist", "cifar10", "cifar100", "digits", "imdb", "reuters", "boston_housing",
               "california_housing")

__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    """Import a dataset module on first use, so ``import lamina.datasets`` costs nothing."""
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
