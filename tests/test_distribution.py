"""Data-parallel and model-parallel training on 4 forced CPU devices equals one-device training."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from lamina import distribution, layers, models, utils

    mode = sys.argv[1]
    rng = np.random.default_rng(0)
    x = rng.random((1000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 1000)

    def run(dist):
        utils.set_random_seed(1)
        model = models.Sequential([layers.Dense(512, activation="relu", input_shape=(784,), name="hidden"),
                                   layers.Dense(10, activation="softmax", name="out")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        distribution.set_distribution(dist)
        try:
            # batch 60 does not divide 4 devices evenly in the last batch (1000 = 16 * 60 + 40)
            history = model.fit(x, y, batch_size=60, epochs=2, verbose=0, shuffle=False)
            pred = model.predict(x[:7], verbose=0)
        finally:
            distribution.set_distribution(None)
        return model, history.history["loss"], pred

    single, single_losses, single_pred = run(None)
    if mode == "data":
        dist = distribution.DataParallel()
    else:
        mesh = distribution.DeviceMesh((1, 4), ("batch", "model"))
        layout = distribution.LayoutMap(mesh)
        layout["hidden/kernel"] = (None, "model")
        layout["hidden/bias"] = ("model",)
        dist = distribution.ModelParallel(layout_map=layout, batch_dim_name="batch")
    utils.set_random_seed(1)
    multi, multi_losses, multi_pred = run(dist)
    weights_diff = max(float(np.max(np.abs(a - b))) for a, b in zip(single.get_weights(), multi.get_weights()))
    print(json.dumps({"devices": len(distribution.list_devices()), "single": single_losses, "multi": multi_losses,
                      "weights_diff": weights_diff,
                      "pred_diff": float(np.max(np.abs(single_pred - multi_pred))),
                      "kernel_spec": list(multi.get_layer("hidden").kernel.value.sharding.spec),
                      "kernel_devices": len(multi.get_layer("hidden").kernel.value.sharding.device_set)}))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["data", "model"])
def test_parallel_fit_matches_one_device(mode: str, tmp_path) -> None:
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu",
               PYTHONPATH=os.getcwd())
    run = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["devices"] == 4
    for a, b in zip(result["single"], result["multi"]):
        assert abs(a - b) < 1e-5
    assert result["weights_diff"] < 1e-5
    assert result["pred_diff"] < 1e-5
    assert result["kernel_devices"] == 4
    if mode == "model":
        assert result["kernel_spec"] == [None, "model"]  # the kernel is split along units over 4 devices
    else:
        assert result["kernel_spec"] == []  # replicated


def test_layout_map_rules() -> None:
    from lamina import distribution

    mesh = distribution.DeviceMesh((1,), ("batch",))
    layout = distribution.LayoutMap(mesh)
    layout["dense.*kernel"] = (None, "batch")
    assert layout["dense_1/kernel"] == (None, "batch")
    assert layout["dense_1/bias"] is None
    with pytest.raises(ValueError, match="not a mesh axis"):
        layout["x"] = ("nope",)
    with pytest.raises(ValueError, match="needs 2 devices"):
        distribution.DeviceMesh((2,), ("batch",), devices=distribution.list_devices()[:1])
