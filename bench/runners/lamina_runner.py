"""lamina through its Keras-compatible public API, exactly as a user writes it.

``from lamina import layers, models``; ``model.compile(...)``; ``model.fit(x, y, batch_size=..., epochs=1,
verbose=0)``: each timed call is a whole ``fit`` (or ``predict``) call, after a warm-up call.
With ``--data-parallel N`` the model trains under ``lamina.distribution.DataParallel`` (the harness sets
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before JAX starts).
Usage: ``python -m bench.runners.lamina_runner --case mlp_b32 --repeats 5 [--quick]``.
"""

from __future__ import annotations

import time
from typing import Any

from bench.runners.common import emit, fail, parse_args, timed, timed_import


def build_model(model: str) -> Any:
    """The benchmark model as a lamina ``Sequential`` (the same code as the Keras runner's)."""
    from lamina import layers, models

    if model.endswith("_text"):
        import lamina
        from bench.text_models import build_keras_api

        return build_keras_api(model, lamina)
    if model == "mlp":
        return models.Sequential([layers.Input((784,)), layers.Dense(512, activation="relu"),
                                  layers.Dense(10, activation="softmax")])
    if model == "convnet_wide":
        return models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(64, 3, activation="relu"),
                                  layers.Conv2D(128, 3, activation="relu"), layers.Conv2D(256, 3, activation="relu"),
                                  layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    if model == "conv_autoencoder":
        return models.Sequential([layers.Input((28, 28, 1)),
                                  layers.Conv2D(32, 3, activation="relu", padding="same"),
                                  layers.MaxPooling2D(2, padding="same"),
                                  layers.Conv2D(32, 3, activation="relu", padding="same"),
                                  layers.MaxPooling2D(2, padding="same"),
                                  layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same"),
                                  layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same"),
                                  layers.Conv2D(1, 3, activation="sigmoid", padding="same")])
    if model == "dense3d":
        return models.Sequential([layers.Input((32, 32, 3)), layers.Dense(512, activation="relu"),
                                  layers.Dense(10, activation="softmax")])
    return models.Sequential([layers.Input((32, 32, 3)), layers.Conv2D(32, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10, activation="softmax")])


def compiled_model(model: str) -> Any:
    from lamina import utils

    utils.set_random_seed(0)
    m = build_model(model)
    from bench.cases import loss_and_metrics

    loss, metrics = loss_and_metrics(model)
    m.compile(optimizer="adam", loss=loss, metrics=metrics)
    return m


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from bench.cases import CASES, make_data

    case = CASES[args.case]
    if case.kind == "import":
        # ``import lamina`` alone is lazy (about a millisecond); the row users feel imports the layers and models.
        bare = timed_import("import lamina")  # first: a module is imported once per process
        full = bare + timed_import("from lamina import layers, models")
        emit({"lamina": [full], "lamina (import lamina only)": [bare]})
        return
    label = "lamina"
    notes = ["each timed call is a whole fit/predict call, after a warm-up call"]
    if args.data_parallel:
        try:
            from lamina import distribution
        except ImportError:
            emit({}, skipped="lamina.distribution is not available")
            return
        import jax

        devices = jax.devices()
        if len(devices) < args.data_parallel:
            emit({}, skipped=f"only {len(devices)} device(s); XLA_FLAGS did not take effect")
            return
        distribution.set_distribution(distribution.DataParallel(devices=devices[: args.data_parallel]))
        label = f"lamina DataParallel x{args.data_parallel}"
        notes.append(f"{args.data_parallel} forced host-platform CPU devices sharing the machine's cores")
    x, y = make_data(case.model, case.num_samples(args.quick))
    bs = case.batch_size
    if case.kind == "compile":
        m = compiled_model(case.model)
        start = time.perf_counter()
        m.fit(x[:bs], y[:bs], batch_size=bs, epochs=1, verbose=0)
        emit({label: [time.perf_counter() - start]})
        return
    m = compiled_model(case.model)
    if case.kind == "fit":
        times = timed(lambda: m.fit(x, y, batch_size=bs, epochs=1, verbose=0), args.repeats)
    elif case.kind == "predict":
        times = timed(lambda: m.predict(x, batch_size=bs, verbose=0), args.repeats)
    else:
        fail(f"lamina runner: unknown case kind {case.kind!r}")
        return
    emit({label: times}, notes)


if __name__ == "__main__":
    main()
