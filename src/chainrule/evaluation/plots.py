"""Pictures of training (the ``plot`` extra; matplotlib is imported when a function runs).

Every function draws one matplotlib Figure and returns it; with ``path`` it is also
saved (PNG by the suffix) and closed. Without a display, matplotlib's ``Agg`` backend
is used.

- :func:`plot_history`: the loss and each metric per epoch, training and validation.
- :func:`plot_decision_regions`: the class a model predicts over a 2-D plane, with the data.
- :func:`plot_gradient_norms`: ``||dWk||`` per layer over the epochs
  (:class:`chainrule.training.callbacks.GradientNorms`).
- :func:`plot_weight_histograms`: the distribution of each layer's weights ``Wk``.

Examples
--------
>>> import tempfile, pathlib
>>> from chainrule import History
>>> from chainrule.evaluation.plots import plot_history
>>> history = History({"loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.7, 0.6]}, epochs=3)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "history.png"
>>> _ = plot_history(history, path)
>>> path.read_bytes()[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require
from ..network import Network


def _pyplot() -> Any:
    matplotlib = require("matplotlib", "plot", "chainrule.evaluation.plots")
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")  # no screen: draw to files only
    import matplotlib.pyplot as plt

    return plt


def _finish(fig: Any, path: str | Path | None) -> Any:
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        _pyplot().close(fig)
    return fig


def plot_history(history: Any, path: str | Path | None = None) -> Any:
    """The loss and every metric of a :class:`~chainrule.training.callbacks.History`, per epoch.

    One panel per quantity (``loss``, then each metric), with the training curve and,
    where recorded, the validation curve (``val_<name>``). ``lr`` is left out.
    """
    records = history.history
    names = [k for k in records if not k.startswith("val_") and k != "lr"]
    names += [k[4:] for k in records if k.startswith("val_") and k[4:] not in names]
    if not names:
        raise ValueError("history holds no epochs to plot (no 'loss' recorded)")
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for key, label in ((name, "training"), (f"val_{name}", "validation")):
            if key in records:
                values = records[key]
                ax.plot(range(1, len(values) + 1), values, marker="." if len(values) < 30 else "")
                ax.lines[-1].set_label(label)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend()
    return _finish(fig, path)


def _classes_of(model: Any, X: np.ndarray) -> np.ndarray:
    """Predicted class indices (0 .. n_classes-1) for the rows of ``X``."""
    if isinstance(model, Network):
        A = model.predict(X)
        return A.argmax(axis=1) if A.shape[1] > 1 else (A[:, 0] >= 0.5).astype(int)
    labels = np.asarray(model.predict(X))
    classes = getattr(model, "classes_", None)
    if classes is None or labels.ndim != 1:
        raise ValueError("model must be a Network or a fitted single-label classifier")
    return np.searchsorted(classes, labels)


def plot_decision_regions(
    model: Any, X: Any, y: Any, path: str | Path | None = None, resolution: int = 200
) -> Any:
    """The class ``model`` predicts at each point of a plane around ``X``, and the data.

    Parameters
    ----------
    model : Network or fitted classifier
        A Network's output is read as the arg-max class (or ``A >= 0.5`` for one output).
    X : array-like, shape (n_samples, 2)
    y : array-like, shape (n_samples,)
        The true labels, coloring the points.
    resolution : int
        Grid points per axis.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n_samples, 2) for a plane, got {X.shape}")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    if int(resolution) < 2:
        raise ValueError(f"resolution must be >= 2, got {resolution!r}")
    low, high = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-9)
    u = np.linspace(low[0] - pad[0], high[0] + pad[0], int(resolution))
    v = np.linspace(low[1] - pad[1], high[1] + pad[1], int(resolution))
    U, V = np.meshgrid(u, v)
    grid = np.column_stack([U.ravel(), V.ravel()])
    dtype = model.dtype if isinstance(model, Network) else getattr(model, "network_", model).dtype
    regions = _classes_of(model, grid.astype(dtype)).reshape(U.shape)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.contourf(U, V, regions, alpha=0.35, cmap="coolwarm")
    _, y_index = np.unique(y, return_inverse=True)
    ax.scatter(X[:, 0], X[:, 1], c=y_index, cmap="coolwarm", edgecolors="k", s=18)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("decision regions")
    return _finish(fig, path)


def plot_gradient_norms(norms: Any, path: str | Path | None = None) -> Any:
    """``||dWk||`` of each layer per epoch (log scale), from :class:`GradientNorms`.

    ``norms`` is the callback or its ``norms`` mapping of parameter name to values.
    """
    norms = getattr(norms, "norms", norms)
    weights = sorted((k for k in norms if k.startswith("W")), key=lambda k: int(k[1:]))
    if not weights or not norms[weights[0]]:
        raise ValueError("no gradient norms were recorded (did training run any epoch?)")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in weights:
        values = norms[name]
        ax.plot(range(1, len(values) + 1), values, label=f"||d{name}|| (layer {name[1:]})")
    if min(min(norms[k]) for k in weights) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("gradient norm")
    ax.set_title("per-layer gradient norms")
    ax.legend()
    return _finish(fig, path)


def plot_weight_histograms(network: Network, path: str | Path | None = None, bins: int = 30) -> Any:
    """A histogram of each layer's weights ``Wk`` (one panel per layer)."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a chainrule Network, got {type(network).__name__}")
    plt = _pyplot()
    n = network.n_layers
    fig, axes = plt.subplots(1, n, figsize=(3.5 * n, 3), squeeze=False)
    for k, (ax, layer) in enumerate(zip(axes[0], network.layers, strict=True), start=1):
        W = np.asarray(layer.W).ravel()
        ax.hist(W, bins=int(bins), color="tab:blue", alpha=0.8)
        ax.set_title(f"W{k} {tuple(layer.W.shape)}, std {W.std():.3g}")
        ax.set_xlabel("weight")
    return _finish(fig, path)
