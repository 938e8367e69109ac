"""The HDF5 weights tree of Keras 3 (``model.weights.h5`` and ``*.weights.h5``), written and read for lamina models.

Keras walks the model like this (``saving_lib._save_state``): every object writes its *own* variables to
``<path>/vars/0, 1, ...`` (trainable first, then non-trainable) in a group whose ``name`` attribute is the
object's name, then visits its children: a Sequential/Functional model its ``layers`` list, any other layer
the attributes holding layers, sorted by attribute name (private ones last). Layers inside a list are keyed
by their snake_case class name made unique within the list (``dense``, ``dense_1``), never by
``layer.name``. A layer reached twice is written once, at the first path. Recurrent layers keep their
weights in a ``cell`` child. The optimizer writes ``optimizer/vars``.

:func:`plan` computes that list of ``(path, name, own weights)`` once, generically, from what every lamina
layer exposes (its own weights and its sublayer attributes), so new layer families need no code here.

>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Input((3,)), layers.Dense(2, name="a"), layers.Dense(1, name="b")], name="m")
>>> [(e.path, e.name, len(e.weights)) for e in plan(model)]
[('', 'm', 0), ('layers/dense', 'a', 2), ('layers/dense_1', 'b', 2)]
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lamina.saving.safety import UnsafeFileError, safe_dataset, safe_group

# Attributes of lamina's own bookkeeping that reference layers but are not children in Keras's walk.
_SKIP_ATTRS = frozenset({"_tracked_layers", "_layers", "_operations", "_stack", "_input_layer", "_inbound_nodes",
                         "_nodes", "inputs", "outputs", "_inputs_struct", "_outputs_struct", "optimizer"})


def keras_snake_case(name: str) -> str:
    """Keras's ``utils.naming.to_snake_case`` (used for HDF5 keys): ``"MaxPooling2D"`` -> ``"max_pooling2d"``.

    >>> keras_snake_case("Conv2DTranspose"), keras_snake_case("GRU"), keras_snake_case("RMSprop")
    ('conv2d_transpose', 'gru', 'rm_sprop')
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def keras_class_name(layer: Any) -> str:
    """The class name Keras would have for ``layer`` (a functional lamina ``Model`` is Keras's ``Functional``)."""
    from lamina.models import Model, Sequential

    cls = type(layer)
    if cls is Model and getattr(layer, "_functional", False) and not isinstance(layer, Sequential):
        return "Functional"
    return cls.__name__


@dataclass
class Entry:
    """One ``<path>/vars`` group: the object's name (the group's ``name`` attr) and its own weights in order."""

    path: str
    name: str | None
    weights: list[Any] = field(default_factory=list)
    owner: Any = None

    @property
    def vars_path(self) -> str:
        return f"{self.path}/vars" if self.path else "vars"


def _own_weights(layer: Any) -> list[Any]:
    own = list(getattr(layer, "_own_weights", []))
    return [w for w in own if w._trainable] + [w for w in own if not w._trainable]


def _is_layer(obj: Any) -> bool:
    from lamina.layers.base import Layer

    return isinstance(obj, Layer)


