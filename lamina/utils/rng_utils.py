"""``set_random_seed``: one call makes Python, NumPy and lamina's draws repeat."""

from __future__ import annotations

import random

import numpy as np

__all__ = ["set_random_seed"]


def set_random_seed(seed: int) -> None:
    """Seed Python, NumPy and lamina (initializers, dropout, shuffling) so that runs repeat exactly."""
    import jax  # noqa: F401 - importing JAX draws from NumPy's global generator: do it before seeding

    from lamina import backend

    if not isinstance(seed, int):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed} (of type {type(seed)})")
    random.seed(seed)
    np.random.seed(seed)
    backend.SEEDS.reseed(seed)
