"""``get_file``: download a file once into Keras's cache, check its hash, extract archives safely.

Files go to ``<cache_dir>/<cache_subdir>/<fname>`` with ``cache_dir`` defaulting to ``$KERAS_HOME`` or
``~/.keras`` and ``cache_subdir`` to ``"datasets"``, as in Keras, so Keras and lamina share one cache. A download
is streamed into a temporary file next to its destination, checked against ``file_hash`` (SHA-256 or MD5), then
renamed into place: an interrupted or corrupt download never leaves a file that looks complete. Archives are
extracted into a temporary folder renamed into place when done; members whose path or link target would land
outside the target folder are skipped with a warning.

>>> import pathlib, tempfile
>>> cache = pathlib.Path(tempfile.mkdtemp())
>>> (cache / "datasets").mkdir(); _ = (cache / "datasets" / "data.txt").write_text("cached")
>>> pathlib.Path(get_file("data.txt", "http://127.0.0.1:9/data.txt", cache_dir=str(cache))).read_text()
'cached'
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any

__all__ = ["get_file", "hash_file", "validate_file", "extract_archive", "keras_home", "DownloadError"]

_CHUNK = 1 << 16


class DownloadError(OSError):
    """The file could not be fetched from its origin (message: ``URL fetch failure on <url>: <code> -- <reason>``)."""


def keras_home() -> str:
    """Keras's cache root: ``$KERAS_HOME`` or ``~/.keras``."""
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def _hasher(algorithm: str, file_hash: str | None = None) -> Any:
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm in ("md5", "auto"):
        return hashlib.md5()
    raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5', received {algorithm!r}.")


def hash_file(fpath: str | os.PathLike, algorithm: str = "sha256", chunk_size: int = 65535) -> str:
    """The hex SHA-256 (or ``algorithm="md5"``) of a file.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f"; _ = p.write_bytes(b"")
    >>> hash_file(p)[:16]
    'e3b0c44298fc1c14'
    """
    hasher = _hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath: str | os.PathLike, file_hash: str, algorithm: str = "auto", chunk_size: int = 65535) -> bool:
    """Whether a file's hash equals ``file_hash`` (``"auto"``: SHA-256 for 64 hex digits, else MD5)."""
    return hash_file(fpath, _hasher(algorithm, file_hash), chunk_size) == str(file_hash).lower()


def _inside(base: str, path: str) -> bool:
    try:
        return os.path.commonpath([os.path.realpath(path), base]) == base
    except ValueError:
        return False


def _safe_zip_members(archive: zipfile.ZipFile, base: str) -> Iterator[zipfile.ZipInfo]:
    for info in archive.infolist():
        if _inside(base, os.path.join(base, info.filename)):
            yield info
        else:
            warnings.warn(f"Skipping invalid path during archive extraction: '{info.filename}'.", stacklevel=3)


def _safe_tar_members(archive: tarfile.TarFile, base: str) -> Iterator[tarfile.TarInfo]:
    for info in archive:
        target = os.path.join(base, info.name)
        ok = _inside(base, target)
        if ok and info.issym():
            ok = _inside(base, os.path.join(os.path.dirname(target), info.linkname))
        elif ok and info.islnk():
            ok = _inside(base, os.path.join(base, info.linkname))
        if ok and (info.isdev() or info.isfifo()):
            ok = False
        if ok:
            yield info
        else:
            warnings.warn(f"Skipping invalid path during archive extraction: '{info.name}'.", stacklevel=3)


def _extract_into(file_path: str, folder: str, kind: str) -> None:
    base = os.path.realpath(folder)
    if kind == "zip":
        with zipfile.ZipFile(file_path) as archive:
            archive.extractall(base, members=list(_safe_zip_members(archive, base)))
        return
    with tarfile.open(file_path) as archive:
        members = list(_safe_tar_members(archive, base))
        if hasattr(tarfile, "data_filter"):
            archive.extractall(base, members=members, filter="data")
        else:  # pragma: no cover - Python < 3.11.4
            archive.extractall(base, members=members)


