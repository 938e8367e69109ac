"""The ``.keras`` zip container (``metadata.json``, ``config.json``, ``model.weights.h5``) and ``.weights.h5``
files, read and written the way Keras 3 does, so files move both ways between lamina and Keras.

>>> import os, tempfile, numpy as np
>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Input((3,)), layers.Dense(2)])
>>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
>>> save_model(model, path)
>>> loaded = load_model(path)
>>> bool(np.allclose(loaded.predict(np.ones((1, 3)), verbose=0), model.predict(np.ones((1, 3)), verbose=0)))
True
"""

from __future__ import annotations

import datetime
import io
import json
import os
import warnings
import zipfile
from typing import Any

import numpy as np

import lamina.saving.h5_weights as h5_weights  # the submodules, not the package (no circle with saving/__init__)
import lamina.saving.safety as safety
from lamina.distribution import is_writing_process
from lamina.layers.base import abstract_weights
from lamina.saving.atomic import atomic_path

CONFIG_NAME = "config.json"
METADATA_NAME = "metadata.json"
WEIGHTS_NAME = "model.weights.h5"
ASSETS_DIR = "assets"
#: The Keras release whose file format lamina writes (Keras itself never reads ``keras_version`` back).
KERAS_FORMAT_VERSION = "3.15.1"


# ------------------------------------------------------------------------------------------------ helpers
def _check_model(model: Any, what: str) -> None:
    from lamina.models import Model

    if not isinstance(model, Model):
        raise TypeError(f"{what} expects a lamina model, received {type(model).__name__}.")
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' has not been built yet, so it has no weights to save or load. Build it first: "
            "give the first layer an input shape (Input(shape=...)), call model.build((None, ...)) or call it "
            "on data."
        )


def _fspath(filepath: Any) -> str:
    try:
        return os.fspath(filepath)
    except TypeError:
        raise TypeError(f"Expected a file path (str or os.PathLike), received {type(filepath).__name__}.") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"Cannot save {value!r} ({type(value).__name__}) in a model config: only JSON values (numbers, "
                    "strings, lists, dicts) can be written. Layers holding Python callables or objects need a "
                    "serializable get_config().")


def _to_h5_bytes(model: Any, optimizer: Any) -> bytes:
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5_weights.write_tree(model, h5, optimizer)
    return buffer.getvalue()


