"""An SVG diagram of a traced step: neurons, weights on the edges, activations, gradients.

The forward view labels each edge with its weight ``Wk[i,j]`` and each neuron with
its output ``outLk`` (``inLk`` and the bias beneath it); arrows point forward, and the
outputs run into the loss, with the target ``y`` beside each. The backward view labels
each edge with ``dEdWk[i,j]`` and each neuron with ``dEdInLk`` (the delta) and ``dEdBk``;
its arrows point back, from the loss towards the input. Colour gives the sign (blue
> 0, red < 0, grey exactly 0), edge width the size. Neurons flagged by
:mod:`~chainrule.explain.diagnostics` are drawn orange (saturated) or grey and dashed
(dead or inactive ReLU). For a batch the neuron values are those of instance 1, as
the diagram says; the gradients on the edges are those of the whole batch.

The drawing scales to the page: a ``viewBox`` with ``max-width: 100%``, so a phone's
narrow screen shrinks it rather than scrolling sideways. Edge labels are placed along
their edge where they overlap no other label (an edge with no free place keeps its
value in its tooltip only). A legend closes the drawing. The SVG has no blank lines.

Examples
--------
>>> from chainrule import explain, seed_example
>>> seed = seed_example()
>>> svg = explain(seed.network, seed.x, seed.y, lr=seed.lr).diagram()
>>> svg.startswith("<svg") and "-0.4" in svg and "-0.0219" in svg and "viewBox" in svg
True
"""

from __future__ import annotations

from html import escape

import numpy as np

from ..trace import Trace
from .diagnostics import diagnose
from .expr import number

COLUMN = 230
ROW = 100
RADIUS = 30
MARGIN = 70
LABEL_LIMIT = 24
"""Edges are labelled only when the network has at most this many neurons."""
CHAR_WIDTH = 0.62
"""A generous average glyph width of sans-serif type, in ems (for placing labels)."""
POSITIVE, NEGATIVE, ZERO = "#1f5fbf", "#c0392b", "#8a8a8a"
PLACES = (0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8, 0.45, 0.55, 0.33, 0.67)
"""Where along an edge (0 at its start, 1 at its end) a label may go, tried in order."""

Box = tuple[float, float, float, float]


def _text(
    x: float, y: float, text: str, size: int = 12, anchor: str = "middle", **attrs: str
) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"'
        f' font-family="sans-serif"{extra}>{escape(text)}</text>'
    )


def _box(x: float, y: float, text: str, size: int, anchor: str = "middle") -> Box:
    """The box a text label takes (a generous estimate), as (left, top, right, bottom)."""
    width = len(text) * size * CHAR_WIDTH
    left = x - width / 2 if anchor == "middle" else x if anchor == "start" else x - width
    return left, y - size, left + width, y + 0.3 * size


def _overlaps(a: Box, b: Box, pad: float = 1.0) -> bool:
    apart = a[2] + pad <= b[0] or b[2] + pad <= a[0] or a[3] + pad <= b[1] or b[3] + pad <= a[1]
    return not apart


def _colour(value: float) -> str:
    return ZERO if value == 0 else POSITIVE if value > 0 else NEGATIVE


