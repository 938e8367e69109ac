"""Datasets that ``fit`` reads directly: from folders of images or texts, from a time series, or split in two.

Keras returns ``tf.data.Dataset`` objects here; lamina returns a :class:`Dataset`: an iterable of NumPy batches
(``(x, y)`` tuples, or ``x`` alone without labels) with a length (the number of batches), reshuffled every epoch
when asked, with ``class_names`` and ``file_paths`` like Keras's, and the few ``tf.data`` methods tutorials call
(``map``, ``batch``, ``unbatch``, ``take``, ``shuffle``, ``prefetch``, ``cache``, ``as_numpy_iterator``).

>>> import numpy as np
>>> ds = timeseries_dataset_from_array(np.arange(10), np.arange(10), sequence_length=3, batch_size=4)
>>> len(ds), [x.shape for x, _ in ds]
(2, [(4, 3), (4, 3)])
>>> next(iter(ds))[0][1].tolist(), next(iter(ds))[1].tolist()
([1, 2, 3], [0, 1, 2, 3])
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from lamina import backend

__all__ = ["Dataset", "image_dataset_from_directory", "text_dataset_from_directory", "timeseries_dataset_from_array",
           "split_dataset", "index_directory", "IMAGE_FORMATS"]

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _stack(items: list[Any]) -> Any:
    """Samples (arrays, or tuples/dicts of arrays) stacked into one batch."""
    first = items[0]
    if isinstance(first, tuple):
        return tuple(_stack([item[i] for item in items]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([item[k] for item in items]) for k in first}
    return np.stack([np.asarray(item) for item in items])


class Dataset:
    """Batches drawn from ``count`` samples that ``load(indices)`` returns (a batch for those sample indices).

    Args:
        load: ``load(indices) -> batch``; a batch is an array, or a tuple or dict of arrays.
        count: the number of samples.
        batch_size: samples per batch (the last one may be smaller), or ``None`` for one sample per item.
        shuffle: draw a new order every epoch (from ``seed``).
        seed: the shuffling seed.
    """

    def __init__(self, load: Callable[[np.ndarray], Any], count: int, batch_size: int | None = 32,
                 shuffle: bool = False, seed: int | None = None) -> None:
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, received {batch_size!r}.")
        self._load = load
        self._count = int(count)
        self.batch_size = batch_size
        self._shuffle = bool(shuffle)
        self._seed = np.random.randint(1e6) if seed is None and shuffle else seed
        self._epoch = 0
        self._transforms: list[Callable[..., Any]] = []
        self._limit: int | None = None
        self.class_names: list[str] | None = None
        self.file_paths: list[str] | None = None

    @classmethod
    def from_arrays(cls, arrays: Any, batch_size: int | None = 32, shuffle: bool = False,
                    seed: int | None = None) -> Dataset:
        """A dataset over the first axis of an array, or of a tuple or dict of arrays of one length."""
        if isinstance(arrays, dict):
            data = {k: np.asarray(v) for k, v in arrays.items()}
            count = len(next(iter(data.values())))
            return cls(lambda idx: {k: v[idx] for k, v in data.items()}, count, batch_size, shuffle, seed)
        if isinstance(arrays, (tuple, list)) and arrays and all(hasattr(a, "shape") for a in arrays):
            parts = tuple(np.asarray(a) for a in arrays)
            lengths = {len(p) for p in parts}
            if len(lengths) != 1:
                raise ValueError(f"All arrays must have the same length; received lengths {sorted(lengths)}.")
            return cls(lambda idx: tuple(p[idx] for p in parts), len(parts[0]), batch_size, shuffle, seed)
        data = np.asarray(arrays)
        return cls(lambda idx: data[idx], len(data), batch_size, shuffle, seed)

    def _copy(self, **changes: Any) -> Dataset:
        new = object.__new__(Dataset)
        new.__dict__.update(self.__dict__)
        new._transforms = list(self._transforms)
        new.__dict__.update(changes)
        return new

    def _order(self) -> np.ndarray:
        order = np.arange(self._count)
        if self._shuffle:
            np.random.RandomState((self._seed + self._epoch) % (2**32)).shuffle(order)
            self._epoch += 1
        return order

    def _items(self) -> Iterator[Any]:
        order = self._order()
        size = self.batch_size or 1
        for start in range(0, self._count, size):
            batch = self._load(order[start:start + size])
            if self.batch_size is None:
                batch = _first(batch)
            for fn in self._transforms:
                batch = fn(*batch) if isinstance(batch, tuple) else fn(batch)
            yield batch

    def __iter__(self) -> Iterator[Any]:
        items = self._items()
        for n, item in enumerate(items):
            if self._limit is not None and n >= self._limit:
                return
            yield item

    def __len__(self) -> int:
        full = self._count if self.batch_size is None else math.ceil(self._count / self.batch_size)
        return full if self._limit is None else min(full, self._limit)

    @property
    def num_samples(self) -> int:
        """The number of samples (not batches)."""
        return self._count

    def __repr__(self) -> str:
        return f"<Dataset: {self._count} samples, batch_size={self.batch_size}, {len(self)} items>"

    def map(self, fn: Callable[..., Any], num_parallel_calls: Any = None) -> Dataset:
        """A dataset whose items are ``fn(*item)`` (``fn(item)`` for non-tuple items), as ``tf.data``'s ``map``."""
        new = self._copy()
        new._transforms.append(fn)
        return new

    def batch(self, batch_size: int, drop_remainder: bool = False) -> Dataset:
        """Group samples into batches of ``batch_size`` (from an unbatched dataset)."""
        if self.batch_size is not None:
            raise ValueError("This dataset is already batched; call unbatch() first.")
        count = (self._count // batch_size) * batch_size if drop_remainder else self._count
        return self._copy(batch_size=int(batch_size), _count=count)

    def unbatch(self) -> Dataset:
        """One sample per item."""
        return self._copy(batch_size=None)

    def take(self, count: int) -> Dataset:
        """Only the first ``count`` items."""
        return self._copy(_limit=int(count) if self._limit is None else min(self._limit, int(count)))

    def shuffle(self, buffer_size: int | None = None, seed: int | None = None,
                reshuffle_each_iteration: bool = True) -> Dataset:
        """Reshuffle the samples every epoch (the whole dataset, whatever ``buffer_size``)."""
        return self._copy(_shuffle=True, _seed=np.random.randint(1e6) if seed is None else seed)

    def prefetch(self, buffer_size: Any = None) -> Dataset:
        """The same dataset (batches are read on demand)."""
        return self

    def cache(self, filename: str = "") -> Dataset:
        """The same dataset (kept for ``tf.data`` compatibility)."""
        return self

    def repeat(self, count: int | None = None) -> _Repeated:
        """The dataset ``count`` times over (forever when ``None``; pass ``steps_per_epoch`` to ``fit`` then)."""
        return _Repeated(self, count)

    def as_numpy_iterator(self) -> Iterator[Any]:
        """The items (already NumPy arrays)."""
        return iter(self)


class _Repeated:
    def __init__(self, dataset: Dataset, count: int | None) -> None:
        self.dataset, self.count = dataset, count

    def __iter__(self) -> Iterator[Any]:
        n = 0
        while self.count is None or n < self.count:
            yield from self.dataset
            n += 1


def _first(batch: Any) -> Any:
    if isinstance(batch, tuple):
        return tuple(_first(b) for b in batch)
    if isinstance(batch, dict):
        return {k: _first(v) for k, v in batch.items()}
    return batch[0]


# ------------------------------------------------------------------------------------------- directories
def _check_split_args(validation_split: float | None, subset: str | None, shuffle: bool, seed: int | None) -> None:
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` argument, to "
                         "make sure that there is no overlap between the training and validation subset.")


def _valid_files(directory: str, follow_links: bool, formats: tuple[str, ...]) -> Iterator[str]:
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0]):
        for fname in sorted(files):
            if fname.lower().endswith(formats):
                yield os.path.join(root, fname)


def index_directory(directory: str, labels: Any, formats: tuple[str, ...], class_names: Sequence[str] | None = None,
                    shuffle: bool = True, seed: int | None = None, follow_links: bool = False,
                    verbose: bool = True) -> tuple[list[str], Any, list[str] | None]:
    """``(file_paths, labels, class_names)`` of the files under ``directory`` with one of ``formats``.

    ``labels="inferred"``: one class per subfolder (sorted, or in the order of ``class_names``); a list: one label
    per file, files in sorted order; ``None``: no labels. ``shuffle`` permutes files and labels alike (Keras's
    ``RandomState(seed)`` order).
    """
    from lamina.config import print_msg

    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"The directory {directory!r} does not exist (or is not a folder).")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the subdirectories of the "
                                 f"target directory. Expected: {subdirs} (or a subset of it), but received: "
                                 f"class_names={list(class_names)}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            if labels is None:
                raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified.")
            raise ValueError("When argument `labels` is specified, argument `class_names` cannot be specified (the "
                             "`class_names` will be the sorted list of labels).")
    paths: list[str] = []
    inferred: list[int] = []
    for index, subdir in enumerate(subdirs):
        found = list(_valid_files(os.path.join(directory, subdir), follow_links, formats))
        paths += found
        inferred += [index] * len(found)
    names: list[str] | None = list(subdirs)
    if labels == "inferred":
        label_array: Any = np.asarray(inferred, dtype="int32")
    elif labels is None:
        label_array, names = None, None
    else:
        if len(labels) != len(paths):
            raise ValueError("Expected the lengths of `labels` to match the number of files in the target directory. "
                             f"len(labels) is {len(labels)} while we found {len(paths)} files in directory "
                             f"{directory}.")
        label_array = list(labels)
        names = [str(label) for label in sorted(set(labels))]
    if verbose:
        if label_array is None:
            print_msg(f"Found {len(paths)} files.")
        else:
            print_msg(f"Found {len(paths)} files belonging to {len(names or [])} classes.")
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        if label_array is not None:
            np.random.RandomState(seed).shuffle(label_array)
    return paths, label_array, names


def _split(samples: list[str], labels: Any, validation_split: float | None, subset: str | None
           ) -> tuple[list[str], Any]:
    from lamina.config import print_msg

    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    if subset == "training":
        print_msg(f"Using {len(samples) - num_val} files for training.")
        return samples[:-num_val], None if labels is None else labels[:-num_val]
    if subset == "validation":
        print_msg(f"Using {num_val} files for validation.")
        return samples[-num_val:], None if labels is None else labels[-num_val:]
    raise ValueError(f'`subset` must be either "training" or "validation", received: {subset}')


def _encode_labels(labels: Any, label_mode: str | None, num_classes: int) -> np.ndarray | None:
    if label_mode is None or labels is None:
        return None
    values = np.asarray(labels)
    if label_mode == "int":
        return values.astype("int32")
    if label_mode == "binary":
        return values.astype("float32").reshape(-1, 1)
    one_hot = np.zeros((len(values), num_classes), dtype="float32")
    one_hot[np.arange(len(values)), values.astype("int64")] = 1.0
    return one_hot


def _from_paths(read: Callable[[str], Any], paths: list[str], labels: np.ndarray | None, batch_size: int | None,
                shuffle: bool, seed: int | None, class_names: list[str] | None,
                collate: Callable[[list[Any]], Any] = _stack) -> Dataset:
    def load(indices: np.ndarray) -> Any:
        x = collate([read(paths[i]) for i in indices])
        return x if labels is None else (x, labels[indices])

    dataset = Dataset(load, len(paths), batch_size, shuffle=shuffle, seed=seed)
    dataset.class_names = class_names
    dataset.file_paths = list(paths)
    return dataset


def _directory_datasets(directory: str, labels: Any, label_mode: str | None, class_names: Any, formats: tuple[str, ...],
                        batch_size: int | None, shuffle: bool, seed: int | None, validation_split: float | None,
                        subset: str | None, follow_links: bool, verbose: bool, read: Callable[[str], Any],
                        what: str, collate: Callable[[list[Any]], Any] = _stack) -> Dataset | list[Dataset]:
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("`labels` argument should be a list/tuple of integer labels, of the same size as the "
                             f"number of {what} files in the target directory. If you wish to infer the labels from "
                             'the subdirectory names in the target directory, pass `labels="inferred"`. If you wish '
                             f"to get a dataset that only contains {what}s (no labels), pass `labels=None`. Received: "
                             f"labels={labels}")
        if class_names:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`. Received: labels='
                             f"{labels}, and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. Received: '
                         f"label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    _check_split_args(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, found_labels, names = index_directory(directory, labels, formats, class_names=class_names,
                                                 shuffle=shuffle, seed=seed, follow_links=follow_links,
                                                 verbose=verbose)
    if label_mode == "binary" and len(names or []) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                         f"class_names={names}")
    num_classes = len(names) if names else 0

    def build(part: str | None, train: bool) -> Dataset:
        part_paths, part_labels = _split(paths, found_labels, validation_split, part)
        if not part_paths:
            kind = {"training": "training ", "validation": "validation "}.get(part or "", "")
            raise ValueError(f"No {kind}{what}s found in directory {directory}. Allowed formats: {formats}")
        encoded = _encode_labels(part_labels, label_mode, num_classes)
        return _from_paths(read, part_paths, encoded, batch_size, shuffle and train, seed, names, collate)

    if subset == "both":
        return [build("training", True), build("validation", False)]
    return build(subset, subset != "validation")


