"""``python -m lamina.distributed``: the environment, ``[pN]`` prefixes, failing processes (no JAX here)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

from lamina.distributed import launch, main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_each_process_gets_the_job_environment_and_a_prefix():
    out = io.StringIO()
    code = launch(3, ["-c", "import os; e = os.environ; print(e['KERAS_DISTRIBUTION_PROCESS_ID'], "
                      "e['KERAS_DISTRIBUTION_NUM_PROCESSES'], e['KERAS_DISTRIBUTION_JOB_ADDRESSES'])"], stdout=out)
    assert code == 0
    lines = sorted(out.getvalue().splitlines())
    assert [line.split()[:3] for line in lines] == [["[p0]", "0", "3"], ["[p1]", "1", "3"], ["[p2]", "2", "3"]]
    assert len({line.split()[3] for line in lines}) == 1 and lines[0].split()[3].startswith("127.0.0.1:")


def test_a_failing_process_stops_the_others_and_sets_the_exit_code():
    out = io.StringIO()
    started = time.monotonic()
    code = launch(2, ["-c", "import os, sys, time\nif os.environ['KERAS_DISTRIBUTION_PROCESS_ID'] == '1': "
                      "sys.exit(7)\ntime.sleep(60)"], stdout=out)
    assert code == 7 and time.monotonic() - started < 30
    assert "process 1 exited with status 7; stopped the others" in out.getvalue()


def test_the_job_timeout_and_the_command_line(capsys):
    out = io.StringIO()
    assert launch(1, ["-c", "import time; time.sleep(60)"], stdout=out, timeout_s=1) == 124
    assert main(["--help"]) == 0 and "--processes N" in capsys.readouterr().out
    assert main(["--bogus", "x.py"]) == 2 and "unknown option --bogus" in capsys.readouterr().err
    run = subprocess.run([sys.executable, "-m", "lamina.distributed", "--processes=2", "-c", "print('hi')"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert run.returncode == 0 and sorted(run.stdout.split("\n")[:2]) == ["[p0] hi", "[p1] hi"]
