"""``keras.ops.image`` names on JAX (being filled in)."""

from __future__ import annotations

__all__: list[str] = []
