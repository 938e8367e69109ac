"""Hand-written JAX/optax training loops: the bar lamina's ``fit`` is measured against.

Variants (each reported under its own label; the best one is the bar):

* ``jax step``: one ``jax.jit`` per step with the state donated; the data sit on the device and each step
  gathers its batch from the epoch's permutation, so the host only sends a step index.
* ``jax scan``: the full batches of an epoch in one ``lax.scan`` (same gather), the last partial batch in
  the per-step function.
* CNN only, ``jax step slices-conv``: the per-step loop with each 3x3 convolution written as 9 shifted
  slices concatenated on the channel axis and one matrix product (faster than XLA's convolution on some CPUs).
* CNN only, ``jax step slices-conv, 16-row chunks`` and ``jax scan slices-conv, 16-row chunks``: the
  slices convolution with each batch's gradient computed as the mean over chunks of 16 rows (one optimizer
  update per batch), what lamina's ``fit`` does for convolution models on CPU, per step and with the
  epoch's full batches in one ``lax.scan``. XLA's own convolution inside a scan is the trap DESIGN.md
  describes (over a minute per epoch), so the CNN has no XLA-convolution scan variant.
* MLP only, ``sgemm floor``: not a training loop but its lower bound. The five matrix products of one MLP
  step (two forward, three backward) on the step's own shapes, for every full batch of the epoch in one
  ``lax.scan``: the time XLA's sgemm needs for the epoch's FLOPs (``mlp_flops``), nothing else. The report
  shows lamina's share of it; it is never the "best JAX" bar.

All variants accumulate loss and accuracy on the device and read them back once per epoch, like ``fit``.
Usage: ``python -m bench.runners.jax_runner --case mlp_b32 --repeats 5 [--quick]``.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from bench.runners.common import emit, fail, parse_args, timed, timed_import


# ------------------------------------------------------------------------------------------ models
def init_params(model: str, key: Any) -> dict[str, Any]:
    """Glorot-uniform kernels and zero biases (Keras's defaults) for ``mlp``, ``dense3d`` or ``cnn``."""
    import jax
    import jax.numpy as jnp

    def glorot(k: Any, shape: tuple[int, ...]) -> Any:
        receptive = 1
        for s in shape[:-2]:
            receptive *= s
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        limit = (6.0 / (fan_in + fan_out)) ** 0.5
        return jax.random.uniform(k, shape, jnp.float32, -limit, limit)

    keys = jax.random.split(key, 3)
    if model in ("mlp", "dense3d"):
        fan_in = 784 if model == "mlp" else 3
        return {"w1": glorot(keys[0], (fan_in, 512)), "b1": jnp.zeros(512), "w2": glorot(keys[1], (512, 10)),
                "b2": jnp.zeros(10)}
    return {"k1": glorot(keys[0], (3, 3, 3, 32)), "c1": jnp.zeros(32), "k2": glorot(keys[1], (3, 3, 32, 64)),
            "c2": jnp.zeros(64), "w": glorot(keys[2], (6 * 6 * 64, 10)), "b": jnp.zeros(10)}


def _conv_xla(x: Any, k: Any) -> Any:
    import jax

    return jax.lax.conv_general_dilated(x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _conv_slices(x: Any, k: Any) -> Any:
    """A valid 3x3 convolution as 9 shifted slices concatenated on channels, then one matrix product."""
    import jax.numpy as jnp

    kh, kw, cin, cout = k.shape
    h, w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    patches = jnp.concatenate([x[:, i:i + h, j:j + w, :] for i in range(kh) for j in range(kw)], axis=-1)
    return patches @ k.reshape(kh * kw * cin, cout)


def _pool2(x: Any) -> Any:
    """2x2 max-pool, stride 2, valid padding, as reshape-and-max (drops an odd last row/column)."""
    b, h, w, c = x.shape
    x = x[:, : 2 * (h // 2), : 2 * (w // 2), :]
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def make_apply(model: str, conv: str = "xla") -> Any:
    """``apply(params, x) -> logits`` (the softmax lives in the loss, as ``from_logits``)."""
    import jax

    conv_fn = _conv_slices if conv == "slices" else _conv_xla

    def apply(p: dict[str, Any], x: Any) -> Any:
        if model in ("mlp", "dense3d"):
            return jax.nn.relu(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
        h = _pool2(jax.nn.relu(conv_fn(x, p["k1"]) + p["c1"]))
        h = _pool2(jax.nn.relu(conv_fn(h, p["k2"]) + p["c2"]))
        return h.reshape(h.shape[0], -1) @ p["w"] + p["b"]

    return apply


# ------------------------------------------------------------------------------------------ training
class Loop:
    """The per-step and whole-epoch-scan training functions for one model, over device-resident data."""

    def __init__(self, model: str, x: Any, y: Any, batch_size: int, conv: str = "xla", chunk: int = 0) -> None:
        import jax
        import jax.numpy as jnp
        import optax

        self.n, self.batch_size = len(x), batch_size
        self.xs, self.ys = jax.device_put(x), jax.device_put(y)
        self.optimizer = optax.adam(1e-3, b1=0.9, b2=0.999, eps=1e-7)  # Keras's Adam defaults
        apply = make_apply(model, conv)
        optimizer = self.optimizer

        def loss_fn(params: Any, xb: Any, yb: Any) -> Any:
            logits = apply(params, xb)
            logp = jax.nn.log_softmax(logits)
            nll = -jnp.take_along_axis(logp, yb[..., None], axis=-1)[..., 0]
            return nll.mean(), logits

        whole_grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def grad_fn(params: Any, xb: Any, yb: Any) -> Any:
            rows = xb.shape[0]
            if not chunk or rows % chunk or rows < 2 * chunk:
                return whole_grad_fn(params, xb, yb)
            count = rows // chunk

            def body(acc: Any, part: Any) -> Any:
                (loss, logits), grads = whole_grad_fn(params, *part)
                return jax.tree_util.tree_map(jnp.add, acc, (loss, grads)), logits

            zero = (jnp.zeros(()), jax.tree_util.tree_map(jnp.zeros_like, params))
            parts = (xb.reshape(count, chunk, *xb.shape[1:]), yb.reshape(count, chunk, *yb.shape[1:]))
            (loss, grads), logits = jax.lax.scan(body, zero, parts)
            logits = logits.reshape(rows, *logits.shape[2:])
            return (loss / count, logits), jax.tree_util.tree_map(lambda g: g / count, grads)

        def one_step(state: Any, xs: Any, ys: Any, order: Any, start: Any, size: int) -> Any:
            params, opt_state, (loss_sum, correct, count) = state
            idx = jax.lax.dynamic_slice_in_dim(order, start, size)
            xb, yb = jnp.take(xs, idx, axis=0), jnp.take(ys, idx, axis=0)
            (loss, logits), grads = grad_fn(params, xb, yb)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            hits = (jnp.argmax(logits, -1) == yb).sum()
            return params, opt_state, (loss_sum + loss * size, correct + hits, count + yb.size)

        def scan_epoch(state: Any, xs: Any, ys: Any, order: Any, steps: int, size: int) -> Any:
            def body(carry: Any, i: Any) -> Any:
                return one_step(carry, xs, ys, order, i * size, size), None

            return jax.lax.scan(body, state, jnp.arange(steps))[0]

        self.step = jax.jit(one_step, static_argnames=("size",), donate_argnums=(0,))
        self.scan = jax.jit(scan_epoch, static_argnames=("steps", "size"), donate_argnums=(0,))
        self.apply = apply
        self.model = model

    def init_state(self) -> Any:
        import jax
        import jax.numpy as jnp

        params = init_params(self.model, jax.random.PRNGKey(0))
        return params, self.optimizer.init(params), (jnp.zeros(()), jnp.zeros((), jnp.int32), jnp.zeros(()))

    def epoch(self, state: Any, use_scan: bool) -> tuple[Any, float]:
        """One shuffled epoch (the last partial batch kept); returns the state and the mean loss."""
        import jax.numpy as jnp
        import numpy as np

        order = jnp.asarray(np.random.permutation(self.n).astype(np.int32))
        bs = self.batch_size
        full = self.n // bs
        state = (state[0], state[1], (jnp.zeros(()), jnp.zeros((), jnp.int32), jnp.zeros(())))
        if use_scan and full:
            state = self.scan(state, self.xs, self.ys, order, steps=full, size=bs)
        else:
            for i in range(full):
                state = self.step(state, self.xs, self.ys, order, i * bs, size=bs)
        if self.n % bs:
            state = self.step(state, self.xs, self.ys, order, full * bs, size=self.n % bs)
        loss_sum, _, _ = state[2]
        return state, float(loss_sum) / self.n


def run_fit(model: str, x: Any, y: Any, batch_size: int, repeats: int) -> dict[str, list[float]]:
    variants: list[tuple[str, str, bool, int]] = [("jax step", "xla", False, 0)]
    if model == "cnn":
        variants += [("jax step slices-conv", "slices", False, 0),
                     ("jax step slices-conv, 16-row chunks", "slices", False, 16),
                     ("jax scan slices-conv, 16-row chunks", "slices", True, 16)]
    else:
        variants.append(("jax scan", "xla", True, 0))
    results: dict[str, list[float]] = {}
    if model == "mlp":
        results["sgemm floor"] = run_sgemm_floor(x, batch_size, repeats)
    for label, conv, use_scan, chunk in variants:
        loop = Loop(model, x, y, batch_size, conv, chunk)
        holder = [loop.init_state()]

        def run_epoch(loop: Loop = loop, holder: list = holder, use_scan: bool = use_scan) -> None:
            holder[0], _ = loop.epoch(holder[0], use_scan)

        results[label] = timed(run_epoch, repeats)
        del loop, holder
    return results


def mlp_flops(samples: int, batch_size: int) -> float:
    """FLOPs of the five matrix products of the MLP's steps over the epoch's full batches.

    >>> round(mlp_flops(60_000, 128) / 1e9, 1)  # the seed MLP at batch 128: 98.0 GFLOP in its 468 full batches
    98.0
    """
    rows = (samples // batch_size) * batch_size
    return 2.0 * rows * (784 * 512 * 2 + 512 * 10 * 3)


def run_sgemm_floor(x: Any, batch_size: int, repeats: int) -> list[float]:
    """Time the MLP step's five matrix products for an epoch's full batches (see the module docstring)."""
    import jax
    import jax.numpy as jnp

    steps = x.shape[0] // batch_size
    xs = jax.device_put(x[: steps * batch_size].reshape(steps, batch_size, x.shape[1]))
    w1 = jnp.full((x.shape[1], 512), 0.01, jnp.float32)
    w2 = jnp.full((512, 10), 0.01, jnp.float32)

    @jax.jit
    def epoch(xs: Any, w1: Any, w2: Any) -> Any:
        def body(acc: Any, xb: Any) -> Any:
            h = xb @ w1                     # forward 1: (B, 784) x (784, 512)
            g = h @ w2                      # forward 2: (B, 512) x (512, 10)
            dw2 = h.T @ g                   # backward: (512, B) x (B, 10)
            dh = g @ w2.T                   # backward: (B, 10) x (10, 512)
            dw1 = xb.T @ dh                 # backward: (784, B) x (B, 512)
            return acc + jnp.sum(dw1) + jnp.sum(dw2) + jnp.sum(dh), None  # sums keep every product live

        return jax.lax.scan(body, jnp.float32(0), xs)[0]

    def run_epoch() -> None:
        epoch(xs, w1, w2).block_until_ready()

    return timed(run_epoch, repeats)


def run_predict(model: str, x: Any, batch_size: int, repeats: int) -> dict[str, list[float]]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    apply = make_apply(model)
    params = init_params(model, jax.random.PRNGKey(0))
    xs = jax.device_put(x)
    n, bs = len(x), batch_size
    full = (n // bs) * bs

    @partial(jax.jit, static_argnames=("size",))
    def batch_fwd(p: Any, xs: Any, start: Any, size: int) -> Any:
        return jax.nn.softmax(apply(p, jax.lax.dynamic_slice_in_dim(xs, start, size)))

    @jax.jit
    def mapped_fwd(p: Any, xs: Any) -> Any:
        batches = xs[:full].reshape(full // bs, bs, *xs.shape[1:])
        out = jax.lax.map(lambda b: jax.nn.softmax(apply(p, b)), batches)
        out = out.reshape(full, *out.shape[2:])
        if full < n:
            out = jnp.concatenate([out, jax.nn.softmax(apply(p, xs[full:]))], axis=0)
        return out

    def per_batch() -> Any:
        outs = [batch_fwd(params, xs, s, size=bs) for s in range(0, full, bs)]
        if full < n:
            outs.append(batch_fwd(params, xs, full, size=n - full))
        return np.asarray(jnp.concatenate(outs, axis=0))

    def one_call() -> Any:
        return np.asarray(mapped_fwd(params, xs))

    def one_call_from_numpy() -> Any:  # what predict(x) on a NumPy array must also do: send x to the device
        return np.asarray(mapped_fwd(params, jax.device_put(x)))

    return {"jax per-batch jit": timed(per_batch, repeats), "jax lax.map one call": timed(one_call, repeats),
            "jax lax.map one call, NumPy input": timed(one_call_from_numpy, repeats)}


def run_compile(model: str, x: Any, y: Any, batch_size: int) -> dict[str, list[float]]:
    """Seconds from building the loop to the first step done (includes tracing and XLA compilation)."""
    import jax  # noqa: F401 - imports are not part of the compile time
    import optax  # noqa: F401

    start = time.perf_counter()
    loop = Loop(model, x, y, batch_size)
    state = loop.init_state()
    import jax.numpy as jnp

    order = jnp.arange(len(x), dtype=jnp.int32)
    state = loop.step(state, loop.xs, loop.ys, order, 0, size=batch_size)
    float(state[2][0])
    return {"jax step": [time.perf_counter() - start]}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from bench.cases import CASES, make_data

    case = CASES[args.case]
    if case.kind == "import":
        emit({"jax": [timed_import("import jax")]})
        return
    import numpy as np

    np.random.seed(0)
    x, y = make_data(case.model, case.num_samples(args.quick))
    notes: list[str] = ["data put on the device once, outside the timed epochs"]
    if case.kind == "fit":
        results = run_fit(case.model, x, y, case.batch_size, args.repeats)
    elif case.kind == "predict":
        results = run_predict(case.model, x, case.batch_size, args.repeats)
    elif case.kind == "compile":
        results = run_compile(case.model, x, y, case.batch_size)
    else:
        fail(f"jax runner: unknown case kind {case.kind!r}")
        return
    emit(results, notes)


if __name__ == "__main__":
    main()
