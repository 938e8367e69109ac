"""Measured choice of a convolution's implementation: timed once per shape, cached in memory and on disk.

:func:`lamina.ops.convolution.conv` (and ``conv_transpose``) with ``impl="auto"`` asks :func:`tuned_impl` on the
CPU backend when a convolution needs at least ``MIN_FLOPS`` multiply-adds x 2. The first time a shape is seen its
candidate implementations (``lax`` and the alternatives the caller names) are compiled as forward+backward
programs (``value_and_grad`` of ``sum(y * cotangent)`` with respect to the input and the kernel) on random arrays
of that exact shape and dtype, timed a few samples each, candidates alternating, and the fastest median wins;
``lax`` (XLA's own convolution, what Keras calls) is kept unless another candidate is faster by more than
``MARGIN``, so the choice is never knowingly slower than XLA; a close call (a winner by less than
``CLOSE_CALL``) is timed again, longer, before XLA's convolution is left.

Convolutions traced inside :class:`loop_body` (lamina's fused training loop, micro-batching, ConvLSTM) are
timed inside a 2-step ``lax.scan`` and keyed apart: there XLA's own convolution is several times slower.

The timing runs in a separate thread: JAX's trace state is thread-local, so a ``conv`` traced inside ``jax.jit``
(a model's train step) still times concrete arrays eagerly, and nothing is staged into the outer trace.

Choices are kept in memory and in ``conv_autotune.json`` in the cache folder (``$LAMINA_CACHE_DIR``, else
``$XDG_CACHE_HOME/lamina``, else ``~/.cache/lamina``), keyed by the op, shapes, strides, padding, dilation,
groups, layout, dtype, the JAX version, the CPU model and the number of usable cores. The file is plain JSON,
written atomically (temporary file + ``os.replace``), bounded to ``MAX_ENTRIES`` entries; a corrupt, foreign or
oversized file is ignored. ``LAMINA_CONV_AUTOTUNE=0`` (or :func:`set_enabled(False) <set_enabled>`) turns the
mechanism off, as do several JAX processes (each would time for itself and could compile another program);
then :func:`~lamina.ops.convolution.select_conv_impl`'s rule decides alone.

>>> set_enabled(False); is_enabled()
False
>>> tuned_impl("conv", ("x",), ("lax", "im2col"), lambda impl: None, ((1, 4), (4, 1)), "float32", 1e9) is None
True
>>> set_enabled(None)
"""

from __future__ import annotations

import json
import os
import platform as _platform
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["is_enabled", "set_enabled", "cache_path", "tuned_impl", "measure", "pick", "choices", "clear_memory",
           "loop_body", "in_loop_body",
           "choose", "MIN_FLOPS", "MARGIN", "CLOSE_CALL", "MAX_ENTRIES"]

#: Forward FLOPs (multiply-adds count 2) from which a convolution is timed; smaller ones follow the rule.
MIN_FLOPS = 1e6
#: A candidate replaces ``lax`` only when its median is faster by more than this factor.
MARGIN = 1.05
#: A winner other than ``lax`` by less than this factor is a close call: the two are timed again, longer.
CLOSE_CALL = 1.15
#: The second look at a close call: samples, seconds per sample (at least), seconds in all (at most).
CONFIRM_SAMPLES = 9
CONFIRM_MIN_TIME_S = 0.03
CONFIRM_BUDGET_S = 4.0
#: At most this many choices are kept on disk (the oldest are dropped first).
MAX_ENTRIES = 4096
_MAX_FILE_BYTES = 4 << 20
_FORMAT = "lamina-conv-autotune"
_VERSION = 1
_FILE = "conv_autotune.json"
_ALLOWED = frozenset({"lax", "im2col", "hybrid", "taps", "flip:im2col", "subpixel:lax", "subpixel:im2col"})

