"""``keras.visualization``: draw segmentation masks and boxes on image batches, and plot image galleries.

Arrays in, NumPy arrays out; the galleries use matplotlib (``pip install matplotlib``), boxes are drawn with Pillow
(Keras uses OpenCV: the lines are the same boxes, the label text is drawn in Pillow's default font).

>>> import numpy as np
>>> images = np.zeros((1, 2, 2, 3), "float32")
>>> masks = np.array([[[[0], [1]], [[1], [-1]]]])
>>> drawn = draw_segmentation_masks(images, masks, num_classes=2)
>>> drawn[0, 0, 1].tolist(), drawn[0, 1, 1].tolist()  # class 1 blended in; an ignored pixel
([0, 101, 24], [0, 0, 0])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamina import backend

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery", "plot_image_gallery",
           "plot_segmentation_mask_gallery"]


def _channels_last(images: Any, data_format: str | None) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape={images.shape}")
    if (data_format or backend.image_data_format()) == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    return images


def _palette(num_classes: int) -> list[list[int]]:
    """Keras's class colours: ``(i * [2**25 - 1, 2**15 - 1, 2**21 - 1]) % 255``."""
    base = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])
    return [((i * base) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(images: Any, segmentation_masks: Any, num_classes: int | None = None,
                            color_mapping: dict[int, Any] | None = None, alpha: float = 0.8, blend: bool = True,
                            ignore_index: int = -1, data_format: str | None = None) -> np.ndarray:
    """Colour each pixel of ``images`` ``(batch, h, w, c)`` by its class in ``segmentation_masks``
    ``(batch, h, w, 1)``; ``blend`` mixes ``alpha`` of the colour into the image (uint8 result) and leaves
    ``ignore_index`` pixels as they are.

    ``num_classes=None`` means ``max(mask) + 1`` (Keras 3.15 uses ``max(mask)`` and so never colours the highest
    class).
    """
    fmt = data_format or backend.image_data_format()
    images = _channels_last(images, fmt).astype("float32")
    masks = np.asarray(segmentation_masks)
    if fmt == "channels_first":
        masks = masks.transpose(0, 2, 3, 1)
    if not np.issubdtype(masks.dtype, np.integer):
        raise TypeError(f"`segmentation_masks` must be in integer dtype. Received: segmentation_masks.dtype="
                        f"{masks.dtype}")
    if num_classes is None:
        num_classes = int(masks.max()) + 1
    colors = _palette(num_classes) if color_mapping is None else [color_mapping[i] for i in range(num_classes)]
    labels = masks[..., 0]
    drawn = images.copy()
    for cls, color in enumerate(colors):
        drawn[labels == cls] = np.asarray(color, dtype="float32")
    if not blend:
        return drawn
    mixed = images * (1 - alpha) + drawn * alpha
    out = np.where((labels != ignore_index)[..., None], mixed, images)
    return out.astype("uint8")


def _to_xyxy(boxes: np.ndarray, fmt: str, height: int, width: int) -> np.ndarray:
    fmt = fmt.lower()
    relative = fmt.startswith("rel_")
    base = fmt.removeprefix("rel_")
    a, b, c, d = (boxes[..., i].astype("float32") for i in range(4))
    if base == "xyxy":
        x1, y1, x2, y2 = a, b, c, d
    elif base == "yxyx":
        y1, x1, y2, x2 = a, b, c, d
    elif base == "xywh":
        x1, y1, x2, y2 = a, b, a + c, b + d
    elif base == "center_xywh":
        x1, y1, x2, y2 = a - c / 2, b - d / 2, a + c / 2, b + d / 2
    elif base == "center_yxhw":
        y1, x1, y2, x2 = a - c / 2, b - d / 2, a + c / 2, b + d / 2
    else:
        raise ValueError(f"Unknown bounding_box_format {fmt!r}; expected one of 'xyxy', 'yxyx', 'xywh', "
                         "'center_xywh', 'center_yxhw' or their 'rel_' forms.")
    out = np.stack([x1, y1, x2, y2], axis=-1)
    return out * np.array([width, height, width, height], dtype="float32") if relative else out


def draw_bounding_boxes(images: Any, bounding_boxes: dict[str, Any], bounding_box_format: str,
                        class_mapping: dict[int, str] | None = None, color: Any = (128, 128, 128),
                        line_thickness: int = 2, text_thickness: int = 1, font_scale: float = 1.0,
                        data_format: str | None = None) -> np.ndarray:
    """Draw ``bounding_boxes["boxes"]`` ``(batch, n, 4)`` (labels ``-1`` skipped) on ``images``, with the class
    name (and confidence) above each box when ``class_mapping`` names it; uint8 ``(batch, h, w, c)`` out."""
    from lamina.utils.image_utils import _pil

    image_module = _pil("draw_bounding_boxes")
    from PIL import ImageDraw

    images = _channels_last(images, data_format)
    if not isinstance(bounding_boxes, dict):
        raise TypeError(f"`bounding_boxes` should be a dict. Received: bounding_boxes={bounding_boxes} of type "
                        f"{type(bounding_boxes)}")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(f"`bounding_boxes` should be a dict containing 'boxes' and 'labels' keys. Received: "
                         f"bounding_boxes={bounding_boxes}")
    class_mapping = class_mapping or {}
    height, width = images.shape[1:3]
    boxes = _to_xyxy(np.asarray(bounding_boxes["boxes"]), bounding_box_format, height, width)
    labels = np.asarray(bounding_boxes["labels"])
    confidences = bounding_boxes.get("confidences")
    if images.dtype.kind == "f" and images.size:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    images = images.astype("uint8")
    out = []
    for i in range(images.shape[0]):
        canvas = image_module.fromarray(images[i].squeeze(-1) if images.shape[-1] == 1 else images[i])
        pen = ImageDraw.Draw(canvas)
        ink = tuple(int(v) for v in color) if canvas.mode != "L" else int(np.mean(color))
        for j in range(boxes.shape[1]):
            cls = int(labels[i][j])
            if cls == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in boxes[i][j].astype("int32"))
            pen.rectangle([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)], outline=ink, width=line_thickness)
            if cls in class_mapping:
                text = class_mapping[cls]
                if confidences is not None:
                    text = f"{text} | {float(np.asarray(confidences)[i][j]):.2f}"
                top = y1 - 8 - int(font_scale * 12) if y1 - 8 - 2 * int(font_scale * 12) > 0 else y1 + 3
                pen.text((x1, top), text, fill=ink)
        array = np.asarray(canvas)
        out.append(array[..., None] if array.ndim == 2 else array)
    return np.stack(out, axis=0)