def _resize(image: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    """``(h, w, c)`` float32 -> ``size``: bilinear/nearest with half-pixel centres and no antialiasing
    (``tf.image.resize``'s rule); the other methods through ``jax.image.resize``."""
    height, width = image.shape[:2]
    if (height, width) == tuple(size):
        return image
    if interpolation == "nearest":
        rows = np.minimum(((np.arange(size[0]) + 0.5) * height / size[0]).astype(int), height - 1)
        cols = np.minimum(((np.arange(size[1]) + 0.5) * width / size[1]).astype(int), width - 1)
        return image[rows][:, cols]
    if interpolation == "bilinear":
        def coords(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
            lo = np.floor(src).astype(int)
            return lo, np.minimum(lo + 1, n_in - 1), (src - lo).astype("float32")

        r0, r1, fr = coords(size[0], height)
        c0, c1, fc = coords(size[1], width)
        top = image[r0][:, c0] * (1 - fc)[None, :, None] + image[r0][:, c1] * fc[None, :, None]
        bottom = image[r1][:, c0] * (1 - fc)[None, :, None] + image[r1][:, c1] * fc[None, :, None]
        return (top * (1 - fr)[:, None, None] + bottom * fr[:, None, None]).astype("float32")
    import jax

    methods = {"bicubic": "cubic", "lanczos3": "lanczos3", "lanczos5": "lanczos5", "area": "linear",
               "gaussian": "linear", "mitchellcubic": "cubic"}
    shape = (size[0], size[1], image.shape[2])
    return np.asarray(jax.image.resize(image, shape, method=methods[interpolation], antialias=False))


def image_dataset_from_directory(directory: str, labels: Any = "inferred", label_mode: str | None = "int",
                                 class_names: Sequence[str] | None = None, color_mode: str = "rgb",
                                 batch_size: int | None = 32, image_size: Any = (256, 256), shuffle: bool = True,
                                 seed: int | None = None, validation_split: float | None = None,
                                 subset: str | None = None, interpolation: str = "bilinear",
                                 follow_links: bool = False, crop_to_aspect_ratio: bool = False,
                                 pad_to_aspect_ratio: bool = False, data_format: str | None = None,
                                 format: str = "tf", verbose: bool = True) -> Dataset | list[Dataset]:
    """Batches of ``(images, labels)`` from a folder with one subfolder per class (``.bmp .gif .jpeg .jpg .png``).

    Images are float32 ``(batch, height, width, channels)`` with values 0..255, resized to ``image_size``; labels
    are int32 (``label_mode="int"``), one-hot float32 (``"categorical"``) or float32 ``(batch, 1)`` (``"binary"``).
    ``validation_split`` with ``subset="training"``/``"validation"``/``"both"`` splits the (seeded) shuffled files
    as Keras does. The result feeds ``fit`` directly; its ``class_names`` lists the classes. Needs Pillow.
    """
    if color_mode not in ("rgb", "rgba", "grayscale"):
        raise ValueError(f'`color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. Received: '
                         f"color_mode={color_mode}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"Invalid `image_size` value. Expected a tuple of 2 integers. Received: "
                         f"image_size={image_size}")
    interpolation = interpolation.lower()
    supported = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
    if interpolation not in supported:
        raise ValueError(f"Argument `interpolation` should be one of {supported}. Received: "
                         f"interpolation={interpolation}")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be set to `True`.")
    data_format = backend.standardize_data_format(data_format)
    from lamina.utils.image_utils import _pil, smart_resize

    image_module = _pil("image_dataset_from_directory")
    mode = {"rgb": "RGB", "rgba": "RGBA", "grayscale": "L"}[color_mode]
    size = (int(image_size[0]), int(image_size[1]))

    def read(path: str) -> np.ndarray:
        with image_module.open(path) as img:
            array = np.asarray(img.convert(mode), dtype="float32")
        if array.ndim == 2:
            array = array[:, :, None]
        if crop_to_aspect_ratio:
            array = smart_resize(array, size, interpolation=interpolation if interpolation in
                                 ("bilinear", "nearest", "bicubic") else "bilinear").astype("float32")
        elif pad_to_aspect_ratio:
            array = _pad_resize(array, size, interpolation)
        else:
            array = _resize(array, size, interpolation)
        return array.transpose(2, 0, 1) if data_format == "channels_first" else array

    return _directory_datasets(directory, labels, label_mode, class_names, IMAGE_FORMATS, batch_size, shuffle, seed,
                               validation_split, subset, follow_links, verbose, read, "image")


def _pad_resize(image: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    """Resize keeping the aspect ratio, then pad with zeros to ``size`` (``tf.image.resize_with_pad``)."""
    height, width = image.shape[:2]
    scale = min(size[0] / height, size[1] / width)
    inner = (max(1, int(height * scale)), max(1, int(width * scale)))
    resized = _resize(image, inner, interpolation)
    out = np.zeros((size[0], size[1], image.shape[2]), dtype="float32")
    top, left = (size[0] - inner[0]) // 2, (size[1] - inner[1]) // 2
    out[top:top + inner[0], left:left + inner[1]] = resized
    return out


def text_dataset_from_directory(directory: str, labels: Any = "inferred", label_mode: str | None = "int",
                                class_names: Sequence[str] | None = None, batch_size: int | None = 32,
                                max_length: int | None = None, shuffle: bool = True, seed: int | None = None,
                                validation_split: float | None = None, subset: str | None = None,
                                follow_links: bool = False, format: str = "tf",
                                verbose: bool = True) -> Dataset | list[Dataset]:
    """Batches of ``(texts, labels)`` from a folder with one subfolder per class of ``.txt`` files.

    Texts are NumPy arrays of Python strings (dtype ``object``), cut to ``max_length`` characters when given; the
    labels and splits follow ``image_dataset_from_directory``.
    """
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')

    def read(path: str) -> str:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return text[:max_length] if max_length is not None else text

    def stack_read(path: str) -> np.ndarray:
        out = np.empty((), dtype=object)
        out[()] = read(path)
        return out

    return _directory_datasets(directory, labels, label_mode, class_names, (".txt",), batch_size, shuffle, seed,
                               validation_split, subset, follow_links, verbose, stack_read, "text")


# ------------------------------------------------------------------------------------------- time series
def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None, format: str = "tf") -> Dataset:
    """Sliding windows over ``data``: window ``i`` is ``data[s, s + r, ..., s + (sequence_length - 1) * r]`` for the
    start ``s = start_index + i * sequence_stride`` and ``r = sampling_rate``, paired with ``targets[s]``.

    Returns a :class:`Dataset` of ``(windows, targets)`` batches (windows alone when ``targets`` is ``None``).
    """
    length = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= length:
            raise ValueError(f"`start_index` must be lower than the length of the data. Received: "
                             f"start_index={start_index}, for data of length {length}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: start_index={start_index}, "
                             f"and end_index={end_index} ")
        if end_index >= length:
            raise ValueError(f"`end_index` must be lower than the length of the data. Received: "
                             f"end_index={end_index}, for data of length {length}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= length:
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: {name}={value}, for "
                             f"data of length {length}")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    start = start_index or 0
    end = length if end_index is None else end_index
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    starts = np.arange(0, max(num_seqs, 0), sequence_stride, dtype="int64")
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(starts)
    values = np.asarray(data)[start:end]
    target_values = None if targets is None else np.asarray(targets)[start:end]
    offsets = np.arange(0, sequence_length * sampling_rate, sampling_rate)

    def load(indices: np.ndarray) -> Any:
        s = starts[indices]
        windows = values[s[:, None] + offsets[None, :]]
        return windows if target_values is None else (windows, target_values[s])

    return Dataset(load, len(starts), batch_size, shuffle=shuffle, seed=seed)


# ------------------------------------------------------------------------------------------- splitting
def _split_sizes(left_size: Any, right_size: Any, total: int) -> tuple[int, int]:
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and type(size) not in (int, float):
            raise TypeError(f"Invalid `{name}` Type. Expected: int or float or None, Received: "
                            f"type({name})={type(size)}.")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the split sizes must be "
                         "non-zero.")
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if (type(size) is int and (size <= 0 or size >= total)) or (type(size) is float and (size <= 0 or size >= 1)):
            raise ValueError(f"`{name}` should be either a positive integer smaller than {total}, or a float within "
                             f"the range `[0, 1]`. Received: {name}={size}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must be less than or equal "
                         "to 1.")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the {total}. Received: "
                         f"left_size + right_size = {left + right}and total_length = {total}")
    for size, side in ((left, "left"), (right, "right")):
        if size == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left} and `right_size`={right}."
                             f"Resulting {side} side dataset split will be empty. Adjust any of the aforementioned "
                             "parameters")
    return int(left), int(right)


