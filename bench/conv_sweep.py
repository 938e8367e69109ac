"""Convolution shape sweep: lamina's convolution kernels against XLA's own, Keras 3 and PyTorch, shape by shape.

For every shape of the sweep (Conv1D/2D/3D, Conv2DTranspose, depthwise and separable 2D convolutions over
filters 16-512, spatial sizes 7-64, kernels 1/3/5/7, strides 1/2, padding valid/same, batch 32/128) it times
the forward pass and the forward+backward pass (gradients of ``sum(y * cotangent)`` with respect to the input
and the kernel) of:

* ``lamina``: ``lamina.ops`` with ``impl="auto"`` (the implementation :func:`select_conv_impl`'s rule picks, or
  the one measured by ``lamina.ops.conv_autotune``: "tuned ..." in the table),
* ``xla``: ``lax.conv_general_dilated`` / ``lax.conv_transpose`` (what Keras 3 calls on JAX),
* ``keras``: ``keras.ops`` under ``jax.jit`` (``--keras``; equal to ``xla`` up to noise),
* ``torch``: ``torch.nn.functional`` on one thread (``--torch``, when torch is installed).

Frameworks alternate sample by sample; each cell is the median of ``--repeats`` samples. The summary counts
the shapes where lamina's forward+backward is slower than XLA's by more than the noise margin (``--margin``).
Run: ``python -m bench.conv_sweep [--quick] [--only conv2d] [--batches 32 128] [--out sweep.md]``.

>>> shapes = sweep_shapes(quick=True)
>>> sorted({s.kind for s in shapes})
['conv1d', 'conv2d', 'conv2d_transpose', 'conv3d', 'depthwise2d', 'separable2d']
>>> shapes[0].label()
'conv1d b32 32x16 -> 16 k3 s1 same'
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("conv1d", "conv2d", "conv3d", "conv2d_transpose", "depthwise2d", "separable2d")
MAX_STEP_GFLOP = 6.0  # shapes whose forward pass needs more are left out (minutes per shape on 2 cores)


@dataclass(frozen=True)
class Shape:
    """One convolution of the sweep (channels_last)."""

    kind: str
    batch: int
    spatial: tuple[int, ...]
    cin: int
    filters: int
    kernel: int
    stride: int
    padding: str

    @property
    def rank(self) -> int:
        return len(self.spatial)

    def label(self) -> str:
        size = "x".join(str(s) for s in self.spatial)
        return (f"{self.kind} b{self.batch} {size}x{self.cin} -> {self.filters} k{self.kernel} s{self.stride} "
                f"{self.padding}")

    def forward_gflop(self) -> float:
        """FLOPs of the forward pass in GFLOP (multiply-adds count 2)."""
        out = math.prod(-(-n // self.stride) for n in self.spatial)
        if self.kind == "conv2d_transpose":
            out = math.prod(n * self.stride for n in self.spatial)
        taps = self.kernel ** self.rank
        if self.kind == "depthwise2d":
            return 2 * self.batch * out * taps * self.cin / 1e9
        if self.kind == "separable2d":
            return 2 * self.batch * out * (taps * self.cin + self.cin * self.filters) / 1e9
        return 2 * self.batch * out * taps * self.cin * self.filters / 1e9


def sweep_shapes(quick: bool = False, batches: tuple[int, ...] = (32, 128)) -> list[Shape]:
    """The sweep: for each kind, filters x spatial sizes, each paired with a kernel/stride/padding in turn.

    Input channels follow the filters (``filters // 2``, at least 3 for 2D/3D images, 16 for the first),
    the way networks grow. Shapes whose forward pass exceeds ``MAX_STEP_GFLOP`` are left out.
    """
    filters_list = (16, 64, 256) if quick else (16, 32, 64, 128, 256, 512)
    sizes = {1: (32, 128) if quick else (16, 32, 64, 128), 2: (14, 32) if quick else (7, 14, 32, 64),
             3: (8,) if quick else (7, 8, 16)}
    variants = [(3, 1, "same"), (3, 2, "same"), (1, 1, "valid"), (5, 1, "valid"), (7, 2, "same"),
                (3, 1, "valid")]
    shapes: list[Shape] = []
    for kind in KINDS:
        rank = 1 if kind == "conv1d" else 3 if kind == "conv3d" else 2
        counter = itertools.count()
        for batch in (batches[:1] if quick else batches):
            for filters in filters_list:
                for size in sizes[rank]:
                    kernel, stride, padding = variants[next(counter) % len(variants)]
                    if kind == "conv2d_transpose":
                        padding = "same"
                        size = max(size // 2, 4)
                    cin = 16 if filters == 16 else filters // 2
                    shape = Shape(kind, batch, (size,) * rank, cin, filters, kernel, stride, padding)
                    if kernel > size or shape.forward_gflop() > MAX_STEP_GFLOP * (0.25 if quick else 1):
                        continue
                    shapes.append(shape)
    return shapes


# ------------------------------------------------------------------------------------------ timed functions
def jax_functions(shape: Shape, impl: str) -> tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...]]:
    """``(forward, forward+backward, args)`` of one shape, jitted, with ``lamina.ops`` (``impl``) or lax."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax import lax

    from lamina.ops import convolution as cv

    rng = np.random.default_rng(0)
    rank, k = shape.rank, shape.kernel
    x = jnp.asarray(rng.normal(size=(shape.batch, *shape.spatial, shape.cin)), jnp.float32)
    dims = "DHW"[3 - rank:]
    numbers = ("N" + dims + "C", dims + "IO", "N" + dims + "C")
    strides = (shape.stride,) * rank
    if shape.kind == "conv2d_transpose":
        kern = jnp.asarray(rng.normal(size=(k, k, shape.filters, shape.cin)) * 0.05, jnp.float32)
        pads = [cv.conv_transpose_padding(k, shape.stride, 1, shape.padding, None)] * rank

        def fwd(x: Any, w: Any) -> Any:
            if impl == "xla":
                return lax.conv_transpose(x, w, strides, pads, dimension_numbers=numbers, transpose_kernel=True)
            return cv.conv_transpose(x, w, strides, shape.padding, impl=impl)
        params: tuple[Any, ...] = (kern,)
    elif shape.kind in ("depthwise2d", "separable2d"):
        depth = jnp.asarray(rng.normal(size=(k, k, shape.cin, 1)) * 0.1, jnp.float32)
        point = jnp.asarray(rng.normal(size=(1, 1, shape.cin, shape.filters)) * 0.1, jnp.float32)
        pads = cv._pads(shape.spatial, (k,) * rank, strides, (1,) * rank, shape.padding)

        def depthwise_lax(x: Any, w: Any) -> Any:
            flat = w.reshape(k, k, 1, shape.cin)
            return lax.conv_general_dilated(x, flat, strides, pads, dimension_numbers=numbers,
                                            feature_group_count=shape.cin)

        if shape.kind == "depthwise2d":
            def fwd(x: Any, w: Any) -> Any:
                return depthwise_lax(x, w) if impl == "xla" else cv.depthwise_conv(x, w, strides, shape.padding,
                                                                                   impl=impl)
            params = (depth,)
        else:
            def fwd(x: Any, w: Any, p: Any) -> Any:
                if impl == "xla":
                    return lax.conv_general_dilated(depthwise_lax(x, w), p, (1, 1), "VALID",
                                                    dimension_numbers=numbers)
                return cv.separable_conv(x, w, p, strides, shape.padding, impl=impl)
            params = (depth, point)
    else:
        kern = jnp.asarray(rng.normal(size=((k,) * rank + (shape.cin, shape.filters))) * 0.05, jnp.float32)
        pads = cv._pads(shape.spatial, (k,) * rank, strides, (1,) * rank, shape.padding)

        def fwd(x: Any, w: Any) -> Any:
            if impl == "xla":
                return lax.conv_general_dilated(x, w, strides, pads, dimension_numbers=numbers)
            return cv.conv(x, w, strides, shape.padding, impl=impl)
        params = (kern,)
    y = jax.eval_shape(fwd, x, *params)
    cotangent = jnp.asarray(rng.normal(size=y.shape), jnp.float32)

    def loss(x: Any, *rest: Any) -> Any:
        *ws, ct = rest
        return jnp.sum(fwd(x, *ws) * ct)

    grad = jax.jit(jax.value_and_grad(loss, argnums=tuple(range(1 + len(params)))))
    forward = jax.jit(fwd)
    return (lambda: forward(x, *params)), (lambda: grad(x, *params, cotangent)), ()


def keras_functions(shape: Shape) -> tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...]] | None:
    """The same shape through ``keras.ops`` under ``jax.jit`` (``None`` for kinds keras.ops spells otherwise)."""
    import jax
    import jax.numpy as jnp
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    rank, k = shape.rank, shape.kernel
    x = jnp.asarray(rng.normal(size=(shape.batch, *shape.spatial, shape.cin)), jnp.float32)
    if shape.kind in ("conv1d", "conv2d", "conv3d"):
        w = jnp.asarray(rng.normal(size=((k,) * rank + (shape.cin, shape.filters))) * 0.05, jnp.float32)

        def fwd(x: Any, w: Any) -> Any:
            return keras.ops.conv(x, w, shape.stride, shape.padding)
    elif shape.kind == "conv2d_transpose":
        w = jnp.asarray(rng.normal(size=(k, k, shape.filters, shape.cin)) * 0.05, jnp.float32)

        def fwd(x: Any, w: Any) -> Any:
            return keras.ops.conv_transpose(x, w, shape.stride, shape.padding)
    elif shape.kind == "depthwise2d":
        w = jnp.asarray(rng.normal(size=(k, k, shape.cin, 1)) * 0.1, jnp.float32)

        def fwd(x: Any, w: Any) -> Any:
            return keras.ops.depthwise_conv(x, w, shape.stride, shape.padding)
    else:
        return None
    y = jax.eval_shape(fwd, x, w)
    ct = jnp.asarray(rng.normal(size=y.shape), jnp.float32)
    grad = jax.jit(jax.value_and_grad(lambda x, w: jnp.sum(fwd(x, w) * ct), argnums=(0, 1)))
    forward = jax.jit(fwd)
    return (lambda: forward(x, w)), (lambda: grad(x, w)), ()


