"""``keras.ops`` math names (segments, FFT, top_k, ...) on JAX (being filled in)."""

from __future__ import annotations

__all__: list[str] = []
