"""One process of the multi-process tests (``tests/test_distributed_multiprocess.py``), also run alone.

``python tests/distributed_worker.py OUT [CASE ...]`` joins the job that the ``KERAS_DISTRIBUTION_*``
variables describe (none: a single process, no distribution) and runs each case, writing
``OUT/<case>_p<process>.npz`` with the losses, final weights, evaluation and predictions it saw.
Case ``hang`` trains until killed (the watchdog test); ``fail`` raises in process 1.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from lamina import distribution  # noqa: E402

SAMPLES, BATCH, EPOCHS = 64, 16, 2


def data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    shape = (SAMPLES, 12) if kind == "mlp" else (SAMPLES, 6, 6, 1)
    x = rng.normal(size=shape).astype("float32")
    y = rng.integers(0, 8, size=(SAMPLES,)).astype("int32")
    return x, y


def build(kind: str):  # noqa: ANN201 - a lamina model
    from lamina import layers, models, utils

    utils.set_random_seed(0)
    if kind == "mlp":  # the seed MLP's shape: Dense -> relu Dense -> softmax Dense, smaller
        model = models.Sequential([layers.Input((12,)), layers.Dense(16, activation="relu"),
                                   layers.Dense(8, activation="softmax")])
    else:
        model = models.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(4, 3, activation="relu"),
                                   layers.Flatten(), layers.Dense(8, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def strategy(name: str):  # noqa: ANN201 - a Distribution or None
    if name == "none":
        return None
    if name == "dp":
        return distribution.DataParallel()
    devices = distribution.list_devices()
    model_axis = 2 if len(devices) % 2 == 0 else 1
    mesh = distribution.DeviceMesh((len(devices) // model_axis, model_axis), ("batch", "model"), devices)
    layout = distribution.LayoutMap(mesh)
    layout["dense.*kernel"] = (None, "model")  # the Dense kernels split along their units
    return distribution.ModelParallel(layout_map=layout)


class Shard:
    """Per-process data: each process's rows of every global batch, read by index (a PyDataset's protocol)."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y
        self.rows = distribution.process_rows(BATCH) if distribution.is_multi_process() else slice(0, BATCH)

    def __len__(self) -> int:
        return SAMPLES // BATCH

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo = i * BATCH
        return self.x[lo:lo + BATCH][self.rows], self.y[lo:lo + BATCH][self.rows]

    def __iter__(self):  # noqa: ANN204
        return (self[i] for i in range(len(self)))


def run_case(case: str, out: str, single: bool = False) -> dict[str, np.ndarray]:
    """``<kind>_<strategy>`` (``mlp_dp``, ``cnn_mp``, ...), ``mlp_shard`` (per-process data) or ``files``."""
    from lamina import callbacks

    kind, _, how = case.partition("_")
    if case == "files":
        kind, how = "mlp", "mp"
    distribution.set_distribution(None if single else strategy("dp" if how == "shard" else how))
    try:
        x, y = data(kind)
        model = build(kind)
        cbs = []
        if case == "files":  # a folder per process: only process 0's may appear
            import jax

            out = os.path.join(out, f"files_p{jax.process_index()}")
            if distribution.is_writing_process():
                os.makedirs(out, exist_ok=True)
            cbs = [callbacks.CSVLogger(os.path.join(out, "log.csv")),
                   callbacks.ModelCheckpoint(os.path.join(out, "ckpt.keras"))]
        if how == "shard":
            history = model.fit(Shard(x, y), epochs=EPOCHS, verbose=0)
        else:
            history = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=2 if case == "files" else 0,
                                callbacks=cbs)
        result = {"loss": np.asarray(history.history["loss"]),
                  "accuracy": np.asarray(history.history["accuracy"]),
                  "evaluate": np.asarray(model.evaluate(Shard(x, y), verbose=0) if how == "shard" else
                                         model.evaluate(x, y, batch_size=BATCH, verbose=0)),
                  "predict": model.predict(x, batch_size=BATCH, verbose=0)}
        for i, w in enumerate(model.get_weights()):
            result[f"w{i}"] = w
        if not single and distribution.is_multi_process():  # how the training state is laid out
            keys = model._trainable_keys()[0]
            dense = next(i for i, key in enumerate(keys) if "dense" in key and "kernel" in key)
            kernel = model._read_state().trainable_variables[dense]
            result["kernel_spec"] = np.asarray(str(kernel.sharding.spec))
            result["kernel_spans_processes"] = np.asarray(not kernel.is_fully_addressable)
        if case == "files":
            model.save(os.path.join(out, "model.keras"))
            model.save_weights(os.path.join(out, "model.weights.h5"))
    finally:
        distribution.set_distribution(None)
    return result


def main(argv: list[str]) -> int:
    out, cases = argv[0], argv[1:]
    if os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES"):
        distribution.initialize()
    import jax

    me = jax.process_index()
    print(f"process {me} of {jax.process_count()}: {jax.local_device_count()} local, {jax.device_count()} "
          "devices", flush=True)
    for case in cases:
        started = time.perf_counter()
        if case == "hang":
            model, (x, y) = build("mlp"), data("mlp")
            distribution.set_distribution(distribution.DataParallel())
            open(os.path.join(out, f"training_p{me}"), "w").close()
            while True:
                model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        if case == "fail":
            if me == 1:
                raise RuntimeError("process 1 fails on purpose")
            time.sleep(120)
            continue
        result = run_case(case, out)
        np.savez(os.path.join(out, f"{case}_p{me}.npz"), **result)
        print(f"{case}: {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