def extract_archive(file_path: str | os.PathLike, path: str | os.PathLike = ".",
                    archive_format: str | list[str] | None = "auto") -> bool:
    """Extract a tar (``.tar``, ``.tar.gz``, ``.tar.bz2``...) or zip archive into ``path``.

    Members that would land outside ``path`` (``../x``, absolute paths, links pointing out) are skipped with a
    warning. The archive is first extracted into a temporary folder beside ``path``, then moved into place.

    Returns:
        ``True`` if the file was one of the ``archive_format`` types (``"auto"``: tar then zip) and was extracted.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else ([archive_format] if isinstance(archive_format, str)
                                                                else list(archive_format))
    file_path, path = os.fspath(file_path), os.fspath(path)
    checks = {"tar": tarfile.is_tarfile, "zip": zipfile.is_zipfile}
    for kind in formats:
        if kind not in checks:
            raise ValueError(f"archive_format must be 'auto', 'tar', 'zip' or None, received {kind!r}.")
        if not checks[kind](file_path):
            continue
        parent = os.path.dirname(os.path.abspath(path)) or "."
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=parent)
        try:
            _extract_into(file_path, staging, kind)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)
            os.replace(staging, path)
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError):
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return True
    return False


def _progress(total: int | None) -> Any:
    from lamina.training.progbar import Progbar  # the bar is shared with fit; it has no heavy imports

    return Progbar(total, unit_name="B")


def _download(origin: str, target: str, file_hash: str | None, hash_algorithm: str, timeout: float) -> None:
    """Stream ``origin`` into a temporary file beside ``target``, check size and hash, then rename it."""
    from lamina.config import print_msg

    print_msg(f"Downloading data from {origin}")
    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder)
    hasher = _hasher(hash_algorithm, file_hash) if file_hash is not None else None
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(origin, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                bar = _progress(total)
                received = 0
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    if hasher is not None:
                        hasher.update(chunk)
                    received += len(chunk)
                    bar.update(min(received, total) if total else received)
                if total is not None and received != total:
                    raise DownloadError(f"URL fetch failure on {origin}: None -- the connection closed after "
                                        f"{received} of {total} bytes; nothing was saved. Call get_file again.")
        except urllib.error.HTTPError as err:
            raise DownloadError(f"URL fetch failure on {origin}: {err.code} -- {err.msg}") from err
        except urllib.error.URLError as err:
            raise DownloadError(f"URL fetch failure on {origin}: {getattr(err, 'errno', None)} -- "
                                f"{err.reason}") from err
        except (OSError, ValueError, http.client.HTTPException) as err:
            if isinstance(err, DownloadError):
                raise
            raise DownloadError(f"URL fetch failure on {origin}: None -- {err}") from err
        if hasher is not None and hasher.hexdigest() != file_hash.lower():
            algorithm = hasher.name
            raise ValueError(f"Incomplete or corrupted file detected. The {algorithm} file hash does not match the "
                             f"provided value of {file_hash} (the download from {origin} has {hasher.hexdigest()} "
                             "and was discarded).")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def get_file(fname: str | os.PathLike | None = None, origin: str | None = None, untar: bool = False,
             md5_hash: str | None = None, file_hash: str | None = None, cache_subdir: str = "datasets",
             hash_algorithm: str = "auto", extract: bool = False, archive_format: str | None = "auto",
             cache_dir: str | os.PathLike | None = None, force_download: bool = False) -> str:
    """Download a file from a URL unless it is already in the cache; return its local path.

    Args:
        fname: the local file name (default: the last part of ``origin``'s path). With ``extract=True``, a name
            without extension names the extraction folder.
        origin: the URL of the file.
        untar: deprecated spelling of ``extract=True, archive_format="tar"``.
        md5_hash: deprecated spelling of ``file_hash`` with ``hash_algorithm="md5"``.
        file_hash: the expected SHA-256 or MD5 hex digest; a cached file that differs is downloaded again, a
            download that differs raises ``ValueError`` and is discarded.
        cache_subdir: the folder under ``cache_dir`` (an absolute path is used as it is).
        hash_algorithm: ``"auto"`` (SHA-256 for 64 hex digits, else MD5), ``"sha256"`` or ``"md5"``.
        extract: extract the archive (tar or zip) and return the extraction folder.
        archive_format: ``"auto"``, ``"tar"``, ``"zip"`` or ``None``.
        cache_dir: the cache root; default ``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` if not writable).
        force_download: download even if the file is cached.

    Raises:
        DownloadError: the server could not be reached or answered with an error.
        ValueError: a bad argument, or a download whose hash does not match ``file_hash``.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    from lamina.config import print_msg

    base = os.path.expanduser(os.fspath(cache_dir)) if cache_dir is not None else keras_home()
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if not (os.path.isdir(base) or _can_create(base)) or not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    folder = os.path.join(base, cache_subdir)
    os.makedirs(folder, exist_ok=True)

    provided = fname is not None and os.fspath(fname) != ""
    name = os.fspath(fname) if provided else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'.Please specify the "
                         "`fname` argument.")
    if os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify the file's parent "
                         f"directory, use the `cache_dir` argument. Received: fname={name}")
    if extract or untar:
        if provided and "." in name:
            download_target = os.path.join(folder, name)
            extraction_dir = os.path.join(folder, f"{name[: name.find('.')]}_extracted")
        else:
            extraction_dir = os.path.join(folder, name)
            download_target = os.path.join(folder, f"{name}_archive")
    else:
        download_target = os.path.join(folder, name)

    download = force_download or not os.path.exists(download_target)
    if not download and file_hash is not None and not validate_file(download_target, file_hash, hash_algorithm):
        print_msg(f"A local file was found, but it seems to be incomplete or outdated because the "
                  f"{_hasher(hash_algorithm, file_hash).name} file hash does not match the original value of "
                  f"{file_hash} so we will re-download the data.")
        download = True
    if download:
        _download(origin, download_target, file_hash, hash_algorithm, timeout=60.0)
    if extract or untar:
        if download or not os.path.isdir(extraction_dir):
            if not extract_archive(download_target, extraction_dir, "tar" if untar else archive_format):
                warnings.warn("Could not extract archive.", stacklevel=2)
        return extraction_dir
    return download_target


def _can_create(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        return True
    except OSError:
        return False
