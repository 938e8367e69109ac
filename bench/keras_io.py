"""Run keras-io example scripts unchanged under lamina and under Keras, offline, and tabulate the outcome.

Each example runs in its own subprocess (``--child``) for each framework. Under ``lamina`` a meta-path alias
makes ``import keras`` / ``from keras import layers`` resolve to ``lamina``; under ``keras`` the real package
runs with ``KERAS_BACKEND=jax``. Downloads are replaced by small synthetic data of the real shapes
(``keras.datasets.*.load_data``, ``keras.utils.get_file`` for the URLs in ``URL_FAKES``, ``np.loadtxt`` or
``pandas.read_csv`` of a URL); any other network access fails as a skip. ``fit`` runs one epoch on at
most ``--train`` samples. Examples needing a module that is not installed (tensorflow, pandas,
keras_nlp...) are skipped with the reason; notebook-only helpers (IPython.display, tqdm, ipywidgets,
imageio) get do-nothing stubs.

Usage::

    python -m bench.keras_io SRC_DIR [--only NAME ...] [--frameworks lamina,keras] [--train 256]
        [--timeout 300] [--markdown out.md] [--json out.json] [--logs DIR]

>>> missing_modules("import numpy\\nimport surely_not_installed_xyz\\n")
['surely_not_installed_xyz']
"""

from __future__ import annotations

import argparse
import ast
import importlib.abc
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import types
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

PREFIX = "KIO_RESULT "
MODEL_PREFIX = "KIO_MODEL "
FRAMEWORKS = ("lamina", "keras")
STUBBED = ("IPython", "tqdm", "ipywidgets", "imageio")
REPO_ROOT = Path(__file__).resolve().parent.parent


class NoFake(RuntimeError):
    """A download the runner has no offline stand-in for (reported as a skip)."""


# ---------------------------------------------------------------- import alias and stubs (child side)


