"""Finding, downloading and checking the dataset files (shared by every dataset module).

Where files live:

* ``cache_dir=`` given to ``load_data``, else the ``LAMINA_DATA_DIR`` environment variable, else
  ``~/.lamina/datasets``.
* A file already in Keras's cache (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``) under the same
  name is used as it is, so a machine that ran the Keras tutorials needs no second download.

A missing file is downloaded from the dataset's origin (the module's ``ORIGIN``; the
``LAMINA_DATASETS_ORIGIN`` environment variable or ``origin=`` replace the folder part), streamed into a
temporary file next to its destination, checked against its SHA-256 when one is known, then renamed
into place in one step: an interrupted or corrupt download never leaves a file that looks complete.
Without network, :class:`DatasetNotFoundError` says which file to put in which folder.

>>> default_cache_dir().name
'datasets'
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["DatasetNotFoundError", "ChecksumError", "default_cache_dir", "get_file", "sha256_of"]

_CHUNK = 1 << 20


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file is not in the cache and could not be downloaded."""


class ChecksumError(ValueError):
    """A downloaded file's SHA-256 differs from the published one (the file was discarded)."""


def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder dataset files are read from: ``cache_dir``, ``$LAMINA_DATA_DIR`` or ``~/.lamina/datasets``.

    >>> default_cache_dir("/tmp/data").as_posix()
    '/tmp/data'
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("LAMINA_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".lamina" / "datasets"


def _keras_cache_dir() -> Path:
    home = os.environ.get("KERAS_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".keras") / "datasets"


def sha256_of(path: str | os.PathLike) -> str:
    """The hex SHA-256 of a file.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f"; _ = p.write_bytes(b"")
    >>> sha256_of(p)[:16]
    'e3b0c44298fc1c14'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _origin_url(default_origin: str, fname: str, origin: str | None) -> str:
    """The URL to fetch: ``origin`` or ``$LAMINA_DATASETS_ORIGIN`` replace the folder of the default."""
    base = origin or os.environ.get("LAMINA_DATASETS_ORIGIN")
    if not base:
        return default_origin
    if base.endswith("/"):
        return base + fname
    if base.rsplit("/", 1)[-1] == fname:
        return base
    return base + "/" + fname


def get_file(fname: str, origin: str, sha256: str | None = None, cache_dir: str | os.PathLike | None = None,
             subdir: str | None = None, origin_override: str | None = None, timeout: float = 60.0,
             dataset: str | None = None) -> Path:
    """Return the path of a dataset file, downloading it first if it is not cached.

    Args:
        fname: the file name (``"mnist.npz"``).
        origin: the canonical URL of the file.
        sha256: the expected hex SHA-256 (or MD5, 32 digits, as Keras's word-index files); a download that
            differs is discarded with ``ChecksumError``.
        cache_dir: the cache folder (see :func:`default_cache_dir`).
        subdir: a folder inside the cache (``"fashion-mnist"``).
        origin_override: a folder URL (or full URL) to download from instead of ``origin``'s folder.
        timeout: seconds to wait for the server.
        dataset: the dataset's name, for the error message.

    Raises:
        DatasetNotFoundError: the file is missing and the download failed.
        ChecksumError: the downloaded file does not match ``sha256``.

    >>> import tempfile, pathlib
    >>> cache = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (cache / "data.bin").write_bytes(b"cached")
    >>> get_file("data.bin", "http://127.0.0.1:9/data.bin", cache_dir=cache).read_bytes()  # no download
    b'cached'
    """
    folder = default_cache_dir(cache_dir)
    if subdir:
        folder = folder / subdir
    target = folder / fname
    if target.is_file():
        return target
    if cache_dir is None:
        keras_copy = _keras_cache_dir() / (f"{subdir}/{fname}" if subdir else fname)
        if keras_copy.is_file():
            return keras_copy
    url = _origin_url(origin, fname, origin_override)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = f"cannot create the folder: {err}"
        raise DatasetNotFoundError(_missing_message(fname, folder, url, dataset, reason)) from err
    _download(url, target, sha256, timeout, fname, folder, dataset)
    return target


def _missing_message(fname: str, folder: Path, url: str, dataset: str | None, reason: str) -> str:
    what = f"the {dataset} file '{fname}'" if dataset else f"'{fname}'"
    return (f"Could not find {what} and could not download it from {url} ({reason}).\n"
            f"Download {url} on a machine with internet access and copy it to {folder.resolve()}/{fname}\n"
            f"(or point LAMINA_DATA_DIR or load_data(cache_dir=...) at a folder that holds it).")


def _download(url: str, target: Path, sha256: str | None, timeout: float, fname: str, folder: Path,
              dataset: str | None) -> None:
    digest = hashlib.md5() if sha256 is not None and len(sha256) == 32 else hashlib.sha256()  # Keras's "auto" rule
    fd, tmp_name = tempfile.mkstemp(prefix=f".{fname}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        sys.stdout.write(f"Downloading data from {url}\n")
        sys.stdout.flush()
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", None) or err
            raise DatasetNotFoundError(_missing_message(fname, folder, url, dataset, str(reason))) from err
        got = digest.hexdigest()
        if sha256 is not None and got != sha256.lower():
            kind = "MD5" if digest.name == "md5" else "SHA-256"
            raise ChecksumError(f"The file downloaded from {url} has {kind} {got}, but {sha256} was "
                                f"expected; it was discarded. Check the origin, or place a correct copy at "
                                f"{target}.")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
