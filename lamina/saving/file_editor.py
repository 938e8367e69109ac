"""``KerasFileEditor``: inspect and edit the weights of a ``.keras`` or ``.weights.h5`` file without building the
model (rename, delete or add objects and weights, compare with a model, write a new ``.weights.h5``).

>>> import os, tempfile
>>> from lamina import Sequential, layers
>>> model = Sequential([layers.Input((3,)), layers.Dense(2, name="dense")])
>>> path = os.path.join(tempfile.mkdtemp(), "m.weights.h5")
>>> model.save_weights(path)
>>> editor = KerasFileEditor(path)  # doctest: +ELLIPSIS
Keras model file '...m.weights.h5'
>>> [w.shape for w in editor.weights_dict["layers"]["dense"].values()]
[(3, 2), (2,)]
>>> editor.compare(model)["status"]  # doctest: +ELLIPSIS
Running comparison
...
'success'
"""

from __future__ import annotations

import collections
import json
import math
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

_MAX_BYTES = 1 << 32


def _read_group(group: Any, inner: str, metadata: dict[str, Any]) -> collections.OrderedDict:
    """The nested ``{name: dict or array}`` of an HDF5 group, with Keras's ``vars`` levels folded away."""
    import h5py

    if group.attrs:
        metadata[inner] = dict(group.attrs.items())
    out: collections.OrderedDict = collections.OrderedDict()
    for key in group.keys():
        path = f"{inner}/{key}"
        link = group.get(key, default=None, getclass=True, getlink=True)
        if link in (h5py.ExternalLink, h5py.SoftLink):
            raise ValueError(f"Not allowed: H5 file with {link.__name__}")
        value = group[key]
        if isinstance(value, h5py.Group):
            if len(value) == 0:
                continue
            if "vars" in value.keys():
                if len(value["vars"]) == 0:
                    continue
                out[key] = _read_group(value["vars"], path, metadata)
            else:
                out[key] = _read_group(value, path, metadata)
            continue
        if not isinstance(value, h5py.Dataset):
            continue
        if value.external or value.is_virtual:
            raise ValueError(f"Not allowed: H5 file Dataset with external or virtual storage at {path}")
        if any(d < 0 for d in value.shape) or len(value.shape) > 64:
            raise ValueError("Malformed HDF5 dataset shape encountered in .keras file.")
        size = math.prod(value.shape) * value.dtype.itemsize
        if size > _MAX_BYTES:
            raise ValueError(f"HDF5 dataset too large to load safely ({size} bytes; limit is {_MAX_BYTES}).")
        out[key] = value[()]
    return out


def _read_weights(h5_file: Any) -> tuple[collections.OrderedDict, dict[str, Any]]:
    metadata: dict[str, Any] = {}
    return _read_group(h5_file, "", metadata), metadata


