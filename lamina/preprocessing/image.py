"""``keras.preprocessing.image``: image files to arrays and back, and ``smart_resize``."""

from __future__ import annotations

from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img, smart_resize

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize"]