def _holds_layers(obj: Any) -> bool:
    if _is_layer(obj):
        return True
    if isinstance(obj, dict):
        return any(_holds_layers(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_holds_layers(v) for v in obj)
    return False


def _name_key(attr: str) -> str:
    return f"~{attr}" if attr.startswith("_") else attr


def _children(layer: Any) -> list[tuple[str, Any]]:
    """``(attribute, layer or container)`` pairs in Keras's visiting order."""
    from lamina.models import Model, Sequential

    if isinstance(layer, Sequential) or (isinstance(layer, Model) and layer._functional):
        return [("layers", layer.layers)]
    sublayers = {id(s) for s in layer._sublayers()}
    found: list[tuple[str, Any]] = []
    for attr, value in vars(layer).items():
        if attr in _SKIP_ATTRS or attr.startswith("__"):
            continue
        if _is_layer(value):
            if id(value) in sublayers:
                found.append((attr, value))
        elif isinstance(value, (list, tuple, dict)) and _holds_layers(value):
            found.append((attr, value))
    found.sort(key=lambda item: _name_key(item[0]))
    return found


def _is_cell_layer(layer: Any) -> bool:
    """lamina's recurrent layers hold their weights directly; Keras keeps them in a ``cell`` sublayer."""
    try:
        from lamina.layers.recurrent import RNN
    except ImportError:  # pragma: no cover
        return False
    return isinstance(layer, RNN) and not hasattr(layer, "cell")


def plan(model: Any) -> list[Entry]:
    """Every ``vars`` group Keras writes for ``model``, in visiting order (root first)."""
    out: list[Entry] = []
    visited: set[int] = set()

    def join(path: str, part: str) -> str:
        return f"{path}/{part}" if path else part

    def visit(obj: Any, path: str) -> None:
        if id(obj) in visited:
            return
        visited.add(id(obj))
        if _is_cell_layer(obj):
            out.append(Entry(path, obj.name, [], obj))
            out.append(Entry(join(path, "cell"), f"{keras_snake_case(type(obj).__name__)}_cell",
                             _own_weights(obj), obj))
        else:
            out.append(Entry(path, obj.name, _own_weights(obj), obj))
        reached: set[int] = set()
        for attr, child in _children(obj):
            _collect_ids(child, reached)
            if _is_layer(child):
                visit(child, join(path, attr))
            else:
                visit_container(child, join(path, attr), set())
        missing = [s for s in obj._sublayers() if id(s) not in reached and id(s) not in visited and s.weights]
        if missing:
            # Sublayers tracked without an attribute (e.g. appended to a private list): keep them, Keras-style.
            visit_container(missing, join(path, "_layers"), set())

    def visit_container(items: Any, path: str, seen: set[int]) -> None:
        if id(items) in seen:
            return
        seen.add(id(items))
        used: dict[str, int] = {}
        for item in (items.values() if isinstance(items, dict) else items):
            if _is_layer(item):
                visit(item, join(path, _unique(keras_snake_case(keras_class_name(item)), used)))
            elif isinstance(item, (list, tuple, dict)):
                visit_container(item, join(path, _unique("container", used)), seen)

    visit(model, "")
    return out


def _collect_ids(obj: Any, out: set[int]) -> None:
    if _is_layer(obj):
        out.add(id(obj))
    elif isinstance(obj, dict):
        for v in obj.values():
            _collect_ids(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect_ids(v, out)


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


# ------------------------------------------------------------------------------------------------ writing
def _to_numpy(value: Any) -> tuple[np.ndarray, bool]:
    arr = np.asarray(value)
    if arr.dtype.name == "bfloat16":
        return arr.astype(np.float32), True
    return arr, False


def write_tree(model: Any, h5: Any, optimizer: Any = None) -> None:
    """Write ``model``'s weights (and ``optimizer``'s variables, if given) into an open, empty h5py file."""
    for entry in plan(model):
        group = h5.require_group(entry.path).create_group("vars") if entry.path else h5.create_group("vars")
        if entry.name is not None:
            group.attrs["name"] = entry.name
        for i, w in enumerate(entry.weights):
            _write_dataset(group, str(i), w.numpy())
    if optimizer is not None:
        group = h5.create_group("optimizer").create_group("vars")
        group.attrs["name"] = optimizer.name
        for i, value in enumerate(optimizer_variables(model, optimizer)):
            _write_dataset(group, str(i), value)


def optimizer_variables(model: Any, optimizer: Any) -> list[Any]:
    """``optimizer.variables`` in Keras's order: slots follow the model's weight order.

    The optimizer records that order when its state is created; the trainer may create the state from a
    copied dict whose keys JAX sorted, so the order is re-derived from the model's own weights here.
    """
    if getattr(optimizer, "state", None) is not None and hasattr(optimizer, "_leaf_order"):
        from lamina.optimizers import _ordered_leaves

        optimizer._leaf_order = _ordered_leaves(model.get_params()[0])[1]
    return list(optimizer.variables)


def _write_dataset(group: Any, key: str, value: Any) -> None:
    arr, is_bf16 = _to_numpy(value)
    ds = group.create_dataset(key, data=arr)
    if is_bf16:
        ds.attrs["dtype"] = "bfloat16"


# ------------------------------------------------------------------------------------------------ reading
def _read_vars(group: Any, where: str) -> list[Any]:
    """The datasets ``0..n-1`` of a ``vars`` group (metadata only, data not read yet)."""
    keys = list(group.keys())
    if sorted(keys, key=lambda k: (len(k), k)) != [str(i) for i in range(len(keys))]:
        raise UnsafeFileError(f"Corrupt weights file: '{where}' should hold datasets named 0..{len(keys) - 1}, "
                              f"found {sorted(keys)}.")
    return [safe_dataset(group, str(i)) for i in range(len(keys))]


def _describe(entry: Entry) -> str:
    owner = entry.owner
    return f"layer '{owner.name}' ({type(owner).__name__}, file path '{entry.vars_path}')"


def read_tree(model: Any, h5: Any, skip_mismatch: bool = False,
              read_optimizer: bool = True) -> tuple[list[tuple[Any, np.ndarray]], Any]:
    """Read and check every weight of ``model`` from an open h5py file without assigning anything.

    Returns ``(assignments, optimizer_arrays)``: ``[(weight, array)]`` for the model and the optimizer's
    arrays (None when the file has no ``optimizer/vars`` or ``read_optimizer`` is false). Every dataset's
    declared shape is checked against what the model expects before its data is read, so a file cannot make
    a load allocate more than the model's own weights (and, for the optimizer, its slots) need. Shape or count
    mismatches raise a ValueError naming the layer, the weight and both shapes (with ``skip_mismatch=True``
    they warn and keep the current value).
    """
    assignments: list[tuple[Any, np.ndarray]] = []
    for entry in plan(model):
        group = safe_group(h5, entry.vars_path)
        datasets = _read_vars(group, entry.vars_path) if group is not None else []
        if len(datasets) != len(entry.weights):
            message = (f"Cannot load weights into {_describe(entry)}: it has {len(entry.weights)} weights "
                       f"({', '.join(f'{w.name} {w.shape}' for w in entry.weights) or 'none'}) but the file has "
                       f"{len(datasets)} at '{entry.vars_path}'. The file was saved from a different "
                       "architecture.")
            if skip_mismatch:
                warnings.warn(message + " Skipped (skip_mismatch=True).", stacklevel=3)
                continue
            raise ValueError(message)
        pending = []
        for w, ds in zip(entry.weights, datasets):
            if tuple(ds.shape) != tuple(w.shape):
                message = (f"Cannot load weights into {_describe(entry)}: weight '{w.name}' has shape "
                           f"{tuple(w.shape)}, but the file's '{ds.name}' has shape {tuple(ds.shape)}.")
                if skip_mismatch:
                    warnings.warn(message + " Skipped (skip_mismatch=True).", stacklevel=3)
                    pending = None
                    break
                raise ValueError(message)
            pending.append((w, ds))
        for w, ds in pending or []:
            assignments.append((w, _read_array(ds)))
    optimizer_arrays = None
    group = safe_group(h5, "optimizer/vars") if read_optimizer else None
    if group is not None:
        datasets = _read_vars(group, "optimizer/vars")
        check_optimizer_shapes(model, datasets)
        optimizer_arrays = [_read_array(ds) for ds in datasets]
    return assignments, optimizer_arrays


#: The optimizer state may hold at most this many slots per trainable weight (Adam/Nadam: 2, AdamW + amsgrad: 3).
MAX_OPTIMIZER_SLOTS = 4


def check_optimizer_shapes(model: Any, datasets: list[Any]) -> None:
    """Refuse optimizer datasets that could not be this model's optimizer state, before reading any of them.

    Each must be a scalar (iterations, learning rate) or have the shape of one of the trainable weights, and all
    together may hold at most ``MAX_OPTIMIZER_SLOTS`` values per trainable parameter.
    """
    trainable = [w for w in model.weights if w.trainable]
    shapes = {tuple(w.shape) for w in trainable}
    budget = MAX_OPTIMIZER_SLOTS * sum(w.size for w in trainable) + 64
    total = 0
    for ds in datasets:
        shape = tuple(ds.shape or ())
        if math.prod(shape) > 1 and shape not in shapes:
            raise UnsafeFileError(f"Refusing optimizer dataset '{ds.name}' of shape {shape}: no trainable weight of "
                                  f"the model has that shape, so it cannot be this model's optimizer state.")
        total += math.prod(shape)
    if total > budget:
        raise UnsafeFileError(f"Refusing the optimizer state: its datasets hold {total:,} values, more than "
                              f"{MAX_OPTIMIZER_SLOTS} per trainable parameter of the model ({budget:,}).")


def declared_values(h5: Any, skip: tuple[str, ...] = ("optimizer",)) -> int:
    """How many values the datasets of an open h5py file declare (metadata only; top-level groups in ``skip``
    left out). A link other than a hard link is refused, as everywhere in lamina's readers."""
    import h5py

    total = 0
    stack = [(h5, True)]
    while stack:
        group, top = stack.pop()
        for key in group.keys():
            if top and key in skip:
                continue
            link = group.get(key, getlink=True)
            if not isinstance(link, h5py.HardLink):
                raise UnsafeFileError(f"Refusing HDF5 link '{group.name}/{key}': {type(link).__name__}s can point "
                                      "outside the file.")
            item = group[key]
            if isinstance(item, h5py.Dataset):
                total += math.prod(safe_dataset(group, key).shape or ())  # refuses external, virtual, non-numeric
            elif isinstance(item, h5py.Group):
                stack.append((item, False))
    return total


def check_config_size(model: Any, h5: Any, where: str) -> None:
    """Refuse a model, built abstractly from a file's config, that needs more values than the file's weights hold.

    Called between ``abstract_weights()`` building and reading: nothing has been allocated yet."""
    needed = sum(w.size for w in model.weights)
    held = declared_values(h5)
    if needed > held:
        raise UnsafeFileError(
            f"'{where}': its config builds a model with {needed:,} parameters ({needed * 4 / 2**20:,.1f} MiB as "
            f"float32), but its weights hold only {held:,} values. The config does not belong to these weights (or "
            "the file was crafted); nothing was allocated.")


def materialize(model: Any) -> None:
    """Draw from their initializers the weights a load left abstract (weights the file did not hold)."""
    for w in model.weights:
        w.materialize()


def _read_array(ds: Any) -> np.ndarray:
    try:
        arr = np.asarray(ds[()])
    except (OSError, RuntimeError, ValueError) as e:
        raise UnsafeFileError(f"Cannot read '{ds.name}': the weights file is corrupt or truncated ({e}).") from None
    if ds.attrs.get("dtype") == "bfloat16":
        import ml_dtypes

        arr = arr.astype(ml_dtypes.bfloat16)
    return arr


def assign(assignments: list[tuple[Any, np.ndarray]]) -> None:
    """Write checked arrays into their weights (all reads already succeeded, so this cannot half-fail)."""
    import jax.numpy as jnp

    bad = [f"{w.path} ({int(np.sum(~np.isfinite(arr))):,} of {arr.size:,} values)" for w, arr in assignments
           if (arr.dtype.kind == "f" or arr.dtype.name == "bfloat16") and not np.all(np.isfinite(arr))]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        warnings.warn(f"The loaded weights contain NaN or inf: {shown}. The model will output NaN where they are "
                      "used; the file was probably saved after training diverged.", stacklevel=3)
    for w, arr in assignments:
        w._value = jnp.asarray(arr, dtype=w._value.dtype)


def load_optimizer_state(model: Any, arrays: list[Any] | None) -> bool:
    """Restore the optimizer's state from Keras-ordered arrays; warns and returns False when it cannot."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not arrays:
        return False
    trainable, _ = model.get_params()
    if len(arrays) <= 2:
        return False  # saved before the first training step: nothing but iterations/learning rate
    try:
        optimizer.load_variables(list(arrays), trainable)
    except (ValueError, IndexError) as e:
        warnings.warn(f"Skipping the optimizer state in the file ({e}); the optimizer starts fresh.", stacklevel=3)
        return False
    return True
