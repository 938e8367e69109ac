"""lamina's benchmark suite: lamina, Keras 3 (JAX backend), hand-written JAX/optax loops and PyTorch, side by side.

Run ``python -m bench`` (or ``make bench``); ``python -m bench --quick`` for a fast development pass. Each
case runs in a fresh subprocess per framework (``bench/runners/*_runner.py``), after a warm-up, and the
medians go to ``BENCHMARKS.md`` with a plot beside it.

>>> from bench.cases import CASES
>>> "mlp_b32" in CASES
True
"""