def _pyplot(what: str) -> Any:
    try:
        import matplotlib.pyplot as plt  # picks a non-interactive backend by itself when there is no display
    except ImportError as err:
        raise ImportError(f"The `{what}` function requires the `matplotlib` package. Please install it with "
                          "`pip install matplotlib`.") from err
    return plt


def plot_image_gallery(images: Any, y_true: Any = None, y_pred: Any = None, label_map: dict[int, str] | None = None,
                       rows: int | None = None, cols: int | None = None, value_range: tuple[float, float] = (0, 255),
                       scale: float = 2, path: str | None = None, show: bool | None = None,
                       transparent: bool = True, dpi: int = 60, legend_handles: Any = None,
                       data_format: str | None = None) -> Any:
    """Show (or save to ``path``) a ``rows`` x ``cols`` grid of the first images of a batch, titled with
    ``label_map[y_true[i]]``/``label_map[y_pred[i]]`` when given. Returns the matplotlib figure."""
    plt = _pyplot("plot_image_gallery")
    if path is not None and show:
        raise ValueError("plot_gallery() expects either `path` to be set, or `show` to be true.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError("If `y_true` or `y_pred` are provided, a `label_map` must also be provided.")
    show = show if show is not None else path is None
    images = _channels_last(images, data_format)
    batch = images.shape[0]
    rows = rows or int(math.ceil(math.sqrt(batch)))
    cols = cols or int(math.ceil(batch // rows))
    images = images[: min(rows * cols, batch)].astype("float32")
    low, high = value_range
    if (low, high) != (0, 255):
        images = (images - low) / (high - low) * 255.0
    fig, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale), frameon=False,
                             layout="tight", squeeze=False, sharex="row", sharey="col")
    fig.subplots_adjust(wspace=0, hspace=0)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    y_true = None if y_true is None else np.asarray(y_true)
    y_pred = None if y_pred is None else np.asarray(y_pred)
    for index in range(rows * cols):
        axis = axes[index // cols, index % cols]
        axis.axis("off")
        if index >= len(images):
            continue
        picture = images[index].astype("uint8")
        axis.imshow(picture[..., 0] if picture.shape[-1] == 1 else picture,
                    cmap="gray" if picture.shape[-1] == 1 else None)
        axis.margins(x=0, y=0)
        parts = []
        if y_true is not None and index < len(y_true):
            parts.append(f"Label: {label_map.get(_key(y_true[index]), 'Unknown')}")
        if y_pred is not None and index < len(y_pred):
            parts.append(f"Pred: {label_map.get(_key(y_pred[index]), 'Unknown')}")
        if parts:
            axis.set_title("  ".join(parts), fontsize=8)
    if path is not None:
        fig.savefig(path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
        plt.close(fig)
    elif show:
        plt.show()
        plt.close(fig)
    return fig


def _key(value: Any) -> Any:
    array = np.asarray(value)
    return array.item() if array.ndim == 0 else value


def plot_segmentation_mask_gallery(images: Any, num_classes: int, value_range: tuple[float, float] = (0, 255),
                                   y_true: Any = None, y_pred: Any = None, color_mapping: dict[int, Any] | None = None,
                                   blend: bool = True, alpha: float = 0.8, ignore_index: int = -1,
                                   data_format: str | None = None, **kwargs: Any) -> Any:
    """One row per image: the image, then the true and the predicted masks drawn on it."""
    fmt = data_format or backend.image_data_format()
    images = _channels_last(images, fmt)
    columns = [images]
    for masks in (y_true, y_pred):
        if masks is not None:
            masks = np.asarray(masks)
            if fmt == "channels_first":
                masks = masks.transpose(0, 2, 3, 1)
            columns.append(draw_segmentation_masks(images, masks.astype("int32"), num_classes, color_mapping, alpha,
                                                   blend, ignore_index, data_format="channels_last"))
    gallery = np.stack([col[i] for i in range(images.shape[0]) for col in columns]).astype("float32")
    return plot_image_gallery(gallery, value_range=value_range, rows=images.shape[0], cols=len(columns),
                              data_format="channels_last", **kwargs)


def plot_bounding_box_gallery(images: Any, bounding_box_format: str, y_true: dict[str, Any] | None = None,
                              y_pred: dict[str, Any] | None = None, value_range: tuple[float, float] = (0, 255),
                              true_color: Any = (0, 188, 212), pred_color: Any = (255, 235, 59),
                              line_thickness: int = 2, font_scale: float = 1.0, text_thickness: int | None = None,
                              class_mapping: dict[int, str] | None = None,
                              ground_truth_mapping: dict[int, str] | None = None,
                              prediction_mapping: dict[int, str] | None = None, legend: bool = False,
                              legend_handles: Any = None, rows: int | None = None, cols: int | None = None,
                              data_format: str | None = None, **kwargs: Any) -> Any:
    """A gallery of images with their true (and predicted) boxes drawn on them."""
    _pyplot("plot_bounding_box_gallery")
    images = _channels_last(images, data_format)
    drawn = images
    common = {"bounding_box_format": bounding_box_format, "line_thickness": line_thickness,
              "text_thickness": text_thickness or line_thickness, "font_scale": font_scale,
              "data_format": "channels_last"}
    if y_true is not None:
        drawn = draw_bounding_boxes(drawn, y_true, color=true_color,
                                    class_mapping=ground_truth_mapping or class_mapping, **common)
    if y_pred is not None:
        drawn = draw_bounding_boxes(drawn, y_pred, color=pred_color,
                                    class_mapping=prediction_mapping or class_mapping, **common)
    if legend:
        if legend_handles:
            raise ValueError("Only pass `legend` OR `legend_handles` to plot_bounding_box_gallery().")
        from matplotlib import patches

        legend_handles = [patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
                          patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction")]
    return plot_image_gallery(drawn, value_range=value_range, legend_handles=legend_handles, rows=rows, cols=cols,
                              data_format="channels_last", **kwargs)
