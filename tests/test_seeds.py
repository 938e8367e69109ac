"""Every seed example prints its expected output byte for byte (copies of ../shared/seeds live in tests/seeds)."""

import os
import pathlib
import subprocess
import sys

import pytest

SEEDS = pathlib.Path(__file__).parent / "seeds"
ROOT = pathlib.Path(__file__).parent.parent


@pytest.mark.parametrize("script", sorted(SEEDS.glob("seed_*.py")), ids=lambda p: p.stem)
def test_seed_prints_expected_output(script: pathlib.Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout == (SEEDS / f"{script.stem}.txt").read_text()
