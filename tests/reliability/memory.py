"""Run a piece of Python in a subprocess under a memory cap, and measure how much memory it added.

A crafted file that makes a loader allocate gigabytes must fail the test, not the machine: the child sets
``RLIMIT_AS`` to its own size after imports plus ``cap_mb`` before running the code, and reports its peak
resident memory above the level it had before the code ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

_PRELUDE = """
import json, os, resource, sys, traceback
os.environ.setdefault("JAX_PLATFORMS", "cpu")
import numpy as np
import jax, jax.numpy as jnp
import lamina
jnp.zeros(1).block_until_ready()  # JAX's runtime up before measuring

def _status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0

_base_rss = _status("VmRSS")
_cap = int(sys.argv[1]) << 20
resource.setrlimit(resource.RLIMIT_AS, (_status("VmSize") + _cap, resource.RLIM_INFINITY))
_result = {"error": None, "error_type": None}
try:
{code}
except BaseException as e:  # noqa: BLE001 - reported to the parent
    _result["error"] = str(e)
    _result["error_type"] = type(e).__name__
    _result["traceback"] = traceback.format_exc()
_result["added_mb"] = (_status("VmHWM") - _base_rss) / 2**20
print("RESULT" + json.dumps(_result))
"""


@dataclass
class Limited:
    """What the child did: the exception it raised (if any) and the peak memory it added (MiB)."""

    error: str | None
    error_type: str | None
    added_mb: float
    output: str


def run_limited(code: str, cap_mb: int = 512, timeout: float = 240) -> Limited:
    """Run ``code`` (Python source, may use ``lamina``/``np``) in a child capped at ``cap_mb`` MiB more memory."""
    source = _PRELUDE.replace("{code}", textwrap.indent(textwrap.dedent(code), "    "))
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}
    proc = subprocess.run([sys.executable, "-c", source, str(cap_mb)], capture_output=True, text=True,
                          timeout=timeout, env=env)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
    if line is None:  # killed by the cap (or crashed) before reporting
        return Limited("child died: " + proc.stderr[-2000:], "ChildDied", float("inf"), proc.stdout + proc.stderr)
    data = json.loads(line[len("RESULT"):])
    return Limited(data["error"], data["error_type"], data["added_mb"], proc.stdout + proc.stderr)
