"""Reading the IDX format of the (Fashion-)MNIST distribution files, gzipped or not."""

from __future__ import annotations

import gzip
import os

import numpy as np

__all__ = ["read_idx"]

_UBYTE = 0x08


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The ``uint8`` array stored in an IDX file (``.gz`` files are decompressed).

    The header is two zero bytes, a type byte (0x08: unsigned bytes), the number of dimensions, then
    each dimension as a big-endian 32-bit integer; the data follows.

    >>> import tempfile, pathlib, struct
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
    >>> _ = p.write_bytes(struct.pack(">HBBI", 0, 8, 1, 3) + bytes([7, 2, 1]))
    >>> read_idx(p)
    array([7, 2, 1], dtype=uint8)
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path} could not be read ({err}); delete it and load the data again.") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    count = int(np.prod(shape)) if shape else 0
    if len(raw) - header != count:
        raise ValueError(f"{path} is truncated or damaged: the header announces shape {shape} "
                         f"({count} bytes) but {len(raw) - header} bytes follow.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()