_STATE: dict[str, Any] = {"enabled": None}
_LOCAL = threading.local()  # loop_body() depth of the thread that traces
_MEMORY: dict[str, str] = {}
_FILES_READ: dict[str, dict[str, str]] = {}  # cache file path -> its entries when this process first read it
_LOCK = threading.RLock()
_FALSE = ("0", "off", "false", "no", "")


def set_enabled(flag: bool | None) -> None:
    """Turn the measured choice on (``True``) or off (``False``); ``None`` defers to ``$LAMINA_CONV_AUTOTUNE``.

    >>> set_enabled(True); is_enabled()
    True
    >>> set_enabled(None)
    """
    _STATE["enabled"] = None if flag is None else bool(flag)


def is_enabled() -> bool:
    """Whether ``impl="auto"`` times implementations (default on; ``LAMINA_CONV_AUTOTUNE=0`` turns it off)."""
    if _STATE["enabled"] is not None:
        return bool(_STATE["enabled"])
    return os.environ.get("LAMINA_CONV_AUTOTUNE", "1").strip().lower() not in _FALSE


class loop_body:  # noqa: N801 -- used as a context manager, like contextlib's
    """Mark convolutions traced inside as running in a loop body (``lax.scan`` / ``fori_loop``).

    XLA's CPU convolution runs several times slower inside a loop body than alone (fwd+bwd of a batch-16
    15x15x32->64 3x3 conv: 5.3 ms alone, 37 ms per iteration in a ``scan``; im2col is not affected), so such
    convolutions are timed inside a 2-step ``lax.scan`` and cached under their own key. lamina's fused training
    loop and micro-batching trace their steps inside this.

    >>> with loop_body():
    ...     in_loop_body()
    True
    >>> in_loop_body()
    False
    """

    def __enter__(self) -> None:
        _LOCAL.depth = getattr(_LOCAL, "depth", 0) + 1

    def __exit__(self, *exc: Any) -> None:
        _LOCAL.depth -= 1


def in_loop_body() -> bool:
    """Whether the calling thread is tracing inside :class:`loop_body`."""
    return getattr(_LOCAL, "depth", 0) > 0


