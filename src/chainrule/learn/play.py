"""The interactive page: step through a training step, edit it, train and watch.

:func:`play` makes one self-contained HTML page (inline JavaScript and CSS, no
network access, works from ``file://``) for a network and one batch ``(x, y)``. In it
the learner steps through the forward and backward pass one quantity at a time
(buttons or arrow keys), the current quantity highlighted on the diagram with its
formula and numbers; edits ``x``, ``y``, any weight and the learning rate and sees
every value recomputed; and runs 1, 10 or 100 training steps while a loss curve grows
and the diagram's edges take the colour of their gradients.

The page computes in JavaScript (``play.js``, shipped beside this module): an
implementation of its own of :func:`chainrule.train_step` with every activation,
loss (the fused from-logits forms included), reduction and frozen parameter. It keeps
the trace it computed, under the seed's names, as JSON in the element
``#cr-trace``, so that it can be compared with the Python engine's.

Examples
--------
>>> from chainrule import seed_example
>>> from chainrule.learn import play
>>> seed = seed_example()
>>> page = play(seed.network, seed.x, seed.y, lr=seed.lr, title=seed.title)
>>> html = page.html
>>> html.startswith("<!DOCTYPE html>") and "<script src" not in html
True
>>> page.state["layers"][1]["W"]
[[-0.4], [0.5]]
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require
from ..checks import check_positive, check_reduction
from ..losses import LOSSES, Loss, get_loss
from ..network import Network

MAX_UNITS = 16
"""Most neurons (or inputs) in one layer the page draws and edits one by one."""
MAX_LAYERS = 6
"""Most layers the page draws."""
MAX_INSTANCES = 16
"""Most instances in the batch the page lays out as editable rows."""


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _rows(value: Any) -> list[list[float]]:
    return [[float(v) for v in row] for row in np.asarray(value, dtype=np.float64)]


def play_state(
    network: Network,
    x: Any,
    y: Any,
    *,
    lr: float,
    loss: str | Loss = "half_squared_error",
    reduction: str = "mean",
    title: str = "",
    freeze_biases: bool = False,
    l2: float = 0.0,
) -> dict[str, Any]:
    """The JSON-ready description of a network and a batch that the page starts from.

    Parameters
    ----------
    network : Network
        Its parameters are copied; the network itself is not changed. The page
        computes in float64 (JavaScript's numbers), so a float32 network's step there
        is the float64 step from the same weights.
    x : array-like, shape (n_samples, n_features) or (n_features,)
    y : array-like, shape (n_samples, n_out), (n_out,) or a scalar
    lr : float
        The learning rate, > 0.
    loss : str or Loss
    reduction : {"mean", "sum"}
    title : str
    freeze_biases : bool
        Keep every bias fixed (besides the network's own frozen parameters).
    l2 : float
        L2 regularization, >= 0, as :func:`chainrule.train_step` takes it.

    Returns
    -------
    dict
        ``title``, ``layers`` (each ``W`` (n_in, n_out) and ``b`` (n_out,) as lists,
        ``activation`` and, for leaky_relu, ``alpha``), ``x`` (n_samples, n_features),
        ``y`` (n_samples, n_out), ``lr``, ``loss``, ``from_logits``, ``reduction``,
        ``frozen``, ``l2``.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, got {type(network).__name__}")
    check_positive(lr, "lr")
    check_reduction(reduction)
    if not isinstance(freeze_biases, bool):
        raise TypeError(f"freeze_biases must be True or False, got {freeze_biases!r}")
    if isinstance(l2, bool) or not isinstance(l2, int | float) or not 0 <= l2 < float("inf"):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
    if not isinstance(title, str):
        raise TypeError(f"title must be a string, got {type(title).__name__}")
    loss = get_loss(loss)
    if type(loss) not in LOSSES.values():
        raise ValueError(
            f"loss must be one of {', '.join(LOSSES)} for the page, got {type(loss).__name__}"
        )
    X, Y = network.check_Xy(x, y)
    X, Y = np.asarray(X), np.asarray(Y)
    if network.n_layers > MAX_LAYERS:
        raise ValueError(
            f"network must have at most {MAX_LAYERS} layers for the page, got {network.n_layers}"
        )
    if max(network.sizes) > MAX_UNITS:
        raise ValueError(
            f"network must have at most {MAX_UNITS} inputs and neurons per layer for the page, "
            f"got sizes {network.sizes}"
        )
    if X.shape[0] > MAX_INSTANCES:
        raise ValueError(
            f"x must hold at most {MAX_INSTANCES} instances for the page, got {X.shape[0]}"
        )
    layers = []
    for k, layer in enumerate(network.layers, start=1):
        act = layer.activation
        known = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity", "softmax")
        if act.name not in known or type(act).__module__ != "chainrule.activations":
            raise ValueError(
                f"layer {k} activation must be one of {', '.join(known)} for the page, got {act!r}"
            )
        entry: dict[str, Any] = {
            "W": _rows(layer.W),
            "b": [float(v) for v in np.asarray(layer.b, dtype=np.float64)],
            "activation": act.name,
        }
        if act.name == "leaky_relu":
            entry["alpha"] = float(act.alpha)
        layers.append(entry)
    frozen = set(network.frozen)
    if freeze_biases:
        frozen |= {f"b{k}" for k in range(1, network.n_layers + 1)}
    return {
        "title": title,
        "layers": layers,
        "x": _rows(X),
        "y": _rows(Y),
        "lr": float(lr),
        "loss": loss.name,
        "from_logits": bool(getattr(loss, "from_logits", False)),
        "reduction": reduction,
        "frozen": sorted(frozen, key=lambda name: (int(name[1:]), name[0])),
        "l2": float(l2),
    }


def render_page(state: dict[str, Any]) -> str:
    """The self-contained HTML page for a :func:`play_state` dictionary."""
    # No "<" inside the script element, so that no title can end it early ("\u003c" in JSON).
    data = json.dumps(state, allow_nan=False).replace("<", "\\u003c")
    title = state.get("title") or "chainrule play"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} · chainrule play</title>\n"
        f"<style>\n{_asset('play.css')}</style>\n</head>\n<body>\n"
        f"{_asset('play.html')}"
        f'<script type="application/json" id="cr-state">{data}</script>\n'
        f"<script>\n{_asset('play.js')}</script>\n</body>\n</html>\n"
    )


