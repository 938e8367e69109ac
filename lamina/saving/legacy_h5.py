"""Legacy HDF5 model and weight files (``model.h5``, ``weights.h5``) of Keras 2, tf.keras and Keras 3's legacy writer.

The layout (Keras 3's ``keras/src/legacy/saving/legacy_h5_format.py`` and Keras 2 before it):

* file attributes ``keras_version``, ``backend``, ``model_config`` (the model's JSON config) and, once compiled,
  ``training_config`` (loss, metrics and ``optimizer_config``);
* a ``model_weights`` group (a weights-only file has it at the root) whose ``layer_names`` attribute lists the
  model's layers; one group per layer whose ``weight_names`` attribute lists datasets (paths inside that group,
  e.g. ``dense/kernel:0``) in the legacy order, trainable weights first;
* ``optimizer_weights`` with its own ``weight_names``.

Weights load by position among the layers that have weights (the default) or by layer name (``by_name=True``).
Reading follows the rules of :mod:`lamina.saving.safety`: no code runs, the JSON is size- and depth-limited,
HDF5 links must be hard links inside the file, datasets must be numeric and must not declare far more data than
they store. Keras 2 configs (``batch_input_shape``, ``[[name, node, tensor, kwargs]]`` inbound nodes, ``Model``
class names, arguments Keras 3 removed) are translated to Keras 3's dialect before lamina rebuilds the model.

>>> import os, tempfile, numpy as np
>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Input((3,)), layers.Dense(2)])
>>> path = os.path.join(tempfile.mkdtemp(), "m.h5")
>>> save_model(model, path)
>>> bool(np.allclose(load_model(path).predict(np.ones((1, 3)), verbose=0), model.predict(np.ones((1, 3)), verbose=0)))
True
"""

from __future__ import annotations

import inspect
import json
import warnings
from typing import Any

import numpy as np

from lamina.layers.base import abstract_weights
from lamina.saving import h5_weights, keras_file, safety
from lamina.saving.atomic import atomic_path

#: HDF5 keeps attributes in the object header; Keras splits lists larger than this into numbered chunks.
HDF5_OBJECT_HEADER_LIMIT = 64512
#: At most this many names in one ``layer_names``/``weight_names`` attribute (bounded memory).
MAX_NAMES = 1_000_000
KERAS_FORMAT_VERSION = "3.15.1"
_OPTIMIZER_NAMES = {0: "iteration", 1: "learning_rate"}


# ------------------------------------------------------------------------------------------- attributes
def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, np.bytes_)) else str(value)


def _write_names(group: Any, name: str, names: list[str]) -> None:
    """Keras's ``save_attributes_to_hdf5_group``: one attribute, or ``name0``, ``name1``... when too large."""
    encoded = [n.encode("utf-8") for n in names]
    if any(len(n) > HDF5_OBJECT_HEADER_LIMIT for n in encoded):
        raise RuntimeError(f"A name is longer than {HDF5_OBJECT_HEADER_LIMIT} bytes; HDF5 cannot store it.")
    data = np.asarray(encoded) if encoded else np.asarray([], dtype=np.float64)  # Keras writes an empty float array
    chunks = 1
    parts = np.array_split(data, chunks)
    while any(p.nbytes > HDF5_OBJECT_HEADER_LIMIT for p in parts):
        chunks += 1
        parts = np.array_split(data, chunks)
    if chunks == 1:
        group.attrs[name] = data
    else:
        for i, part in enumerate(parts):
            group.attrs[f"{name}{i}"] = part


def read_names(group: Any, name: str) -> list[str]:
    """A list attribute written by :func:`_write_names` (or Keras), joined from its chunks."""
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks, i = [], 0
        while f"{name}{i}" in group.attrs:
            chunks.append(group.attrs[f"{name}{i}"])
            i += 1
    out: list[str] = []
    for chunk in chunks:
        values = np.asarray(chunk).reshape(-1)
        if values.dtype.kind == "f" and values.size == 0:
            continue
        if values.dtype.kind not in "SUO":
            raise safety.UnsafeFileError(f"Corrupt legacy HDF5 file: attribute '{name}' of '{group.name}' holds "
                                         f"{values.dtype} values, not names.")
        out.extend(_text(v) for v in values)
        if len(out) > MAX_NAMES:
            raise safety.UnsafeFileError(f"Refusing '{group.name}': attribute '{name}' lists over {MAX_NAMES} names.")
    return out


