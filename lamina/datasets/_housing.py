"""The shared loader of the two house-price regression datasets (``x``/``y`` arrays in one ``.npz``)."""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from lamina.datasets._files import get_file


def load(path: str, default: str, origin_url: str, sha256: str, test_split: float, seed: int, cache_dir: Any,
         origin: str | None, dataset: str, limit: int | None = None) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 (exclusive of 1).")
    if os.path.isabs(path) and os.path.isfile(path):
        file: Any = path
    else:
        file = get_file(path, origin_url, sha256 if path == default else None, cache_dir=cache_dir,
                        origin_override=origin, dataset=dataset)
    try:
        with np.load(file, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"{file} is not a valid {default} ({err}); delete it and call load_data() again.") from err
    if limit is not None:
        x, y = x[:limit], y[:limit]
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    n = int(len(x) * (1 - test_split))
    return (np.array(x[:n]), np.array(y[:n])), (np.array(x[n:]), np.array(y[n:]))
