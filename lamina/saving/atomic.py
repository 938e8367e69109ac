"""Crash-safe file replacement: write a temporary file in the target's folder, fsync it, then ``os.replace``.

A reader sees either the old complete file or the new complete file, never a partial one. If the process
is killed mid-write (SIGKILL, power loss) the old file is untouched and at most one temporary file is left
behind, named ``.<target name>.<random>.lamina-tmp`` in the same folder; any other failure removes it.

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
import tempfile
from collections.abc import Iterator
from typing import Any

TEMP_SUFFIX = ".lamina-tmp"


def temp_prefix(target: str) -> str:
    """The prefix of temporary files for ``target`` (for finding leftovers after a crash)."""
    return f".{os.path.basename(target)}."


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
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=TEMP_SUFFIX, dir=folder)
    os.close(fd)
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
