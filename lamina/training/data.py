"""Data plumbing for fit/evaluate/predict: array sources kept on the device, and Python batch iterators.

>>> import numpy as np
>>> from lamina.training import data
>>> source = data.make_source(np.zeros((80, 2)), np.zeros((80,)), None, None, None, False)
>>> source.batch_size, source.steps_per_epoch
(32, 3)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from typing import Any

import jax
import numpy as np

from lamina.distribution import agree, distribution, global_array, is_multi_process, place_data


def is_array_like(x: Any) -> bool:
    """Arrays, lists/tuples of arrays and dicts of arrays (as opposed to batch iterators)."""
    if isinstance(x, (np.ndarray, jax.Array, dict)) or hasattr(x, "__array__"):
        return True
    if isinstance(x, (list, tuple)):
        return all(is_array_like(v) or isinstance(v, (int, float, list, tuple)) for v in x)
    return isinstance(x, (int, float))


def to_arrays(x: Any) -> Any:
    """NumPy/JAX arrays (float64 -> float32), keeping lists and dicts of inputs."""
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: to_arrays(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and x and all(hasattr(v, "shape") for v in x):
        return [to_arrays(v) for v in x]
    if isinstance(x, jax.Array):
        return x
    arr = np.asarray(x)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return arr


def first_array(x: Any) -> Any:
    """The first array in a structure (for its shape)."""
    if isinstance(x, dict):
        return first_array(next(iter(x.values())))
    if isinstance(x, list):
        return first_array(x[0])
    return x


def num_samples(x: Any) -> int:
    """The common first-axis size of every array; a clear error if they disagree."""
    sizes = {int(a.shape[0]) for a in jax.tree_util.tree_leaves(x)}
    if len(sizes) != 1:
        raise ValueError(f"All arrays must have the same number of samples; received sizes {sorted(sizes)}.")
    return sizes.pop()


def limit(iterable: Iterable[Any], steps: int | None) -> Iterator[Any]:
    """The first ``steps`` items (all when ``steps`` is None)."""
    return itertools.islice(iter(iterable), steps) if steps is not None else iter(iterable)


def combine_class_weight(y: Any, sample_weight: Any, class_weight: dict[int, float] | None) -> Any:
    """Per-sample weights from ``class_weight`` (by label or one-hot argmax) times ``sample_weight``."""
    if class_weight is None:
        return sample_weight
    if isinstance(y, (list, dict)):
        raise ValueError("class_weight is only supported for models with a single output.")
    labels = np.asarray(y)
    labels = labels.argmax(-1) if labels.ndim > 1 and labels.shape[-1] > 1 else labels.reshape(len(labels))
    table = np.ones(max(int(labels.max()) + 1, max(class_weight) + 1), dtype=np.float32)
    for cls, weight in class_weight.items():
        table[int(cls)] = weight
    weights = table[labels.astype(np.int64)]
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, dtype=np.float32).reshape(len(weights))
    return weights


class ArraySource:
    """In-memory arrays: put on the device once, batched by index in the jitted step."""

    is_arrays = True

    def __init__(self, x: Any, y: Any, sample_weight: Any, batch_size: int | None, steps: int | None,
                 shuffle: Any) -> None:
        self.x, self.y = to_arrays(x), to_arrays(y)
        self.sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)
        self.num_samples = num_samples((self.x, self.y) if self.y is not None else self.x)
        if self.sw is not None and len(self.sw) != self.num_samples:
            raise ValueError(f"sample_weight has {len(self.sw)} entries but there are {self.num_samples} samples.")
        if batch_size is None:
            batch_size = math.ceil(self.num_samples / steps) if steps else 32
        self.batch_size = int(batch_size)
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, received {batch_size}.")
        self.steps = steps
        self.shuffle = shuffle
        self.host: Any = None  # a staging.Borrowed that puts the arrays on the device (plain copies when None)
        self._device: tuple[Any, Any, Any] | None = None

    @property
    def steps_per_epoch(self) -> int:
        full = math.ceil(self.num_samples / self.batch_size)
        return min(full, self.steps) if self.steps else full

    def split(self, fraction: float) -> tuple[ArraySource, tuple[Any, Any, Any]]:
        """Keras's ``validation_split``: the last ``fraction`` of the samples, taken before shuffling."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"validation_split must be in (0, 1), received {fraction}.")
        split_at = int(math.floor(self.num_samples * (1.0 - fraction)))
        if split_at in (0, self.num_samples):
            raise ValueError(f"validation_split={fraction} leaves no training or no validation samples out of "
                             f"{self.num_samples}.")
        cut = lambda a, lo, hi: jax.tree_util.tree_map(lambda v: v[lo:hi], a)  # noqa: E731
        train = ArraySource(cut(self.x, 0, split_at), cut(self.y, 0, split_at),
                            None if self.sw is None else self.sw[:split_at], self.batch_size, self.steps, self.shuffle)
        val = (cut(self.x, split_at, None), cut(self.y, split_at, None),
               None if self.sw is None else self.sw[split_at:])
        return train, val

    def apply_class_weight(self, class_weight: dict[int, float]) -> None:
        self.sw = combine_class_weight(self.y, self.sw, class_weight)
        self._device = None

    def sample(self) -> tuple[Any, Any]:
        """A small host-side slice for shape checks."""
        take = lambda a: a[: min(self.num_samples, self.batch_size)]  # noqa: E731
        return jax.tree_util.tree_map(take, self.x), jax.tree_util.tree_map(take, self.y)

    def _on_device(self) -> tuple[Any, Any, Any]:
        if self._device is None:
            dist = distribution()
            send = self.host.put if self.host is not None else jax.device_put
            put = lambda a: place_data(jax.tree_util.tree_map(send, a), dist)  # noqa: E731
            self._device = (put(self.x), put(self.y), None if self.sw is None else put(self.sw))
        return self._device

    @property
    def x_dev(self) -> Any:
        return self._on_device()[0]

    @property
    def y_dev(self) -> Any:
        return self._on_device()[1]

    @property
    def sw_dev(self) -> Any:
        return self._on_device()[2]

    def epoch_order(self) -> Any:
        """This epoch's sample order (Keras: a fresh NumPy permutation when ``shuffle=True``)."""
        n = self.num_samples
        if self.shuffle == "batch":
            order = np.arange(n)
            for start in range(0, n, self.batch_size):
                order[start:start + self.batch_size] = np.random.permutation(order[start:start + self.batch_size])
        elif self.shuffle:
            order = np.random.permutation(n)
        else:
            order = np.arange(n)
        dist = distribution()
        if dist is not None and is_multi_process():  # process 0's order, the same everywhere
            return global_array(agree(order.astype(np.int32)), dist.replicated())
        return jax.device_put(order.astype(np.int32))

    def batch_bounds(self) -> list[tuple[int, int]]:
        """``(start, size)`` of each batch; the last partial batch is kept."""
        n, bs = self.num_samples, self.batch_size
        bounds = [(s, min(bs, n - s)) for s in range(0, n, bs)]
        return bounds[: self.steps_per_epoch]

    def batches(self) -> Iterator[tuple[Any, Any, Any]]:
        """All samples as one device-resident batch (``train_on_batch``); fit/evaluate/predict slice the
        arrays inside their jitted steps instead."""
        yield self.x_dev, self.y_dev, self.sw_dev