def split_dataset(dataset: Any, left_size: int | float | None = None, right_size: int | float | None = None,
                  shuffle: bool = False, seed: int | None = None,
                  preferred_backend: str | None = None) -> tuple[Dataset, Dataset]:
    """Split an array, a tuple of arrays, a list of samples or a :class:`Dataset` into two datasets of samples.

    Sizes are sample counts (ints) or fractions (floats); a missing one is the rest. ``shuffle`` permutes the
    samples first with Python's ``random.Random(seed)``, as Keras. Batched datasets give batched halves.

    >>> left, right = split_dataset(np.arange(10), left_size=0.8)
    >>> len(left), len(right)
    (8, 2)
    """
    if right_size is None and left_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. Received: "
                         "left_size=None and right_size=None")
    batch_size: int | None = None
    if isinstance(dataset, Dataset):
        batch_size = dataset.batch_size
        samples = list(dataset.unbatch())
    elif isinstance(dataset, np.ndarray) or hasattr(dataset, "__array__"):
        samples = list(np.asarray(dataset))
    elif isinstance(dataset, (tuple, list)) and dataset and all(hasattr(a, "shape") for a in dataset):
        arrays = [np.asarray(a) for a in dataset]
        if len({len(a) for a in arrays}) != 1:
            raise ValueError(f"All arrays must have the same length; received lengths {[len(a) for a in arrays]}.")
        samples = list(zip(*arrays))
    elif isinstance(dataset, (tuple, list)):
        samples = list(dataset)
    else:
        raise TypeError("The `dataset` argument must be either a lamina Dataset, an array, or a list/tuple of arrays. "
                        f"Received: dataset={dataset} of type {type(dataset)}")
    if shuffle:
        random.Random(random.randint(0, int(1e6)) if seed is None else seed).shuffle(samples)
    left, right = _split_sizes(left_size, right_size, len(samples))

    def make(part: list[Any]) -> Dataset:
        out = Dataset(lambda idx: _stack([part[i] for i in idx]), len(part), batch_size=batch_size or 1)
        return out if batch_size else out.unbatch()

    return make(samples[:left]), make(samples[-right:])