class KerasFileEditor:
    """The weights of ``filepath`` (``.keras`` or ``.weights.h5``) as a nested dict you can edit and save."""

    def __init__(self, filepath: str) -> None:
        import h5py

        self.filepath = str(filepath)
        self.metadata: dict[str, Any] | None = None
        self.config: dict[str, Any] | None = None
        if self.filepath.endswith(".keras"):
            with zipfile.ZipFile(self.filepath, "r") as archive:
                self.config = json.loads(archive.read("config.json"))
                self.metadata = json.loads(archive.read("metadata.json"))
                with archive.open("model.weights.h5") as raw, h5py.File(raw, "r") as h5_file:
                    self.weights_dict, self.object_metadata = _read_weights(h5_file)
        elif self.filepath.endswith(".weights.h5"):
            with h5py.File(self.filepath, "r") as h5_file:
                self.weights_dict, self.object_metadata = _read_weights(h5_file)
        else:
            raise ValueError("Invalid filename: expected a `.keras` `.weights.h5` extension. Received: "
                             f"filepath={self.filepath}")
        print(f"Keras model file '{self.filepath}'")
        if self.metadata is not None:
            print(f"Saved with Keras {self.metadata.get('keras_version')} - date: {self.metadata.get('date_saved')}")

    # ------------------------------------------------------------------------------ reading
    def summary(self) -> None:
        """Print the tree of objects and weights (shapes and dtypes)."""
        print("Weights structure")
        self._print(self.weights_dict, "  ", "")

    weights_summary = summary

    def _print(self, tree: dict[str, Any], prefix: str, inner: str) -> None:
        for i, (key, value) in enumerate(tree.items()):
            last = i == len(tree) - 1
            connector = "└─ " if last else "├─ "
            path = os.path.join(inner, key)
            if isinstance(value, dict):
                label = f"{prefix}{connector}{key}"
                name = self.object_metadata.get("/" + path, {}).get("name")
                print(label + (f" ('{name}')" if name else ""))
                self._print(value, prefix + ("    " if last else "│   "), path)
            else:
                print(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")

    def compare(self, reference_model: Any) -> dict[str, Any]:
        """Check the file's weights against ``reference_model``'s (same objects, names and shapes).

        Returns ``{"status": "success" or "error", "error_count", "match_count"}`` and prints each difference.
        """
        print("Running comparison")
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "reference.weights.h5")
            reference_model.save_weights(path)
            import h5py

            with h5py.File(path, "r") as h5_file:
                reference, _ = _read_weights(h5_file)
        checked: set[str] = set()
        errors, matches = self._compare(self.weights_dict, reference, "", "saved file", "reference model", checked)
        more, _ = self._compare(reference, self.weights_dict, "", "reference model", "saved file", checked)
        errors += more
        print("─────────────────────")
        if errors == 0:
            print("Comparison successful: saved file is compatible with the reference model")
            print(f"    Found {matches} matching weight{'' if matches == 1 else 's'}")
        else:
            print(f"Found {errors} error{'' if errors == 1 else 's'}: saved file is not compatible with the "
                  "reference model")
        return {"status": "success" if errors == 0 else "error", "error_count": errors, "match_count": matches}

    def _compare(self, target: dict[str, Any], reference: dict[str, Any], inner: str, target_name: str,
                 ref_name: str, checked: set[str]) -> tuple[int, int]:
        errors = matches = 0
        for key, value in reference.items():
            path = f"{inner}/{key}"
            if path in checked:
                continue
            if key not in target:
                errors += 1
                checked.add(path)
                kind = "Object" if isinstance(value, dict) else "Weight"
                print(f"...{kind} {path} present in {ref_name}, missing from {target_name}")
            elif isinstance(value, dict):
                e, m = self._compare(target[key], value, path, target_name, ref_name, checked)
                errors, matches = errors + e, matches + m
            elif target[key].shape != value.shape:
                errors += 1
                checked.add(path)
                print(f"...Weight shape mismatch for {path}\n    In {ref_name}: shape={value.shape}\n    In "
                      f"{target_name}: shape={target[key].shape}")
            else:
                matches += 1
        return errors, matches

    # ------------------------------------------------------------------------------ editing
    def _edit(self, edit: Any, source_name: str, target_name: str | None = None) -> None:
        if target_name is not None and "/" in target_name:
            raise ValueError("Argument `target_name` should be a leaf name, not a full path name. Received: "
                             f"target_name='{target_name}'")
        if "/" in source_name:
            *parents, leaf = source_name.split("/")
            node = self.weights_dict
            for part in parents:
                if part not in node:
                    raise ValueError(f"Path '{source_name}' not found in model.")
                node = node[part]
            if leaf not in node:
                raise ValueError(f"Path '{source_name}' not found in model.")
            edit(node, source_name=leaf, target_name=target_name)
            return

        def count(node: dict[str, Any]) -> int:
            return sum(count(v) for v in node.values() if isinstance(v, dict)) + (source_name in node)

        found = count(self.weights_dict)
        if found > 1:
            raise ValueError(f"Name '{source_name}' occurs more than once in the model; try passing a complete path")
        if found == 0:
            raise ValueError(f"Source name '{source_name}' does not appear in the model. Use "
                             "`editor.weights_summary()` to list all objects.")

        def visit(node: dict[str, Any]) -> None:
            for value in list(node.values()):
                if isinstance(value, dict):
                    visit(value)
            if source_name in node:
                edit(node, source_name=source_name, target_name=target_name)

        visit(self.weights_dict)

    def rename_object(self, object_name: str, new_name: str) -> None:
        """Rename the object (layer, optimizer...) ``object_name`` (a name or a path) to ``new_name``."""
        def rename(node: dict[str, Any], source_name: str, target_name: str) -> None:
            node[target_name] = node.pop(source_name)

        self._edit(rename, object_name, new_name)

    def delete_object(self, object_name: str) -> None:
        """Remove the object ``object_name`` and its weights."""
        self._edit(lambda node, source_name, target_name=None: node.pop(source_name), object_name)

    def add_object(self, object_path: str, weights: dict[str, Any]) -> None:
        """Add an object at ``object_path`` with ``weights`` (``{"0": array, "1": array}``)."""
        _check_weights(weights)
        *parents, leaf = object_path.split("/")
        node = self.weights_dict
        for part in parents:
            if part not in node:
                raise ValueError(f"Path '{'/'.join(parents)}' not found in model.")
            node = node[part]
        node[leaf] = weights

    def delete_weight(self, object_name: str, weight_name: str) -> None:
        """Remove weight ``weight_name`` (``"0"``, ``"1"``...) of object ``object_name``."""
        def delete(node: dict[str, Any], source_name: str, target_name: Any = None) -> None:
            if weight_name not in node[source_name]:
                raise ValueError(f"Weight {weight_name} not found in object {object_name}. Weights found: "
                                 f"{list(node[source_name].keys())}")
            node[source_name].pop(weight_name)

        self._edit(delete, object_name)

    def add_weights(self, object_name: str, weights: dict[str, Any]) -> None:
        """Add ``weights`` (``{name: array}``) to object ``object_name``."""
        _check_weights(weights)
        self._edit(lambda node, source_name, target_name=None: node[source_name].update(weights), object_name)

    def save(self, filepath: str) -> None:
        """Write the (edited) weights to ``filepath`` (``.weights.h5``), in Keras's layout."""
        import h5py

        filepath = str(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError("Invalid `filepath` argument: expected a `.weights.h5` extension. Received: "
                             f"filepath={filepath}")

        def write(h5_file: Any, node: dict[str, Any], inner: str) -> None:
            arrays = {k: v for k, v in node.items() if not isinstance(v, dict)}
            for key, value in node.items():
                if isinstance(value, dict) and value:
                    write(h5_file, value, f"{inner}/{key}" if inner else key)
            if arrays:
                group = h5_file.require_group(f"{inner}/vars" if inner else "vars")
                for key, value in arrays.items():
                    group.create_dataset(key, data=np.asarray(value))

        with h5py.File(filepath, "w") as h5_file:
            write(h5_file, self.weights_dict, "")

    resave_weights = save


def _check_weights(weights: Any) -> None:
    if not isinstance(weights, dict):
        raise ValueError("Argument `weights` should be a dict where keys are weight names (usually '0', '1', etc.) "
                         f"and values are NumPy arrays. Received: type(weights)={type(weights)}")
