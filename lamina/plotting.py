"""Pictures with matplotlib only (no graphviz, no pydot): the layer graph, training curves, and how one layer
maps its input.

matplotlib is an optional extra (``pip install matplotlib`` or ``pip install lamina[plot]``). Files are
written with matplotlib's Agg/SVG renderers, never a GUI window; the format follows the file extension
(``.png``, ``.svg``, ``.pdf``).

>>> import os, tempfile
>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Dense(512, input_shape=(32, 32, 3)), layers.Dense(10)])
>>> path = os.path.join(tempfile.mkdtemp(), "model.svg")
>>> plot_model(model, to_file=path)
>>> os.path.getsize(path) > 0
True
"""

from __future__ import annotations

import math
import os
import textwrap
from typing import Any

__all__ = ["plot_model", "plot_history", "plot_layer_mapping"]

_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _MARGIN = 3.6, 0.95, 0.4, 0.45, 0.25
_INPUT_COLOR, _LAYER_COLOR, _HIGHLIGHT, _EDGE = "#e8f1fb", "#f4f4f4", "#f5a623", "#444444"


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("Plotting needs matplotlib, which is not installed. Install it with "
                          "`pip install matplotlib` (or `pip install lamina[plot]`). No graphviz or pydot is "
                          "needed.") from None
    return Figure(figsize=(width, height))


def _save(fig: Any, to_file: str, dpi: int) -> Any:
    folder = os.path.dirname(os.path.abspath(to_file))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(to_file, dpi=dpi)
    return _notebook_image(to_file)


def _notebook_image(path: str) -> Any:
    """An IPython image to display inline when running in a notebook, else ``None``."""
    try:
        import sys

        if "IPython" not in sys.modules:
            return None
        from IPython import get_ipython
        from IPython.display import SVG, Image

        shell = get_ipython()
        if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
            return None
        return SVG(filename=path) if path.lower().endswith(".svg") else Image(filename=path)
    except Exception:  # noqa: BLE001 - display is a convenience
        return None


def _shape_text(shape: Any) -> str:
    from lamina.explain import _shape_text as text

    return text(shape)


# --------------------------------------------------------------------------------------- plot_model
def _graph(model: Any, expand_nested: bool) -> tuple[list[Any], list[tuple[int, int]]]:
    """Layers (drawing order) and edges ``(from index, to index)`` of a built functional/Sequential model."""
    if not getattr(model, "_functional", False):
        model._require_built("plot_model()")
    layers: list[Any] = []
    index: dict[int, int] = {}
    edges: list[tuple[int, int]] = []

    def add(layer: Any) -> int:
        if id(layer) not in index:
            index[id(layer)] = len(layers)
            layers.append(layer)
        return index[id(layer)]

    for node in model._nodes:
        dst = add(node.layer)
        for t in node.input_tensors:
            if t.history is not None:
                edges.append((add(t.history.layer), dst))
    order = sorted(range(len(layers)), key=lambda i: i)
    return [layers[i] for i in order], sorted(set(edges))


