"""``lamina.visualization`` against ``keras.visualization``: masks pixel for pixel, galleries written to files."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402

from lamina import visualization  # noqa: E402

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (3, 6, 5, 3)).astype("float32")
MASKS = RNG.integers(-1, 4, (3, 6, 5, 1)).astype("int32")


@pytest.mark.parametrize("kwargs", [{"num_classes": 4}, {"num_classes": 4, "alpha": 0.3},
                                    {"num_classes": 4, "blend": False}, {"num_classes": 3, "ignore_index": 0},
                                    {"num_classes": 2, "color_mapping": {0: (255, 0, 0), 1: (0, 0, 255)}}],
                         ids=str)
def test_draw_segmentation_masks_matches_keras(kwargs):
    expected = np.asarray(keras.visualization.draw_segmentation_masks(IMAGES, MASKS, **kwargs))
    got = visualization.draw_segmentation_masks(IMAGES, MASKS, **kwargs)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    first = visualization.draw_segmentation_masks(IMAGES.transpose(0, 3, 1, 2), MASKS.transpose(0, 3, 1, 2),
                                                  data_format="channels_first", **kwargs)
    assert np.array_equal(first, expected)


def test_default_num_classes_colours_every_class():
    drawn = visualization.draw_segmentation_masks(np.zeros((1, 1, 2, 3)), np.array([[[[0], [1]]]]))
    assert drawn[0, 0, 1].tolist() != [0, 0, 0]  # class 1 (the highest) is coloured
    with pytest.raises(TypeError, match="integer"):
        visualization.draw_segmentation_masks(IMAGES, MASKS.astype("float32"))
    with pytest.raises(ValueError, match="4D"):
        visualization.draw_segmentation_masks(IMAGES[0], MASKS[0])


def test_draw_bounding_boxes():
    images = np.zeros((2, 20, 30, 3), "float32")
    boxes = {"boxes": np.array([[[2, 3, 12, 15], [0, 0, 1, 1]], [[0.1, 0.1, 0.5, 0.9], [0, 0, 0, 0]]]),
             "labels": np.array([[1, -1], [0, -1]])}
    drawn = visualization.draw_bounding_boxes(images[:1], {k: v[:1] for k, v in boxes.items()}, "xyxy",
                                              color=(255, 0, 0), line_thickness=1)
    assert drawn.dtype == np.uint8 and drawn.shape == (1, 20, 30, 3)
    assert drawn[0, 3, 2:13, 0].min() == 255 and drawn[0, 15, 2:13, 0].min() == 255  # top and bottom edges
    assert drawn[0, 8, 7].tolist() == [0, 0, 0] and drawn[0, 0, 0].tolist() == [0, 0, 0]  # inside; label -1
    relative = visualization.draw_bounding_boxes(images[1:], {k: v[1:] for k, v in boxes.items()}, "rel_xyxy",
                                                 class_mapping={0: "cat"}, color=(0, 255, 0))
    assert relative[0, 2, 3:15, 1].min() == 255
    with pytest.raises(ValueError, match="'boxes' and 'labels'"):
        visualization.draw_bounding_boxes(images, {"boxes": boxes["boxes"]}, "xyxy")


def test_galleries_write_files(tmp_path):
    visualization.plot_image_gallery(IMAGES, y_true=[0, 1, 0], label_map={0: "a", 1: "b"}, path=tmp_path / "g.png")
    visualization.plot_segmentation_mask_gallery(IMAGES, num_classes=4, y_true=MASKS, y_pred=MASKS,
                                                 path=tmp_path / "s.png")
    boxes = {"boxes": np.array([[[1, 1, 4, 4]]] * 3), "labels": np.array([[0]] * 3)}
    visualization.plot_bounding_box_gallery(IMAGES, "xyxy", y_true=boxes, y_pred=boxes, legend=True,
                                            class_mapping={0: "x"}, path=tmp_path / "b.png")
    for name in ("g.png", "s.png", "b.png"):
        assert (tmp_path / name).stat().st_size > 1000
    with pytest.raises(ValueError, match="label_map"):
        visualization.plot_image_gallery(IMAGES, y_true=[0, 1, 0], path=tmp_path / "x.png")