def _wrap(text: str, width: float, size: int) -> list[str]:
    """Split ``text`` into lines that fit ``width`` pixels at font ``size``."""
    per_line = max(int(width / (size * CHAR_WIDTH)), 20)
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > per_line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def _view(
    trace: Trace, backward: bool, top: float, precision: int, width: float
) -> tuple[list[str], float]:
    n_layers = int(trace.info["n_layers"])
    sizes = [int(trace["x"].shape[1])] + [
        int(trace[f"b{k}"].shape[0]) for k in range(1, n_layers + 1)
    ]
    flags = diagnose(trace).flags
    label_edges = sum(sizes) <= LABEL_LIMIT
    n = trace.n_samples

    title = "Backward pass" if backward else "Forward pass"
    what = (
        "dE/dWk on the edges, the delta dEdInLk in each neuron (dEdBk beneath); the "
        "arrows point back, from the loss towards the input."
        if backward
        else "Wk on the edges, outLk in each neuron (inLk and the bias beneath); the "
        "outputs run into the loss, with the target y beside each."
    )
    if n > 1:
        what += f" Neuron values: instance 1 of {n}; edge values: the whole batch."
    header = [_text(MARGIN - RADIUS, top + 18, title, 14, "start", font_weight="bold")]
    lines = _wrap(what, width - MARGIN, 11)
    header += [
        _text(MARGIN - RADIUS, top + 36 + 14 * i, line, 11, "start", fill="#444")
        for i, line in enumerate(lines)
    ]
    body_top = top + 36 + 14 * len(lines) + 10
    height = max(sizes) * ROW

    def pos(col: int, j: int) -> tuple[float, float]:
        offset = (max(sizes) - sizes[col]) * ROW / 2
        return MARGIN + col * COLUMN, body_top + 20 + offset + j * ROW + ROW / 2

    def fmt(v: float) -> str:
        return number(v, precision)

    marker = "cr-back" if backward else "cr-fwd"
    edges, labels, nodes = [], [], []
    taken: list[Box] = []
    # the nodes and their labels first: edge labels must keep clear of them
    for col, count in enumerate(sizes):
        for j in range(count):
            cx, cy = pos(col, j)
            taken.append((cx - RADIUS, cy - RADIUS, cx + RADIUS, cy + RADIUS))
            fill, dash = "#ffffff", ""
            flag = flags.get((col, j + 1)) if col else None
            if flag == "saturated":
                fill = "#fde3c4"
            elif flag == "dead":
                fill, dash = "#dddddd", ' stroke-dasharray="4 3"'
            nodes.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{RADIUS}" fill="{fill}" stroke="#333"'
                f' stroke-width="1.5"{dash}><title>{"x" if col == 0 else f"layer {col}"}[{j + 1}]'
                f"{' ' + flag if flag else ''}</title></circle>"
            )
            colour = "#222"
            if col == 0:
                value, below = float(np.asarray(trace["x"])[0, j]), ""
                top_label = f"x[{j + 1}]"
            elif backward:
                value = float(np.asarray(trace[f"dEdInL{col}"])[0, j])
                colour = _colour(value)
                below = f"dEdB = {fmt(float(np.asarray(trace[f'dEdB{col}'])[j]))}"
                top_label = f"dEdInL{col}[{j + 1}]"
            else:
                value = float(np.asarray(trace[f"outL{col}"])[0, j])
                act = trace.info["activations"][col - 1].name
                below = (f"inL = {fmt(float(np.asarray(trace[f'inL{col}'])[0, j]))}, "
                         f"b = {fmt(float(np.asarray(trace[f'b{col}'])[j]))}")  # fmt: skip
                top_label = f"outL{col}[{j + 1}] ({act})"
            for y, text, size, weight in (
                (cy + 4, fmt(value), 12, "bold"),
                (cy - RADIUS - 6, top_label, 10, "normal"),
                (cy + RADIUS + 14, below, 10, "normal"),
            ):
                if not text:
                    continue
                fill_text = colour if weight == "bold" else "#555"
                nodes.append(_text(cx, y, text, size, font_weight=weight, fill=fill_text))
                taken.append(_box(cx, y, text, size))
    # the loss, and the target beside each output
    L = n_layers
    lx = MARGIN + (L + 1) * COLUMN - 40
    ly = body_top + 20 + height / 2
    loss_name = trace.info["loss"].name
    E = float(np.asarray(trace["E"]))
    loss_lines = [f"loss: {loss_name}", f"E = {fmt(E)}" if not backward else "dE/dE = 1"]
    box_w = max(len(t) for t in loss_lines) * 11 * CHAR_WIDTH + 16
    nodes.append(
        f'<rect x="{lx - box_w / 2:.1f}" y="{ly - 24:.1f}" width="{box_w:.1f}" height="48" '
        'rx="6" fill="#f4f4f4" stroke="#333" stroke-width="1.5"/>'
    )
    taken.append((lx - box_w / 2, ly - 24, lx + box_w / 2, ly + 24))
    for i, text in enumerate(loss_lines):
        nodes.append(_text(lx, ly - 4 + 15 * i, text, 11, font_weight="bold" if i else "normal"))
    y_target = np.asarray(trace["y"], dtype=float)[0]
    for j in range(sizes[L]):
        (x1, y1), (x2, y2) = pos(L, j), (lx - box_w / 2, ly)
        start = (x1 + RADIUS, y1)
        a, b = ((x2, y2), start) if backward else (start, (x2, y2))
        edges.append(
            f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" '
            f'stroke="#555" stroke-width="1.2" marker-end="url(#{marker})"/>'
        )
        if not backward:
            text = f"y[{j + 1}] = {fmt(y_target[j])}"
            tx, ty = x1 + RADIUS + 8, y1 - 8
            labels.append(_text(tx, ty, text, 10, "start", fill="#555"))
            taken.append(_box(tx, ty, text, 10, "start"))
    for k in range(1, n_layers + 1):
        W = np.asarray(trace[f"dEdW{k}" if backward else f"W{k}"], dtype=float)
        scale = float(np.max(np.abs(W))) or 1.0
        for i in range(sizes[k - 1]):
            for j in range(sizes[k]):
                (x1, y1), (x2, y2) = pos(k - 1, i), pos(k, j)
                w = W[i, j]
                colour = _colour(w)
                stroke = 0.8 + 3.2 * abs(w) / scale
                sx, ex = x1 + RADIUS, x2 - RADIUS
                a, b = ((ex, y2), (sx, y1)) if backward else ((sx, y1), (ex, y2))
                name = f"dEdW{k}" if backward else f"W{k}"
                edges.append(
                    f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" '
                    f'stroke="{colour}" stroke-width="{stroke:.2f}" stroke-opacity="0.75" '
                    f'marker-end="url(#{marker})"><title>{name}[{i + 1},{j + 1}] = {fmt(w)}'
                    "</title></line>"
                )
                if not label_edges:
                    continue
                text = fmt(w)
                for t in PLACES:
                    lx_, ly_ = sx + t * (ex - sx), y1 + t * (y2 - y1) - 4
                    box = _box(lx_, ly_, text, 11)
                    if not any(_overlaps(box, other) for other in taken):
                        taken.append(box)
                        labels.append(
                            _text(lx_, ly_, text, 11, fill=colour, stroke="white",
                                  stroke_width="3", paint_order="stroke")
                            .replace("</text>", f"<title>{name}[{i + 1},{j + 1}]</title></text>")
                        )  # fmt: skip
                        break
    parts = header + edges + nodes + labels
    return parts, body_top - top + height + 50