class KerasToLamina(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Meta-path finder: ``keras`` and ``keras.x.y`` are the modules ``lamina`` and ``lamina.x.y``."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname == "keras" or fullname.startswith("keras."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: Any) -> types.ModuleType:
        return importlib.import_module("lamina" + spec.name[len("keras"):])

    def exec_module(self, module: types.ModuleType) -> None:
        """The lamina module is already executed."""


class _Anything:
    """A do-nothing stand-in for widget and display objects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> _Anything:
        return _Anything()

    def __getattr__(self, name: str) -> _Anything:
        return _Anything()


def _tqdm(iterable: Any = None, *args: Any, **kwargs: Any) -> Any:
    return iterable if iterable is not None else []


def install_stubs() -> list[str]:
    """Install stubs for the notebook helpers that are not installed; return their names."""
    installed = []
    for name in STUBBED:
        if importlib.util.find_spec(name) is not None:
            continue
        module = types.ModuleType(name)
        module.__getattr__ = lambda attr: _Anything()  # type: ignore[method-assign]
        if name == "tqdm":
            module.tqdm = _tqdm  # type: ignore[attr-defined]
        sys.modules[name] = module
        if name == "IPython":  # matplotlib asks an imported IPython for these
            module.version_info = (0, 0, 0)  # type: ignore[attr-defined]
            module.get_ipython = lambda: None  # type: ignore[attr-defined]
            display = types.ModuleType("IPython.display")
            display.__getattr__ = lambda attr: _Anything()  # type: ignore[method-assign]
            module.display = display  # type: ignore[attr-defined]
            sys.modules["IPython.display"] = display
        installed.append(name)
    return installed


def missing_modules(source: str) -> list[str]:
    """Top-level modules the script imports that are neither installed nor stubbed (``keras`` excluded)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    names -= {"keras", *STUBBED}
    return sorted(n for n in names if importlib.util.find_spec(n) is None)


# ---------------------------------------------------------------- synthetic data


def _rng() -> Any:
    import numpy as np

    return np.random.default_rng(0)


def _images(n: int, shape: tuple[int, ...], classes: int, label_shape: tuple[int, ...] = ()) -> tuple:
    import numpy as np

    rng = _rng()
    x = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    y = (np.arange(n) % classes).astype(np.uint8).reshape((n, *label_shape))
    return x, y


def _sequences(n: int, num_words: int | None, classes: int) -> tuple:
    import numpy as np

    rng = _rng()
    top = num_words or 5000
    x = np.empty(n, dtype=object)
    for i in range(n):
        x[i] = [1] + rng.integers(2, top, size=int(rng.integers(20, 300))).tolist()
    return x, (np.arange(n) % classes).astype(np.int64)


def dataset_fakes(n_train: int, n_test: int) -> dict[str, Callable[..., tuple]]:
    """``load_data`` stand-ins by dataset module name, with the real per-sample shapes and dtypes."""
    import numpy as np

    def split(make: Callable[[int], tuple]) -> Callable[..., tuple]:
        return lambda *args, **kwargs: (make(n_train), make(n_test))

    def cifar100(label_mode: str = "fine", **kwargs: Any) -> tuple:
        classes = 100 if label_mode == "fine" else 20
        return _images(n_train, (32, 32, 3), classes, (1,)), _images(n_test, (32, 32, 3), classes, (1,))

    def seqs(classes: int) -> Callable[..., tuple]:
        def load(path: str = "", num_words: int | None = None, **kwargs: Any) -> tuple:
            return _sequences(n_train, num_words, classes), _sequences(n_test, num_words, classes)
        return load

    def regression(features: int) -> Callable[..., tuple]:
        def make(n: int) -> tuple:
            rng = _rng()
            return rng.normal(size=(n, features)).astype(np.float64), rng.normal(size=(n,)).astype(np.float64)
        return split(make)

    return {
        "mnist": split(lambda n: _images(n, (28, 28), 10)),
        "fashion_mnist": split(lambda n: _images(n, (28, 28), 10)),
        "cifar10": split(lambda n: _images(n, (32, 32, 3), 10, (1,))),
        "cifar100": cifar100,
        "imdb": seqs(2),
        "reuters": seqs(46),
        "boston_housing": regression(13),
        "california_housing": regression(8),
    }


def _fra_eng(folder: Path, n: int) -> Path:
    rng = _rng()
    words = ["go", "run", "hello", "stop", "wait", "come", "help", "jump", "cours", "salut", "attends", "viens"]
    lines = [" ".join(rng.choice(words, size=int(rng.integers(1, 4)))) + ".\t"
             + " ".join(rng.choice(words, size=int(rng.integers(1, 5)))) + " !\tCC-BY 2.0" for _ in range(n)]
    text = "\n".join(lines) + "\n"
    (folder / "fra.txt").write_text(text, encoding="utf-8")
    path = folder / "fra-eng.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("fra.txt", text)
    return path


def _moving_mnist(folder: Path, n: int) -> Path:
    import numpy as np

    path = folder / "moving_mnist.npy"
    np.save(path, _rng().integers(0, 256, size=(20, min(n, 64), 64, 64), dtype=np.uint8))
    return path


def _forda(name: str) -> Callable[[Path, int], Path]:
    def write(folder: Path, n: int) -> Path:
        import numpy as np

        rng = _rng()
        labels = np.where(np.arange(n) % 2 == 0, -1.0, 1.0)[:, None]
        data = np.concatenate([labels, rng.normal(size=(n, 500))], axis=1)
        path = folder / name
        np.savetxt(path, data, delimiter="\t", fmt="%.5f")
        return path
    return write


def _movielens(folder: Path, n: int) -> Path:
    rng = _rng()
    rows = max(n * 8, 2000)
    ratings = ["userId,movieId,rating,timestamp"] + [
        f"{rng.integers(1, 60)},{rng.integers(1, 400)},{rng.integers(1, 11) / 2:.1f},{964982703 + i}"
        for i in range(rows)]
    genres = ["Action", "Comedy", "Drama", "Horror", "Romance"]
    movies = ["movieId,title,genres"] + [f"{m},Movie {m} (19{m % 100:02d}),{genres[m % 5]}|{genres[(m + 2) % 5]}"
                                         for m in range(1, 400)]
    path = folder / "ml-latest-small.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ml-latest-small/ratings.csv", "\n".join(ratings) + "\n")
        archive.writestr("ml-latest-small/movies.csv", "\n".join(movies) + "\n")
    return path