def _json_attr(h5: Any, name: str, where: str) -> Any:
    raw = h5.attrs.get(name)
    if raw is None:
        return None
    if isinstance(raw, np.ndarray):
        raw = raw.reshape(-1)[0] if raw.size == 1 else raw.tobytes()
    data = raw if isinstance(raw, bytes) else _text(raw).encode("utf-8")
    return safety.load_json(data, f"'{where}' attribute {name}")


# ------------------------------------------------------------------------------------------------ weights
def legacy_weights(layer: Any) -> list[Any]:
    """The legacy order of a layer's weights: trainable ones first, then non-trainable (Keras's
    ``_legacy_weights``)."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _weight_names(weights: list[Any]) -> list[str]:
    names: list[str] = []
    used: set[str] = set()
    for w in weights:
        name = w.path
        base, k = name, 1
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names.append(name)
    return names


def _write_subset(group: Any, names: list[str], values: list[np.ndarray]) -> None:
    _write_names(group, "weight_names", names)
    for name, value in zip(names, values):
        arr = np.asarray(value)
        if arr.dtype.name == "bfloat16":
            arr = arr.astype(np.float32)
        group.create_dataset(name, data=arr)


def write_weights_group(group: Any, model: Any) -> None:
    """``save_weights_to_hdf5_group``: ``layer_names``, one group per layer (sorted by name), top-level weights."""
    _write_names(group, "layer_names", [layer.name for layer in model.layers])
    group.attrs["backend"] = b"jax"
    group.attrs["keras_version"] = KERAS_FORMAT_VERSION.encode()
    for layer in sorted(model.layers, key=lambda item: item.name):
        weights = legacy_weights(layer)
        _write_subset(group.create_group(layer.name), _weight_names(weights), [w.numpy() for w in weights])
    _write_subset(group.create_group("top_level_model_weights"), [], [])


def _dataset_at(group: Any, name: str) -> Any:
    parent, _, leaf = name.rpartition("/")
    holder = safety.safe_group(group, parent) if parent else group
    ds = safety.safe_dataset(holder, leaf) if holder is not None else None
    if ds is None:
        raise safety.UnsafeFileError(f"Corrupt legacy HDF5 file: '{group.name}' lists weight '{name}' but has no "
                                     "such dataset.")
    return ds


def _read_subset(group: Any, model: Any = None) -> list[np.ndarray]:
    """The datasets ``group`` lists in ``weight_names``; with ``model`` (for optimizer weights) their shapes are
    checked against the model's trainable weights before anything is read."""
    datasets = [_dataset_at(group, name) for name in read_names(group, "weight_names")]
    if model is not None:
        h5_weights.check_optimizer_shapes(model, datasets)
    out = []
    for ds in datasets:
        try:
            out.append(np.asarray(ds[()]))
        except (OSError, RuntimeError, ValueError) as e:
            raise safety.UnsafeFileError(f"Cannot read '{ds.name}': the file is corrupt or truncated ({e}).") from None
    return out


def _layer_group(group: Any, name: str) -> Any:
    found = safety.safe_group(group, name)
    if found is None:
        raise safety.UnsafeFileError(f"Corrupt legacy HDF5 file: layer '{name}' is listed in layer_names but "
                                     f"'{group.name}' has no group for it.")
    return found


def _mismatch(message: str, skip_mismatch: bool) -> None:
    """Warn (``skip_mismatch=True``) or raise for a layer whose weights do not fit the file's."""
    if not skip_mismatch:
        raise ValueError(message)
    warnings.warn(message + " Skipped (skip_mismatch=True).", stacklevel=5)


