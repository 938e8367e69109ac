"""Helpers shared by the framework runners: the command line, timing and the JSON result line.

A runner is invoked as ``python -m bench.runners.<framework>_runner --case NAME --repeats N [--quick]`` and
prints exactly one line starting with ``BENCH_RESULT `` followed by JSON: ``{"results": {label: [seconds,
...]}, "notes": [...], "skipped": null | reason}``. Only the standard library is imported here.

>>> from bench.runners.common import result_line
>>> result_line({"lamina": [1.0]})[:13]
'BENCH_RESULT '
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

PREFIX = "BENCH_RESULT "


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--case``, ``--repeats``, ``--quick`` and ``--data-parallel N`` (lamina's DataParallel row)."""
    parser = argparse.ArgumentParser(description="Run one benchmark case for one framework.")
    parser.add_argument("--case", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-parallel", type=int, default=0)
    return parser.parse_args(argv)


def result_line(results: dict[str, list[float]], notes: list[str] | None = None, skipped: str | None = None,
                extra: dict[str, Any] | None = None) -> str:
    """The single line the harness parses."""
    payload = {"results": results, "notes": notes or [], "skipped": skipped, "extra": extra or {}}
    return PREFIX + json.dumps(payload)


def emit(results: dict[str, list[float]], notes: list[str] | None = None, skipped: str | None = None,
         extra: dict[str, Any] | None = None) -> None:
    """Print the result line and flush."""
    print(result_line(results, notes, skipped, extra), flush=True)


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed; ``fn`` must block until done."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def timed_import(statement: str) -> float:
    """Seconds to execute an import ``statement`` in this (fresh) interpreter."""
    start = time.perf_counter()
    exec(statement, {})  # noqa: S102 - a fixed import statement chosen by the runner
    return time.perf_counter() - start


def fail(message: str) -> None:
    """Report an error result and exit non-zero."""
    print(PREFIX + json.dumps({"results": {}, "notes": [], "skipped": None, "error": message}), flush=True)
    sys.exit(1)
