"""Start N local processes of one script with the environment ``lamina.distribution.initialize`` reads.

>>> free_port() > 0
True
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any

__all__ = ["free_port", "launch", "main"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _forward(stream: IO[bytes], prefix: str, out: Any, lock: threading.Lock) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        with lock:
            out.write(f"{prefix}{line}\n")
            out.flush()
    stream.close()


def _stop(procs: Sequence[subprocess.Popen], grace_s: float = 5.0) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace_s
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def launch(processes: int, args: Sequence[str], *, python: str | None = None, port: int | None = None,
           env: dict[str, str] | None = None, stdout: Any = None, timeout_s: float | None = None) -> int:
    """Run ``python args...`` as ``processes`` processes of one job on 127.0.0.1; returns the job's exit code:
    0 when all succeed, else the first failing process's code (the others are stopped then).

    ``timeout_s`` bounds the whole job (the processes are stopped and 124 returned).
    """
    if processes < 1:
        raise ValueError(f"--processes must be at least 1, received {processes}.")
    out = stdout if stdout is not None else sys.stdout
    port = port or free_port()
    lock = threading.Lock()
    procs: list[subprocess.Popen] = []
    threads = []
    for index in range(processes):
        child_env = dict(os.environ if env is None else env)
        child_env.update({"KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}",
                          "KERAS_DISTRIBUTION_NUM_PROCESSES": str(processes),
                          "KERAS_DISTRIBUTION_PROCESS_ID": str(index), "PYTHONUNBUFFERED": "1"})
        proc = subprocess.Popen([python or sys.executable, *args], env=child_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(proc)
        thread = threading.Thread(target=_forward, args=(proc.stdout, f"[p{index}] ", out, lock), daemon=True)
        thread.start()
        threads.append(thread)
    code = 0
    started = time.monotonic()
    try:
        while True:
            codes = [proc.poll() for proc in procs]
            failed = [c for c in codes if c not in (None, 0)]
            if failed:
                code = failed[0]
                break
            if all(c == 0 for c in codes):
                break
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                code = 124
                with lock:
                    out.write(f"lamina.distributed: the job ran past {timeout_s:g} s; stopping it.\n")
                break
            time.sleep(0.1)
    except KeyboardInterrupt:
        code = 130
    finally:
        _stop(procs)
        for thread in threads:
            thread.join(timeout=5)
    if code not in (0, 124, 130):
        with lock:
            which = next(i for i, p in enumerate(procs) if p.returncode == code)
            out.write(f"lamina.distributed: process {which} exited with status {code}; stopped the others.\n")
    return code if code >= 0 else 128 - code  # killed by signal n: 128 + n, as shells report it


USAGE = ("usage: python -m lamina.distributed [--processes N] [--port PORT] [--timeout SECONDS] "
         "script.py [args...]   (or -m module / -c code in place of script.py)")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lamina.distributed --processes N script.py [args...]``; everything from the script on is
    the script's (``-m module`` and ``-c code`` work as with ``python``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    options = {"--processes": 2.0, "--port": 0.0, "--timeout": 0.0}
    aliases = {"-n": "--processes"}
    while argv and argv[0].startswith("--") or argv and argv[0] in aliases:
        if argv[0] in ("--help", "-h"):
            print(USAGE)
            return 0
        name, _, value = argv.pop(0).partition("=")
        name = aliases.get(name, name)
        if name not in options:
            print(f"lamina.distributed: unknown option {name}\n{USAGE}", file=sys.stderr)
            return 2
        if not value:
            if not argv:
                print(f"lamina.distributed: {name} needs a value\n{USAGE}", file=sys.stderr)
                return 2
            value = argv.pop(0)
        try:
            options[name] = float(value)
        except ValueError:
            print(f"lamina.distributed: {name} takes a number, received {value!r}\n{USAGE}", file=sys.stderr)
            return 2
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    return launch(int(options["--processes"]), argv, port=int(options["--port"]) or None,
                  timeout_s=options["--timeout"] or None)


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt
