"""Scaling past one device with JAX's own sharding: meshes, ``DataParallel`` and ``ModelParallel``.

A distribution decides where arrays live: the batch is split along the mesh's data axis, parameters are
replicated (``DataParallel``) or laid out by a ``LayoutMap`` of regular expressions over weight paths
(``ModelParallel``, e.g. ``"dense.*kernel" -> (None, "model")`` to shard Dense kernels along ``units``).
``fit``/``evaluate``/``predict`` pick it up with no other change to user code; XLA's SPMD partitioner
inserts the collectives.

>>> from lamina import distribution
>>> len(distribution.list_devices()) >= 1
True
>>> dp = distribution.DataParallel()
>>> dp.batch_dim_name
'batch'
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

_GLOBAL: Distribution | None = None
_SCOPED: list[Distribution] = []


def list_devices(device_type: str | None = None) -> list[str]:
    """Device ids as Keras spells them, e.g. ``["cpu:0", "cpu:1"]``."""
    devices = jax.devices(device_type) if device_type else jax.devices()
    return [f"{d.platform}:{d.id}" for d in devices]


def get_device_count(device_type: str | None = None) -> int:
    """The number of devices of ``device_type`` (``"cpu"``, ``"gpu"``, ``"tpu"``; default: JAX's default kind).

    >>> get_device_count("cpu") >= 1
    True
    """
    return len(jax.devices(device_type) if device_type else jax.devices())


def distribute_tensor(tensor: Any, layout: Any) -> Any:
    """``tensor`` placed on devices as ``layout`` says (a ``TensorLayout`` with a mesh, or a JAX ``Sharding``).

    >>> mesh = DeviceMesh((1,), ("batch",), jax.devices()[:1])
    >>> distribute_tensor(np.ones((2, 3)), TensorLayout(("batch", None), mesh)).shape
    (2, 3)
    """
    if isinstance(layout, TensorLayout):
        if layout.device_mesh is None:
            raise ValueError("distribute_tensor: the TensorLayout has no device_mesh; pass "
                             "TensorLayout(axes, device_mesh=...).")
        layout = NamedSharding(layout.device_mesh.jax_mesh, PartitionSpec(*layout.axes))
    return jax.device_put(tensor, layout)


def _resolve_devices(devices: Sequence[Any] | None) -> list[Any]:
    if devices is None:
        return list(jax.devices())
    by_name = {f"{d.platform}:{d.id}": d for d in jax.devices()}
    out = []
    for d in devices:
        if isinstance(d, str):
            if d not in by_name:
                raise ValueError(f"Unknown device {d!r}; available: {sorted(by_name)}.")
            out.append(by_name[d])
        else:
            out.append(d)
    return out


class DeviceMesh:
    """A named grid of devices, e.g. ``DeviceMesh((2, 4), ("batch", "model"))``."""

    def __init__(self, shape: Sequence[int], axis_names: Sequence[str], devices: Sequence[Any] | None = None
                 ) -> None:
        devs = _resolve_devices(devices)
        shape = tuple(int(s) for s in shape)
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: shape {shape} and axis_names {tuple(axis_names)} differ in length.")
        if int(np.prod(shape)) != len(devs):
            raise ValueError(f"DeviceMesh: shape {shape} needs {int(np.prod(shape))} devices, {len(devs)} given.")
        self.shape = shape
        self.axis_names = tuple(axis_names)
        self.devices = np.asarray(devs, dtype=object).reshape(shape)
        self.jax_mesh = Mesh(self.devices, self.axis_names)

    def __repr__(self) -> str:
        return f"DeviceMesh(shape={self.shape}, axis_names={self.axis_names})"


class TensorLayout:
    """How one array is split: one mesh axis name (or ``None`` for replicated) per array axis."""

    def __init__(self, axes: Sequence[str | None], device_mesh: DeviceMesh | None = None) -> None:
        self.axes = tuple(axes)
        self.device_mesh = device_mesh


class LayoutMap:
    """Regular expressions over weight paths (``"dense/kernel"``) mapped to layouts (axis-name tuples)."""

    def __init__(self, device_mesh: DeviceMesh) -> None:
        self.device_mesh = device_mesh
        self._rules: dict[str, tuple[str | None, ...]] = {}

    def __setitem__(self, pattern: str, layout: Any) -> None:
        axes = layout.axes if isinstance(layout, TensorLayout) else tuple(layout)
        for axis in axes:
            if axis is not None and axis not in self.device_mesh.axis_names:
                raise ValueError(f"LayoutMap: axis {axis!r} is not a mesh axis {self.device_mesh.axis_names}.")
        self._rules[pattern] = axes

    def __getitem__(self, path: str) -> tuple[str | None, ...] | None:
        matches = [axes for pattern, axes in self._rules.items() if re.search(pattern, path)]
        if len(matches) > 1:
            raise ValueError(f"LayoutMap: weight path {path!r} matches several rules; make them exclusive.")
        return matches[0] if matches else None

    def __contains__(self, path: str) -> bool:
        return self[path] is not None


class Distribution:
    """Base class: where the batch and each weight live on a ``DeviceMesh``."""

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str) -> None:
        self.device_mesh = device_mesh
        self.batch_dim_name = batch_dim_name

    @property
    def mesh(self) -> Mesh:
        return self.device_mesh.jax_mesh

    def weight_sharding(self, path: str, shape: tuple[int, ...]) -> NamedSharding:
        return NamedSharding(self.mesh, PartitionSpec())

    def batch_sharding(self, ndim: int) -> NamedSharding:
        return NamedSharding(self.mesh, PartitionSpec(self.batch_dim_name, *([None] * (ndim - 1))))

    def replicated(self) -> NamedSharding:
        return NamedSharding(self.mesh, PartitionSpec())

    @contextlib.contextmanager
    def scope(self) -> Iterator[Distribution]:
        """Use this distribution inside a ``with`` block."""
        _SCOPED.append(self)
        try:
            yield self
        finally:
            _SCOPED.pop()

    @property
    def num_batch_shards(self) -> int:
        return self.device_mesh.shape[self.device_mesh.axis_names.index(self.batch_dim_name)]


class DataParallel(Distribution):
    """Split each batch across all devices; replicate the parameters."""

    def __init__(self, device_mesh: DeviceMesh | None = None, devices: Sequence[Any] | None = None) -> None:
        if device_mesh is None:
            devs = _resolve_devices(devices)
            device_mesh = DeviceMesh((len(devs),), ("batch",), devs)
        super().__init__(device_mesh, device_mesh.axis_names[0])


class ModelParallel(Distribution):
    """Lay weights out by a ``LayoutMap`` (others replicated) and split the batch along ``batch_dim_name``."""

    def __init__(self, layout_map: LayoutMap | None = None, batch_dim_name: str | None = None,
                 device_mesh: DeviceMesh | None = None) -> None:
        if layout_map is None and device_mesh is None:
            raise ValueError("ModelParallel needs a layout_map (or a device_mesh).")
        mesh = device_mesh or layout_map.device_mesh
        super().__init__(mesh, batch_dim_name or mesh.axis_names[0])
        self.layout_map = layout_map

    def weight_sharding(self, path: str, shape: tuple[int, ...]) -> NamedSharding:
        axes = self.layout_map[path] if self.layout_map is not None else None
        if axes is None:
            return self.replicated()
        if len(axes) != len(shape):
            raise ValueError(f"LayoutMap rule for {path!r} has {len(axes)} axes but the weight has shape {shape}.")
        for size, axis in zip(shape, axes):
            if axis is not None:
                parts = self.device_mesh.shape[self.device_mesh.axis_names.index(axis)]
                if size % parts:
                    raise ValueError(f"Weight {path!r} of shape {shape}: size {size} does not split into {parts} "
                                     f"parts along mesh axis {axis!r}.")
        return NamedSharding(self.mesh, PartitionSpec(*axes))


def set_distribution(value: Distribution | None) -> None:
    """Use ``value`` for every model from now on (``None`` turns distribution off)."""
    global _GLOBAL
    _GLOBAL = value


def distribution() -> Distribution | None:
    """The distribution in effect: the innermost ``scope()``, else the global one."""
    return _SCOPED[-1] if _SCOPED else _GLOBAL


def initialize(job_addresses: str | None = None, num_processes: int | None = None, process_id: int | None = None,
               **kwargs: Any) -> None:
    """Join a job of several processes (one per host or per GPU); call it first, before any JAX work.

    Keras 3's signature: ``job_addresses`` is ``"host:port"`` of process 0 (or a comma-separated list whose
    first entry is process 0's), and the three arguments default to the environment variables
    ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and
    ``KERAS_DISTRIBUTION_PROCESS_ID``. With none of them, JAX detects the cluster itself (SLURM, Open MPI,
    Kubernetes / GKE, Cloud TPU). On CPU the processes talk through gloo collectives, selected here.

    Bounded waits, as environment variables: ``LAMINA_DISTRIBUTION_JOIN_TIMEOUT`` (seconds for every
    process to join; default 60) and ``LAMINA_DISTRIBUTION_PEER_TIMEOUT`` (seconds a peer may stop
    responding before the others exit with status 75 and an error naming it; default 20). When process 0,
    which hosts JAX's coordination service, dies, JAX itself stops the others at once ("Terminating process
    because the JAX distributed service detected fatal errors").

    ``python -m lamina.distributed --processes 2 script.py`` runs a script so on one machine.

    >>> import inspect
    >>> list(inspect.signature(initialize).parameters)[:3]
    ['job_addresses', 'num_processes', 'process_id']
    """
    from jax._src import xla_bridge

    job_addresses = job_addresses or os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") or None
    if num_processes is None and os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES"):
        num_processes = int(os.environ["KERAS_DISTRIBUTION_NUM_PROCESSES"])
    if process_id is None and os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID"):
        process_id = int(os.environ["KERAS_DISTRIBUTION_PROCESS_ID"])
    coordinator = job_addresses.split(",")[0].strip() if job_addresses else None
    if xla_bridge.backends_are_initialized():
        raise RuntimeError("lamina.distribution.initialize() must run before any JAX computation (creating a "
                           "model, an array or listing devices): call it first in the script.")
    join_timeout = _env_seconds("LAMINA_DISTRIBUTION_JOIN_TIMEOUT", 60)
    peer_timeout = _env_seconds("LAMINA_DISTRIBUTION_PEER_TIMEOUT", 20)
    with contextlib.suppress(Exception):  # the CPU client's cross-process collectives (harmless on GPU/TPU)
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    kwargs.setdefault("initialization_timeout", int(join_timeout))
    # JAX's own heartbeat stays longer than the watchdog below, whose error says more
    kwargs.setdefault("heartbeat_timeout_seconds", int(peer_timeout) + 40)
    joined = threading.Event()
    who = f"process {process_id}" if process_id is not None else "this process"

    def join_watch() -> None:  # JAX aborts the process when the join times out: say why first, and exit
        if not joined.wait(max(1.0, join_timeout - 2.0)):
            sys.stderr.write(
                f"\nlamina.distribution.initialize: {who} of {num_processes} could not form the job at "
                f"{coordinator} within {join_timeout:g} s: some process did not start or join. Start every "
                "process (the same address and num_processes, process_id 0..N-1), or give slow starters longer "
                "with LAMINA_DISTRIBUTION_JOIN_TIMEOUT.\n")
            sys.stderr.flush()
            os._exit(PEER_EXIT_CODE)

    threading.Thread(target=join_watch, name="lamina-join-watch", daemon=True).start()
    try:
        jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                                   process_id=process_id, **kwargs)
        jax.devices()  # the CPU client's collectives connect here: part of joining
        joined.set()
    except Exception as error:  # noqa: BLE001 - re-raised with what to change
        joined.set()
        raise RuntimeError(
            f"lamina.distribution.initialize: {who} could not join the job of {num_processes} processes at "
            f"{coordinator} within {join_timeout:g} s ({type(error).__name__}: {error}). Start every process "
            "(same address, num_processes, distinct process_id 0..N-1), or give slow starters longer with "
            "LAMINA_DISTRIBUTION_JOIN_TIMEOUT.") from error
    if jax.process_count() > 1:
        _start_watchdog(peer_timeout)


def _env_seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return float(default)
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number of seconds.") from None
    if seconds <= 0:
        raise ValueError(f"{name} must be positive, received {value!r}.")
    return seconds


PEER_EXIT_CODE = 75  # EX_TEMPFAIL: a peer failed, this process is fine and can be rerun


def _stop_for_peer(me: int, count: int, peer: int, what: str, timeout: float) -> None:
    sys.stdout.flush()
    sys.stderr.write(
        f"\nlamina.distribution: process {me} of {count} is stopping because process {peer} {what}. "
        f"The other processes stop too instead of waiting forever in a collective. If process {peer} is only "
        f"slow (a long compilation, a large checkpoint), raise LAMINA_DISTRIBUTION_PEER_TIMEOUT (now "
        f"{timeout:g} s).\n")
    sys.stderr.flush()
    os._exit(PEER_EXIT_CODE)


class _Watchdog:
    """Liveness through the coordination service's key-value store: each process bumps its counter every
    second; a counter that stalls for ``timeout`` seconds, a ``failed`` mark, or a coordinator that stops
    answering (process 0 is gone) stops this process with a clear error."""

    def __init__(self, client: Any, me: int, count: int, timeout: float) -> None:
        self.client, self.me, self.count, self.timeout = client, me, count, timeout
        self.finished = False
        self.last_ok = time.monotonic()
        self.seen: dict[int, tuple[str | None, float]] = {}

    def _get(self, key: str) -> str | None:
        try:
            return self.client.key_value_try_get(key)
        except Exception:  # noqa: BLE001 - not found
            return None

    def beat(self) -> None:
        while True:
            try:
                self.client.key_value_increment(f"lamina/alive/{self.me}", 1)
                now = time.monotonic()
                for peer in range(self.count):
                    if peer == self.me or self._get(f"lamina/done/{peer}") is not None:
                        continue
                    if self._get(f"lamina/failed/{peer}") is not None:
                        _stop_for_peer(self.me, self.count, peer, "failed (see its output)", self.timeout)
                    value = self._get(f"lamina/alive/{peer}")
                    old, since = self.seen.get(peer, (None, now))
                    if value != old or peer not in self.seen:
                        self.seen[peer] = (value, now)
                    elif now - since > self.timeout:
                        _stop_for_peer(self.me, self.count, peer, f"stopped responding for {self.timeout:g} s "
                                       "(it died or hangs)", self.timeout)
                self.last_ok = time.monotonic()
            except Exception:  # noqa: BLE001 - the coordinator (process 0) does not answer; watch() decides
                if self.finished:
                    return
            time.sleep(1.0)

    def watch(self) -> None:
        while True:
            time.sleep(1.0)
            if self.finished:
                return
            if time.monotonic() - self.last_ok > self.timeout:
                _stop_for_peer(self.me, self.count, 0, f"(the coordinator) stopped answering for "
                               f"{self.timeout:g} s", self.timeout)

    def mark(self, state: str) -> None:
        with contextlib.suppress(Exception):
            self.client.key_value_set(f"lamina/{state}/{self.me}", "1")


def _looks_like_a_lost_peer(error: BaseException) -> bool:
    """Whether an uncaught error may come from a peer process that died: a failed XLA/JAX computation, or a
    cross-process collective whose connection broke (Gloo raises ``ValueError: ... Connection reset by peer``).

    >>> _looks_like_a_lost_peer(ValueError("UNKNOWN: Gloo all-reduce failed: Read error: Connection reset by peer"))
    True
    >>> _looks_like_a_lost_peer(ValueError("shape mismatch"))
    False
    """
    name, text = type(error).__name__, str(error)
    if "RuntimeError" in name and ("Jax" in name or "Xla" in name):
        return True
    return any(sign in text for sign in ("Gloo", "Connection reset by peer", "Connection closed by peer",
                                         "Broken pipe"))


def _start_watchdog(timeout: float) -> None:
    from jax._src import distributed as jax_distributed

    client = jax_distributed.global_state.client
    if client is None:
        return
    dog = _Watchdog(client, jax.process_index(), jax.process_count(), timeout)
    for target in (dog.beat, dog.watch):
        threading.Thread(target=target, name=f"lamina-watchdog-{target.__name__}", daemon=True).start()
    previous_hook = sys.excepthook

    def failed(*exc_info: Any) -> None:  # an uncaught error here: tell the peers at once, skip JAX's shutdown wait
        if _looks_like_a_lost_peer(exc_info[1]):
            # a collective that fails is most often a peer that died: give the watchdog the time to name it
            sys.stderr.write(f"lamina.distribution: process {dog.me}: a computation failed "
                             f"({str(exc_info[1]).splitlines()[0][:200]}); checking whether a peer is gone...\n")
            sys.stderr.flush()
            deadline = time.monotonic() + dog.timeout + 5
            while time.monotonic() < deadline:
                time.sleep(0.25)
        previous_hook(*exc_info)
        dog.finished = True
        dog.mark("failed")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    def finished() -> None:
        dog.finished = True
        dog.mark("done")

    sys.excepthook = failed
    atexit.register(finished)


# ---------------------------------------------------------------------------------- several processes
def is_multi_process() -> bool:
    """Whether this process is one of several (``initialize`` joined a job)."""
    return jax.process_count() > 1


def is_writing_process() -> bool:
    """Whether this process prints progress and writes files: process 0 (always true in a single process).

    >>> is_writing_process()
    True
    """
    return jax.process_index() == 0


def agree(tree: Any) -> Any:
    """Process 0's value of ``tree`` (NumPy arrays or scalars) in every process; unchanged in one process."""
    if not is_multi_process():
        return tree
    from jax.experimental import multihost_utils

    return jax.tree_util.tree_map(np.asarray, multihost_utils.broadcast_one_to_all(tree))


def to_host(tree: Any) -> Any:
    """Every array of ``tree`` as a whole NumPy array in this process, gathering the shards other processes
    hold (a collective: every process calls it at the same point).

    >>> to_host({"a": np.ones(2)})["a"].tolist()
    [1.0, 1.0]
    """
    from jax.experimental import multihost_utils

    def one(a: Any) -> Any:
        if not isinstance(a, jax.Array):
            return np.asarray(a) if hasattr(a, "shape") else a
        if a.is_fully_addressable:
            return np.asarray(a)
        if a.is_fully_replicated:
            return np.asarray(a.addressable_data(0))
        return np.asarray(multihost_utils.process_allgather(a, tiled=True))

    return jax.tree_util.tree_map(one, tree)


def to_local(tree: Any) -> Any:
    """``tree`` with every array that spans processes gathered into an array on this process's first device."""
    if not is_multi_process():
        return tree
    device = jax.local_devices()[0]

    def one(a: Any) -> Any:
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            return jax.device_put(to_host(a), device)
        return a

    return jax.tree_util.tree_map(one, tree)


def global_array(value: Any, sharding: Any) -> Any:
    """A global array laid out by ``sharding`` from the same whole ``value`` in every process (each takes its
    rows); an array already laid out so is returned as is."""
    if isinstance(value, jax.Array) and value.sharding == sharding:
        return value
    if isinstance(value, jax.Array) and not value.is_fully_addressable:
        return jax.jit(lambda a: a, out_shardings=sharding)(value)
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def global_batch(tree: Any, dist: Distribution) -> Any:
    """One global batch from this process's rows of it (``jax.make_array_from_process_local_data``): the
    processes' parts follow one another in process order, so every process must give as many rows."""
    def one(a: Any) -> Any:
        if a is None or isinstance(a, jax.Array) and not a.is_fully_addressable:
            return a
        host = np.asarray(a)
        return jax.make_array_from_process_local_data(dist.batch_sharding(host.ndim), host)

    return jax.tree_util.tree_map(one, tree)


def process_rows(num_samples: int) -> slice:
    """The rows of a global batch (or dataset) of ``num_samples`` that this process feeds, for
    per-process data: process ``i`` of ``n`` takes the ``i``-th of ``n`` equal parts.

    >>> process_rows(8)
    slice(0, 8, None)
    """
    count, index = jax.process_count(), jax.process_index()
    if num_samples % count:
        raise ValueError(f"{num_samples} rows do not split into {count} equal parts, one per process; use a "
                         f"multiple of {count}.")
    part = num_samples // count
    return slice(index * part, (index + 1) * part)


# ---------------------------------------------------------------------------------- used by the trainer
def place_params(params: dict[str, Any], dist: Distribution | None) -> dict[str, Any]:
    """Put each ``{path: array}`` entry where ``dist`` says (unchanged without a distribution)."""
    if dist is None:
        return params
    if is_multi_process():
        return {k: global_array(v, dist.weight_sharding(_weight_path(k), tuple(v.shape))) for k, v in params.items()}
    return {k: jax.device_put(v, dist.weight_sharding(_weight_path(k), tuple(v.shape))) for k, v in params.items()}


def place_like(tree: Any, params: dict[str, Any], dist: Distribution | None) -> Any:
    """Lay optimizer slots out like the parameters of the same shape; everything else replicated."""
    if dist is None:
        return tree
    by_shape: dict[tuple[int, ...], Any] = {}
    for v in params.values():
        by_shape.setdefault(tuple(v.shape), v.sharding)
    multi = is_multi_process()

    def place(a: Any) -> Any:
        if not hasattr(a, "shape"):
            return a
        if multi:
            return global_array(a, by_shape.get(tuple(a.shape), dist.replicated()))
        return jax.device_put(a, by_shape.get(tuple(a.shape), dist.replicated()))

    return jax.tree_util.tree_map(place, tree)


def place_data(tree: Any, dist: Distribution | None) -> Any:
    """Put whole datasets on the devices replicated (each step's batch is then split by the constraint)."""
    if dist is None:
        return tree
    if is_multi_process():  # the same whole arrays in every process
        return jax.tree_util.tree_map(lambda a: global_array(a, dist.replicated()), tree)
    return jax.tree_util.tree_map(lambda a: jax.device_put(a, dist.replicated()), tree)


def constrain_batch(tree: Any, dist: Distribution | None) -> Any:
    """Inside a jitted step: split a batch along the data axis (sizes that don't divide are padded by XLA)."""
    if dist is None:
        return tree
    return jax.tree_util.tree_map(
        lambda a: jax.lax.with_sharding_constraint(a, dist.batch_sharding(a.ndim)) if a.ndim else a, tree)


def _weight_path(key: str) -> str:
    return key


def describe_layout(model: Any, dist: Distribution | None = None) -> list[tuple[str, tuple[int, ...], str, int]]:
    """``(path, shape, partition spec, bytes per device)`` for each weight: what the summary shows."""
    dist = dist or distribution()
    rows = []
    for key, w in model._weight_keys():
        sharding = dist.weight_sharding(key, w.shape) if dist is not None else None
        spec = str(sharding.spec) if sharding is not None else "PartitionSpec()"
        per_device = w.size * np.dtype(w.dtype).itemsize
        if sharding is not None:
            shard_shape = sharding.shard_shape(w.shape)
            per_device = int(np.prod(shard_shape)) * np.dtype(w.dtype).itemsize
        rows.append((key, w.shape, spec, per_device))
    return rows