def torch_functions(shape: Shape) -> tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...]] | None:
    """The same shape in PyTorch (channels_first, one thread); ``None`` when torch is not installed."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    rank, k = shape.rank, shape.kernel
    x = torch.randn((shape.batch, shape.cin, *shape.spatial), generator=gen, requires_grad=True)
    pad: Any = shape.padding if shape.stride == 1 or shape.padding == "valid" else k // 2
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    if shape.kind == "conv2d_transpose":
        w = torch.randn((shape.cin, shape.filters, k, k), generator=gen, requires_grad=True)
        padding = max(-(-(k - shape.stride) // 2), 0)  # output = input * stride, as Keras's "same"
        output_padding = shape.stride - k + 2 * padding

        def fwd() -> Any:
            return F.conv_transpose2d(x, w, stride=shape.stride, padding=padding, output_padding=output_padding)
    elif shape.kind in ("depthwise2d", "separable2d"):
        w = torch.randn((shape.cin, 1, k, k), generator=gen, requires_grad=True)
        p = torch.randn((shape.filters, shape.cin, 1, 1), generator=gen, requires_grad=True)

        def fwd() -> Any:
            mid = conv(x, w, stride=shape.stride, padding=pad, groups=shape.cin)
            return mid if shape.kind == "depthwise2d" else conv(mid, p)
    else:
        w = torch.randn((shape.filters, shape.cin, *(k,) * rank), generator=gen, requires_grad=True)

        def fwd() -> Any:
            return conv(x, w, stride=shape.stride, padding=pad)

    def forward() -> Any:
        with torch.no_grad():
            return fwd()

    def backward() -> Any:
        y = fwd()
        y.backward(torch.ones_like(y))
        return y

    return forward, backward, ()


def _block(value: Any) -> None:
    import jax

    if hasattr(value, "detach"):
        return
    jax.block_until_ready(value)


def sample_ms(fn: Callable[[], Any], min_time: float = 0.03) -> float:
    """Mean ms of one call over a loop of at least ``min_time`` seconds."""
    start = time.perf_counter()
    _block(fn())
    once = max(time.perf_counter() - start, 1e-6)
    inner = max(1, int(min_time / once))
    start = time.perf_counter()
    for _ in range(inner):
        out = fn()
    _block(out)
    return (time.perf_counter() - start) / inner * 1e3


def time_shape(shape: Shape, repeats: int, with_keras: bool, with_torch: bool) -> dict[str, Any]:
    """Medians (ms) of forward and forward+backward per framework for one shape, frameworks alternating."""
    from lamina.ops import conv_autotune
    from lamina.ops.convolution import select_conv_impl

    known = set(conv_autotune.choices())
    funcs: dict[str, tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...]]] = {
        "lamina": jax_functions(shape, "auto"), "xla": jax_functions(shape, "xla")}
    if with_keras and (kf := keras_functions(shape)) is not None:
        funcs["keras"] = kf
    if with_torch and (tf := torch_functions(shape)) is not None:
        funcs["torch"] = tf
    for forward, backward, _ in funcs.values():  # compile and warm up
        _block(forward())
        _block(backward())
    tuned = [v for k, v in conv_autotune.choices().items() if k not in known]
    samples: dict[str, dict[str, list[float]]] = {name: {"fwd": [], "fwd+bwd": []} for name in funcs}
    for _ in range(repeats):
        for name, (forward, backward, _) in funcs.items():
            samples[name]["fwd"].append(sample_ms(forward))
            samples[name]["fwd+bwd"].append(sample_ms(backward))
    if shape.kind in ("depthwise2d", "separable2d"):
        k_shape: tuple[int, ...] = (shape.kernel, shape.kernel, 1, shape.cin)
        groups = shape.cin
    else:
        k_shape = (shape.kernel,) * shape.rank + (shape.cin, shape.filters)
        groups = 1
    impl = select_conv_impl((shape.batch, *shape.spatial, shape.cin), k_shape, groups,
                            (shape.stride,) * shape.rank, (1,) * shape.rank)
    if shape.kind == "conv2d_transpose" and shape.stride > 1:
        impl = "subpixel"
    if tuned:
        impl = "tuned " + "+".join(tuned)
    return {"shape": shape, "impl": impl,
            "ms": {name: {part: statistics.median(v) for part, v in parts.items()} for name, parts in samples.items()}}


def report(rows: list[dict[str, Any]], margin: float) -> str:
    """Markdown: one line per shape, then the count of shapes where lamina loses to XLA."""
    names = [n for n in ("lamina", "xla", "keras", "torch") if any(n in r["ms"] for r in rows)]
    head = "| shape | GFLOP | lamina impl | " + " | ".join(f"{n} fwd+bwd" for n in names) + \
           " | xla / lamina | lamina fwd | xla fwd |"
    lines = [head, "|" + " --- |" * 3 + " ---: |" * (len(names) + 3)]
    slower = []
    for row in rows:
        ms = row["ms"]
        cells = [f"{ms[n]['fwd+bwd']:.2f}" if n in ms else "-" for n in names]
        speed = ms["xla"]["fwd+bwd"] / ms["lamina"]["fwd+bwd"]
        if speed < 1 / margin:
            slower.append(row["shape"].label())
        lines.append(f"| {row['shape'].label()} | {row['shape'].forward_gflop():.2f} | {row['impl']} | "
                     + " | ".join(cells) + f" | {speed:.2f}x | {ms['lamina']['fwd']:.2f} | {ms['xla']['fwd']:.2f} |")
    ratios = [r["ms"]["xla"]["fwd+bwd"] / r["ms"]["lamina"]["fwd+bwd"] for r in rows]
    lines += ["", f"{len(rows)} shapes; median xla/lamina fwd+bwd {statistics.median(ratios):.2f}x; "
              f"lamina slower than XLA by more than {margin - 1:.0%} on {len(slower)}:"]
    lines += [f"- {label}" for label in slower]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few shapes per kind, batch 32 only")
    parser.add_argument("--only", default=None, help="comma-separated kinds, e.g. conv2d,conv2d_transpose")
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--margin", type=float, default=1.05, help="noise margin for 'slower' (default 1.05)")
    parser.add_argument("--keras", action="store_true", help="also time keras.ops (KERAS_BACKEND=jax)")
    parser.add_argument("--torch", action="store_true", help="also time PyTorch on one thread")
    parser.add_argument("--out", default=None, help="also write the markdown table to this path")
    args = parser.parse_args(argv)
    shapes = sweep_shapes(args.quick, tuple(args.batches))
    if args.only:
        kinds = set(args.only.split(","))
        shapes = [s for s in shapes if s.kind in kinds]
    rows = []
    for index, shape in enumerate(shapes, 1):
        row = time_shape(shape, args.repeats, args.keras, args.torch)
        ms = row["ms"]
        print(f"[{index}/{len(shapes)}] {shape.label()}: lamina ({row['impl']}) {ms['lamina']['fwd+bwd']:.2f} ms, "
              f"xla {ms['xla']['fwd+bwd']:.2f} ms", file=sys.stderr, flush=True)
        rows.append(row)
    text = report(rows, args.margin)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