def _saved_optimizer(model: Any) -> Any:
    """The optimizer to write into ``optimizer/vars`` (Keras writes it whenever the model is compiled)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "variables"):
        return None
    return optimizer


# ------------------------------------------------------------------------------------------ compile config
def _serialize_piece(value: Any, module: Any, kind: str) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: _serialize_piece(v, module, kind) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_piece(v, module, kind) for v in value]
    return module.serialize(value)


def compile_config(model: Any) -> dict[str, Any]:
    """Keras's ``compile_config`` for ``model`` (``{}`` when not compiled). Pieces lamina cannot serialize
    (e.g. a user's loss function) are written as None with a warning."""
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        return {}
    from lamina import losses, metrics, optimizers

    raw = model.get_compile_config() if hasattr(model, "get_compile_config") else {}
    out: dict[str, Any] = {}
    for key, module in (("optimizer", optimizers), ("loss", losses), ("loss_weights", None),
                        ("metrics", metrics), ("weighted_metrics", metrics)):
        value = model.optimizer if key == "optimizer" else raw.get(key)
        try:
            out[key] = optimizers.serialize(value) if key == "optimizer" else (
                value if module is None else _serialize_piece(value, module, key))
        except (ValueError, TypeError, AttributeError) as e:
            warnings.warn(f"Cannot save the compiled {key} of model '{model.name}' ({e}); it is written as None and "
                          "must be given again to compile() after loading.", stacklevel=3)
            out[key] = None
    out["run_eagerly"] = bool(raw.get("run_eagerly", False))
    steps = raw.get("steps_per_execution", 1)
    out["steps_per_execution"] = int(steps) if isinstance(steps, (int, np.integer)) and steps > 0 else 1  # "auto" -> 1
    jit = raw.get("jit_compile", True)
    out["jit_compile"] = True if jit == "auto" else bool(jit)
    return out


def _deserialize_piece(value: Any, module: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict) and "class_name" in value:
        return module.deserialize(value)
    if isinstance(value, dict):
        return {k: _deserialize_piece(v, module) for k, v in value.items()}
    if isinstance(value, list):
        return [_deserialize_piece(v, module) for v in value]
    return value


def _restore_compile(model: Any, config: dict[str, Any]) -> bool:
    from lamina import losses, metrics, optimizers

    try:
        optimizer = config.get("optimizer")
        kwargs = {
            "optimizer": optimizers.deserialize(optimizer) if isinstance(optimizer, dict) else (optimizer or "rmsprop"),
            "loss": _deserialize_piece(config.get("loss"), losses),
            "loss_weights": config.get("loss_weights"),
            "metrics": _deserialize_piece(config.get("metrics"), metrics),
            "weighted_metrics": _deserialize_piece(config.get("weighted_metrics"), metrics),
            # 1 is Keras's default (and what lamina writes for "auto"): let lamina choose again.
            "steps_per_execution": "auto" if (config.get("steps_per_execution") or 1) == 1
            else config["steps_per_execution"],
        }
        model.compile(**kwargs)
    except (ValueError, TypeError, KeyError, NotImplementedError) as e:
        warnings.warn(f"The model loaded, but its compile settings could not be restored ({e}); call "
                      "model.compile(...) before training.", stacklevel=3)
        return False
    return True


# -------------------------------------------------------------------------------------------------- assets
def _asset_files(model: Any) -> list[tuple[str, bytes]]:
    """``(member name, bytes)`` for every object with ``save_assets`` (lookup vocabularies), at Keras's paths:
    ``assets/<the object's weights path>/<file>``."""
    import tempfile

    out: list[tuple[str, bytes]] = []
    for entry in h5_weights.plan(model):
        owner = entry.owner
        if owner is None or not hasattr(owner, "save_assets"):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            owner.save_assets(tmp)
            for name in sorted(os.listdir(tmp)):
                with open(os.path.join(tmp, name), "rb") as f:
                    out.append((f"{ASSETS_DIR}/{entry.path}/{name}" if entry.path else f"{ASSETS_DIR}/{name}",
                                f.read()))
    return out


def _load_assets(model: Any, archive: zipfile.ZipFile, where: str) -> None:
    """Give each object with ``load_assets`` a folder holding its files from the archive's ``assets/``."""
    import tempfile

    names = [n for n in archive.namelist() if n.startswith(f"{ASSETS_DIR}/") and not n.endswith("/")]
    if not names:
        return
    for entry in h5_weights.plan(model):
        owner = entry.owner
        if owner is None or not hasattr(owner, "load_assets"):
            continue
        prefix = f"{ASSETS_DIR}/{entry.path}/" if entry.path else f"{ASSETS_DIR}/"
        mine = [n for n in names if n.startswith(prefix) and "/" not in n[len(prefix):]]
        if not mine:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            for name in mine:
                with open(os.path.join(tmp, name[len(prefix):]), "wb") as f:
                    f.write(safety.read_member(archive, name, where))
            owner.load_assets(tmp)


# ---------------------------------------------------------------------------------------------------- save
def model_config(model: Any) -> dict[str, Any]:
    """The ``config.json`` dict: ``lamina.layers.serialize(model)`` plus ``compile_config``, as Keras writes it."""
    from lamina.layers import serialize

    config = serialize(model)
    if h5_weights.keras_class_name(model) == "Functional":
        config["build_config"] = {"input_shape": None}
    config["compile_config"] = compile_config(model)
    return config


def save_model(model: Any, filepath: Any, overwrite: bool = True) -> None:
    """Write ``model`` to a Keras 3 ``.keras`` file (atomically: a crash leaves any previous file intact), or to
    Keras's legacy HDF5 format when the name ends in ``.h5``/``.hdf5``."""
    _check_model(model, "save_model")
    path = _fspath(filepath)
    if not is_writing_process():  # several processes: process 0 writes (the weights are the same in each)
        return None
    if path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5"):
        from lamina.saving import legacy_h5  # inside: legacy_h5 builds on this module's config helpers

        return legacy_h5.save_model(model, path, overwrite=overwrite)
    if not path.endswith(".keras"):
        raise ValueError(f"The filename must end in '.keras' (received '{path}'), or '.h5' for Keras's legacy "
                         "HDF5 format. For weights only use model.save_weights('name.weights.h5').")
    config_json = json.dumps(model_config(model), default=_json_default)
    from lamina import __version__

    metadata_json = json.dumps({"keras_version": KERAS_FORMAT_VERSION,
                                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                                "lamina_version": __version__})
    weights = _to_h5_bytes(model, _saved_optimizer(model))
    members = [(METADATA_NAME, metadata_json.encode()), (CONFIG_NAME, config_json.encode()), (WEIGHTS_NAME, weights),
               *_asset_files(model)]
    with atomic_path(path, overwrite=overwrite) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=datetime.datetime.now().timetuple()[:6])
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)


