"""An SVG diagram of a traced step: neurons, weights on the edges, activations, gradients.

The forward view labels each edge with its weight ``Wk[i,j]`` and each neuron with
its output ``outLk`` (``inLk`` beneath it, the bias beside it). The backward view
labels each edge with ``dEdWk[i,j]`` and each neuron with ``dEdInLk`` (the delta) and
``dEdBk``. Edge colour gives the sign (blue >= 0, red < 0), edge width the size.
Neurons flagged by :mod:`~chainrule.explain.diagnostics` are drawn orange (saturated)
or grey and dashed (dead ReLU). For a batch the neuron values are those of instance 1;
the gradients are those of the whole batch.

The SVG has no blank lines, so it can sit inside Markdown as an HTML block.

Examples
--------
>>> from chainrule import explain, seed_example
>>> seed = seed_example()
>>> svg = explain(seed.network, seed.x, seed.y, lr=seed.lr).diagram()
>>> svg.startswith("<svg") and "-0.4" in svg and "-0.0219" in svg
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


def _text(
    x: float, y: float, text: str, size: int = 12, anchor: str = "middle", **attrs: str
) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"'
        f' font-family="sans-serif"{extra}>{escape(text)}</text>'
    )


def _view(trace: Trace, backward: bool, top: float, precision: int) -> tuple[list[str], float]:
    n_layers = int(trace.info["n_layers"])
    sizes = [int(trace["x"].shape[1])] + [
        int(trace[f"b{k}"].shape[0]) for k in range(1, n_layers + 1)
    ]
    height = max(sizes) * ROW
    flags = diagnose(trace).flags
    label_edges = sum(sizes) <= LABEL_LIMIT

    def pos(col: int, j: int) -> tuple[float, float]:
        offset = (max(sizes) - sizes[col]) * ROW / 2
        return MARGIN + col * COLUMN, top + 40 + offset + j * ROW + ROW / 2

    def fmt(v: float) -> str:
        return number(v, precision)

    title = (
        "Backward pass: dE/dW on the edges, delta = dEdInL in the neurons"
        if backward
        else ("Forward pass: weights on the edges, outL in the neurons (inL and bias below)")
    )
    if trace.n_samples > 1:
        title += f" — neuron values of instance 1 of {trace.n_samples}"
    parts = [_text(MARGIN - RADIUS, top + 18, title, 14, "start", font_weight="bold")]
    edges, labels, nodes = [], [], []
    for k in range(1, n_layers + 1):
        W = np.asarray(trace[f"dEdW{k}" if backward else f"W{k}"], dtype=float)
        scale = float(np.max(np.abs(W))) or 1.0
        for i in range(sizes[k - 1]):
            for j in range(sizes[k]):
                (x1, y1), (x2, y2) = pos(k - 1, i), pos(k, j)
                w = W[i, j]
                colour = "#1f5fbf" if w >= 0 else "#c0392b"
                width = 0.8 + 3.2 * abs(w) / scale
                edges.append(
                    f'<line x1="{x1 + RADIUS:.1f}" y1="{y1:.1f}" '
                    f'x2="{x2 - RADIUS:.1f}" y2="{y2:.1f}" '
                    f'stroke="{colour}" stroke-width="{width:.2f}" stroke-opacity="0.75"/>'
                )
                if label_edges:
                    t = 0.3 + 0.4 * (j / max(sizes[k] - 1, 1)) * (sizes[k] > 1)
                    lx, ly = x1 + RADIUS + t * (x2 - x1 - 2 * RADIUS), y1 + t * (y2 - y1)
                    name = f"dEdW{k}" if backward else f"W{k}"
                    labels.append(
                        _text(lx, ly - 4, fmt(w), 11, fill=colour, stroke="white", stroke_width="3",
                              paint_order="stroke")
                        .replace("</text>", f"<title>{name}[{i + 1},{j + 1}]</title></text>")
                    )  # fmt: skip
    for col, n in enumerate(sizes):
        for j in range(n):
            cx, cy = pos(col, j)
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
            if col == 0:
                value, below = float(np.asarray(trace["x"])[0, j]), ""
                top_label = f"x[{j + 1}]"
            elif backward:
                value = float(np.asarray(trace[f"dEdInL{col}"])[0, j])
                below = f"dEdB = {fmt(float(np.asarray(trace[f'dEdB{col}'])[j]))}"
                top_label = f"dEdInL{col}[{j + 1}]"
            else:
                value = float(np.asarray(trace[f"outL{col}"])[0, j])
                act = trace.info["activations"][col - 1].name
                below = (f"inL = {fmt(float(np.asarray(trace[f'inL{col}'])[0, j]))}, "
                         f"b = {fmt(float(np.asarray(trace[f'b{col}'])[j]))}")  # fmt: skip
                top_label = f"outL{col}[{j + 1}] ({act})"
            nodes.append(_text(cx, cy + 4, fmt(value), 12, font_weight="bold"))
            nodes.append(_text(cx, cy - RADIUS - 6, top_label, 10, fill="#555"))
            if below:
                nodes.append(_text(cx, cy + RADIUS + 14, below, 10, fill="#555"))
    parts += edges + nodes + labels
    return parts, height + 60


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
    width = 2 * MARGIN + n_layers * COLUMN
    parts: list[str] = []
    top = 0.0
    for backward in {"forward": [False], "backward": [True], "both": [False, True]}[view]:
        view_parts, height = _view(trace, backward, top, precision)
        parts += view_parts
        top += height
    body = "\n".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top:.0f}" '
        f'viewBox="0 0 {width} {top:.0f}" role="img">\n'
        f"<title>Network diagram of one training step</title>\n"
        f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n'
    )
