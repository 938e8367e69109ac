"""Smoke test of the benchmark harness: one tiny case for lamina and the JAX loop, and the report renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report
from bench.__main__ import main, parse_args
from bench.cases import CASES, make_data, select_cases


def test_cases_and_data_are_deterministic() -> None:
    x1, y1 = make_data("dense3d", 3)
    x2, y2 = make_data("dense3d", 3)
    assert x1.shape == (3, 32, 32, 3) and y1.shape == (3, 32, 32)
    assert (x1 == x2).all() and (y1 == y2).all()
    assert "smoke" not in [c.name for c in select_cases(None)]
    assert parse_args([]).repeats == 5 and parse_args(["--quick"]).repeats == 1


def test_report_renders_without_running() -> None:
    records = [
        {"case": "mlp_b32", "framework": "lamina", "results": {"lamina": [1.0, 3.0, 2.0]}, "notes": [], "errors": [],
         "skipped": []},
        {"case": "mlp_b32", "framework": "jax", "results": {"jax step": [1.5], "jax scan": [1.8]}, "notes": [],
         "errors": [], "skipped": []},
        {"case": "mlp_b32", "framework": "torch", "results": {}, "notes": [], "errors": [],
         "skipped": ["torch is not installed"]},
    ]
    meta = {"date": "2026-01-01 00:00", "cpu": "cpu", "cores": 2, "platform": "linux", "python": "3.11",
            "versions": dict.fromkeys(("jax", "jaxlib", "keras", "optax", "numpy", "torch", "lamina"), "0"),
            "repeats": 3, "quick": True, "command": "python -m bench"}
    text = report.markdown(records, [CASES["mlp_b32"]], meta)
    assert "| mlp_b32 | 2.00 s | - | 1.50 s (0.75x) | - |" in text
    assert "skipped: torch is not installed" in text


@pytest.mark.slow
def test_harness_runs_lamina_and_jax(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    assert main(["--cases", "smoke", "--frameworks", "lamina,jax", "--repeats", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert "# lamina benchmarks" in text and "| smoke | lamina |" in text and "| smoke | jax step |" in text
    records = json.loads(out.with_suffix(".json").read_text())["records"]
    for record in records:
        assert not record["errors"], record
        assert all(len(times) == 1 and times[0] > 0 for times in record["results"].values())
    assert out.with_suffix(".png").stat().st_size > 1000