class IteratorSource:
    """Batches ``(x, y)`` or ``(x, y, sample_weight)`` from a Python generator or iterable."""

    is_arrays = False

    def __init__(self, iterable: Any, steps: int | None) -> None:
        self.iterable = iterable
        self.steps = steps
        self._iterator: Iterator[Any] | None = None
        self._peeked: list[Any] = []
        self.batch_size = None
        self.num_samples = None

    @property
    def steps_per_epoch(self) -> int | None:
        if self.steps is not None:
            return self.steps
        try:
            return len(self.iterable)
        except TypeError:
            return None

    def _iter(self) -> Iterator[Any]:
        if self._iterator is None:
            self._iterator = iter(self.iterable)
        return self._iterator

    @staticmethod
    def _unpack(item: Any) -> tuple[Any, Any, Any]:
        x, y, sw = unpack_batch(item)
        return to_arrays(x), to_arrays(y), None if sw is None else np.asarray(sw, dtype=np.float32)

    def sample(self) -> tuple[Any, Any]:
        if not self._peeked:
            try:
                self._peeked.append(next(self._iter()))
            except StopIteration:
                raise ValueError("The data generator yielded no batches.") from None
        x, y, _ = self._unpack(self._peeked[0])
        return x, y

    def batches(self) -> Iterator[tuple[Any, Any, Any]]:
        count = 0
        while self.steps is None or count < self.steps:
            if self._peeked:
                item = self._peeked.pop()
            else:
                try:
                    item = next(self._iter())
                except StopIteration:
                    self._iterator = None  # an iterable that can restart does so next epoch
                    return
            count += 1
            yield self._unpack(item)


