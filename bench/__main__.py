"""``python -m bench``: run every case for every framework, each in a fresh subprocess, and write the report.

>>> from bench.__main__ import parse_args
>>> parse_args(["--quick"]).repeats
1
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cases import Case, select_cases
from bench.runners.common import PREFIX

ROOT = Path(__file__).resolve().parent.parent
RUNNERS = {name: f"bench.runners.{name}_runner" for name in ("lamina", "keras", "jax", "torch")}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; ``--quick`` means one repeat (unless ``--repeats`` is given) and fewer samples."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=None, help="comma-separated case names or patterns (default: all)")
    parser.add_argument("--frameworks", default="lamina,keras,jax,torch", help="comma-separated subset")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per case (default 5; 1 quick)")
    parser.add_argument("--quick", action="store_true", help="1 repeat and fewer samples, for development")
    parser.add_argument("--out", default="BENCHMARKS.md", help="markdown report path (JSON and PNG beside it)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="fit/predict: rounds of one process per framework, interleaved (default 3)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per subprocess")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    if args.repeats < 1 or args.rounds < 1:
        parser.error("--repeats and --rounds must be at least 1")
    return args


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["KERAS_BACKEND"] = "jax"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("XLA_FLAGS", None)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)  # compile times are measured from an empty cache
    env.update(extra or {})
    return env


def run_runner(framework: str, case: Case, repeats: int, quick: bool, timeout: float,
               env: dict[str, str] | None = None, extra_args: list[str] | None = None) -> dict[str, Any]:
    """Run one runner subprocess and return its parsed result (``error`` set when it failed)."""
    cmd = [sys.executable, "-m", RUNNERS[framework], "--case", case.name, "--repeats", str(repeats),
           *(["--quick"] if quick else []), *(extra_args or [])]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=_env(env), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"results": {}, "error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(PREFIX):
            result = json.loads(line[len(PREFIX):])
            if proc.returncode and not result.get("error"):
                result["error"] = f"exit status {proc.returncode}"
            return result
    return {"results": {}, "error": f"exit status {proc.returncode}: {_first_error(proc.stderr or proc.stdout)}"}


def _first_error(text: str) -> str:
    """The most telling line of a crashed runner's output: a Python exception or XLA's fatal check."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(("F0", "E0")) or "Check failed" in line or "Error" in line.split(":")[0]:
            return line[:300]
    return " | ".join(lines[-2:])[:300]


def _merge(into: dict[str, Any], result: dict[str, Any]) -> None:
    for label, times in result.get("results", {}).items():
        into["results"].setdefault(label, []).extend(times)
    for key in ("notes",):
        for note in result.get(key) or []:
            if note not in into[key]:
                into[key].append(note)
    if result.get("error"):
        into["errors"].append(result["error"])
    if result.get("skipped") and result["skipped"] not in into["skipped"]:
        into["skipped"].append(result["skipped"])


def _empty() -> dict[str, Any]:
    return {"results": {}, "notes": [], "errors": [], "skipped": []}


