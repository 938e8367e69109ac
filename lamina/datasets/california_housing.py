"""California house prices (1990 census): 20,640 block groups, 8 features, median value in dollars.

``version="small"`` keeps the first 600 samples, a stand-in for ``boston_housing``.

>>> ORIGIN.rsplit("/", 1)[-1]
'california_housing.npz'
"""

from __future__ import annotations

import os

import numpy as np

from lamina.datasets import _housing

__all__ = ["load_data", "ORIGIN", "SHA256"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/california_housing.npz"
SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"

Split = tuple[np.ndarray, np.ndarray]


def load_data(version: str = "large", path: str = "california_housing.npz", test_split: float = 0.2,
              seed: int = 113, *, cache_dir: str | os.PathLike | None = None,
              origin: str | None = None) -> tuple[Split, Split]:
    """``((x_train, y_train), (x_test, y_test))`` of the ``"large"`` (20,640) or ``"small"`` (600) version."""
    if version not in ("small", "large"):
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    return _housing.load(path, "california_housing.npz", ORIGIN, SHA256, test_split, seed, cache_dir, origin,
                         "California housing", limit=600 if version == "small" else None)
