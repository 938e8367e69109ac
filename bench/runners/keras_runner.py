"""Keras 3 on the JAX backend, used exactly as its documentation shows (``compile`` then ``fit``/``predict``).

Usage: ``python -m bench.runners.keras_runner --case mlp_b32 --repeats 5 [--quick]``.
"""

from __future__ import annotations

import os
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

from bench.runners.common import emit, fail, parse_args, timed, timed_import  # noqa: E402


def build_model(model: str) -> Any:
    """The benchmark model as a Keras ``Sequential`` (softmax output, like the seed scripts)."""
    from keras import Input, Sequential, layers

    if model.endswith("_text"):
        import keras

        from bench.text_models import build_keras_api

        return build_keras_api(model, keras)
    if model == "mlp":
        return Sequential([Input((784,)), layers.Dense(512, activation="relu"),
                           layers.Dense(10, activation="softmax")])
    if model == "convnet_wide":
        return Sequential([Input((28, 28, 1)), layers.Conv2D(64, 3, activation="relu"),
                           layers.Conv2D(128, 3, activation="relu"), layers.Conv2D(256, 3, activation="relu"),
                           layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    if model == "conv_autoencoder":
        return Sequential([Input((28, 28, 1)),
                           layers.Conv2D(32, 3, activation="relu", padding="same"),
                           layers.MaxPooling2D(2, padding="same"),
                           layers.Conv2D(32, 3, activation="relu", padding="same"),
                           layers.MaxPooling2D(2, padding="same"),
                           layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same"),
                           layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same"),
                           layers.Conv2D(1, 3, activation="sigmoid", padding="same")])
    if model == "dense3d":
        return Sequential([Input((32, 32, 3)), layers.Dense(512, activation="relu"),
                           layers.Dense(10, activation="softmax")])
    return Sequential([Input((32, 32, 3)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                       layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                       layers.Dense(10, activation="softmax")])


def compiled_model(model: str) -> Any:
    import keras

    keras.utils.set_random_seed(0)
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
        bare = timed_import("import keras")  # first: a module is imported once per process
        full = bare + timed_import("from keras import layers, models")
        emit({"keras": [full], "keras (import keras only)": [bare]})
        return
    x, y = make_data(case.model, case.num_samples(args.quick))
    bs = case.batch_size
    if case.kind == "compile":
        m = compiled_model(case.model)
        start = time.perf_counter()
        m.fit(x[:bs], y[:bs], batch_size=bs, epochs=1, verbose=0)
        emit({"keras": [time.perf_counter() - start]})
        return
    m = compiled_model(case.model)
    if case.kind == "fit":
        times = timed(lambda: m.fit(x, y, batch_size=bs, epochs=1, verbose=0), args.repeats)
    elif case.kind == "predict":
        times = timed(lambda: m.predict(x, batch_size=bs, verbose=0), args.repeats)
    else:
        fail(f"keras runner: unknown case kind {case.kind!r}")
        return
    emit({"keras": times}, ["each timed call is a whole fit/predict call, after a warm-up call"])


if __name__ == "__main__":
    main()
