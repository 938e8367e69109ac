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

import contextlib
import re
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


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, **kwargs: Any) -> None:
    """Join a multi-host job (wraps ``jax.distributed.initialize``); call it first in every process.

    Each process then feeds its own shard of the data to ``fit``; the global batch is the union.
    """
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id, **kwargs)


# ---------------------------------------------------------------------------------- used by the trainer
def place_params(params: dict[str, Any], dist: Distribution | None) -> dict[str, Any]:
    """Put each ``{path: array}`` entry where ``dist`` says (unchanged without a distribution)."""
    if dist is None:
        return params
    return {k: jax.device_put(v, dist.weight_sharding(_weight_path(k), tuple(v.shape))) for k, v in params.items()}


def place_like(tree: Any, params: dict[str, Any], dist: Distribution | None) -> Any:
    """Lay optimizer slots out like the parameters of the same shape; everything else replicated."""
    if dist is None:
        return tree
    by_shape: dict[tuple[int, ...], Any] = {}
    for v in params.values():
        by_shape.setdefault(tuple(v.shape), v.sharding)

    def place(a: Any) -> Any:
        if not hasattr(a, "shape"):
            return a
        return jax.device_put(a, by_shape.get(tuple(a.shape), dist.replicated()))

    return jax.tree_util.tree_map(place, tree)


def place_data(tree: Any, dist: Distribution | None) -> Any:
    """Put whole datasets on the devices replicated (each step's batch is then split by the constraint)."""
    if dist is None:
        return tree
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