def _match(layer: Any, values: list[np.ndarray], label: str, skip_mismatch: bool,
           out: list[tuple[Any, np.ndarray]]) -> None:
    weights = legacy_weights(layer)
    if len(values) != len(weights):
        _mismatch(f"Weight count mismatch for {label}: the layer expects {len(weights)} weight(s), the file has "
                  f"{len(values)}.", skip_mismatch)
        return
    for w, value in zip(weights, values):
        if tuple(value.shape) != tuple(w.shape):
            _mismatch(f"Shape mismatch in {label} for weight {w.path}: the weight has shape {tuple(w.shape)}, the "
                      f"file's has shape {tuple(value.shape)}.", skip_mismatch)
            continue
        out.append((w, value))


def read_weights_group(group: Any, model: Any, by_name: bool = False,
                       skip_mismatch: bool = False) -> list[tuple[Any, np.ndarray]]:
    """Check and read every weight for ``model`` from a legacy weights group, assigning nothing yet.

    Topological (default): the file's layers that have weights, in ``layer_names`` order, pair with the model's
    layers that have weights. ``by_name=True``: each file layer goes to the model layers of that name; others are
    ignored."""
    names = read_names(group, "layer_names")
    out: list[tuple[Any, np.ndarray]] = []
    if by_name:
        index: dict[str, list[Any]] = {}
        for layer in model.layers:
            index.setdefault(layer.name, []).append(layer)
        for k, name in enumerate(names):
            if name not in index:
                continue
            values = _read_subset(_layer_group(group, name))
            for layer in index[name]:
                _match(layer, values, f"layer #{k} (named {layer.name})", skip_mismatch, out)
        return out
    with_weights = [layer for layer in model.layers if legacy_weights(layer)]
    stored = []
    for name in names:
        layer_group = _layer_group(group, name)
        if read_names(layer_group, "weight_names"):
            stored.append((name, layer_group))
    if len(stored) != len(with_weights):
        raise ValueError(f"Layer count mismatch when loading weights from the file: the model has "
                         f"{len(with_weights)} layers with weights, the file {len(stored)} "
                         f"({', '.join(n for n, _ in stored) or 'none'}). Use by_name=True to match layers by name.")
    for k, ((name, layer_group), layer) in enumerate(zip(stored, with_weights)):
        _match(layer, _read_subset(layer_group), f"layer #{k} (named {layer.name} in the model, {name} in the file)",
               skip_mismatch, out)
    return out


def _assign(assignments: list[tuple[Any, np.ndarray]]) -> None:

    h5_weights.assign(assignments)


def _open(path: str) -> Any:
    import h5py

    safety.check_magic(path, "hdf5")
    try:
        return h5py.File(path, "r")
    except (OSError, ValueError) as e:
        raise safety.UnsafeFileError(f"'{path}' is not a readable HDF5 file: it is corrupt or truncated ({e}).") \
            from None


def _weights_root(h5: Any, where: str) -> Any:
    if "layer_names" not in h5.attrs and "model_weights" in h5:
        return safety.safe_group(h5, "model_weights")
    if "layer_names" not in h5.attrs and "layer_names0" not in h5.attrs:
        raise safety.UnsafeFileError(f"'{where}' is an HDF5 file but not a legacy Keras weights file (no "
                                     "layer_names attribute and no model_weights group). Keras 3 .weights.h5 files "
                                     "must be named *.weights.h5.")
    return h5