def run_case(case: Case, frameworks: list[str], repeats: int, quick: bool, timeout: float, rounds: int = 3
             ) -> dict[str, dict[str, Any]]:
    """All repeats of one case, per framework, with the frameworks interleaved so that drift of the machine
    falls on all of them alike.

    fit/predict cases run ``rounds`` rounds; each round starts one process per framework that warms up and
    times its share of the repeats. import/compile cases start a fresh process per repeat and framework,
    round-robin, after one untimed warm-up process each (it warms the OS file cache).
    """
    outs = {fw: _empty() for fw in frameworks}
    if case.max_repeats is not None and repeats > case.max_repeats:
        for out in outs.values():
            out["notes"].append(f"{case.max_repeats} timed repeats (a slow case), not {repeats}")
        repeats = case.max_repeats
    live = list(frameworks)
    if "torch" in live and importlib.util.find_spec("torch") is None:
        outs["torch"]["skipped"].append("torch is not installed (pip install 'torch==2.13.0', the CPU build)")
        live.remove("torch")

    def run(framework: str, count: int, env: dict[str, str] | None = None,
            extra_args: list[str] | None = None, timed_run: bool = True) -> None:
        result = run_runner(framework, case, count, quick, timeout, env, extra_args)
        if timed_run or result.get("error") or result.get("skipped"):
            _merge(outs[framework], result)
        if result.get("error") or result.get("skipped"):
            live.remove(framework)

    if case.options.get("data_parallel"):
        count = int(case.options["data_parallel"])
        flags = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={count}"}
        for framework in list(live):
            run(framework, repeats)
            if framework in live:
                run(framework, repeats, flags, ["--data-parallel", str(count)])
        return outs
    if not case.fresh_process_per_repeat:
        rounds = max(1, min(rounds, repeats))
        for _ in range(rounds):
            for framework in list(live):
                run(framework, -(-repeats // rounds))
        return outs
    for i in range(repeats + 1):
        for framework in list(live):
            with tempfile.TemporaryDirectory(prefix="lamina-bench-cache-") as cache:
                env = {"HOME": cache, "XDG_CACHE_HOME": cache}
                run(framework, 1, env if case.kind == "compile" else None, timed_run=i > 0)
    if case.kind == "compile" and "lamina" in live:
        _merge(outs["lamina"], _warm_cache_compile(case, quick, repeats, timeout))
    return outs


def _warm_cache_compile(case: Case, quick: bool, repeats: int, timeout: float) -> dict[str, Any]:
    """lamina's compile time on a second run of the same script: its own persistent cache, if it has one."""
    out = _empty()
    with tempfile.TemporaryDirectory(prefix="lamina-bench-cache-") as cache:
        env = {"HOME": cache, "XDG_CACHE_HOME": cache}
        for i in range(repeats + 1):
            result = run_runner("lamina", case, 1, quick, timeout, env)
            if i == 0:
                continue
            times = [t for values in result.get("results", {}).values() for t in values]
            result["results"] = {"lamina, 2nd run (persistent cache)": times} if times else {}
            _merge(out, result)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the selected cases and frameworks, print progress, write the markdown, JSON and PNG reports."""
    from bench import report

    args = parse_args(argv)
    cases = select_cases(args.cases)
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = sorted(set(frameworks) - set(RUNNERS))
    if unknown:
        raise SystemExit(f"bench: unknown framework(s) {unknown}; choose from {sorted(RUNNERS)}")
    if "torch" in frameworks and importlib.util.find_spec("torch") is None:
        print("bench: torch is not installed; PyTorch rows are skipped (pip install 'torch==2.13.0')", file=sys.stderr)
    started = time.time()
    records = []
    for case in cases:
        chosen = [f for f in case.frameworks if f in frameworks]
        if not chosen:
            continue
        t0 = time.perf_counter()
        print(f"bench: {case.name:<14} {', '.join(chosen)} ...", file=sys.stderr, flush=True)
        results = run_case(case, chosen, args.repeats, args.quick, args.timeout, args.rounds)
        for framework, result in results.items():
            summary = ", ".join(f"{k} {report.median(v):.3f} s" for k, v in result["results"].items())
            problems = "; ".join(result["errors"] + result["skipped"])
            print(f"bench:   {framework:<7} {'; '.join(filter(None, [summary, problems]))}", file=sys.stderr,
                  flush=True)
            records.append({"case": case.name, "framework": framework, **result})
        print(f"bench:   ({time.perf_counter() - t0:.0f} s wall)", file=sys.stderr, flush=True)
    meta = report.machine_info(args, started)
    out = Path(args.out)
    report.write(records, cases, meta, out, with_plot=not args.no_plot)
    print(f"bench: wrote {out}" + ("" if args.no_plot else f" and {out.with_suffix('.png')}"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