JENA_COLUMNS = ("p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)", "VPmax (mbar)", "VPact (mbar)",
                "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)", "wv (m/s)", "max. wv (m/s)",
                "wd (deg)")


def _jena_climate(folder: Path, n: int) -> Path:
    rng = _rng()
    rows = 3000  # the example slices 720 past + 72 future steps: it needs a few thousand rows
    lines = ["\"Date Time\"," + ",".join(f"\"{c}\"" for c in JENA_COLUMNS)]
    for i in range(rows):
        day, minute = divmod(i * 10, 24 * 60)
        stamp = f"{day % 28 + 1:02d}.01.2009 {minute // 60:02d}:{minute % 60:02d}:00"
        lines.append(stamp + "," + ",".join(f"{v:.2f}" for v in rng.normal(10.0, 3.0, size=len(JENA_COLUMNS))))
    path = folder / "jena_climate_2009_2016.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("jena_climate_2009_2016.csv", "\n".join(lines) + "\n")
    return path


def _nab(name: str) -> Callable[[Path, int], Path]:
    def write(folder: Path, n: int) -> Path:
        rng = _rng()
        rows = 1200  # the example windows 288 steps
        lines = ["timestamp,value"]
        for i in range(rows):
            day, minute = divmod(i * 5, 24 * 60)
            jump = 60.0 if "jumpsup" in name and 700 <= i < 760 else 0.0  # the anomaly the example finds
            lines.append(f"2014-04-{day % 28 + 1:02d} {minute // 60:02d}:{minute % 60:02d}:00,"
                         f"{20 + 10 * ((i % 288) / 288) + rng.normal() + jump:.4f}")
        path = folder / name
        path.write_text("\n".join(lines) + "\n")
        return path
    return write


# substring of the URL -> writer(folder, n) returning the path the download would have produced
URL_FAKES: dict[str, Callable[[Path, int], Path]] = {
    "fra-eng.zip": _fra_eng,
    "mnist_test_seq.npy": _moving_mnist,
    "FordA_TRAIN.tsv": _forda("FordA_TRAIN.tsv"),
    "FordA_TEST.tsv": _forda("FordA_TEST.tsv"),
    "ml-latest-small.zip": _movielens,
    "jena_climate_2009_2016.csv.zip": _jena_climate,
    "art_daily_small_noise.csv": _nab("art_daily_small_noise.csv"),
    "art_daily_jumpsup.csv": _nab("art_daily_jumpsup.csv"),
}


def fake_download(url: str, folder: Path, n: int) -> str:
    """The local stand-in for ``url``; raises ``NoFake`` when there is none."""
    for key, write in URL_FAKES.items():
        if key in url:
            folder.mkdir(parents=True, exist_ok=True)
            return str(write(folder, n))
    raise NoFake(f"download without an offline fake: {url}")


# ---------------------------------------------------------------- patches (child side)