def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    """Write ``model``'s weights (and optimizer state once compiled) to a Keras 3 ``.weights.h5`` file."""
    import h5py

    _check_model(model, "save_weights")
    path = _fspath(filepath)
    if not path.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in '.weights.h5' (received '{path}'), as Keras requires. To save "
                         "the whole model use model.save('name.keras').")
    if not is_writing_process():  # several processes: process 0 writes
        return
    with atomic_path(path, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5_weights.write_tree(model, h5, _saved_optimizer(model))


# ---------------------------------------------------------------------------------------------------- load
def _open_zip(path: str) -> zipfile.ZipFile:
    safety.check_magic(path, "zip")
    try:
        archive = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise safety.UnsafeFileError(f"'{path}' is not a readable .keras file: the zip archive is corrupt or "
                                     f"truncated ({e}).") from None
    try:
        safety.check_zip(archive, path)
    except BaseException:
        archive.close()
        raise
    return archive


def _open_h5(source: Any, where: str) -> Any:
    import h5py

    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as e:
        raise safety.UnsafeFileError(f"'{where}' is not a readable HDF5 weights file: it is corrupt or truncated "
                                     f"({e}).") from None


def _read_weights_member(archive: zipfile.ZipFile, where: str) -> Any:
    data = safety.read_member(archive, WEIGHTS_NAME, where)
    if not data.startswith(safety.HDF5_MAGIC):
        raise safety.UnsafeFileError(f"'{where}': {WEIGHTS_NAME} is not an HDF5 file (it starts with "
                                     f"{data[:8]!r}).")
    return _open_h5(io.BytesIO(data), f"{where}/{WEIGHTS_NAME}")


def _load_tree(model: Any, h5: Any, where: str, skip_mismatch: bool) -> Any:
    """Read, check and assign the weights; the optimizer state is read only if the model has an optimizer."""
    try:
        assignments, optimizer_arrays = h5_weights.read_tree(
            model, h5, skip_mismatch, read_optimizer=getattr(model, "optimizer", None) is not None)
    except (OSError, RuntimeError, KeyError) as e:
        raise safety.UnsafeFileError(f"Cannot read weights from '{where}': the file is corrupt or truncated "
                                     f"({e}).") from None
    h5_weights.assign(assignments)
    return optimizer_arrays


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Load a ``.keras`` file written by lamina or Keras 3, or a legacy ``.h5`` file of Keras 2/tf.keras/Keras 3
    (never running code from the file)."""
    from lamina.layers import deserialize
    from lamina.models import Model

    path = _fspath(filepath)
    if not is_writing_process():  # several processes: process 0 writes (the weights are the same in each)
        return None
    if path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5"):
        from lamina.saving import legacy_h5  # inside: legacy_h5 builds on this module's config helpers

        return legacy_h5.load_model(path, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    if path.endswith(".weights.h5"):
        raise ValueError(f"'{path}' holds only weights. Rebuild the model in code and call "
                         "model.load_weights(path).")
    with _open_zip(path) as archive:
        config = safety.load_json(safety.read_member(archive, CONFIG_NAME, path, safety.MAX_CONFIG_BYTES),
                                  f"'{path}'/{CONFIG_NAME}")
        if not isinstance(config, dict) or "class_name" not in config:
            raise safety.UnsafeFileError(f"'{path}'/{CONFIG_NAME} is not a serialized model (no class_name).")
        safety.check_config_objects(config, custom_objects, safe_mode)
        if WEIGHTS_NAME not in archive.namelist():
            raise safety.UnsafeFileError(f"'{path}' has no {WEIGHTS_NAME} member (found {archive.namelist()}); "
                                         "lamina reads weights only in the HDF5 format.")
        # shapes only: the config's size is checked against the weights before allocating
        with abstract_weights(), safety.safe_mode_scope(safe_mode):
            model = deserialize(config, custom_objects)
        if not isinstance(model, Model):
            raise ValueError(f"'{path}' holds a {type(model).__name__}, not a model.")
        h5 = _read_weights_member(archive, path)
        with h5:
            h5_weights.check_config_size(model, h5, path)
            optimizer_arrays = _load_tree(model, h5, path, skip_mismatch=False)
            h5_weights.materialize(model)
            compile_cfg = config.get("compile_config") if compile else None
            if compile_cfg and _restore_compile(model, compile_cfg):
                optimizer_arrays = _read_optimizer(model, h5, path)
        _load_assets(model, archive, path)
        if compile_cfg:
            h5_weights.load_optimizer_state(model, optimizer_arrays)
    return model


def _read_optimizer(model: Any, h5: Any, where: str) -> Any:
    """The optimizer's arrays from an open weights file (shapes checked against the model first), or None."""
    group = safety.safe_group(h5, "optimizer/vars")
    if group is None:
        return None
    try:
        datasets = h5_weights._read_vars(group, "optimizer/vars")
        h5_weights.check_optimizer_shapes(model, datasets)
        return [h5_weights._read_array(ds) for ds in datasets]
    except (OSError, RuntimeError, KeyError) as e:
        raise safety.UnsafeFileError(f"Cannot read the optimizer state from '{where}': the file is corrupt or "
                                     f"truncated ({e}).") from None


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False, by_name: bool | None = None) -> None:
    """Load weights into ``model`` from a ``.weights.h5`` or ``.keras`` file (from lamina or Keras 3), or a legacy
    ``.h5``/``.hdf5`` file (Keras 2, tf.keras; ``by_name=True`` matches layers by name there).

    Every array is checked before any weight changes, so a failed load leaves the model as it was."""
    _check_model(model, "load_weights")
    path = _fspath(filepath)
    if not is_writing_process():  # several processes: process 0 writes (the weights are the same in each)
        return None
    if path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5"):
        from lamina.saving import legacy_h5  # inside: legacy_h5 builds on this module's config helpers

        return legacy_h5.load_weights(model, path, skip_mismatch=skip_mismatch, by_name=bool(by_name))
    if by_name is not None:
        raise ValueError("`by_name` only supports loading legacy '.h5' or '.hdf5' files, as in Keras. Received: "
                         f"filepath={path}")
    head = safety.read_magic(path)
    if path.endswith(".keras") or (head.startswith(safety.ZIP_MAGIC) and not path.endswith((".h5", ".hdf5"))):
        with _open_zip(path) as archive:
            h5 = _read_weights_member(archive, path)
    else:
        safety.check_magic(path, "hdf5")
        h5 = _open_h5(path, path)
    with h5:
        optimizer_arrays = _load_tree(model, h5, path, skip_mismatch)
    h5_weights.load_optimizer_state(model, optimizer_arrays)