class Play:
    """An interactive page for one network and batch; shows itself in Jupyter.

    Attributes
    ----------
    state : dict
        What the page starts from (see :func:`play_state`).
    html : str
        The self-contained page.
    """

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.html = render_page(state)

    def save(self, path: Any) -> None:
        """Write the page to ``path`` (UTF-8)."""
        Path(path).write_text(self.html, encoding="utf-8")

    def widget(self) -> Any:
        """The page as a Jupyter widget (the ``widget`` extra: anywidget).

        Its ``trace`` attribute follows the page: after every edit or training step in
        the page it holds the values the page computed (``order``, ``values`` by the
        seed's names, the loss ``history``), so a notebook can read them back.
        """
        return _widget_class()(html=self.html, height=self._height())

    def _height(self) -> int:
        sizes = [len(self.state["x"][0])] + [len(layer["b"]) for layer in self.state["layers"]]
        return 1100 + 60 * max(sizes)

    def _repr_html_(self) -> str:
        # An iframe keeps the page's script and styles apart from the notebook's.
        return (
            f'<iframe srcdoc="{escape(self.html, quote=True)}" title="chainrule play" '
            f'style="width:100%;height:{self._height()}px;border:1px solid #ddd" '
            'sandbox="allow-scripts"></iframe>'
        )

    def __repr__(self) -> str:
        layers = self.state["layers"]
        sizes = "-".join(str(n) for n in [len(self.state["x"][0])] + [len(a["b"]) for a in layers])
        return f"Play({sizes}, loss={self.state['loss']}, lr={self.state['lr']})"


_WIDGET: list[type] = []


def _widget_class() -> type:
    """The anywidget class of the page, made on first use (anywidget is optional)."""
    if not _WIDGET:
        anywidget = require("anywidget", "widget", "chainrule.learn.Play.widget")
        traitlets = require("traitlets", "widget", "chainrule.learn.Play.widget")

        class PlayWidget(anywidget.AnyWidget):
            """The interactive page in a notebook; ``trace`` is what the page computed."""

            _esm = _asset("play_widget.js")
            html = traitlets.Unicode("").tag(sync=True)
            height = traitlets.Int(1200).tag(sync=True)
            trace = traitlets.Dict().tag(sync=True)

        _WIDGET.append(PlayWidget)
    return _WIDGET[0]


def play(
    network: Network,
    x: Any,
    y: Any,
    *,
    lr: float,
    loss: str | Loss = "half_squared_error",
    reduction: str = "mean",
    title: str = "",
    freeze_biases: bool = False,
    l2: float = 0.0,
) -> Play:
    """The interactive page for ``network`` on ``(x, y)``; in Jupyter it shows itself.

    Parameters are those of :func:`play_state`. Save the page with ``.save(path)``
    or take its text from ``.html``. A notebook shows it in an iframe (HTML display,
    no extra needed); ``.widget()`` gives the same page as an anywidget whose
    ``trace`` follows what the learner does in it.
    """
    return Play(
        play_state(
            network,
            x,
            y,
            lr=lr,
            loss=loss,
            reduction=reduction,
            title=title,
            freeze_biases=freeze_biases,
            l2=l2,
        )
    )