def _cap(value: Any, n: int) -> Any:
    if isinstance(value, dict):
        return {k: _cap(v, n) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and value and all(hasattr(v, "shape") for v in value):
        return type(value)(_cap(v, n) for v in value)
    if hasattr(value, "shape") and len(getattr(value, "shape", ())) > 0 and value.shape[0] > n:
        return value[:n]
    return value


# examples that slice a dataset at a fixed index get that many fake samples more (fit is still capped)
DATASET_SAMPLES = {"siamese_contrastive": 30000}


def install_patches(package: types.ModuleType, n_train: int, workdir: Path, models: dict[int, list],
                    n_data: int | None = None) -> None:
    """Fake downloads and datasets, cap ``fit`` to one epoch on ``n_train`` samples, record built models."""
    import numpy as np

    n_test = max(n_train // 2, 16)
    for name, fake in dataset_fakes(n_data or n_train, n_test).items():
        try:
            module = importlib.import_module(f"{package.__name__}.datasets.{name}")
        except ImportError:
            continue
        module.load_data = fake  # type: ignore[attr-defined]

    def get_file(fname: Any = None, origin: Any = None, *args: Any, **kwargs: Any) -> str:
        return fake_download(str(origin or fname), workdir / "downloads", n_train)

    package.utils.get_file = get_file  # type: ignore[attr-defined]

    original_loadtxt = np.loadtxt

    def loadtxt(fname: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(fname, str) and "://" in fname:
            fname = fake_download(fname, workdir / "downloads", n_train)
        return original_loadtxt(fname, *args, **kwargs)

    np.loadtxt = loadtxt

    try:  # pandas (not a dependency) reads CSV files straight from URLs in some examples
        import pandas
    except ImportError:
        pandas = None
    if pandas is not None:
        original_read_csv = pandas.read_csv

        def read_csv(source: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(source, str) and "://" in source:
                source = fake_download(source, workdir / "downloads", n_train)
            return original_read_csv(source, *args, **kwargs)

        pandas.read_csv = read_csv

    import urllib.request

    def no_network(url: Any, *args: Any, **kwargs: Any) -> Any:
        raise NoFake(f"network access without an offline fake: {getattr(url, 'full_url', url)}")

    urllib.request.urlopen = no_network  # type: ignore[assignment]
    urllib.request.urlretrieve = no_network  # type: ignore[assignment]

    model_class = package.Model

    def record(model: Any) -> None:
        try:
            count = int(model.count_params())
        except Exception:  # noqa: BLE001 - an unbuilt model has no count yet
            return
        if models.get(id(model)) != [model.name, count]:
            models[id(model)] = [model.name, count]
            print(MODEL_PREFIX + json.dumps([id(model), model.name, count]), flush=True)  # survives a timeout

    original_fit, original_evaluate = model_class.fit, model_class.evaluate

    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        args = list(args)
        if len(args) >= 4:
            args[3] = min(int(args[3]), 1)
        if "epochs" in kwargs:
            kwargs["epochs"] = min(int(kwargs["epochs"]), 1)
        kwargs.pop("initial_epoch", None)
        args = [_cap(a, n_train) if i < 2 else a for i, a in enumerate(args)]
        for key in ("x", "y", "sample_weight"):
            if key in kwargs:
                kwargs[key] = _cap(kwargs[key], n_train)
        if isinstance(kwargs.get("validation_data"), (tuple, list)):
            kwargs["validation_data"] = tuple(_cap(v, n_test) for v in kwargs["validation_data"])
        history = original_fit(self, *args, **kwargs)
        record(self)
        return history

    def evaluate(self: Any, *args: Any, **kwargs: Any) -> Any:
        args = [_cap(a, n_test) if i < 2 else a for i, a in enumerate(args)]
        for key in ("x", "y"):
            if key in kwargs:
                kwargs[key] = _cap(kwargs[key], n_test)
        result = original_evaluate(self, *args, **kwargs)
        record(self)
        return result

    original_compile = model_class.compile

    def compile(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original_compile(self, *args, **kwargs)
        record(self)  # a built model is counted even when its fit later fails or times out
        return result

    model_class.fit, model_class.evaluate, model_class.compile = fit, evaluate, compile
    models["record"] = record  # type: ignore[assignment]


def run_child(framework: str, script: Path, n_train: int) -> dict[str, Any]:
    """Run one example in this process; return the result record (printed by ``main``)."""
    import traceback

    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("MPLBACKEND", "Agg")
    if framework == "lamina":
        sys.meta_path.insert(0, KerasToLamina())
    stubs = install_stubs()
    started = time.perf_counter()
    models: dict[Any, Any] = {}
    result: dict[str, Any] = {"status": "ok", "error": "", "where": "", "stubs": stubs}
    workdir = Path.cwd()
    try:
        package = importlib.import_module("keras")
        result["package"] = str(getattr(package, "__file__", ""))
        install_patches(package, n_train, workdir, models, DATASET_SAMPLES.get(script.stem, 0) + n_train)
        try:
            import matplotlib.pyplot as plt

            plt.show = lambda *args, **kwargs: None
        except ImportError:
            pass
        import runpy

        sys.argv = [str(script)]
        namespace = runpy.run_path(str(script), run_name="__main__")
        record = models["record"]
        for value in namespace.values():
            if isinstance(value, package.Model):
                record(value)
    except NoFake as exc:
        result.update(status="skip", error=str(exc))
    except BaseException as exc:  # noqa: BLE001 - every failure of the example is the result
        frames = traceback.extract_tb(exc.__traceback__)
        in_script = [f for f in frames if f.filename == str(script)]
        last = frames[-1] if frames else None
        message = (str(exc).strip().splitlines() or [""])[0]
        result.update(status="fail", error=f"{type(exc).__name__}: {message}"[:300],
                      where=" <- ".join(f"{Path(f.filename).name}:{f.lineno}"
                                        for f in ([last] if last else []) + in_script[-1:]))
        traceback.print_exc()
    result["models"] = [v for k, v in models.items() if k != "record"]
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


# ---------------------------------------------------------------- parent side


def run_example(framework: str, script: Path, n_train: int, timeout: float, logs: Path | None) -> dict[str, Any]:
    """Run ``script`` under ``framework`` in a fresh subprocess in a temporary folder."""
    env = dict(os.environ, KERAS_BACKEND="jax", MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "bench.keras_io", "--child", framework, str(script.resolve()),
               "--train", str(n_train)]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kio_") as workdir:
        try:
            done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
            stdout, stderr = done.stdout, done.stderr
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            done = None
    seconds = round(time.perf_counter() - started, 1)
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
        (logs / f"{script.stem}.{framework}.log").write_text(stdout[-20000:] + "\n--- stderr ---\n" + stderr[-20000:])
    lines = [line for line in stdout.splitlines() if line.startswith(PREFIX)]
    if lines:
        result = json.loads(lines[-1][len(PREFIX):])
    else:
        seen: dict[int, list] = {}
        for line in stdout.splitlines():
            if line.startswith(MODEL_PREFIX):
                key, name, count = json.loads(line[len(MODEL_PREFIX):])
                seen[key] = [name, count]
        models = list(seen.values())
        if done is None:
            after = " (models built)" if models else ""
            result = {"status": "timeout", "error": f"over {timeout:.0f} s{after}", "models": models}
        else:
            tail = [line for line in stderr.strip().splitlines() if line.strip()]
            result = {"status": "fail", "error": (tail[-1] if tail else f"exit {done.returncode}")[:300],
                      "models": models}
    result["seconds"] = seconds
    return result


def find_examples(source: Path, only: list[str] | None) -> list[Path]:
    """The ``.py`` files under ``source`` (sorted), filtered by substrings of their paths."""
    if source.is_file():
        return [source]
    scripts = sorted(p for p in source.rglob("*.py") if not p.name.startswith("_"))
    if only:
        scripts = [p for p in scripts if any(o in str(p.relative_to(source)) for o in only)]
    return scripts


def run_all(source: Path, frameworks: list[str], n_train: int, timeout: float, only: list[str] | None = None,
            logs: Path | None = None, echo: bool = True, save: Path | None = None,
            resume: bool = False) -> list[dict[str, Any]]:
    """Run every example under every framework; return one row per example.

    ``save`` gets the rows as JSON after each example; with ``resume`` the examples already there are kept.
    """
    rows: list[dict[str, Any]] = []
    done = {r["example"]: r for r in json.loads(save.read_text())} if resume and save and save.exists() else {}
    for script in find_examples(source, only):
        base = source.parent if source.is_file() else source
        row: dict[str, Any] = {"example": str(script.relative_to(base).with_suffix(""))}
        if row["example"] in done:
            rows.append(done[row["example"]])
            continue
        try:
            missing = ["needs " + ", ".join(missing_modules(script.read_text(encoding="utf-8")))]
        except SyntaxError as exc:
            missing = [f"SyntaxError in the example, line {exc.lineno}: {exc.msg}"]
        if missing == ["needs "]:
            missing = []
        for framework in frameworks:
            if missing:
                row[framework] = {"status": "skip", "error": missing[0], "models": [], "seconds": 0.0}
            else:
                row[framework] = run_example(framework, script, n_train, timeout, logs)
        rows.append(row)
        if save is not None:
            save.write_text(json.dumps(rows, indent=1))
        if echo:
            print(format_row(row, frameworks), flush=True)
    return rows


def _cell(result: dict[str, Any]) -> str:
    status = result["status"]
    if status == "ok":
        return "ok"
    return f"{status}: {result.get('error', '')}".replace("|", "/")[:140]


def _params(result: dict[str, Any]) -> str:
    return ", ".join(f"{count:,}" for _, count in result.get("models", [])) or "-"


def same_params(row: dict[str, Any], frameworks: list[str]) -> str:
    """``yes``/``no`` when every framework built models, else ``-``."""
    counts = [[c for _, c in row[f].get("models", [])] for f in frameworks]
    if len(counts) < 2 or not all(counts):
        return "-"
    return "yes" if all(c == counts[0] for c in counts) else "no"


def format_row(row: dict[str, Any], frameworks: list[str]) -> str:
    cells = [row["example"]] + [_cell(row[f]) for f in frameworks] + [_params(row[f]) for f in frameworks]
    cells += [same_params(row, frameworks)] + [f"{row[f]['seconds']:.0f}" for f in frameworks]
    return "| " + " | ".join(cells) + " |"


def markdown(rows: list[dict[str, Any]], frameworks: list[str], n_train: int) -> str:
    """The results table with a summary line."""
    header = (["example"] + frameworks + [f"params {f}" for f in frameworks] + ["same params"]
              + [f"s {f}" for f in frameworks])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [format_row(row, frameworks) for row in rows]
    summary = [f"{len(rows)} examples, fit capped to 1 epoch and {n_train} samples."]
    for f in frameworks:
        statuses = [row[f]["status"] for row in rows]
        summary.append(f"{f}: " + ", ".join(f"{statuses.count(s)} {s}" for s in ("ok", "fail", "timeout", "skip")))
    if len(frameworks) > 1:
        same = [same_params(row, frameworks) for row in rows]
        summary.append(f"param counts equal: {same.count('yes')} of {same.count('yes') + same.count('no')} compared")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {s}" for s in summary) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run keras-io examples under lamina and Keras, offline.")
    parser.add_argument("source", help="folder of example scripts (searched recursively), or one script")
    parser.add_argument("--child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="*", help="run only examples whose path contains one of these")
    parser.add_argument("--frameworks", default="lamina,keras")
    parser.add_argument("--train", type=int, default=256, help="samples per fit (and per fake dataset)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per example and framework")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path, help="rows as JSON, written after each example")
    parser.add_argument("--resume", action="store_true", help="keep the examples already in --json")
    parser.add_argument("--logs", type=Path, help="folder for each run's stdout/stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, Any]] | None:
    args = parse_args(argv)
    if args.child:
        result = run_child(args.child, Path(args.source), args.train)
        print(PREFIX + json.dumps(result), flush=True)
        os._exit(0)  # skip interpreter teardown (threads of the example) once the result is out
    frameworks = [f for f in args.frameworks.split(",") if f]
    source = Path(args.source)
    rows = run_all(source, frameworks, args.train, args.timeout, args.only, args.logs, save=args.json,
                   resume=args.resume)
    text = markdown(rows, frameworks, args.train)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return rows


if __name__ == "__main__":
    main()
