"""Boston house prices: 506 districts, 13 features, median value in k$ (use for teaching only: the data set
includes a variable that encodes racial segregation).

>>> ORIGIN.rsplit("/", 1)[-1]
'boston_housing.npz'
"""

from __future__ import annotations

import os

import numpy as np

from lamina.datasets import _housing

__all__ = ["load_data", "ORIGIN", "SHA256"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"

Split = tuple[np.ndarray, np.ndarray]


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113, *,
              cache_dir: str | os.PathLike | None = None, origin: str | None = None) -> tuple[Split, Split]:
    """``((x_train, y_train), (x_test, y_test))``: shuffled with ``seed``, the last ``test_split`` for test."""
    return _housing.load(path, "boston_housing.npz", ORIGIN, SHA256, test_split, seed, cache_dir, origin,
                         "Boston housing")
