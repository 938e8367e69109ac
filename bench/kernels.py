"""Micro-benchmark: median ms per jitted fwd+bwd step, ``lax`` reference vs ``lamina.ops`` fast paths.

Run: ``.venv/bin/python bench/kernels.py [--repeats 7] [--batches 32 128] [--quick]``.

Every row times ``jax.value_and_grad`` of a small loss (``sum(y * cotangent)``, or the cross-entropy of
the whole DESIGN.md CNN) under ``jax.jit``; each sample runs the step several times, and the table shows
the median over ``--repeats`` samples (the machine is shared, so single runs are noise).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from lamina.ops.convolution import conv  # noqa: E402
from lamina.ops.pooling import max_pool  # noqa: E402


def median_ms(fn: Callable[..., Any], args: tuple[Any, ...], repeats: int, min_time: float = 0.05) -> float:
    """Median over ``repeats`` samples of the mean time of one call, in ms (after compile + warm-up)."""
    jax.block_until_ready(fn(*args))
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    once = max(time.perf_counter() - start, 1e-6)
    inner = max(1, int(min_time / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            out = fn(*args)
        jax.block_until_ready(out)
        samples.append((time.perf_counter() - start) / inner * 1e3)
    return statistics.median(samples)


def conv_case(batch: int, spatial: tuple[int, ...], cin: int, cout: int, k: int, strides: int, padding: str,
              wrt_input: bool, groups: int = 1) -> tuple[dict[str, Callable[..., Any]], tuple[Any, ...]]:
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(batch, *spatial, cin)), jnp.float32)
    kern = jnp.asarray(rng.normal(size=(*(k,) * len(spatial), cin // groups, cout)) * 0.1, jnp.float32)
    y = conv(x, kern, strides, padding, impl="lax")
    ct = jnp.asarray(rng.normal(size=y.shape), jnp.float32)
    argnums = (0, 1) if wrt_input else 1
    fns = {}
    for impl in ("lax", "auto"):
        def loss(x: Any, kern: Any, ct: Any, impl: str = impl) -> Any:
            return jnp.sum(conv(x, kern, strides, padding, impl=impl) * ct)

        fns[impl] = jax.jit(jax.value_and_grad(loss, argnums=argnums))
    return fns, (x, kern, ct)


def pool_case(batch: int, hw: int, c: int, relu: bool
              ) -> tuple[dict[str, Callable[..., Any]], tuple[Any, ...]]:
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(batch, hw, hw, c)), jnp.float32)
    if relu:
        x = jnp.maximum(x, 0.0)  # half the windows' entries are tied zeros
    ct = jnp.asarray(rng.normal(size=max_pool(x, 2).shape), jnp.float32)
    fns = {}
    for impl in ("reduce_window", "reshape"):
        def loss(x: Any, ct: Any, impl: str = impl) -> Any:
            return jnp.sum(max_pool(x, 2, impl=impl) * ct)

        fns[impl] = jax.jit(jax.value_and_grad(loss))
    return fns, (x, ct)


def cnn_case(batch: int) -> tuple[dict[str, Callable[..., Any]], tuple[Any, ...]]:
    """Conv2D 32 3x3 -> ReLU -> maxpool 2 -> Conv2D 64 3x3 -> ReLU -> maxpool 2 -> Dense 10, CE loss."""
    rng = np.random.default_rng(0)
    params = {
        "k1": jnp.asarray(rng.normal(size=(3, 3, 3, 32)) * 0.2, jnp.float32), "b1": jnp.zeros(32),
        "k2": jnp.asarray(rng.normal(size=(3, 3, 32, 64)) * 0.06, jnp.float32), "b2": jnp.zeros(64),
        "w": jnp.asarray(rng.normal(size=(6 * 6 * 64, 10)) * 0.02, jnp.float32), "b": jnp.zeros(10),
    }
    x = jnp.asarray(rng.uniform(size=(batch, 32, 32, 3)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, 10, size=batch))
    fns = {}
    for name, cimpl, pimpl in (("lax", "lax", "reduce_window"), ("lamina", "auto", "auto")):
        def loss(p: Any, x: Any, labels: Any, cimpl: str = cimpl, pimpl: str = pimpl) -> Any:
            h = max_pool(jax.nn.relu(conv(x, p["k1"], impl=cimpl) + p["b1"]), 2, impl=pimpl)
            h = max_pool(jax.nn.relu(conv(h, p["k2"], impl=cimpl) + p["b2"]), 2, impl=pimpl)
            logits = h.reshape(h.shape[0], -1) @ p["w"] + p["b"]
            logp = jax.nn.log_softmax(logits)
            return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

        fns[name] = jax.jit(jax.value_and_grad(loss))
    return fns, (params, x, labels)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--quick", action="store_true", help="only the DESIGN.md CNN layers, no extra cases")
    args = parser.parse_args(argv)
    print(f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} cpus; "
          f"median of {args.repeats} samples, ms per fwd+bwd step")
    header = f"{'case':<52} {'batch':>5} {'reference':>10} {'lamina':>10} {'speedup':>8}"
    print(header)
    print("-" * len(header))

    def row(name: str, batch: int, fns: dict[str, Callable[..., Any]], fargs: tuple[Any, ...]) -> None:
        ref, fast = list(fns)
        t_ref = median_ms(fns[ref], fargs, args.repeats)
        t_fast = median_ms(fns[fast], fargs, args.repeats)
        print(f"{name:<52} {batch:>5} {t_ref:>10.2f} {t_fast:>10.2f} {t_ref / t_fast:>7.2f}x", flush=True)

    for batch in args.batches:
        row("conv1 32x32x3 -> 32, 3x3 valid (d kernel)", batch,
            *conv_case(batch, (32, 32), 3, 32, 3, 1, "valid", False))
        row("conv2 15x15x32 -> 64, 3x3 valid (d kernel, d x)", batch,
            *conv_case(batch, (15, 15), 32, 64, 3, 1, "valid", True))
        row("maxpool 2 on relu(30x30x32) (d x)", batch, *pool_case(batch, 30, 32, True))
        row("maxpool 2 on relu(13x13x64) (d x)", batch, *pool_case(batch, 13, 64, True))
        row("whole CNN step (d params)", batch, *cnn_case(batch))
        if args.quick:
            continue
        row("extra: 16x16x64 -> 128, 3x3 same (d kernel, d x)", batch,
            *conv_case(batch, (16, 16), 64, 128, 3, 1, "same", True))
        row("extra: 32x32x16 -> 32, 3x3 same stride 2 (d k, d x)", batch,
            *conv_case(batch, (32, 32), 16, 32, 3, 2, "same", True))
        row("extra: 1D 128x32 -> 64, k5 same (d kernel, d x)", batch,
            *conv_case(batch, (128,), 32, 64, 5, 1, "same", True))
        row("extra: pointwise 1x1 16x16x64 -> 128 (d k, d x)", batch,
            *conv_case(batch, (16, 16), 64, 128, 1, 1, "valid", True))
        row("extra: depthwise 16x16x32, 3x3 same (d k, d x)", batch,
            *conv_case(batch, (16, 16), 32, 32, 3, 1, "same", True, groups=32))
        row("extra: groups 4, 16x16x32 -> 32, 3x3 same (d k, d x)", batch,
            *conv_case(batch, (16, 16), 32, 32, 3, 1, "same", True, groups=4))


if __name__ == "__main__":
    main()
