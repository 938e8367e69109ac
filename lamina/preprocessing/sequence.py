"""``keras.preprocessing.sequence``: ``pad_sequences``."""

from __future__ import annotations

from lamina.utils.sequence_utils import pad_sequences

__all__ = ["pad_sequences"]
