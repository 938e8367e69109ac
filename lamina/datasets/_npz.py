"""Reading Keras's ``.npz`` dataset files without running code from them.

Numeric arrays are read with pickling off; the ragged word-index sequences of ``imdb.npz`` and ``reuters.npz`` are
object arrays, stored as pickles: they are read with an unpickler that only rebuilds NumPy arrays and refuses any
other class, so a crafted file cannot execute code.

>>> import io, numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "d.npz")
>>> np.savez(path, x=np.array([[1, 2], [3]], dtype=object), y=np.array([0, 1]))
>>> data = load_npz(path)
>>> data["x"].tolist(), data["y"].tolist()
([[1, 2], [3]], [0, 1])
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile

import numpy as np

__all__ = ["load_npz"]

_ALLOWED = frozenset({("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                      ("numpy._core.multiarray", "_reconstruct")})


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"Refusing to deserialize `{module}.{name}` while loading a dataset file: only "
                                     "NumPy arrays are allowed. The file may be corrupted or malicious.")


def _read_member(raw: io.BytesIO) -> np.ndarray:
    try:
        return np.lib.format.read_array(raw, allow_pickle=False)
    except ValueError:
        raw.seek(0)
        version = np.lib.format.read_magic(raw)
        if version[0] == 1:
            np.lib.format.read_array_header_1_0(raw)
        elif version[0] in (2, 3):
            np.lib.format.read_array_header_2_0(raw)
        else:
            raise ValueError(f"Unsupported `.npy` file version: {version}.") from None
        return _ArraysOnly(raw).load()


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file by name; object arrays are rebuilt with the restricted unpickler."""
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                with archive.open(member) as raw:
                    arrays[member[: -len(".npy")]] = _read_member(io.BytesIO(raw.read()))
    return arrays