def _levels(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Longest-path levels from the inputs, then every layer pushed down next to its first consumer."""
    level = [0] * n
    for _ in range(n):
        changed = False
        for a, b in edges:
            if level[b] < level[a] + 1:
                level[b] = level[a] + 1
                changed = True
        if not changed:
            break
    for _ in range(n):
        changed = False
        for i in range(n):
            below = [level[b] for a, b in edges if a == i]
            if below and min(below) - 1 > level[i]:
                level[i] = min(below) - 1
                changed = True
        if not changed:
            break
    return level


def _order_rows(rows: list[list[int]], edges: list[tuple[int, int]]) -> list[list[int]]:
    """Order each row by the mean position of its predecessors (fewer crossing edges)."""
    position: dict[int, float] = {}
    out = []
    for members in rows:
        def key(i: int, members: list[int] = members) -> float:
            preds = [position[a] for a, b in edges if b == i and a in position]
            return sum(preds) / len(preds) if preds else members.index(i) / max(1, len(members))
        ordered = sorted(members, key=key)
        for k, i in enumerate(ordered):
            position[i] = k / max(1, len(ordered) - 1) if len(ordered) > 1 else 0.5
        out.append(ordered)
    return out


def _layer_lines(model: Any, layer: Any, show_shapes: bool, show_dtype: bool, show_layer_names: bool,
                 show_layer_activations: bool, show_trainable: bool) -> list[str]:
    from lamina.explain import _activation_name, layer_shapes

    title = f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__
    if show_layer_activations:
        act = _activation_name(layer)
        if act:
            title += f"  [{act}]"
    lines = [title]
    if show_shapes:
        in_shape, out_shape = layer_shapes(model, layer)
        if type(layer).__name__ == "InputLayer":
            lines.append(f"shape: {_shape_text(out_shape)}")
        else:
            lines.append(f"in: {_shape_text(in_shape)}")
            lines.append(f"out: {_shape_text(out_shape)}")
    params = layer.count_params() if getattr(layer, "built", False) else 0
    extra = f"params: {params:,}" if params else ""
    if show_dtype:
        extra += ("  " if extra else "") + f"dtype: {getattr(layer, 'dtype', 'float32')}"
    if show_trainable:
        extra += ("  " if extra else "") + ("trainable" if layer.trainable else "frozen")
    if extra:
        lines.append(extra)
    return lines


def plot_model(model: Any, to_file: str = "model.png", show_shapes: bool = True, show_dtype: bool = False,
               show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False, dpi: int = 96,
               show_layer_activations: bool = False, show_trainable: bool = False, **kwargs: Any) -> Any:
    """Draw the layer graph of a built model with each layer's input/output shapes and parameter count.

    ``rankdir`` is ``"TB"`` (top to bottom) or ``"LR"``. The file type follows ``to_file``'s extension. Returns
    an IPython image inside a notebook, else ``None``. ``expand_nested`` is accepted for Keras compatibility;
    nested models are drawn as one box.
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR', received {rankdir!r}.")
    layers, edges = _graph(model, expand_nested)
    texts = [_layer_lines(model, layer, show_shapes, show_dtype, show_layer_names, show_layer_activations,
                          show_trainable) for layer in layers]
    level = _levels(len(layers), edges)
    depth = max(level) + 1 if level else 1
    rows: list[list[int]] = [[] for _ in range(depth)]
    for i, lvl in enumerate(level):
        rows[lvl].append(i)
    rows = _order_rows(rows, edges)
    widest = max(len(r) for r in rows)
    longest = max((len(line) for t in texts for line in t), default=20)
    box_w = max(_BOX_W, 0.085 * longest + 0.3)
    box_h = max(_BOX_H, 0.2 * max(len(t) for t in texts) + 0.25)
    if rankdir == "TB":
        width = 2 * _MARGIN + widest * box_w + (widest - 1) * _GAP_X
        height = 2 * _MARGIN + depth * box_h + (depth - 1) * _GAP_Y
    else:
        width = 2 * _MARGIN + depth * box_w + (depth - 1) * _GAP_X * 2
        height = 2 * _MARGIN + widest * box_h + (widest - 1) * _GAP_Y
    fig = _figure(width, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    centers: dict[int, tuple[float, float]] = {}
    for lvl, members in enumerate(rows):
        for k, i in enumerate(members):
            if rankdir == "TB":
                span = len(members) * box_w + (len(members) - 1) * _GAP_X
                x = (width - span) / 2 + k * (box_w + _GAP_X) + box_w / 2
                y = height - _MARGIN - lvl * (box_h + _GAP_Y) - box_h / 2
            else:
                span = len(members) * box_h + (len(members) - 1) * _GAP_Y
                x = _MARGIN + lvl * (box_w + 2 * _GAP_X) + box_w / 2
                y = height - (height - span) / 2 - k * (box_h + _GAP_Y) - box_h / 2
            centers[i] = (x, y)
    from matplotlib.patches import FancyBboxPatch

    for i, layer in enumerate(layers):
        x, y = centers[i]
        color = _INPUT_COLOR if type(layer).__name__ == "InputLayer" else _LAYER_COLOR
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.0,rounding_size=0.08", fc=color, ec=_EDGE, lw=1.0))
        lines = texts[i]
        step = 0.2
        top = y + step * (len(lines) - 1) / 2
        for j, line in enumerate(lines):
            ax.text(x, top - j * step, line, ha="center", va="center", fontsize=9,
                    fontweight="bold" if j == 0 else "normal", family="monospace" if j else "sans-serif")
    for a, b in edges:
        (xa, ya), (xb, yb) = centers[a], centers[b]
        if rankdir == "TB":
            start, end = (xa, ya - box_h / 2), (xb, yb + box_h / 2)
        else:
            start, end = (xa + box_w / 2, ya), (xb - box_w / 2, yb)
        ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": _EDGE, "lw": 1.0})
    return _save(fig, to_file, dpi)


# ------------------------------------------------------------------------------------- plot_history
def plot_history(history: Any, to_file: str = "history.png", metrics: list[str] | None = None, dpi: int = 96,
                 title: str | None = None) -> Any:
    """Plot the loss and metric curves of ``model.fit``'s History (or its ``.history`` dict), one panel per
    metric with its ``val_`` curve. Returns an IPython image inside a notebook, else ``None``."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(f"plot_history expects the History returned by fit() or its .history dict, received "
                         f"{history!r}.")
    names = metrics or [k for k in logs if not k.startswith("val_")]
    names += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in logs and k[4:] not in names and
              not metrics]
    from matplotlib.ticker import MaxNLocator

    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = _figure(4.6 * cols, 3.4 * rows + (0.3 if title else 0))
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        for key, label, style in ((name, "train", "-o"), (f"val_{name}", "validation", "--s")):
            values = logs.get(key)
            if values:
                epochs = range(1, len(values) + 1)
                ax.plot(list(epochs), [float(v) for v in values], style, label=label, markersize=3)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, to_file, dpi)


# ------------------------------------------------------------------------------- plot_layer_mapping
def _grid(ax: Any, x0: float, y0: float, dims: tuple[Any, ...], cell: float, highlight: set[tuple[int, int]],
          max_cells: int = 6) -> tuple[dict[tuple[int, int], tuple[float, float]], float, float]:
    """Draw a grid of positions (up to 2 shared axes, truncated with dots); returns cell centers, width, height."""
    from matplotlib.patches import Rectangle

    dims = tuple(dims) or (1,)
    if len(dims) == 1:
        dims = (1,) + dims
    rows, cols = (min(d or max_cells, max_cells) for d in dims[:2])
    centers = {}
    for r in range(rows):
        for c in range(cols):
            x, y = x0 + c * cell, y0 - r * cell
            hot = (r, c) in highlight
            ax.add_patch(Rectangle((x, y - cell), cell, cell, fc=_HIGHLIGHT if hot else "#dbe8f5", ec="white",
                                   lw=1.0))
            centers[(r, c)] = (x + cell / 2, y - cell / 2)
    if (dims[1] or 0) > cols:
        ax.text(x0 + cols * cell + 0.05, y0 - rows * cell / 2, "…", va="center", fontsize=12)
    if (dims[0] or 0) > rows:
        ax.text(x0 + cols * cell / 2, y0 - rows * cell - 0.12, "⋮", ha="center", va="center", fontsize=12)
    return centers, cols * cell, rows * cell


def _vector(ax: Any, x: float, y_top: float, n: Any, cell: float, color: str, label: str,
            max_cells: int = 8) -> tuple[float, float]:
    """A column of up to ``max_cells`` cells standing for an ``n``-vector; returns (center x, center y)."""
    from matplotlib.patches import Rectangle

    shown = min(n or max_cells, max_cells)
    for k in range(shown):
        ax.add_patch(Rectangle((x, y_top - (k + 1) * cell), cell, cell, fc=color, ec="white", lw=1.0))
    if (n or 0) > shown:
        ax.text(x + cell / 2, y_top - shown * cell - 0.1, "⋮", ha="center", va="center", fontsize=11)
    ax.text(x + cell / 2, y_top + 0.12, label, ha="center", va="bottom", fontsize=9)
    return x + cell / 2, y_top - shown * cell / 2


def plot_layer_mapping(record: Any, to_file: str = "layer.png", dpi: int = 96) -> Any:
    """Draw how one layer (a :class:`lamina.explain.LayerExplanation`) maps its input: for a Dense on an N-D
    input, the grid of positions it is applied at, one position's vector, the one shared kernel, and the
    output vector at the same position; for a rank-2 Dense, every input value connected to every unit."""
    fig = _figure(10.0, 5.2)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5.2)
    ax.axis("off")
    in_shape = record.input_shape if isinstance(record.input_shape, tuple) else None
    out_shape = record.output_shape if isinstance(record.output_shape, tuple) else None
    ax.text(5, 5.0, f"{record.name} ({record.class_name}): {_shape_text(record.input_shape)} → "
            f"{_shape_text(record.output_shape)}", ha="center", va="top", fontsize=12, fontweight="bold")
    shared = tuple(record.shared_axes)
    contracted = tuple(record.contracted_axes)
    kernel = next((w for w in record.weights if w.name in ("kernel", "embeddings")), None)
    if in_shape is not None and out_shape is not None and kernel is not None and shared:
        _draw_shared(ax, record, in_shape, out_shape, shared, contracted, kernel)
    elif in_shape is not None and out_shape is not None and kernel is not None and len(in_shape) == 2:
        _draw_dense(ax, in_shape, out_shape, kernel)
    else:
        _draw_boxes(ax, record)
    body = textwrap.fill(record.description, width=125)
    ax.text(0.3, 1.25, body, ha="left", va="top", fontsize=8.5, wrap=True)
    ax.text(0.3, 0.3, f"parameters: {record.arithmetic}", ha="left", va="bottom", fontsize=10, family="monospace")
    return _save(fig, to_file, dpi)


def _draw_shared(ax: Any, record: Any, in_shape: tuple[Any, ...], out_shape: tuple[Any, ...],
                 shared: tuple[int, ...], contracted: tuple[int, ...], kernel: Any) -> None:
    pos_in = tuple(in_shape[a] for a in shared)
    pos_out = tuple(out_shape[a] for a in shared if a < len(out_shape))
    window = tuple(getattr(record.layer, "kernel_size", ())) if record.layer is not None else ()
    hot_in = {(r, c) for r in range(window[0] if len(window) > 1 else 1)
              for c in range(window[-1] if window else 1)}
    hot_in = {(r + 1, c + 1) for r, c in hot_in}
    cell = 0.32
    centers_in, gw, gh = _grid(ax, 0.4, 4.3, pos_in, cell, hot_in)
    ax.text(0.4 + gw / 2, 4.3 - gh - 0.35, f"input positions {'x'.join(map(str, pos_in))}", ha="center",
            fontsize=9)
    far = sorted(centers_in, key=lambda rc: -(rc[0] + rc[1]))
    others = [k for k in far if k not in hot_in][1:4:2]
    feat_in = in_shape[contracted[-1]] if contracted else in_shape[-1]
    size = feat_in * math.prod(window) if window and feat_in else feat_in
    label = f"{_x_join(window)}x{feat_in} values" if window else f"{feat_in} values"
    vx, vy = _vector(ax, 3.0, 4.1, size, 0.22, _HIGHLIGHT, label)
    src = centers_in[sorted(hot_in)[0]] if sorted(hot_in)[0] in centers_in else next(iter(centers_in.values()))
    ax.annotate("", xy=(3.0, vy), xytext=src, arrowprops={"arrowstyle": "-|>", "color": _EDGE})
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((4.05, vy - 0.45), 1.7, 0.9, boxstyle="round,pad=0.02", fc="#fde9c9", ec=_EDGE))
    ax.text(4.9, vy + 0.12, f"kernel {' x '.join(map(str, kernel.shape))}", ha="center", fontsize=9,
            fontweight="bold")
    ax.text(4.9, vy - 0.2, "one kernel, shared", ha="center", fontsize=8)
    ax.annotate("", xy=(4.05, vy), xytext=(3.25, vy), arrowprops={"arrowstyle": "-|>", "color": _EDGE})
    for key in others:
        ax.annotate("", xy=(4.3, vy - 0.45), xytext=centers_in[key],
                    arrowprops={"arrowstyle": "-|>", "color": "#999999", "ls": "--", "lw": 0.8})
    units = out_shape[-1]
    ox, oy = _vector(ax, 6.15, 4.1, units, 0.22, "#9ccc65", f"{units} values")
    ax.annotate("", xy=(6.15, oy), xytext=(5.75, vy), arrowprops={"arrowstyle": "-|>", "color": _EDGE})
    out_hot = {(1, 1)}
    centers_out, gw2, gh2 = _grid(ax, 7.0, 4.3, pos_out, cell, out_hot)
    ax.annotate("", xy=centers_out[(1, 1)] if (1, 1) in centers_out else next(iter(centers_out.values())),
                xytext=(6.37, oy), arrowprops={"arrowstyle": "-|>", "color": _EDGE})
    ax.text(7.0 + gw2 / 2, 4.3 - gh2 - 0.35, f"output positions {'x'.join(map(str, pos_out))}", ha="center",
            fontsize=9)
    ax.text(5.0, 1.55, f"the same kernel is applied at each of the {'x'.join(map(str, pos_in))} positions "
            "(dashed: other positions)", ha="center", fontsize=9, style="italic")


def _x_join(dims: tuple[Any, ...]) -> str:
    return "x".join(map(str, dims))


def _draw_dense(ax: Any, in_shape: tuple[Any, ...], out_shape: tuple[Any, ...], kernel: Any) -> None:
    n_in, n_out = min(in_shape[-1] or 10, 10), min(out_shape[-1] or 6, 6)
    ys_in = [4.2 - k * 0.25 for k in range(n_in)]
    ys_out = [4.2 - 0.25 * (n_in - n_out) / 2 - k * 0.25 for k in range(n_out)]
    for yi in ys_in:
        for yo in ys_out:
            ax.plot([2.6, 7.2], [yi, yo], color="#bbbbbb", lw=0.5)
    ax.scatter([2.6] * n_in, ys_in, s=60, c=_HIGHLIGHT, zorder=3)
    ax.scatter([7.2] * n_out, ys_out, s=60, c="#9ccc65", zorder=3)
    ax.text(2.6, 4.45, f"{in_shape[-1]} input values", ha="center", fontsize=9)
    ax.text(7.2, 4.45, f"{out_shape[-1]} units", ha="center", fontsize=9)
    ax.text(4.9, 1.55, f"every input value connects to every unit: kernel {' x '.join(map(str, kernel.shape))}",
            ha="center", fontsize=9, style="italic")


def _draw_boxes(ax: Any, record: Any) -> None:
    from matplotlib.patches import FancyBboxPatch

    for x, text in ((1.0, f"input\n{_shape_text(record.input_shape)}"),
                    (4.0, f"{record.class_name}\n{record.name}"),
                    (7.0, f"output\n{_shape_text(record.output_shape)}")):
        ax.add_patch(FancyBboxPatch((x, 2.6), 2.2, 1.2, boxstyle="round,pad=0.02", fc=_LAYER_COLOR, ec=_EDGE))
        ax.text(x + 1.1, 3.2, text, ha="center", va="center", fontsize=10)
    for x in (3.2, 6.2):
        ax.annotate("", xy=(x + 0.8, 3.2), xytext=(x, 3.2), arrowprops={"arrowstyle": "-|>", "color": _EDGE})
