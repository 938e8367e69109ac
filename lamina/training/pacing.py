"""Host-side pacing: how many steps each compiled call fuses, when to wait for a call, and the fused loop.

With ``steps_per_execution="auto"`` (the default) the first calls of a fit run one step each and are timed;
then each call runs a loop of as many steps as take about a second (at most 256), which removes the per-step
dispatch cost that dominates small models. The loop takes its step count as an argument, so calls of any
length share one compilation. Nothing here changes what a step computes: only how steps are grouped.

>>> pacer = Pacer(4, 256, dynamic=True)
>>> [(i, steps) for i, _, _, steps in pacer.calls([(s, 8) for s in range(0, 80, 8)])]
[(0, 4), (4, 4), (8, 2)]
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

import lamina.ops.conv_autotune as conv_autotune
from lamina import distribution as distribution_module
from lamina.distribution import distribution as current_distribution


def fused_loop(step_at: Any, carry: Any, start: Any, count: Any, size: int) -> Any:
    """``carry = step_at(carry, row)`` for the ``count`` batches at rows ``start, start + size, ...``, in one
    ``fori_loop`` whose count is traced: one compilation serves every call length."""
    with conv_autotune.loop_body():  # convolutions in a loop body are timed as such
        return jax.lax.fori_loop(0, count, lambda i, c: step_at(c, start + i * size), carry)


def wait_for_each_call() -> bool:
    """True under a distribution over several CPU devices: with many calls queued there, XLA's CPU all-reduce
    was seen to miss its rendezvous and abort the process (2 forced devices on 2 cores)."""
    dist = current_distribution()
    return dist is not None and dist.device_mesh.devices.size > 1 and jax.default_backend() == "cpu"


class Pacer:
    """The number of steps each compiled call fuses, and the calls an epoch makes.

    Fixed (``fixed`` given, Keras's integer ``steps_per_execution``): every call fuses ``fixed`` full
    batches. ``"auto"``: the first calls run one step each; the first is not timed (it compiles), the next
    ``MEASURED`` are timed to completion and their median sets ``target``, the number of steps that takes
    about ``TARGET_S`` (at most ``cap``); nothing is timed any more.

    ``dynamic`` (fit and evaluate: one compiled loop serves any number of steps): an epoch of ``full`` full
    batches is cut into ``ceil(full / target)`` calls of equal length, the last one shorter when they do not
    divide evenly, and the rest of the first epoch runs so as soon as ``target`` is known. Otherwise
    (predict compiles one function per length) calls of at most 1.5 x ``target`` steps, as many as leave the
    fewest single steps over, and the full batches left over run one per call. The last partial batch always
    runs alone.
    """

    TARGET_S = 1.0
    MEASURED = 3

    def __init__(self, fixed: int | None, cap: int, dynamic: bool = False) -> None:
        self.fixed = fixed
        self.dynamic = dynamic
        self.cap = max(1, cap)
        self.target: int | None = fixed
        self.sync = False  # wait for every call (set for several CPU devices)
        self._times: list[float] = []
        self._skipped_first = False
        self._started: float | None = None

    @property
    def measuring(self) -> bool:
        return self.target is None

    def steps_per_call(self, full: int) -> int:
        """Steps fused per call for an epoch of ``full`` full batches (1 while measuring)."""
        if self.fixed is not None:
            return self.fixed
        if self.target is None or full <= 1:
            return 1
        if self.dynamic:
            calls = -(-full // max(1, min(self.cap, self.target)))
            return -(-full // calls)
        # Between ceil(full / target) calls and as few as calls of up to 1.5 x target steps allow, the
        # count that leaves the fewest single steps over (single steps run unfused: the slowest kind).
        longest = max(1, min(self.cap, (3 * self.target) // 2))
        fewest, most = -(-full // longest), -(-full // self.target)
        calls = min(range(fewest, max(fewest, most) + 1), key=lambda c: (full % c, c))
        return max(1, full // calls)

    def calls(self, bounds: list[tuple[int, int]], first: int = 0) -> Iterator[tuple[int, int, int, int]]:
        """``(first batch index, start row, batch size, steps)`` for each call over batches ``(start, size)``,
        from batch ``first``."""
        full = sum(1 for _, size in bounds if size == bounds[0][1]) if bounds else 0
        i = first
        while i < len(bounds):
            start, size = bounds[i]
            steps = self.steps_per_call(full)
            if steps > 1 and i + steps > full:
                steps = max(1, full - i) if self.dynamic else 1
            self._started = time.perf_counter() if self.measuring and i < full else None
            yield i, start, size, steps
            i += steps

    def done(self, result: Any) -> None:
        """Called with each call's output; while measuring, waits for it and records the step time."""
        if self._started is None:
            if self.sync:
                jax.block_until_ready(result)
            return
        jax.block_until_ready(result)
        elapsed = time.perf_counter() - self._started
        if not self._skipped_first:
            self._skipped_first = True  # the first call compiles
            return
        self._times.append(elapsed)
        if len(self._times) >= self.MEASURED:
            step_s = max(float(np.median(self._times)), 1e-6)
            target = max(1, min(self.cap, int(self.TARGET_S / step_s)))
            if distribution_module.is_multi_process():  # process 0's pace: every process runs the same calls
                target = int(distribution_module.agree(np.asarray(target, np.int32)))
            self.target = target


def choose_pacer(paces: dict[tuple[str, int], Pacer], steps_per_execution: Any, mode: str, batch_size: int, cb: Any,
                 bytes_per_step: int = 0) -> Pacer:
    """How many steps each compiled call of ``mode`` fuses (``compile(steps_per_execution=...)``).

    ``"auto"`` (the default) times a few single steps, then fuses as many (at most 256) as take about a
    second per call, so that small models are not dominated by per-call dispatch and larger ones reuse
    their buffers; the progress bar and epoch callbacks stay live. When a callback has batch hooks, every
    call is one step, as in Keras. An integer fixes the group size, as in Keras. ``paces`` keeps the
    measured ``"auto"`` paces by ``(mode, batch size)`` across calls of ``fit``.
    """
    cap = 256 if not bytes_per_step else max(1, min(256, (64 << 20) // bytes_per_step))  # ~64 MiB of outputs
    dynamic = mode in ("train", "test")  # predict stacks outputs: one compilation per call length
    if steps_per_execution != "auto":
        pacer = Pacer(int(steps_per_execution), cap, dynamic)
    elif cb is not None and cb.needs_every_batch(mode):
        pacer = Pacer(1, 1)
    else:
        pacer = paces.get((mode, batch_size))
        if pacer is None:
            pacer = paces[(mode, batch_size)] = Pacer(None, cap, dynamic)
    pacer.sync = wait_for_each_call()
    return pacer