def _legend(top: float, width: float) -> tuple[list[str], float]:
    x = MARGIN - RADIUS
    parts = [_text(x, top + 14, "Legend", 12, "start", font_weight="bold")]
    swatches = [("> 0", POSITIVE), ("< 0", NEGATIVE), ("exactly 0", ZERO)]
    cx = x
    for text, colour in swatches:
        parts.append(
            f'<line x1="{cx:.1f}" y1="{top + 30:.1f}" x2="{cx + 24:.1f}" y2="{top + 30:.1f}" '
            f'stroke="{colour}" stroke-width="3"/>'
        )
        parts.append(_text(cx + 30, top + 34, text, 11, "start"))
        cx += 30 + len(text) * 11 * CHAR_WIDTH + 20
    notes = (
        "Edge width: the size of the value. Orange neuron: saturated (its derivative is "
        "nearly 0). Grey dashed neuron: a ReLU with inL <= 0 (no gradient flows through "
        "it). Arrows: the direction the values flow in each pass."
    )
    lines = _wrap(notes, width - 2 * x, 11)
    parts += [
        _text(x, top + 54 + 14 * i, line, 11, "start", fill="#444") for i, line in enumerate(lines)
    ]
    return parts, 54 + 14 * len(lines) + 10


def render_svg(trace: Trace, view: str = "both", precision: int = 4) -> str:
    """The diagram of a traced step as one SVG document.

    Parameters
    ----------
    trace : Trace
    view : {"forward", "backward", "both"}
        Both stacks the forward view above the backward view.
    precision : int
        Digits after the decimal point on the labels.
    """
    if view not in ("forward", "backward", "both"):
        raise ValueError(f"view must be 'forward', 'backward' or 'both', got {view!r}")
    n_layers = int(trace.info["n_layers"])
    width = 2 * MARGIN + (n_layers + 1) * COLUMN
    parts: list[str] = []
    top = 0.0
    for backward in {"forward": [False], "backward": [True], "both": [False, True]}[view]:
        view_parts, height = _view(trace, backward, top, precision, width)
        parts += view_parts
        top += height
    legend, height = _legend(top, width)
    parts += legend
    top += height
    body = "\n".join(parts)
    arrows = "".join(
        f'<marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker>'
        for name in ("cr-fwd", "cr-back")
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" viewBox="0 0 {width} '
        f'{top:.0f}" style="max-width: 100%; height: auto" role="img">\n'
        f"<title>Network diagram of one training step</title>\n"
        f"<defs>{arrows}</defs>\n"
        f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n'
    )