def load_weights(model: Any, filepath: str, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Load a legacy ``.h5``/``.hdf5`` weights (or full model) file into ``model``; nothing changes on error."""
    with _open(filepath) as h5:
        group = _weights_root(h5, filepath)
        try:
            assignments = read_weights_group(group, model, by_name=by_name, skip_mismatch=skip_mismatch)
        except (OSError, RuntimeError, KeyError) as e:
            raise safety.UnsafeFileError(f"Cannot read weights from '{filepath}': the file is corrupt ({e}).") \
                from None
    _assign(assignments)


# ------------------------------------------------------------------------------------------ config dialect
#: Keras 2 class names that Keras 3 renamed.
_CLASS_ALIASES = {"Model": "Functional"}


def _accepted_arguments(cls: type) -> set[str] | None:
    """Every keyword ``cls(...)`` accepts (None: anything, the class takes ``**kwargs`` without checking)."""
    names: set[str] = set(getattr(cls, "_allowed_kwargs", ()))
    checks_kwargs = hasattr(cls, "_allowed_kwargs")
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names.update(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names if checks_kwargs else None


def _legacy_node(node: Any) -> Any:
    """A Keras 2 inbound node ``[[name, node_index, tensor_index, kwargs], ...]`` as Keras 3's ``{args, kwargs}``."""
    if not isinstance(node, list):
        return node
    tensors, kwargs = [], {}
    for item in node:
        if not isinstance(item, list) or len(item) not in (3, 4):
            raise safety.UnsafeFileError(f"Corrupt legacy model config: inbound node entry {item!r} should be "
                                         "[layer_name, node_index, tensor_index(, kwargs)].")
        tensors.append({"class_name": "__keras_tensor__", "config": {"keras_history": list(item[:3])}})
        if len(item) == 4 and isinstance(item[3], dict):
            kwargs = item[3]
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


def _dtype(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") in ("Policy", "DTypePolicy") \
            and isinstance(value.get("config"), dict) and value.get("module") is None:
        return value["config"].get("name", "float32")
    return value


def translate_layer(entry: dict[str, Any], keras2: bool) -> dict[str, Any]:
    """One serialized layer (or model) in Keras 3's dialect: Keras 2's keys renamed or dropped, recursively."""
    from lamina.layers import _registry

    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise safety.UnsafeFileError(f"Corrupt legacy model config: a layer entry should be a dict with a "
                                     f"class_name, found {str(entry)[:80]!r}.")
    entry = dict(entry)
    class_name = _CLASS_ALIASES.get(entry["class_name"], entry["class_name"])
    entry["class_name"] = class_name
    config = entry.get("config")
    if isinstance(config, list):  # Keras 1/2.0 Sequential: the config is the list of layers
        config = {"layers": config}
    config = dict(config or {})
    if "inbound_nodes" in entry:
        entry["inbound_nodes"] = [_legacy_node(n) for n in entry["inbound_nodes"]]
    if "layers" in config and isinstance(config["layers"], list):
        config["layers"] = [translate_layer(layer, keras2) for layer in config["layers"]]
        if class_name == "Sequential" and config["layers"] and keras2:
            first = config["layers"][0]
            if first["class_name"] != "InputLayer" and "batch_input_shape" in first.get("config", {}):
                shape = first["config"].pop("batch_input_shape")
                config["layers"].insert(0, {"class_name": "InputLayer", "config": {
                    "batch_shape": shape, "dtype": _dtype(first["config"].get("dtype")) or "float32",
                    "name": f"{first['config'].get('name', 'input')}_input"}})
    if keras2 and class_name == "Functional":
        for key in ("input_layers", "output_layers"):  # Keras 2 always wrote lists; one tensor means one
            spec = config.get(key)
            if isinstance(spec, list) and len(spec) == 1 and isinstance(spec[0], list):
                config[key] = spec[0]
    if class_name == "InputLayer" and "batch_input_shape" in config:
        config["batch_shape"] = config.pop("batch_input_shape")
    if "dtype" in config:
        config["dtype"] = _dtype(config["dtype"])
    axis = config.get("axis")
    if isinstance(axis, list) and len(axis) == 1 and class_name != "Normalization":
        config["axis"] = int(axis[0])
    if keras2:
        cls = _registry().get(class_name)
        accepted = _accepted_arguments(cls) if cls is not None and class_name not in ("Functional", "Sequential") \
            else None
        if accepted is not None:
            dropped = sorted(k for k in config if k not in accepted)
            if dropped:
                warnings.warn(f"Layer '{config.get('name')}' ({class_name}): Keras 2 argument(s) {dropped} have no "
                              "Keras 3 counterpart and are ignored.", stacklevel=3)
                for key in dropped:
                    config.pop(key)
    entry["config"] = config
    return entry


def _is_keras2(version: str | None) -> bool:
    return not version or not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 3


# ----------------------------------------------------------------------------------------------- models
def _training_to_compile(training: dict[str, Any]) -> dict[str, Any]:
    optimizer = training.get("optimizer_config")
    if isinstance(optimizer, dict):
        optimizer = dict(optimizer)
        optimizer["class_name"] = str(optimizer.get("class_name", "")).split(">")[-1]
        config = dict(optimizer.get("config") or {})
        if "lr" in config and "learning_rate" not in config:
            config["learning_rate"] = config.pop("lr")
        for key in ("decay", "is_legacy_optimizer", "jit_compile", "lr"):
            config.pop(key, None)
        optimizer["config"] = config
    metrics = training.get("metrics")
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        metrics = metrics[0]  # Keras 2 writes one metrics list per output
    return {"optimizer": optimizer, "loss": training.get("loss"), "loss_weights": training.get("loss_weights"),
            "metrics": metrics, "weighted_metrics": training.get("weighted_metrics")}


def load_model(filepath: str, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Rebuild a model from a legacy ``.h5`` file of Keras 2, tf.keras or Keras 3 (never running code)."""
    from lamina.layers import deserialize
    from lamina.models import Model

    with _open(filepath) as h5:
        config = _json_attr(h5, "model_config", filepath)
        if config is None:
            raise ValueError(f"No model config found in the file at '{filepath}': it holds weights only. Rebuild "
                             "the model in code and call model.load_weights(path).")
        version = _text(h5.attrs["keras_version"]) if "keras_version" in h5.attrs else None
        safety.check_config_objects(config, custom_objects, safe_mode)
        config = translate_layer(config, _is_keras2(version))
        group = safety.safe_group(h5, "model_weights")
        if group is None:
            raise safety.UnsafeFileError(f"'{filepath}' has a model config but no model_weights group.")
        with abstract_weights():  # shapes only: the config's size is checked against the weights before allocating
            model = deserialize(config, custom_objects)
        if not isinstance(model, Model):
            raise ValueError(f"'{filepath}' holds a {type(model).__name__}, not a model.")
        h5_weights.check_config_size(model, group, filepath)
        _assign(read_weights_group(group, model))
        h5_weights.materialize(model)
        training = _json_attr(h5, "training_config", filepath) if compile else None
        optimizer_values = None
        if training and not _is_keras2(version) and "optimizer_weights" in h5:
            optimizer_values = _read_subset(safety.safe_group(h5, "optimizer_weights"), model)
    compiled = isinstance(training, dict) and keras_file._restore_compile(model, _training_to_compile(training))
    if compiled and optimizer_values:
        h5_weights.load_optimizer_state(model, optimizer_values)
    return model


def _legacy_config(model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``({"class_name", "config"}, compile_config)``: the config as Keras 3's legacy writer emits it (layers
    without module/registered_name)."""

    full = keras_file.model_config(model)
    config = dict(full["config"])
    if isinstance(config.get("layers"), list):
        config["layers"] = [{k: v for k, v in layer.items() if k not in ("module", "registered_name", "build_config")}
                            for layer in config["layers"]]
    return {"class_name": h5_weights.keras_class_name(model), "config": config}, full.get("compile_config") or {}


def save_model(model: Any, filepath: str, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Write ``model`` to a legacy ``.h5`` file in the layout Keras 3's legacy writer uses (atomically)."""
    import h5py


    config, compiled = _legacy_config(model)
    with atomic_path(filepath, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["keras_version"] = KERAS_FORMAT_VERSION
            h5.attrs["backend"] = "jax"
            h5.attrs["model_config"] = json.dumps(config, default=keras_file._json_default).encode("utf-8")
            optimizer = keras_file._saved_optimizer(model) if include_optimizer else None
            if optimizer is not None and compiled:
                training = {k: v for k, v in compiled.items() if k != "optimizer"}
                training["optimizer_config"] = {"class_name": compiled["optimizer"]["class_name"],
                                                "config": compiled["optimizer"]["config"]}
                h5.attrs["training_config"] = json.dumps(training, default=keras_file._json_default).encode("utf-8")
            write_weights_group(h5.create_group("model_weights"), model)
            if optimizer is not None and compiled:

                values = h5_weights.optimizer_variables(model, optimizer)
                names = [f"{optimizer.name}/{_OPTIMIZER_NAMES.get(i, f'variable_{i}')}" for i in range(len(values))]
                _write_subset(h5.create_group("optimizer_weights"), names, values)
