"""The computational graph of a traced step, one node per operation, as micrograd draws it.

Each layer ``k`` is one row of three operations: the matrix product ``outL(k-1) @ Wk``,
the bias add ``+ bk`` (giving ``inLk``) and the activation (giving ``outLk``); the
parameters ``Wk`` and ``bk`` are leaves above their operation, the input ``x`` starts the
first row and the loss node, with the target ``y`` beside it, ends the graph. Every
node shows its forward value and its gradient, the derivative of the batch error ``E``
with respect to the node's output (``dEdInLk`` after the bias add, ``dEdOutLk`` after
the activation, ``dEdWk`` and ``dEdBk`` at the parameters, 1 at the loss). Gradients
are blue when positive, red when negative and grey when exactly zero.

For a batch, the per-instance nodes show instance 1 (the graph says so); the parameter
gradients are those of the whole batch. Networks of up to :data:`MAX_GRAPH_NEURONS`
neurons are drawn; larger ones get a one-line SVG saying why not.

Every value comes from the trace except two that the trace does not hold and that
follow from it: the matrix product alone (``inLk - bk``) and the input's gradient
(``dEdInL1 @ W1.T``).

Examples
--------
>>> from chainrule import explain, seed_example
>>> seed = seed_example()
>>> svg = render_graph(explain(seed.network, seed.x, seed.y, lr=seed.lr).trace)
>>> svg.startswith("<svg") and "inL1 = x @ W1 + b1" in svg and "-0.0219" in svg
True
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np

from ..trace import Trace
from .expr import number

MAX_GRAPH_NEURONS = 10
"""The graph is drawn for networks of at most this many neurons (inputs not counted)."""

NODE_WIDTH = 190
COLUMN = 240
LINE = 15
MARGIN = 20
POSITIVE, NEGATIVE, ZERO = "#1f5fbf", "#c0392b", "#8a8a8a"


@dataclass
class Node:
    """One box of the graph: a title and rows of (value, gradient) text."""

    key: str
    title: str
    rows: list[tuple[str, str, float | None]]  # (label, value text, gradient or None)
    x: float = 0.0
    y: float = 0.0
    leaf: bool = False

    @property
    def height(self) -> float:
        return LINE * (len(self.rows) + 1) + 12


def graph_fits(trace: Trace) -> bool:
    """Whether the network is small enough for the graph (:data:`MAX_GRAPH_NEURONS`)."""
    n_layers = int(trace.info["n_layers"])
    return sum(int(np.size(trace[f"b{k}"])) for k in range(1, n_layers + 1)) <= MAX_GRAPH_NEURONS


def _rows(value: np.ndarray, grad: np.ndarray | None, precision: int) -> list:
    value = np.asarray(value, dtype=float).reshape(-1)
    grads = None if grad is None else np.asarray(grad, dtype=float).reshape(-1)
    return [
        (
            f"[{j + 1}]",
            number(v, precision),
            None if grads is None else float(grads[j]),
        )
        for j, v in enumerate(value)
    ]


def _param_rows(value: np.ndarray, grad: np.ndarray, precision: int) -> list:
    value = np.asarray(value, dtype=float)
    grad = np.asarray(grad, dtype=float)
    if value.ndim == 1:
        return _rows(value, grad, precision)
    return [
        (f"[{i + 1},{j + 1}]", number(value[i, j], precision), float(grad[i, j]))
        for i, j in np.ndindex(*value.shape)
    ]


def _nodes(trace: Trace, precision: int) -> tuple[list[Node], list[tuple[str, str]]]:
    L = int(trace.info["n_layers"])
    first = 0  # instance shown
    act_names = [a.name for a in trace.info["activations"]]
    row = {
        name: np.asarray(trace[name], dtype=float)[first]
        for name in trace
        if name in ("x", "y") or name.startswith(("inL", "outL", "dEdOutL", "dEdInL"))
    }
    nodes: list[Node] = []
    edges: list[tuple[str, str]] = []
    W1 = np.asarray(trace["W1"], dtype=float)
    dx = row["dEdInL1"] @ W1.T
    nodes.append(Node("x", "x (input)", _rows(row["x"], dx, precision), leaf=True))
    top = MARGIN + 40.0
    for k in range(1, L + 1):
        below = "x" if k == 1 else f"act{k - 1}"
        W = np.asarray(trace[f"W{k}"], dtype=float)
        b = np.asarray(trace[f"b{k}"], dtype=float)
        product = row[f"inL{k}"] - b
        w_node = Node(
            f"W{k}", f"W{k} (weights)", _param_rows(W, trace[f"dEdW{k}"], precision), leaf=True
        )
        b_node = Node(
            f"b{k}", f"b{k} (biases)", _param_rows(b, trace[f"dEdB{k}"], precision), leaf=True
        )
        src = "x" if k == 1 else f"outL{k - 1}"
        mm = Node(f"mm{k}", f"{src} @ W{k}", _rows(product, row[f"dEdInL{k}"], precision))
        add = Node(
            f"add{k}",
            f"inL{k} = {src} @ W{k} + b{k}",
            _rows(row[f"inL{k}"], row[f"dEdInL{k}"], precision),
        )
        act = Node(
            f"act{k}",
            f"outL{k} = {act_names[k - 1]}(inL{k})",
            _rows(row[f"outL{k}"], row[f"dEdOutL{k}"], precision),
        )
        leaf_h = max(w_node.height, b_node.height)
        w_node.x, w_node.y = MARGIN + COLUMN, top
        b_node.x, b_node.y = MARGIN + 2 * COLUMN, top
        op_y = top + leaf_h + 30
        for col, node in ((1, mm), (2, add), (3, act)):
            node.x, node.y = MARGIN + col * COLUMN, op_y
        if k == 1:
            nodes[0].x, nodes[0].y = MARGIN, op_y
        nodes += [w_node, b_node, mm, add, act]
        edges += [
            (below, mm.key),
            (w_node.key, mm.key),
            (mm.key, add.key),
            (b_node.key, add.key),
            (add.key, act.key),
        ]
        top = op_y + max(mm.height, add.height, act.height) + 40
    loss_name = trace.info["loss"].name
    E = float(np.asarray(trace["E"]))
    e = float(np.asarray(trace["e"])[first])
    # dE/de of instance 1 is the mean's 1/n (or 1 for a sum); dE/dE = 1.
    de = 1.0 / trace.n_samples if trace.info["reduction"] == "mean" else 1.0
    loss_rows = [("e", number(e, precision), de), ("E", number(E, precision), 1.0)]
    y_node = Node("y", "y (target)", _rows(row["y"], None, precision), leaf=True)
    loss = Node("loss", f"loss: {loss_name}", loss_rows)
    y_node.x, y_node.y = MARGIN + 2 * COLUMN, top
    loss.x, loss.y = MARGIN + 3 * COLUMN, top
    nodes += [y_node, loss]
    edges += [(f"act{L}", "loss"), ("y", "loss")]
    return nodes, edges


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start", **attrs) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-family="sans-serif"{extra}>{escape(text)}</text>'
    )


def _colour(g: float) -> str:
    return ZERO if g == 0 else POSITIVE if g > 0 else NEGATIVE


def render_graph(trace: Trace, precision: int = 4) -> str:
    """The computational graph of a traced step as one SVG document.

    Parameters
    ----------
    trace : Trace
        From :func:`chainrule.train_step` with a tracer.
    precision : int
        Digits after the decimal point of the values and gradients.
    """
    if not graph_fits(trace):
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 520 30" width="100%">'
            + _text(
                10,
                20,
                f"The computational graph is drawn for networks of up to "
                f"{MAX_GRAPH_NEURONS} neurons.",
                13,
            )
            + "</svg>\n"
        )
    nodes, edges = _nodes(trace, precision)
    by_key = {node.key: node for node in nodes}
    parts: list[str] = []
    for src, dst in edges:
        a, b = by_key[src], by_key[dst]
        if b.x < a.x:  # the next row: down from the activation, left, down, right
            x0, y0 = a.x + NODE_WIDTH / 2, a.y + a.height
            gap = y0 + 20
            left = MARGIN + NODE_WIDTH / 2
            mid = b.y + b.height / 2
            points = f"{x0:.1f},{y0:.1f} {x0:.1f},{gap:.1f} {left:.1f},{gap:.1f} "
            points += f"{left:.1f},{mid:.1f} {b.x:.1f},{mid:.1f}"
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="#555" stroke-width="1.3" '
                'marker-end="url(#cg-arrow)"/>'
            )
            continue
        if a.y + a.height <= b.y:  # from above: bottom centre to top centre
            x1, y1 = a.x + NODE_WIDTH / 2, a.y + a.height
            x2, y2 = b.x + NODE_WIDTH / 2, b.y
        else:  # left to right: right edge to left edge
            x1, y1 = a.x + NODE_WIDTH, a.y + min(a.height, b.height) / 2
            x2, y2 = b.x, b.y + min(a.height, b.height) / 2
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#555" '
            'stroke-width="1.3" marker-end="url(#cg-arrow)"/>'
        )
    for node in nodes:
        fill = "#f4f4f4" if node.leaf else "#ffffff"
        parts.append(
            f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{NODE_WIDTH}" '
            f'height="{node.height:.1f}" rx="6" fill="{fill}" stroke="#333"/>'
        )
        parts.append(_text(node.x + 6, node.y + 15, node.title, 11, font_weight="bold"))
        for r, (label, value, grad) in enumerate(node.rows):
            y = node.y + 15 + LINE * (r + 1)
            parts.append(_text(node.x + 6, y, f"{label} {value}", 11))
            if grad is None:
                parts.append(_text(node.x + NODE_WIDTH - 6, y, "no gradient", 10, "end", fill=ZERO))
            else:
                parts.append(
                    _text(
                        node.x + NODE_WIDTH - 6,
                        y,
                        f"grad {number(grad, precision)}",
                        11,
                        "end",
                        fill=_colour(grad),
                    )
                )
    width = MARGIN * 2 + 3 * COLUMN + NODE_WIDTH
    height = max(node.y + node.height for node in nodes) + 70
    n = trace.n_samples
    title = "Computational graph: each node's value (left) and gradient dE/d(its output) (right)"
    which = (
        f"Values and per-instance gradients of instance 1 of {n}; parameter gradients are "
        "the whole batch's."
        if n > 1
        else "One instance."
    )
    legend_y = height - 40
    legend = [
        _text(MARGIN, legend_y, "Legend:", 11, font_weight="bold"),
        _text(MARGIN + 60, legend_y, "grad > 0", 11, fill=POSITIVE),
        _text(MARGIN + 130, legend_y, "grad < 0", 11, fill=NEGATIVE),
        _text(MARGIN + 200, legend_y, "grad = 0", 11, fill=ZERO),
        _text(MARGIN + 270, legend_y, "grey boxes: leaves (input, parameters, target)", 11),
        _text(MARGIN, legend_y + 18, which, 11),
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" style="max-width: 100%; height: auto" role="img">\n'
        "<title>Computational graph of one training step</title>\n"
        '<defs><marker id="cg-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>\n'
        f'<rect width="100%" height="100%" fill="white"/>\n'
        + _text(MARGIN, 22, title, 13, font_weight="bold")
        + "\n"
        + "\n".join(parts + legend)
        + "\n</svg>\n"
    )
