"""``keras.ops`` core names (control flow, casting, tensors) on JAX (being filled in)."""

from __future__ import annotations

__all__: list[str] = []
