"""Test-wide settings: tests compile from scratch (no persistent JAX compilation cache) unless a test opts in, and
each test module's compiled programs are dropped when it ends, so the suite's memory stays bounded (the application
tests alone compile dozens of large models)."""

import gc
import os

import pytest

os.environ.setdefault("LAMINA_COMPILATION_CACHE", "0")
os.environ.setdefault("LAMINA_CONV_AUTOTUNE", "0")  # tests that time convolutions turn it on themselves


@pytest.fixture(autouse=True, scope="module")
def _drop_compiled_programs_after_module():
    yield
    import sys

    jax = sys.modules.get("jax")
    if jax is not None:
        jax.clear_caches()
    gc.collect()
