"""Checks applied to every file lamina reads: magic bytes, zip members, JSON depth, HDF5 links and datasets,
and objects in a config that would run code.

lamina never unpickles, never evaluates, never imports a module named in a file and never decodes the
Python bytecode Keras stores for ``Lambda`` layers. Everything here raises :class:`UnsafeFileError` (a
``ValueError``) with a message that names the file part and the reason.

>>> check_config_depth({"a": [{"b": 1}]})
>>> check_member_name("../evil.txt")
Traceback (most recent call last):
...
lamina.saving.safety.UnsafeFileError: Refusing zip member '../evil.txt': its path leaves the archive ('..' component).
"""

from __future__ import annotations

import contextlib
import json
import math
import stat
import zipfile
from collections.abc import Iterator
from typing import Any

from lamina import config as lamina_config

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

#: A zip member may expand to at most this many times its stored size once it is larger than the floor.
MAX_EXPANSION = 100
EXPANSION_FLOOR_BYTES = 16 << 20
#: Hard caps (module attributes, so an application can raise them for very large models).
MAX_MEMBER_BYTES = 64 << 30
MAX_CONFIG_BYTES = 64 << 20
MAX_CONFIG_DEPTH = 100
MAX_MEMBERS = 10_000
#: An HDF5 dataset larger than the floor must not declare more than this factor over its stored bytes.
H5_MAX_EXPANSION = 1000
H5_EXPANSION_FLOOR_BYTES = 16 << 20


class UnsafeFileError(ValueError):
    """A file lamina refuses to read: corrupt, malicious, or needing code execution."""


def _fmt_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# ------------------------------------------------------------------------------------------- magic bytes
def read_magic(path: Any, n: int = 8) -> bytes:
    """The first ``n`` bytes of the file at ``path`` (a clear error if it is missing or a folder)."""
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except FileNotFoundError:
        raise FileNotFoundError(f"No such file: '{path}'.") from None
    except IsADirectoryError:
        raise ValueError(f"'{path}' is a folder; lamina reads single .keras or .weights.h5 files.") from None


def check_magic(path: Any, kind: str) -> None:
    """Raise unless the file at ``path`` starts like a ``kind`` file (``"zip"`` or ``"hdf5"``)."""
    head = read_magic(path)
    if kind == "zip":
        if head.startswith(ZIP_MAGIC) or head.startswith(EMPTY_ZIP_MAGIC):
            return
        extra = ""
        if head.startswith(HDF5_MAGIC):
            extra = (" It is an HDF5 file: load weights with model.load_weights(path) (name it *.weights.h5), or a "
                     "legacy full-model file with load_model(path) (name it *.h5).")
        raise UnsafeFileError(f"'{path}' is not a .keras file: a .keras file is a zip archive starting with "
                              f"{ZIP_MAGIC!r}, but this one starts with {head[:8]!r}.{extra}")
    if kind == "hdf5":
        if head.startswith(HDF5_MAGIC):
            return
        extra = ""
        if head.startswith(ZIP_MAGIC):
            extra = " It is a zip archive: probably a .keras file, load it with lamina.models.load_model(path)."
        raise UnsafeFileError(f"'{path}' is not an HDF5 weights file: HDF5 files start with {HDF5_MAGIC!r}, but "
                              f"this one starts with {head[:8]!r}.{extra}")
    raise ValueError(f"Unknown file kind {kind!r}.")


# ----------------------------------------------------------------------------------------------- zip files
def check_member_name(name: str) -> None:
    """Reject absolute paths, ``..`` components, drive letters and backslashes in a zip member name."""
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeFileError(f"Refusing zip member {name!r}: absolute paths are not allowed in a .keras file.")
    if "\\" in name or "\x00" in name:
        raise UnsafeFileError(f"Refusing zip member {name!r}: backslashes and NUL bytes are not allowed.")
    if any(part == ".." for part in name.split("/")):
        raise UnsafeFileError(f"Refusing zip member {name!r}: its path leaves the archive ('..' component).")


