"""``audio_dataset_from_directory``: batches of ``(waveforms, labels)`` from folders of ``.wav`` files.

WAV files are decoded with Python's own ``wave`` module (8-, 16-, 24- and 32-bit PCM) into float32 values in
``[-1, 1]`` of shape ``(samples, channels)``, as ``tf.audio.decode_wav`` gives Keras.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina.utils.dataset_utils import Dataset, _directory_datasets

__all__ = ["audio_dataset_from_directory", "read_wav"]


def read_wav(path: str) -> tuple[np.ndarray, int]:
    """``(waveform, sampling_rate)``: float32 ``(samples, channels)`` in ``[-1, 1]``."""
    with wave.open(path, "rb") as f:
        channels, width, rate, frames = f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()
        raw = f.readframes(frames)
    if width == 1:
        values = (np.frombuffer(raw, dtype=np.uint8).astype("float32") - 128.0) / 128.0
    elif width == 2:
        values = np.frombuffer(raw, dtype="<i2").astype("float32") / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        values = (np.where(ints >= 1 << 23, ints - (1 << 24), ints)).astype("float32") / float(1 << 23)
    elif width == 4:
        values = np.frombuffer(raw, dtype="<i4").astype("float32") / float(1 << 31)
    else:
        raise ValueError(f"{path}: unsupported WAV sample width of {width} bytes.")
    return values.reshape(-1, channels), rate


def audio_dataset_from_directory(directory: str, labels: Any = "inferred", label_mode: str | None = "int",
                                 class_names: Sequence[str] | None = None, batch_size: int | None = 32,
                                 sampling_rate: int | None = None, output_sequence_length: int | None = None,
                                 ragged: bool = False, shuffle: bool = True, seed: int | None = None,
                                 validation_split: float | None = None, subset: str | None = None,
                                 follow_links: bool = False, verbose: bool = True) -> Dataset | list[Dataset]:
    """Batches of float32 waveforms ``(batch, length, channels)`` and labels from one subfolder per class.

    ``output_sequence_length`` cuts or zero-pads every waveform to that length; otherwise each batch is padded to
    its longest waveform. ``sampling_rate`` is checked against each file (lamina does not resample: convert the
    files first). Labels and splits follow ``image_dataset_from_directory``.
    """
    if ragged:
        raise ValueError("ragged=True is not supported: lamina pads waveforms (set output_sequence_length or leave "
                         "ragged=False).")
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if sampling_rate is not None and (not isinstance(sampling_rate, int) or sampling_rate <= 0):
        raise ValueError(f"`sampling_rate` should be a positive integer. Received: sampling_rate={sampling_rate}")

    def read(path: str) -> np.ndarray:
        audio, rate = read_wav(path)
        if sampling_rate is not None and rate != sampling_rate:
            raise ValueError(f"{path} is sampled at {rate} Hz but sampling_rate={sampling_rate} was asked; lamina "
                             "does not resample audio: convert the files first (for example with sox or librosa).")
        if output_sequence_length is not None:
            audio = audio[:output_sequence_length]
            if len(audio) < output_sequence_length:
                audio = np.pad(audio, ((0, output_sequence_length - len(audio)), (0, 0)))
        return audio

    def collate(items: list[np.ndarray]) -> np.ndarray:
        longest = max(len(a) for a in items)
        return np.stack([np.pad(a, ((0, longest - len(a)), (0, 0))) for a in items]).astype("float32")

    return _directory_datasets(directory, labels, label_mode, class_names, (".wav",), batch_size, shuffle, seed,
                               validation_split, subset, follow_links, verbose, read, "audio", collate)