def cache_path() -> str:
    """The JSON file of stored choices.

    >>> cache_path().endswith("conv_autotune.json")
    True
    """
    base = os.environ.get("LAMINA_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "lamina")
    return os.path.join(os.path.expanduser(base), _FILE)


def choices() -> dict[str, str]:
    """A copy of the choices made or loaded in this process (cache key -> implementation)."""
    with _LOCK:
        return dict(_MEMORY)


def clear_memory() -> None:
    """Forget the choices held in memory and what was read from the file (the file stays)."""
    with _LOCK:
        _MEMORY.clear()
        _FILES_READ.clear()


_MACHINE: list[str] = []


def _machine() -> str:
    """CPU model and usable cores: a choice measured on one machine is not reused on another."""
    if not _MACHINE:
        model = _platform.processor() or _platform.machine()
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.lower().startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count() or 1
        _MACHINE.append(f"{model}|{cores}")
    return _MACHINE[0]


def _key(kind: str, spec: Sequence[Any], dtype: str) -> str:
    import jax

    return json.dumps([kind, _jsonable(spec), dtype, jax.__version__, _machine()], separators=(",", ":"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def _read_file(path: str) -> dict[str, str]:
    """The stored choices, or ``{}`` for a missing, corrupt, foreign or oversized file (never raises)."""
    try:
        if os.path.getsize(path) > _MAX_FILE_BYTES:
            return {}
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("version") != _VERSION:
        return {}
    entries = data.get("entries")
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if isinstance(k, str) and isinstance(v, str) and v in _ALLOWED}


def _write_file(path: str, key: str, impl: str) -> None:
    """Add one choice to the file: read, merge, trim to ``MAX_ENTRIES``, write a temporary file, ``os.replace``."""
    try:
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        entries = _read_file(path)
        entries.pop(key, None)
        entries[key] = impl
        while len(entries) > MAX_ENTRIES:
            entries.pop(next(iter(entries)))
        fd, tmp = tempfile.mkstemp(prefix=".conv_autotune.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"format": _FORMAT, "version": _VERSION, "entries": entries}, f, indent=0)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass  # a read-only or full cache folder: the choice stays in memory


def _block(value: Any) -> None:
    import jax

    jax.block_until_ready(value)


def _sample_s(fn: Callable[[], Any], min_time: float) -> float:
    """Seconds per call, over a loop of at least ``min_time`` seconds."""
    start = time.perf_counter()
    _block(fn())
    once = max(time.perf_counter() - start, 1e-7)
    inner = int(min_time / once)
    if inner < 1:
        return once
    start = time.perf_counter()
    for _ in range(inner):
        out = fn()
    _block(out)
    return (time.perf_counter() - start) / inner


def measure(fns: dict[str, Callable[[], Any]], samples: int = 5, min_time: float = 0.01,
            budget_s: float = 2.0, drop: float = 1.5) -> dict[str, float]:
    """Median seconds per call of each function: one warm-up call each, then samples with candidates alternating.

    After the first sample, candidates slower than ``drop`` x the fastest are not sampled again (they cannot
    win); the others get at least 3 samples, up to ``samples`` while the time spent stays under ``budget_s``.

    >>> times = measure({"a": lambda: 1, "b": lambda: 2}, samples=3, min_time=0.0)
    >>> sorted(times)
    ['a', 'b']
    """
    for fn in fns.values():
        _block(fn())
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    start = time.perf_counter()
    for r in range(samples):
        for n in names[r % len(names):] + names[:r % len(names)]:
            times[n].append(_sample_s(fns[n], min_time))
        if r == 0:
            best = min(v[0] for v in times.values())
            names = [n for n in names if times[n][0] <= drop * best]
        if r >= 2 and time.perf_counter() - start > budget_s:
            break
    return {n: statistics.median(v) for n, v in times.items()}


def _candidate_programs(candidates: Sequence[str], make_fn: Callable[[str], Callable[..., Any]],
                        arg_shapes: Sequence[Sequence[int]], dtype: str, loop: bool = False
                        ) -> dict[str, Callable[[], Any]]:
    """Jitted forward+backward calls of each candidate on fixed random arrays (built here, outside any trace);
    with ``loop``, each program runs the forward+backward twice in a ``lax.scan``, summing the gradients."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax import lax

    rng = np.random.default_rng(0)
    args = [jnp.asarray(rng.standard_normal(s).astype(np.float32) * 0.1, dtype) for s in arg_shapes]
    y = jax.eval_shape(make_fn(candidates[0]), *args)
    cotangent = jnp.asarray(rng.standard_normal(y.shape).astype(np.float32), y.dtype)
    programs: dict[str, Callable[[], Any]] = {}
    for impl in candidates:
        fn = make_fn(impl)
        vg = jax.value_and_grad(lambda *a, fn=fn: jnp.sum(fn(*a) * cotangent).astype(jnp.float32),
                                argnums=tuple(range(len(args))))
        if loop:
            def scanned(*a: Any, vg: Any = vg) -> Any:
                def body(carry: Any, _: Any) -> Any:
                    value, grads = vg(*a)
                    return jax.tree_util.tree_map(jnp.add, carry, grads), value
                return lax.scan(body, tuple(jnp.zeros_like(v) for v in a), None, length=2)
            grad = jax.jit(scanned)
        else:
            grad = jax.jit(vg)
        programs[impl] = lambda grad=grad: grad(*args)
    return programs


def choose(programs: dict[str, Callable[[], Any]], baseline: str = "lax") -> str:
    """The candidate to use: :func:`pick` over :func:`measure`'s medians, and for a close call (a winner other
    than ``baseline`` by less than ``CLOSE_CALL``) the two timed again, longer, before ``baseline`` is left.

    One noisy sample can make a candidate look 5-15% faster than XLA's convolution when it is slower (conv3d
    16^3x32->64 1x1 was once tuned to im2col at 99 ms against lax's 86 ms); a longer second look at the two
    costs a second or two once per shape.

    >>> choose({"lax": lambda: sum(range(20000)), "slow": lambda: sum(range(200000))})
    'lax'
    """
    times = measure(programs)
    choice = pick(times, baseline)
    if choice != baseline and baseline in times and times[choice] * CLOSE_CALL > times[baseline]:
        again = measure({baseline: programs[baseline], choice: programs[choice]}, samples=CONFIRM_SAMPLES,
                        min_time=CONFIRM_MIN_TIME_S, budget_s=CONFIRM_BUDGET_S)
        choice = pick(again, baseline)
    return choice


def _choose_in_thread(candidates: Sequence[str], make_fn: Callable[[str], Callable[..., Any]],
                      arg_shapes: Sequence[Sequence[int]], dtype: str, loop: bool) -> str | None:
    """:func:`choose` among the candidates in a fresh thread (eager, whatever the caller is tracing)."""
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            programs = _candidate_programs(candidates, make_fn, arg_shapes, dtype, loop)
            result["choice"] = choose(programs, candidates[0])
        except Exception as e:  # a candidate that fails to build or run is not chosen
            result["error"] = e

    thread = threading.Thread(target=work, name="lamina-conv-autotune", daemon=True)
    thread.start()
    thread.join()
    return result.get("choice")


def _several_processes() -> bool:
    """Whether JAX runs several processes (``jax.distributed``): each would time for itself and might choose
    another implementation, so processes meant to run one SPMD program would compile different ones."""
    import jax

    return jax.process_count() > 1


def pick(times: dict[str, float], baseline: str = "lax", margin: float | None = None) -> str:
    """The fastest candidate, but ``baseline`` unless the fastest beats it by more than ``margin``.

    >>> pick({"lax": 1.0, "im2col": 0.97}), pick({"lax": 1.0, "im2col": 0.8})
    ('lax', 'im2col')
    """
    margin = MARGIN if margin is None else margin
    best = min(times, key=times.__getitem__)
    if baseline in times and best != baseline and not times[best] * margin < times[baseline]:
        return baseline
    return best


def tuned_impl(kind: str, spec: Sequence[Any], candidates: Sequence[str],
               make_fn: Callable[[str], Callable[..., Any]], arg_shapes: Sequence[Sequence[int]], dtype: str,
               flops: float) -> str | None:
    """The measured implementation for one convolution, or ``None`` (tuning off or too small: use the rule).

    Args:
        kind: the op (``"conv"``, ``"conv_transpose"``), part of the cache key.
        spec: everything else that defines the computation (shapes, strides, padding, ...), part of the key.
        candidates: implementation names; the first is the baseline kept unless beaten by ``MARGIN``.
        make_fn: ``make_fn(impl)`` is a function of the arrays (input, kernel) computing the op with ``impl``.
        arg_shapes: the arrays' shapes; dtype: their dtype name.
        flops: the forward pass's FLOPs (compared with ``MIN_FLOPS``).
    """
    if not is_enabled() or flops < MIN_FLOPS or len(candidates) < 2 or _several_processes():
        return None
    loop = in_loop_body()
    key = _key(kind + ("@loop" if loop else ""), spec, dtype)
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
        path = cache_path()
        if path not in _FILES_READ:  # the file once per process and folder, not once per shape
            _FILES_READ[path] = _read_file(path)
        stored = _FILES_READ[path].get(key)
        if stored is not None and stored in candidates:
            _MEMORY[key] = stored
            return stored
        choice = _choose_in_thread(list(candidates), make_fn, arg_shapes, dtype, loop)
        if choice is None:
            return None
        _MEMORY[key] = choice
        _write_file(path, key, choice)
        return choice