def check_zip(archive: zipfile.ZipFile, where: str) -> None:
    """Check every member of an open archive: names, symlinks, sizes and expansion ratios (zip bombs)."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise UnsafeFileError(f"'{where}' has {len(infos)} zip members; at most {MAX_MEMBERS} are allowed.")
    for info in infos:
        check_member_name(info.filename)
        mode = info.external_attr >> 16
        if info.create_system == 3 and stat.S_ISLNK(mode):
            raise UnsafeFileError(f"Refusing zip member {info.filename!r} in '{where}': symbolic links are not "
                                  "allowed in a .keras file.")
        if info.flag_bits & 0x1:
            raise UnsafeFileError(f"Refusing zip member {info.filename!r} in '{where}': it is encrypted.")
        if info.file_size > MAX_MEMBER_BYTES:
            raise UnsafeFileError(
                f"Refusing zip member {info.filename!r} in '{where}': it declares {_fmt_bytes(info.file_size)}, "
                f"over the limit of {_fmt_bytes(MAX_MEMBER_BYTES)} (lamina.saving.safety.MAX_MEMBER_BYTES)."
            )
        if info.file_size > EXPANSION_FLOOR_BYTES and info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
            raise UnsafeFileError(
                f"Refusing zip member {info.filename!r} in '{where}': it declares {_fmt_bytes(info.file_size)} "
                f"but stores only {_fmt_bytes(info.compress_size)} (more than {MAX_EXPANSION}x expansion): a "
                "likely decompression bomb."
            )


def read_member(archive: zipfile.ZipFile, name: str, where: str, limit: int | None = None) -> bytes:
    """Read one member into memory, never more than its declared size (or ``limit``)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise UnsafeFileError(f"'{where}' has no {name!r} member; a .keras file holds metadata.json, config.json "
                              f"and model.weights.h5 (found {archive.namelist()}).") from None
    cap = info.file_size if limit is None else min(info.file_size, limit)
    if limit is not None and info.file_size > limit:
        raise UnsafeFileError(f"Refusing {name!r} in '{where}': {_fmt_bytes(info.file_size)} is over the limit of "
                              f"{_fmt_bytes(limit)}.")
    try:
        with archive.open(info, "r") as f:
            data = f.read(cap + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise UnsafeFileError(f"Cannot read {name!r} from '{where}': the archive is corrupt or truncated ({e}).") \
            from None
    if len(data) > cap:
        raise UnsafeFileError(f"Refusing {name!r} in '{where}': it expands beyond its declared size.")
    return data


# ---------------------------------------------------------------------------------------------------- JSON
def check_config_depth(obj: Any, max_depth: int = MAX_CONFIG_DEPTH, where: str = "config") -> None:
    """Raise if lists/dicts nest deeper than ``max_depth`` (iterative, so it cannot overflow the stack)."""
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                raise UnsafeFileError(f"Refusing {where}: it nests deeper than {max_depth} levels; no model "
                                      "config is that deep (lamina.saving.safety.MAX_CONFIG_DEPTH).")
            values = item.values() if isinstance(item, dict) else item
            stack.extend((v, depth + 1) for v in values)


def _json_nesting(text: str) -> int:
    depth = best = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


def load_json(data: bytes, where: str) -> Any:
    """Parse JSON bytes with size and depth limits; errors name ``where``."""
    if len(data) > MAX_CONFIG_BYTES:
        raise UnsafeFileError(f"Refusing {where}: {_fmt_bytes(len(data))} is over {_fmt_bytes(MAX_CONFIG_BYTES)}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnsafeFileError(f"{where} is not UTF-8 text ({e}).") from None
    if _json_nesting(text) > MAX_CONFIG_DEPTH:
        raise UnsafeFileError(f"Refusing {where}: it nests deeper than {MAX_CONFIG_DEPTH} levels; no model config "
                              "is that deep (lamina.saving.safety.MAX_CONFIG_DEPTH).")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise UnsafeFileError(f"{where} is not valid JSON ({e}).") from None


# ------------------------------------------------------------------------------------------ safe mode
_scopes: list[bool] = []


def enable_unsafe_deserialization() -> None:
    """Allow loading Lambda bytecode everywhere (Keras's ``config.enable_unsafe_deserialization``)."""
    lamina_config.enable_unsafe_deserialization()


def _unsafe_enabled() -> bool:
    return lamina_config.in_safe_mode() is False


def in_safe_mode() -> bool:
    """Whether deserializing Python bytecode is refused now (the innermost ``safe_mode_scope``, else True)."""
    if _scopes:
        return _scopes[-1]
    return not _unsafe_enabled()


@contextlib.contextmanager
def safe_mode_scope(safe_mode: bool | None) -> Iterator[None]:
    """Within: ``in_safe_mode()`` is ``safe_mode`` (``None``: unchanged)."""
    if safe_mode is None:
        yield
        return
    _scopes.append(bool(safe_mode) and not _unsafe_enabled())
    try:
        yield
    finally:
        _scopes.pop()


# ------------------------------------------------------------------------------------ objects in a config
def check_config_objects(config: Any, custom_objects: dict[str, Any] | None, safe_mode: bool) -> None:
    """Refuse configs that would need code from the file: ``Lambda`` layers and serialized Python functions
    (``__lambda__``) unless ``safe_mode=False`` and ``custom_objects`` supplies them; custom classes
    (``registered_name`` ``"package>Name"``) unless ``custom_objects`` supplies them. Nothing is imported
    or decoded. ``lamina.config.enable_unsafe_deserialization()`` turns ``safe_mode`` off for every call."""
    if in_safe_mode() is False:
        safe_mode = False
    custom = custom_objects or {}
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        stack.extend(item.values())
        class_name = item.get("class_name")
        if not isinstance(class_name, str):
            continue
        if class_name == "__lambda__" or (class_name == "Lambda" and "config" in item):
            what = "a Lambda layer" if class_name == "Lambda" else "a serialized Python function (__lambda__)"
            name = item.get("config", {}).get("name") if isinstance(item.get("config"), dict) else None
            label = f" '{name}'" if name else ""
            if safe_mode and not _unsafe_enabled():
                raise UnsafeFileError(
                    f"Refusing to load {what}{label}: it holds Python bytecode, and running it could execute "
                    "arbitrary code, so it is disallowed by default (as in Keras). If you trust the source of the "
                    "file, pass safe_mode=False to the loading function: load_model(path, safe_mode=False)."
                )
            continue
        registered = item.get("registered_name")
        if isinstance(registered, str) and ">" in registered and "config" in item:
            from lamina.saving.object_registration import get_registered_object

            if registered not in custom and class_name not in custom and get_registered_object(registered) is None:
                raise UnsafeFileError(
                    f"The file uses the custom class {registered!r} (class {class_name!r}). lamina never imports "
                    f"code named in a file; register the class with @lamina.saving.register_keras_serializable() or "
                    f"pass custom_objects={{'{class_name}': YourClass}} to load it."
                )


# ------------------------------------------------------------------------------------------------- HDF5
def safe_group(parent: Any, name: str) -> Any:
    """The sub-group ``name`` (may contain ``/``) of an h5py group, refusing soft and external links.

    Returns None when it does not exist."""
    import h5py

    current = parent
    for part in name.split("/"):
        if not part:
            continue
        link = current.get(part, default=None, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise UnsafeFileError(f"Refusing HDF5 link '{current.name}/{part}': {type(link).__name__}s can point "
                                  "outside the file.")
        current = current[part]
        if not isinstance(current, h5py.Group):
            raise UnsafeFileError(f"Corrupt weights file: '{current.name}' should be a group, found a dataset.")
    return current


def safe_dataset(group: Any, name: str) -> Any:
    """The dataset ``name`` in ``group``, refusing links, external/virtual storage, non-numeric types and
    shape bombs."""
    import h5py

    link = group.get(name, default=None, getlink=True)
    if link is None:
        return None
    where = f"{group.name}/{name}"
    if not isinstance(link, h5py.HardLink):
        raise UnsafeFileError(f"Refusing HDF5 link '{where}': {type(link).__name__}s can point outside the file.")
    ds = group[name]
    if not isinstance(ds, h5py.Dataset):
        raise UnsafeFileError(f"Corrupt weights file: '{where}' should be a dataset, found a group.")
    if ds.external:
        raise UnsafeFileError(f"Refusing HDF5 dataset '{where}': it stores its data in external files.")
    if ds.is_virtual:
        raise UnsafeFileError(f"Refusing HDF5 dataset '{where}': virtual datasets read other files.")
    if ds.dtype.kind not in "biuf" or ds.dtype.hasobject:
        raise UnsafeFileError(f"Refusing HDF5 dataset '{where}': dtype {ds.dtype} is not numeric.")
    declared = math.prod(ds.shape or ()) * ds.dtype.itemsize
    stored = ds.id.get_storage_size()
    if declared > H5_EXPANSION_FLOOR_BYTES and declared > H5_MAX_EXPANSION * max(stored, 1):
        raise UnsafeFileError(f"Refusing HDF5 dataset '{where}': it declares {_fmt_bytes(declared)} but stores "
                              f"{_fmt_bytes(stored)}: a likely shape/decompression bomb.")
    return ds
