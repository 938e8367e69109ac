"""Test-wide settings: tests compile from scratch (no persistent JAX compilation cache) unless a test opts in."""

import os

os.environ.setdefault("LAMINA_COMPILATION_CACHE", "0")
