"""TensorBoard event files written without TensorFlow: TFRecord framing and hand-encoded protobufs.

An event file is a sequence of records, each ``length (uint64 LE) | masked crc32c of length (uint32 LE) |
data | masked crc32c of data``; the data is a serialized ``tensorflow.Event``. The first event carries
``file_version = "brain.Event:2"``; the others carry a ``Summary`` whose values are TF2-style tensor
summaries, byte for byte those of TensorBoard's own ``scalar_pb``/``histogram_pb`` (the ``scalars`` and
``histograms`` plugins) and of Keras's ``keras_model_summary`` (the ``graph_keras_model`` plugin).

>>> import tempfile
>>> writer = EventFileWriter(tempfile.mkdtemp())
>>> writer.add_summary(scalar_summary("epoch_loss", 0.5), step=0)
>>> writer.close()
>>> masked_crc32c(b"")
2726488792
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import time
from typing import Any

import numpy as np

__all__ = ["EventFileWriter", "scalar_summary", "histogram_summary", "string_summary", "masked_crc32c",
           "read_records"]

# ------------------------------------------------------------------------------------------- crc32c
_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum of TFRecord files."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits and add a constant (mod 2**32)."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_record(data: bytes) -> bytes:
    """One TFRecord: the length, its masked CRC, the data and its masked CRC."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


def read_records(path: str | os.PathLike) -> list[bytes]:
    """The records of a TFRecord file, checking both CRCs of each (for tests and tools)."""
    out = []
    with open(path, "rb") as f:
        blob = f.read()
    at = 0
    while at < len(blob):
        length_bytes = blob[at:at + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (length_crc,) = struct.unpack("<I", blob[at + 8:at + 12])
        data = blob[at + 12:at + 12 + length]
        (data_crc,) = struct.unpack("<I", blob[at + 12 + length:at + 16 + length])
        if length_crc != masked_crc32c(length_bytes) or data_crc != masked_crc32c(data):
            raise ValueError(f"Corrupted record at byte {at} of {os.fspath(path)}.")
        out.append(data)
        at += 16 + length
    return out


# ------------------------------------------------------------------------------------------ protobuf
def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are ten-byte varints
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint((field << 3) | wire_type)


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _int_field(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value) if value else b""


def _double_field(field: int, value: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", value)


_DT_FLOAT, _DT_DOUBLE, _DT_STRING = 1, 2, 7


def _tensor_shape(shape: tuple[int, ...]) -> bytes:
    return b"".join(_bytes_field(2, _int_field(1, size)) for size in shape)


def _metadata(plugin_name: str, content: bytes = b"") -> bytes:
    plugin_data = _bytes_field(1, plugin_name.encode())
    if content:
        plugin_data += _bytes_field(2, content)
    return _bytes_field(1, plugin_data)


def _summary(tag: str, tensor: bytes, metadata: bytes) -> bytes:
    """A ``Summary`` with one value: ``tag`` (1), ``tensor`` (8) and ``metadata`` (9)."""
    value = _bytes_field(1, tag.encode()) + _bytes_field(8, tensor) + _bytes_field(9, metadata)
    return _bytes_field(1, value)


def scalar_summary(tag: str, value: float) -> bytes:
    """A serialized ``Summary`` of one float32 scalar for the ``scalars`` plugin (TensorBoard's ``scalar_pb``).

    >>> scalar_summary("epoch_loss", 0.5)[4:14], len(scalar_summary("epoch_loss", 0.5))
    (b'epoch_loss', 39)
    """
    tensor = _int_field(1, _DT_FLOAT) + _bytes_field(2, b"") + _bytes_field(5, struct.pack("<f", float(value)))
    return _summary(tag, tensor, _metadata("scalars"))


def histogram_buckets(data: Any, buckets: int = 30) -> np.ndarray:
    """``[buckets, 3]`` rows of (left edge, right edge, count), as TensorBoard's ``histogram_pb`` computes them.

    >>> histogram_buckets([0.0, 1.0, 1.0], buckets=2).tolist()
    [[0.0, 0.5, 1.0], [0.5, 1.0, 2.0]]
    """
    data = np.asarray(data, dtype=np.float64).ravel()
    if buckets == 0 or data.size == 0:
        return np.zeros((buckets, 3))
    low, high = np.min(data), np.max(data)
    if high - low == 0:
        edges = np.full(buckets, low)
        counts = np.zeros(buckets)
        counts[-1] = data.size
        return np.stack([edges, edges, counts], axis=1)
    width = (high - low) / buckets
    index = np.minimum(np.floor((data - low) / width).astype(int), buckets - 1)
    counts = np.bincount(index, minlength=buckets).astype(np.float64)
    edges = np.linspace(low, high, buckets + 1)
    return np.stack([edges[:-1], edges[1:], counts], axis=1)


def histogram_summary(tag: str, data: Any, buckets: int = 30) -> bytes:
    """A serialized ``Summary`` of a float64 ``[buckets, 3]`` tensor for the ``histograms`` plugin."""
    table = histogram_buckets(data, buckets)
    tensor = (_int_field(1, _DT_DOUBLE) + _bytes_field(2, _tensor_shape(table.shape))
              + _bytes_field(4, table.astype("<f8").tobytes()))
    return _summary(tag, tensor, _metadata("histograms"))


def string_summary(tag: str, text: str, plugin_name: str, content: bytes = b"") -> bytes:
    """A serialized ``Summary`` of one string (Keras writes its model JSON so, for ``graph_keras_model``)."""
    tensor = _int_field(1, _DT_STRING) + _bytes_field(2, b"") + _bytes_field(8, text.encode())
    return _summary(tag, tensor, _metadata(plugin_name, content))


def event(wall_time: float, step: int = 0, summary: bytes | None = None, file_version: str | None = None) -> bytes:
    """A serialized ``Event``: ``wall_time`` (1), ``step`` (2) and ``file_version`` (3) or ``summary`` (5)."""
    out = _double_field(1, wall_time) + _int_field(2, int(step))
    if file_version is not None:
        out += _bytes_field(3, file_version.encode())
    if summary is not None:
        out += _bytes_field(5, summary)
    return out


# -------------------------------------------------------------------------------------------- writer
_UIDS = itertools.count()


class EventFileWriter:
    """Appends events to a new ``events.out.tfevents.*`` file in ``logdir`` (created if needed).

    The file is opened at the first write, so a writer that never writes leaves no file.
    """

    def __init__(self, logdir: str | os.PathLike) -> None:
        self.logdir = os.fspath(logdir)
        self.path: str | None = None
        self._file: Any = None

    def _open(self) -> Any:
        if self._file is None:
            os.makedirs(self.logdir, exist_ok=True)
            name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}."
                    f"{next(_UIDS)}.v2")
            self.path = os.path.join(self.logdir, name)
            self._file = open(self.path, "wb")  # noqa: SIM115 - kept open across epochs, closed by close()
            self._file.write(frame_record(event(time.time(), file_version="brain.Event:2")))
        return self._file

    def add_summary(self, summary: bytes, step: int) -> None:
        """Write one serialized ``Summary`` at ``step``."""
        self._open().write(frame_record(event(time.time(), step, summary=summary)))

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
