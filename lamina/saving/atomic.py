"""Crash-safe file replacement: write a temporary file in the target's folder, fsync it, then ``os.replace``.

A reader sees either the old complete file or the new complete file, never a partial one. If the process
is killed mid-write (SIGKILL, power loss) the old file is untouched and at most one temporary file is left
behind, named ``.<target name>.<pid>.<random>.lamina-tmp`` in the same folder; any other failure removes it.
The next save into that folder removes such leftovers whose process is gone (or that are older than
``STALE_AFTER_S``), so repeated crashes do not pile up temporary files.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> with atomic_path(os.path.join(folder, "a.txt")) as tmp:
...     _ = open(tmp, "w").write("hi")
>>> sorted(os.listdir(folder))
['a.txt']
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from typing import Any

TEMP_SUFFIX = ".lamina-tmp"
#: A temporary file of lamina's naming this old is a leftover even if its process id is alive again.
STALE_AFTER_S = 6 * 3600
_active: set[str] = set()  # this process's temporary files being written right now


def temp_prefix(target: str) -> str:
    """The prefix of temporary files for ``target`` (for finding leftovers after a crash)."""
    return f".{os.path.basename(target)}."


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_temporaries(folder: str) -> list[str]:
    """Delete the temporary files of lamina's naming in ``folder`` left by saves that were killed.

    A file counts as stale when the process id in its name is not running, or it is older than
    ``STALE_AFTER_S``; files this process is writing are never touched. Returns the removed names.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
            continue
        path = os.path.join(folder, name)
        if path in _active:
            continue
        parts = name[: -len(TEMP_SUFFIX)].rsplit(".", 2)
        pid = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISLNK(info.st_mode):
            continue
        if (pid is not None and not _pid_alive(pid)) or now - info.st_mtime > STALE_AFTER_S:
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed.append(name)
    return removed


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Any, overwrite: bool = True) -> Iterator[str]:
    """Yield a temporary path next to ``target``; on success it is fsynced and moved over ``target``.

    With ``overwrite=False`` an existing ``target`` raises FileExistsError before anything is written.
    """
    target = os.fspath(target)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to '{target}': the folder '{folder}' does not exist.")
    if os.path.isdir(target):
        raise IsADirectoryError(f"Cannot save to '{target}': it is a folder.")
    if not overwrite and os.path.exists(target):
        raise FileExistsError(f"'{target}' already exists; pass overwrite=True to replace it.")
    remove_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(prefix=f"{temp_prefix(target)}{os.getpid()}.", suffix=TEMP_SUFFIX, dir=folder)
    os.close(fd)
    _active.add(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if os.path.exists(target):
            # Keep the permissions of the file being replaced.
            with contextlib.suppress(OSError):
                os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
        _fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        _active.discard(tmp)