def _host(value: Any) -> Any:
    """A torch tensor (or anything with ``.numpy()``, such as a ``tf.Tensor``) as a NumPy array."""
    if value is None or isinstance(value, (np.ndarray, jax.Array, dict, list, tuple)):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy") and not isinstance(value, np.generic):
        return value.numpy()
    return value


def unpack_batch(item: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` of one batch from a generator, a ``PyDataset``, a torch ``DataLoader``
    (which yields lists ``[x, y]``) or a ``tf.data`` iterator (tensors); ``x`` alone is allowed.

    >>> [None if v is None else v.shape for v in unpack_batch([np.zeros((2, 3)), np.zeros(2)])]
    [(2, 3), (2,), None]
    """
    if isinstance(item, dict) or is_array_like(item) and not isinstance(item, (list, tuple)):
        return _host(item), None, None
    if isinstance(item, (list, tuple)) and len(item) in (1, 2, 3):
        x, y, sw = (tuple(item) + (None, None))[:3]
        return _host(x), _host(y), _host(sw)
    raise ValueError("A data generator must yield x, (x, y) or (x, y, sample_weight) (tuples or lists); received "
                     f"{type(item).__name__}" + (f" of {len(item)} items." if isinstance(item, (list, tuple)) else "."))


def batch_inputs(item: Any) -> Any:
    """The inputs ``x`` of one batch (for ``predict`` on an iterable of batches)."""
    if isinstance(item, (list, tuple)) and len(item) in (1, 2, 3) and not all(
            isinstance(v, (int, float)) for v in item):
        first = item[0]
        if len(item) == 1 or hasattr(first, "shape") or isinstance(first, (dict, list)):
            return _host(first)
    return _host(item)


def make_source(x: Any, y: Any, sample_weight: Any, batch_size: int | None, steps: int | None,
                shuffle: Any) -> ArraySource | IteratorSource:
    """Arrays (NumPy/JAX, lists or dicts of them) or a batch iterator, as one source type."""
    if x is None:
        raise ValueError("No data: pass x (and y) to fit/evaluate.")
    if not is_array_like(x):
        if y is not None:
            raise ValueError("When x is a generator or iterable of batches, y must be None: yield (x, y) pairs.")
        return IteratorSource(x, steps)
    return ArraySource(x, y, sample_weight, batch_size, steps, shuffle)


def validation_source(validation_data: Any, batch_size: int, steps: int | None) -> ArraySource | IteratorSource:
    """``validation_data`` as ``(x, y)``, ``(x, y, sample_weight)`` or an iterable of batches."""
    if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) and is_array_like(validation_data[0]):
        x, y, sw = (tuple(validation_data) + (None,))[:3]
        return ArraySource(x, y, sw, batch_size, steps, False)
    if is_array_like(validation_data):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight).")
    return IteratorSource(validation_data, steps)
