"""``keras.preprocessing``: the Keras 2 spellings Keras 3 keeps (``preprocessing.image``,
``preprocessing.sequence.pad_sequences`` and the dataset builders).

>>> from lamina.preprocessing.sequence import pad_sequences
>>> pad_sequences([[1, 2, 3]], maxlen=2).tolist()
[[2, 3]]
"""

from __future__ import annotations

from lamina.preprocessing import image, sequence
from lamina.utils.dataset_utils import (
    image_dataset_from_directory,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)

__all__ = ["image", "sequence", "image_dataset_from_directory", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]
