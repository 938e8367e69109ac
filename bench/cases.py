"""Benchmark case definitions and the synthetic data every framework trains on.

This module imports only the standard library at import time (NumPy is imported inside ``make_data``), so
that the import-time case measures a clean interpreter.

>>> from bench.cases import CASES, make_data
>>> case = CASES["mlp_b32"]
>>> case.batch_size, case.samples
(32, 60000)
>>> x, y = make_data("mlp", 4)
>>> x.shape, x.dtype.name, y.shape
((4, 784), 'float32', (4,))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Frameworks in display order; the JAX runner reports several variants (hand-written loops).
FRAMEWORKS: tuple[str, ...] = ("lamina", "keras", "jax", "torch")


@dataclass(frozen=True)
class Case:
    """One benchmark: what is timed, on which model and data, and which frameworks take part.

    ``kind`` is ``"fit"`` (one epoch of ``fit`` after a warm-up epoch), ``"predict"`` (``predict`` on all
    samples after a warm-up call), ``"import"`` (module import in a fresh interpreter) or ``"compile"`` (time
    from the ``fit()`` call to the first step done, cold compilation cache, fresh process per repeat).
    """

    name: str
    kind: str
    model: str | None
    samples: int
    quick_samples: int
    description: str
    batch_size: int = 32
    frameworks: tuple[str, ...] = FRAMEWORKS
    fresh_process_per_repeat: bool = False
    hidden: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    max_repeats: int | None = None  # slow cases: fewer timed repeats than asked (the report says so)

    def num_samples(self, quick: bool) -> int:
        """The sample count for this run (smaller in ``--quick`` mode)."""
        return self.quick_samples if quick else self.samples


_CASE_LIST = [
    Case("mlp_b32", "fit", "mlp", 60_000, 6_000, "MNIST MLP 784-512-10, Adam, one epoch, batch 32", 32),
    Case("mlp_b128", "fit", "mlp", 60_000, 6_000, "MNIST MLP 784-512-10, Adam, one epoch, batch 128", 128),
    Case("dense3d_b32", "fit", "dense3d", 5_000, 500,
         "seed 001: Dense(512)-Dense(10) on (32,32,3) inputs, per-position targets, one epoch, batch 32", 32,
         max_repeats=2),
    Case("cnn_b32", "fit", "cnn", 10_000, 1_000, "small CNN on CIFAR-shaped images, one epoch, batch 32", 32),
    Case("cnn_b128", "fit", "cnn", 10_000, 1_000, "small CNN on CIFAR-shaped images, one epoch, batch 128", 128),
    Case("convnet_wide_b64", "fit", "convnet_wide", 512, 128,
         "a Keras book's MNIST convnet without pooling: Conv2D 64-128-256 3x3, global average pool, Dense 10; "
         "Adam, one epoch, batch 64", 64, frameworks=("lamina", "keras", "torch"), max_repeats=2),
    Case("conv_autoencoder_b128", "fit", "conv_autoencoder", 6_000, 600,
         "keras-io's convolutional autoencoder: Conv2D 32 + MaxPool twice, Conv2DTranspose 32 stride 2 twice, "
         "Conv2D 1 sigmoid; binary cross-entropy on the inputs, Adam, one epoch, batch 128", 128,
         frameworks=("lamina", "keras", "torch"), max_repeats=3),
    Case("lstm_text_b64", "fit", "lstm_text", 4_000, 1_000,
         "Embedding(10000, 64) + LSTM(64) + Dense(1, sigmoid) on 100-token sequences, binary cross-entropy, "
         "Adam, one epoch, batch 64 (PyTorch: one thread)", 64, frameworks=("lamina", "keras", "torch"),
         options={"torch_threads": 1}),
    Case("transformer_text_b64", "fit", "transformer_text", 4_000, 1_000,
         "keras-io's transformer text classifier: token+position Embedding(20000, 64), MultiHeadAttention(2 "
         "heads, key_dim 64), FFN 32, dropout 0.1, 100 tokens; Adam, one epoch, batch 64 (PyTorch: one thread)",
         64, frameworks=("lamina", "keras", "torch"), options={"torch_threads": 1}),
    Case("predict_mlp", "predict", "mlp", 60_000, 20_000, "MLP predict on all samples, batch 32", 32),
    Case("import", "import", None, 0, 0, "import time in a fresh interpreter (lamina / keras / jax / torch)",
         fresh_process_per_repeat=True),
    Case("compile_mlp", "compile", "mlp", 32, 32,
         "fit() call to first step done, MLP batch 32, empty compilation cache, fresh process", 32,
         frameworks=("lamina", "keras", "jax"), fresh_process_per_repeat=True),
    Case("compile_cnn", "compile", "cnn", 32, 32,
         "fit() call to first step done, CNN batch 32, empty compilation cache, fresh process", 32,
         frameworks=("lamina", "keras", "jax"), fresh_process_per_repeat=True),
    Case("dp_mlp_b128", "fit", "mlp", 60_000, 6_000,
         "MLP batch 128 under lamina.distribution.DataParallel on 2 forced host CPU devices vs 1 device", 128,
         frameworks=("lamina",), options={"data_parallel": 2}),
    Case("smoke", "fit", "mlp", 256, 256, "tiny MLP fit used by the smoke test", 64, hidden=True),
]
CASES: dict[str, Case] = {case.name: case for case in _CASE_LIST}


def select_cases(patterns: str | None) -> list[Case]:
    """Cases named by a comma-separated list of names or ``fnmatch`` patterns (default: all visible cases).

    >>> [c.name for c in select_cases("cnn_*")]
    ['cnn_b32', 'cnn_b128']
    """
    import fnmatch

    if not patterns:
        return [c for c in _CASE_LIST if not c.hidden]
    chosen: list[Case] = []
    for pattern in (p.strip() for p in patterns.split(",") if p.strip()):
        matches = [c for c in _CASE_LIST if fnmatch.fnmatchcase(c.name, pattern)]
        if not matches:
            raise SystemExit(f"bench: no case matches {pattern!r}; known cases: {', '.join(CASES)}")
        chosen.extend(c for c in matches if c not in chosen)
    return chosen


INPUT_SHAPES: dict[str, tuple[int, ...]] = {"mlp": (784,), "dense3d": (32, 32, 3), "cnn": (32, 32, 3),
                                            "convnet_wide": (28, 28, 1), "conv_autoencoder": (28, 28, 1)}
#: Token-sequence models (bench/text_models.py): int32 token ids of shape (n, 100) with this vocabulary.
TEXT_VOCAB: dict[str, int] = {"lstm_text": 10_000, "transformer_text": 20_000}
#: Models that reconstruct their input (``y`` is ``x``) and train with binary cross-entropy and no metric.
AUTOENCODERS = frozenset({"conv_autoencoder"})


def loss_and_metrics(model: str) -> tuple[str, list[str]]:
    """The Keras ``compile`` loss and metrics of a benchmark model (the same in lamina and Keras).

    >>> loss_and_metrics("mlp"), loss_and_metrics("conv_autoencoder")
    (('sparse_categorical_crossentropy', ['accuracy']), ('binary_crossentropy', []))
    """
    if model in AUTOENCODERS:
        return "binary_crossentropy", []
    if model == "lstm_text":
        return "binary_crossentropy", ["accuracy"]
    return "sparse_categorical_crossentropy", ["accuracy"]


def make_data(model: str, n: int, seed: int = 0) -> tuple[Any, Any]:
    """Float32 inputs in [0, 1) and int32 class labels (10 classes), identical for every framework.

    ``dense3d`` has one label per spatial position, shape ``(n, 32, 32)``; an autoencoder's target is ``x``;
    text models get int32 token ids ``(n, 100)`` and labels 0/1 (``lstm_text``: float32 ``(n, 1)``).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    if model in TEXT_VOCAB:
        x = rng.integers(1, TEXT_VOCAB[model], size=(n, 100), dtype=np.int32)
        if model == "lstm_text":
            return x, rng.integers(0, 2, size=(n, 1)).astype(np.float32)
        return x, rng.integers(0, 2, size=(n,), dtype=np.int32)
    x = rng.random((n, *INPUT_SHAPES[model]), dtype=np.float32)
    if model in AUTOENCODERS:
        return x, x
    y_shape = (n, 32, 32) if model == "dense3d" else (n,)
    y = rng.integers(0, 10, size=y_shape, dtype=np.int32)
    return x, y
