"""PyTorch (CPU build) training loops: the idiomatic ``zero_grad / backward / step`` loop.

Threads are set to the machine's core count (a case's ``torch_threads`` option overrides it). The data are
tensors made once from the same NumPy arrays; each epoch draws a ``randperm`` and indexes its batches; loss
and accuracy accumulate as tensors and are read once per epoch. Skipped with a message when torch is not installed.
Usage: ``python -m bench.runners.torch_runner --case mlp_b32 --repeats 5 [--quick]``.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from bench.runners.common import emit, fail, parse_args, timed, timed_import


def build_model(model: str) -> Any:
    """The benchmark model in PyTorch (logits out; the softmax lives in ``cross_entropy``)."""
    from torch import nn

    if model.endswith("_text"):
        from bench.text_models import build_torch

        return build_torch(model)
    if model == "convnet_wide":
        return nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU(), nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Conv2d(128, 256, 3),
                             nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10))
    if model == "conv_autoencoder":  # logits out; the sigmoid lives in the loss
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                             nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                             nn.Conv2d(32, 1, 3, padding=1))
    if model in ("mlp", "dense3d"):
        return nn.Sequential(nn.Linear(784 if model == "mlp" else 3, 512), nn.ReLU(), nn.Linear(512, 10))
    return nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 6 * 64, 10))


def to_tensors(model: str, x: Any, y: Any) -> tuple[Any, Any]:
    import numpy as np
    import torch

    if y.dtype == np.float32 and x.ndim == 2:  # token ids and binary targets (bench/text_models.py)
        return torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y)
    if x.ndim == 4:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # NCHW, PyTorch's native layout
    if y.dtype == np.float32 and x.ndim == 4:  # an autoencoder's target: its input
        return torch.from_numpy(x), torch.from_numpy(x.copy())
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


def run_fit(model: str, x: Any, y: Any, batch_size: int, repeats: int) -> list[float]:
    import torch
    import torch.nn.functional as F

    net = build_model(model)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    n = len(x)

    def epoch() -> float:
        net.train()
        perm = torch.randperm(n)
        loss_sum = torch.zeros(())
        correct = torch.zeros((), dtype=torch.int64)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            logits = net(xb)
            if model == "dense3d":
                logits = logits.permute(0, 3, 1, 2)  # classes on axis 1 for cross_entropy
            if yb.is_floating_point():
                loss = F.binary_cross_entropy_with_logits(logits, yb)
            else:
                loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(idx)
                if not yb.is_floating_point():
                    correct += (logits.argmax(1) == yb).sum()
        return float(loss_sum) / n

    return timed(epoch, repeats)


def run_predict(model: str, x: Any, batch_size: int, repeats: int) -> list[float]:
    import torch

    net = build_model(model).eval()

    def predict() -> Any:
        with torch.inference_mode():
            outs = [torch.softmax(net(x[s:s + batch_size]), -1) for s in range(0, len(x), batch_size)]
            return torch.cat(outs).numpy()

    return timed(predict, repeats)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if importlib.util.find_spec("torch") is None:
        emit({}, skipped="torch is not installed (pip install 'torch==2.13.0', the CPU build)")
        return
    from bench.cases import CASES, make_data

    case = CASES[args.case]
    if case.kind == "import":
        emit({"torch": [timed_import("import torch")]})
        return
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(case.options.get("torch_threads") or os.cpu_count() or 1)
    x, y = to_tensors(case.model, *make_data(case.model, case.num_samples(args.quick)))
    notes = [f"torch {torch.__version__}, {torch.get_num_threads()} threads"]
    if case.kind == "fit":
        emit({"torch": run_fit(case.model, x, y, case.batch_size, args.repeats)}, notes)
    elif case.kind == "predict":
        emit({"torch": run_predict(case.model, x, case.batch_size, args.repeats)}, notes)
    else:
        fail(f"torch runner: case kind {case.kind!r} does not apply to PyTorch")


if __name__ == "__main__":
    main()
