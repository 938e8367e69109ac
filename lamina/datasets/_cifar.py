"""Reading the CIFAR "python version" archives safely (shared by ``cifar10`` and ``cifar100``).

The batches inside the archives are Python pickles. Unpickling runs whatever constructors the file
names, so a tampered file could execute code. They are read with :class:`RestrictedUnpickler`, which
refuses every global except the three that rebuild a NumPy array (``_reconstruct``, ``ndarray``,
``dtype``) and ``_codecs.encode`` (how protocol-2 pickles written by Python 3 store ``bytes``). Dicts,
lists, strings, bytes and integers need no globals. The archive is read in place with ``tarfile``
(nothing is extracted, so member paths cannot escape the cache folder).
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RestrictedUnpickler", "safe_loads", "read_archive", "to_images"]


def _reconstruct_function() -> Any:
    # The function NumPy's own pickles name (numpy.core.multiarray._reconstruct before NumPy 2,
    # numpy._core.multiarray._reconstruct since); taken from NumPy to avoid deprecated imports.
    return np.ndarray.__reduce__(np.zeros(0))[0]


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct_function,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct_function,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("_codecs", "encode"): lambda: __import__("codecs").encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that only rebuilds plain containers and NumPy arrays.

    >>> import pickle
    >>> safe_loads(pickle.dumps({b"labels": [1, 2]}, protocol=2))
    {b'labels': [1, 2]}
    >>> safe_loads(pickle.dumps(print))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    _pickle.UnpicklingError: refused to load builtins.print from a dataset file (only NumPy arrays ...)
    """

    def find_class(self, module: str, name: str) -> Any:
        factory = _ALLOWED.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(f"refused to load {module}.{name} from a dataset file "
                                         "(only NumPy arrays and plain containers are allowed)")
        return factory()


def safe_loads(raw: bytes) -> Any:
    """Unpickle ``raw`` with :class:`RestrictedUnpickler` (Python 2 strings come back as ``bytes``)."""
    return RestrictedUnpickler(io.BytesIO(raw), encoding="bytes").load()


def read_archive(path: str | os.PathLike, folder: str, names: tuple[str, ...]) -> dict[str, bytes]:
    """The contents of ``folder/name`` for each name, from a ``.tar.gz`` archive or an extracted folder."""
    path = Path(path)
    if path.is_dir():
        base = path / folder if (path / folder).is_dir() else path
        missing = [n for n in names if not (base / n).is_file()]
        if missing:
            raise ValueError(f"{base} lacks {', '.join(missing)}.")
        return {n: (base / n).read_bytes() for n in names}
    wanted = {f"{folder}/{n}": n for n in names}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:
                key = wanted.get(member.name.removeprefix("./"))
                if key is not None and member.isfile():
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        found[key] = extracted.read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ValueError(f"{path} could not be read ({err}); it is damaged or not the CIFAR archive. "
                         "Delete it and load the data again.") from err
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(f'{folder}/{n}' for n in missing)}; "
                         "it is not the CIFAR python-version archive.")
    return found


def load_batch(raw: bytes, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 32, 32, 3) uint8`` and labels ``(n,) uint8`` from one pickled batch."""
    try:
        batch = safe_loads(raw)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ValueError(f"a CIFAR batch could not be read safely: {err}") from err
    if not isinstance(batch, dict):
        raise ValueError("a CIFAR batch is not a dict.")
    batch = {k.decode("utf-8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = batch.get("data"), batch.get(label_key)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError("a CIFAR batch's 'data' is not a uint8 array of shape (n, 3072).")
    if labels is None or len(labels) != len(data):
        raise ValueError(f"a CIFAR batch's '{label_key}' is missing or has the wrong length.")
    return to_images(data), np.asarray(labels, dtype=np.uint8)


def to_images(data: np.ndarray) -> np.ndarray:
    """Rows of 3072 bytes (1024 red, 1024 green, 1024 blue, each row-major) to ``(n, 32, 32, 3)``.

    >>> to_images(np.arange(3072, dtype=np.int64)[None] % 256)[0, 0, 1].tolist()
    [1, 1, 1]
    """
    return np.ascontiguousarray(data.reshape(len(data), 3, 32, 32).transpose(0, 2, 3, 1))
