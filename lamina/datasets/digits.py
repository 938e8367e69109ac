"""scikit-learn's handwritten digits: 1,797 real 8x8 images of the digits 0..9, no download needed.

The images ship inside scikit-learn (``sklearn.datasets.load_digits``), so this dataset works offline,
which makes it the default for demos and tests. The original pixels are counts 0..16; they are scaled
to 0..255 (``round(v * 255 / 16)``) and returned as ``uint8`` like MNIST's, so tutorial code that
divides by 255.0 works unchanged.

>>> (x_train, y_train), (x_test, y_test) = load_data(test_split=0.2, seed=0)
>>> x_train.shape, y_train.shape, x_test.shape, y_train.dtype.name
((1437, 8, 8), (1437,), (360, 8, 8), 'uint8')
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_data"]

Split = tuple[np.ndarray, np.ndarray]


def load_data(test_split: float = 0.2, seed: int = 113) -> tuple[Split, Split]:
    """Load the digits as ``((x_train, y_train), (x_test, y_test))``, shuffled with ``seed``.

    ``x`` is ``uint8`` of shape ``(n, 8, 8)`` with values 0..255 and ``y`` is ``uint8`` of shape
    ``(n,)``. The first ``int(1797 * (1 - test_split))`` shuffled samples are the training set. The
    same ``seed`` always gives the same split.

    Args:
        test_split: the fraction of samples held out for testing, in ``[0, 1)``.
        seed: seeds the shuffle (a ``numpy.random.default_rng``).

    >>> (x_train, _), _ = load_data(test_split=0.5)
    >>> len(x_train)
    898
    """
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"test_split must be in [0, 1). Received: test_split={test_split}")
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError(
            "lamina.datasets.digits reads the digits that ship inside scikit-learn, which is not installed. "
            "Install it with: pip install 'lamina[demo]'  (or: pip install scikit-learn)"
        ) from err
    bunch = load_digits()
    images = np.round(np.asarray(bunch.images) * (255.0 / 16.0)).astype(np.uint8)
    labels = np.asarray(bunch.target).astype(np.uint8)
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], labels[order]
    split = int(len(images) * (1.0 - test_split))
    return (images[:split], labels[:split]), (images[split:], labels[split:])
