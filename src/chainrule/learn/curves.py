"""Training curves of a small example: the error and each layer's gradient norm per step.

:func:`training_curves` repeats :func:`chainrule.explain`'s training steps (plain
gradient descent on one batch, on a copy of the network) and keeps, for every step,
the batch error before it and the size of every gradient; :func:`plot_training_curves`
draws them (the ``plot`` extra; matplotlib is imported when it runs). On a log scale
a learner sees convergence, a plateau, or gradients that vanish layer by layer.

Examples
--------
>>> from chainrule import seed_example
>>> from chainrule.learn import training_curves
>>> seed = seed_example()
>>> curves = training_curves(seed.network, seed.x, seed.y, lr=seed.lr, steps=3)
>>> curves.errors.round(6)
array([0.011843, 0.010953, 0.010155, 0.009436])
>>> sorted(curves.gradient_norms), curves.gradient_norms["W1"].shape
(['W1', 'W2', 'b1', 'b2'], (3,))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require
from ..checks import Array, check_positive
from ..losses import Loss, get_loss
from ..network import Network
from ..step import train_step


@dataclass(frozen=True)
class TrainingCurves:
    """The error and the gradient norms over the training steps of one batch.

    Attributes
    ----------
    errors : numpy.ndarray, shape (steps + 1,)
        The batch error before step 1, after step 1, ..., after the last step (the
        errors :func:`chainrule.explain` tabulates).
    gradient_norms : dict of str to numpy.ndarray, each shape (steps,)
        ``{"W1": ||dEdW1||, "b1": ||dEdB1||, ...}``: the Frobenius norm of every
        parameter's gradient at each step (frozen parameters' too).
    """

    errors: np.ndarray
    gradient_norms: dict[str, np.ndarray]

    @property
    def steps(self) -> int:
        """How many training steps the curves cover."""
        return len(self.errors) - 1

    def plot(self, path: str | Path | None = None) -> Any:
        """Draw the curves; see :func:`plot_training_curves`."""
        return plot_training_curves(self, path)


class _GradientNormTracer:
    """Keeps the norm of each parameter gradient of the step under way, by name.

    With L2, a step records ``dEdWk`` twice (the loss's part, then with the penalty's):
    the later record replaces the earlier, as in a :class:`~chainrule.trace.Trace`.
    """

    def __init__(self) -> None:
        self.step: dict[str, float] = {}

    def record(self, name: str, value: Array) -> None:
        if name[:4] in ("dEdW", "dEdB") and name[4:].isdigit():
            key = ("W" if name[3] == "W" else "b") + name[4:]
            self.step[key] = float(np.linalg.norm(np.asarray(value)))


def training_curves(
    network: Network,
    x: Any,
    y: Any,
    *,
    lr: float,
    loss: str | Loss = "half_squared_error",
    reduction: str = "mean",
    steps: int = 100,
    freeze_biases: bool = False,
    l2: float = 0.0,
) -> TrainingCurves:
    """Train a copy of ``network`` on ``(x, y)`` for ``steps`` steps; the curves of it.

    Parameters
    ----------
    network : Network
        Not changed: the steps run on a copy (its frozen parameters stay fixed).
    x : array-like, shape (n_samples, n_features) or (n_features,)
    y : array-like, shape (n_samples, n_out), (n_out,) or a scalar
    lr : float
        Learning rate of plain gradient descent, > 0.
    loss : str or Loss
    reduction : {"mean", "sum"}
    steps : int
        Training steps, >= 1.
    freeze_biases : bool
        Keep every bias fixed, as :func:`chainrule.explain` does with it.
    l2 : float
        L2 regularization, >= 0 (see :func:`chainrule.train_step`): the errors include
        the penalty and the gradient norms its gradient ``l2 * Wk``.

    Returns
    -------
    TrainingCurves
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, got {type(network).__name__}")
    check_positive(steps, "steps", integer=True)
    check_positive(lr, "lr")
    if not isinstance(freeze_biases, bool):
        raise TypeError(f"freeze_biases must be True or False, got {freeze_biases!r}")
    loss = get_loss(loss)
    work = network.copy()
    if freeze_biases:
        work.freeze(*(f"b{k}" for k in range(1, work.n_layers + 1)))
    tracer = _GradientNormTracer()
    norms: dict[str, list[float]] = {}
    errors = []
    for _ in range(steps):
        errors.append(
            train_step(work, x, y, lr=lr, loss=loss, reduction=reduction, tracer=tracer, l2=l2)
        )
        for name, norm in tracer.step.items():
            norms.setdefault(name, []).append(norm)
    # The error after the last step as chainrule.explain computes it, to the last bit.
    penalty = (
        0.5
        * l2
        * sum(
            float(np.sum(np.asarray(work.params[f"W{k}"], dtype=float) ** 2))
            for k in range(1, work.n_layers + 1)
        )
    )
    errors.append(float(work.loss(x, y, loss, reduction)) + penalty)
    order = [name for k in range(1, work.n_layers + 1) for name in (f"W{k}", f"b{k}")]
    return TrainingCurves(
        np.array(errors, dtype=np.float64), {name: np.array(norms[name]) for name in order}
    )


def _pyplot() -> Any:
    matplotlib = require("matplotlib", "plot", "chainrule.learn.plot_training_curves")
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")  # no screen: draw to files only
    import matplotlib.pyplot as plt

    return plt


def plot_training_curves(curves: TrainingCurves, path: str | Path | None = None) -> Any:
    """Two panels: the batch error over the steps, and ``||dEdWk||`` of every layer.

    Both on a log scale where every value is positive, so that a gradient a thousand
    times smaller in layer 1 than in layer 3 (vanishing) shows as a gap, and
    convergence as a falling line.

    Parameters
    ----------
    curves : TrainingCurves
    path : str or Path, optional
        Save the figure there (PNG by the suffix) and close it.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(curves, TrainingCurves):
        raise TypeError(f"curves must be TrainingCurves, got {type(curves).__name__}")
    plt = _pyplot()
    fig, (ax_error, ax_grad) = plt.subplots(1, 2, figsize=(10, 3.8))
    marker = "." if curves.steps <= 30 else ""
    ax_error.plot(range(curves.steps + 1), curves.errors, marker=marker)
    if np.all(curves.errors > 0):
        ax_error.set_yscale("log")
    ax_error.set_xlabel("training step")
    ax_error.set_ylabel("batch error E")
    ax_error.set_title(f"error: {curves.errors[0]:.4g} -> {curves.errors[-1]:.4g}")
    weights = [name for name in curves.gradient_norms if name.startswith("W")]
    for name in weights:
        values = curves.gradient_norms[name]
        ax_grad.plot(range(1, curves.steps + 1), values, marker=marker)
        ax_grad.lines[-1].set_label(f"||dEd{name}|| (layer {name[1:]})")
    if all(np.all(curves.gradient_norms[name] > 0) for name in weights):
        ax_grad.set_yscale("log")
    ax_grad.set_xlabel("training step")
    ax_grad.set_ylabel("gradient norm")
    ax_grad.set_title("gradient norm of each layer")
    ax_grad.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig
