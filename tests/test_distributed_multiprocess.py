"""Training across 2 and 4 local processes (JAX's multi-controller runtime, gloo collectives on CPU).

Each job runs ``tests/distributed_worker.py`` under ``python -m lamina.distributed``; its losses, weights,
evaluation and predictions must equal a single-process run of the same global batches to 1e-5. One job runs
several cases, to pay the processes' start-up once. Every subprocess has a hard timeout and is killed after.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lamina.distributed import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import distributed_worker as worker  # noqa: E402

pytestmark = pytest.mark.slow

CASES = ["mlp_dp", "mlp_mp", "cnn_dp", "cnn_mp"]
JOBS = {  # name: (processes, forced host devices per process, cases)
    "2x2": (2, 2, [*CASES, "mlp_shard", "files"]),
    "4x1": (4, 1, CASES),
}


def _env(devices: int = 1, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_DISTRIBUTION_", "LAMINA_DISTRIBUTION_"))}
    env.update(KERAS_BACKEND="jax", PYTHONPATH=ROOT, JAX_PLATFORMS="cpu",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", **extra)
    return env


def _kill(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


_JOB_RESULTS: dict[str, tuple[str, str, float]] = {}


def _job(name: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Run job ``name`` once per test session; ``(output folder, launcher output)``."""
    if name not in _JOB_RESULTS:
        processes, devices, cases = JOBS[name]
        out = str(tmp_path_factory.mktemp(f"job_{name}"))
        cmd = [sys.executable, "-m", "lamina.distributed", "--processes", str(processes), "--timeout", "500",
               os.path.join(ROOT, "tests", "distributed_worker.py"), out, *cases]
        started = time.perf_counter()
        # Generous fault timeouts: on a loaded 2-core machine a process can be starved past the 20 s default
        # (the fault tests below set short ones on purpose).
        env = _env(devices, LAMINA_DISTRIBUTION_PEER_TIMEOUT="180", LAMINA_DISTRIBUTION_JOIN_TIMEOUT="300")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=ROOT)
        try:
            text = proc.communicate(timeout=560)[0].decode()
        finally:
            _kill([proc])
        assert proc.returncode == 0, text[-4000:]
        _JOB_RESULTS[name] = (out, text, time.perf_counter() - started)
    out, text, _ = _JOB_RESULTS[name]
    return out, text


_REFERENCES: dict[str, dict[str, np.ndarray]] = {}


def _reference(case: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """The single-process run: one device, no distribution, the same global batches."""
    if case not in _REFERENCES:
        _REFERENCES[case] = worker.run_case(case, str(tmp_path_factory.mktemp("ref")), single=True)
    return _REFERENCES[case]


@pytest.mark.parametrize("job,case", [(job, case) for job, (_, _, cases) in JOBS.items() for case in cases])
def test_processes_match_a_single_process(job, case, tmp_path_factory):
    out, _ = _job(job, tmp_path_factory)
    ref = _reference(case, tmp_path_factory)
    processes = JOBS[job][0]
    for p in range(processes):
        got = np.load(os.path.join(out, f"{case}_p{p}.npz"))
        for key, want in ref.items():  # losses, accuracy, evaluate, predict and every weight
            np.testing.assert_allclose(got[key], want, rtol=1e-5, atol=1e-5, err_msg=f"{job} {case} p{p} {key}")
        if case.endswith("_mp"):  # the Dense kernel really is split over the processes' devices
            assert bool(got["kernel_spans_processes"]), f"{job} {case}: kernel on one process"
            assert "model" in str(got["kernel_spec"])
        elif case.endswith("_dp") or case == "mlp_shard":
            assert "kernel_spans_processes" in got.files


def test_only_process_0_prints_and_writes(tmp_path_factory):
    from lamina import saving

    out, text = _job("2x2", tmp_path_factory)
    epoch_lines = [line for line in text.splitlines() if "Epoch 1/2" in line]
    assert epoch_lines == ["[p0] Epoch 1/2"], text[-3000:]
    assert sum("4/4 - " in line for line in text.splitlines()) == 2  # one summary line per epoch, from p0
    assert not os.path.exists(os.path.join(out, "files_p1")), "process 1 wrote files"
    folder = os.path.join(out, "files_p0")
    assert sorted(os.listdir(folder)) == ["ckpt.keras", "log.csv", "model.keras", "model.weights.h5"]
    ref = _reference("files", tmp_path_factory)
    with open(os.path.join(folder, "log.csv"), encoding="utf-8") as f:
        rows = f.read().splitlines()
    assert rows[0] == "epoch,accuracy,loss,val_accuracy,val_loss" and len(rows) == 3
    np.testing.assert_allclose([float(r.split(",")[2]) for r in rows[1:]], ref["loss"], rtol=1e-5)
    # saved from a model whose Dense kernels were sharded over two processes; loads on this one device
    loaded = saving.load_model(os.path.join(folder, "model.keras"))
    x, _ = worker.data("mlp")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ref["predict"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(saving.load_model(os.path.join(folder, "ckpt.keras")).get_weights()[0], ref["w0"],
                               rtol=1e-5, atol=1e-5)


def _start(processes: int, out: str, case: str, ids: list[int] | None = None, **extra: str
           ) -> list[subprocess.Popen]:
    port = free_port()
    procs = []
    for i in range(processes) if ids is None else ids:
        env = _env(1, KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
                   KERAS_DISTRIBUTION_NUM_PROCESSES=str(processes), KERAS_DISTRIBUTION_PROCESS_ID=str(i), **extra)
        procs.append(subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "distributed_worker.py"), out,
                                       case], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      start_new_session=True, cwd=ROOT))
    return procs


@pytest.mark.parametrize("victim", [1, 0])
def test_a_killed_peer_stops_the_others_with_a_clear_error(victim, tmp_path):
    procs = _start(2, str(tmp_path), "hang", LAMINA_DISTRIBUTION_PEER_TIMEOUT="10")
    try:
        deadline = time.monotonic() + 240
        while not all((tmp_path / f"training_p{i}").exists() for i in range(2)):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "the job did not start"
            time.sleep(0.5)
        time.sleep(2)  # well inside fit
        os.killpg(procs[victim].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        survivor = procs[1 - victim]
        text = survivor.communicate(timeout=60)[0].decode()
        took = time.monotonic() - killed_at
    finally:
        _kill(procs)
    assert took < 60
    if victim == 1:  # the watchdog names the process and the setting to change
        assert survivor.returncode == 75, text[-3000:]
        assert "because process 1 stopped responding for 10 s" in text
        assert "LAMINA_DISTRIBUTION_PEER_TIMEOUT" in text
    else:  # process 0 hosted JAX's coordination service: JAX stops the others itself
        assert survivor.returncode != 0, text[-3000:]
        assert "another task died" in text or "process 0" in text, text[-3000:]


def test_a_process_that_never_joins_gives_a_clear_error(tmp_path):
    procs = _start(2, str(tmp_path), "mlp_dp", ids=[0], LAMINA_DISTRIBUTION_JOIN_TIMEOUT="6")  # no process 1
    try:
        started = time.monotonic()
        text = procs[0].communicate(timeout=60)[0].decode()
    finally:
        _kill(procs)
    assert time.monotonic() - started < 60
    assert procs[0].returncode == 75, text[-3000:]
    assert "could not form the job" in text and "LAMINA_DISTRIBUTION_JOIN_TIMEOUT" in text
