"""What the fit loop reports: the :class:`History`, the :class:`Callback` hooks and the
callbacks chainrule ships.

A callback watches training from outside, like a tracer watches a step. Subclass
:class:`Callback` and override the hooks you need; ``on_epoch_end`` may return True to
stop training (``History.stop_reason`` is then ``"callback"``). A plain function
``f(epoch, logs, network)`` is accepted too and is called at the end of each epoch.

:class:`GradientNorms` computes, after each epoch, the gradients of the loss on a fixed
probe batch (inference mode, no dropout) and records the Frobenius norm of each
layer's ``dWk`` and ``dbk``. The batches of the fit loop are left alone: the cost is
one forward and backward pass over the probe per epoch, and nothing when the callback
is not used. :func:`chainrule.evaluation.plots.plot_gradient_norms` draws the record.

Examples
--------
>>> from chainrule.training.callbacks import Callback
>>> class StopWhenSmall(Callback):
...     def on_epoch_end(self, epoch, logs, network):
...         return logs["loss"] < 0.01

>>> import numpy as np
>>> from chainrule import Network
>>> from chainrule.training import GradientNorms, fit
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
>>> y = np.array([0.0, 1.0, 1.0, 0.0])
>>> net = Network.from_sizes([2, 4, 1], ["tanh", "sigmoid"], random_state=0)
>>> norms = GradientNorms(X, y, loss="bce")
>>> _ = fit(net, X, y, loss="bce", epochs=5, callbacks=[norms], random_state=0)
>>> sorted(norms.norms), len(norms.norms["W1"])
(['W1', 'W2', 'b1', 'b2'], 5)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..io.atomic import atomic_write
from ..losses import Loss, get_loss
from ..network import Network

STOP_REASONS = ("completed", "early_stopping", "callback", "interrupted", "diverged")


@dataclass
class History:
    """Per-epoch records of one :func:`chainrule.training.fit` run.

    Attributes
    ----------
    history : dict of str to list of float
        One list per quantity, one entry per completed epoch: ``loss`` (the training
        objective, averaged over the epoch's batches, L2 penalty included), ``lr``,
        and where asked ``val_loss``, ``<metric>`` and ``val_<metric>``.
    epochs : int
        Completed epochs.
    best_epoch : int or None
        The epoch (from 0) with the best monitored value, when early stopping monitored one.
    stop_reason : str
        ``completed``, ``early_stopping``, ``callback``, ``interrupted`` (Ctrl-C) or
        ``diverged`` (see :class:`~chainrule.errors.DivergenceError`, which carries this
        history as ``exc.history``).
    restored_best : bool
        Whether the weights of ``best_epoch`` were put back at the end.
    optimizer_state : dict
        The optimizer's state after the last update, to continue training.
    skipped_batches : list of (epoch, batch)
        Batches left out because their loss or a gradient was NaN or infinite
        (``fit(..., on_nonfinite="skip")``), counted from 0.
    rate_cuts : list of (epoch, float)
        With ``stopping_rule="sklearn_adaptive"``: the epochs (from 0) after which early
        stopping divided the learning rate, and the new rate.
    stopping_state : dict or None
        Early stopping's count at the end (``best``, ``bad_epochs``, ``best_params``),
        for a later fit to go on from (``fit(stopping_state=...)``); None before the end.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epochs: int = 0
    best_epoch: int | None = None
    stop_reason: str = "completed"
    restored_best: bool = False
    optimizer_state: dict[str, Any] = field(default_factory=dict, repr=False)
    skipped_batches: list[tuple[int, int]] = field(default_factory=list)
    rate_cuts: list[tuple[int, float]] = field(default_factory=list)
    stopping_state: dict[str, Any] | None = field(default=None, repr=False)

    def __getitem__(self, key: str) -> list[float]:
        try:
            return self.history[key]
        except KeyError:
            known = ", ".join(self.history)
            raise KeyError(f"{key!r} was not recorded; recorded: {known}") from None

    def __contains__(self, key: object) -> bool:
        return key in self.history

    @property
    def interrupted(self) -> bool:
        """Whether training ended with a keyboard interrupt."""
        return self.stop_reason == "interrupted"

    def append(self, logs: dict[str, float]) -> None:
        """Record one epoch's values."""
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        self.epochs += 1

    def plot(self, path: str | None = None, keys: tuple[str, ...] = ("loss", "val_loss")) -> Any:
        """Draw the loss curves with matplotlib (the ``plot`` extra); save to ``path`` if given.

        The file's format follows its suffix (PNG when it has none); it is written
        atomically (:func:`chainrule.io.atomic.atomic_write`). Returns the matplotlib Figure.
        """
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError(
                "History.plot needs matplotlib: pip install 'chainrule[plot]'"
            ) from None
        fig, ax = plt.subplots(figsize=(6, 4))
        for key in keys:
            if key in self.history:
                values = self.history[key]
                ax.plot(range(1, len(values) + 1), values, label=key)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        fig.tight_layout()
        if path is not None:
            kind = Path(path).suffix.lstrip(".").lower() or "png"
            try:
                atomic_write(path, lambda f: fig.savefig(f, format=kind))
            finally:
                plt.close(fig)
        return fig


class Callback:
    """Hooks called by the fit loop; every hook does nothing by default."""

    def on_train_begin(self, network: Network, history: History) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, epoch: int, network: Network) -> None:
        """Before each epoch (from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float], network: Network) -> bool | None:
        """After each epoch, with its logged values; return True to stop training."""
        return None

    def on_train_end(self, network: Network, history: History) -> None:
        """After the last epoch (also after an interrupt or an early stop)."""


class FunctionCallback(Callback):
    """Wrap a function ``f(epoch, logs, network) -> bool | None`` as ``on_epoch_end``."""

    def __init__(self, function: Callable[[int, dict[str, float], Network], bool | None]):
        self.function = function

    def on_epoch_end(self, epoch: int, logs: dict[str, float], network: Network) -> bool | None:
        return self.function(epoch, logs, network)


def as_callback(callback: Callback | Callable[..., Any]) -> Callback:
    """A :class:`Callback` as is; a callable wrapped in :class:`FunctionCallback`."""
    if isinstance(callback, Callback):
        return callback
    if callable(callback):
        return FunctionCallback(callback)
    raise TypeError(
        f"callbacks must be Callback instances or functions, got {type(callback).__name__}"
    )


class GradientNorms(Callback):
    """Record ``||dWk||`` and ``||dbk||`` on a probe batch after every epoch.

    Parameters
    ----------
    X : array-like, shape (n_probe, n_features)
        The probe batch: a sample of the training data (a few hundred rows suffice).
    y : array-like, shape (n_probe, n_out), or (n_probe,) when n_out == 1
        Its targets, encoded as the network's output (one-hot for softmax).
    loss : str or Loss
        The training loss.
    reduction : {"mean", "sum"}
        How the probe's per-instance losses are combined (default: their mean).

    Attributes
    ----------
    norms : dict of str to list of float
        One list per parameter name (``W1``, ``b1``, ...), one entry per epoch.
    """

    def __init__(self, X: Any, y: Any, loss: str | Loss, reduction: str = "mean") -> None:
        self.X, self.y, self.loss, self.reduction = X, y, get_loss(loss), reduction
        self.norms: dict[str, list[float]] = {}

    def on_train_begin(self, network: Network, history: History) -> None:
        """Check the probe against the network before the first epoch."""
        network.check_Xy(self.X, self.y)

    def on_epoch_end(self, epoch: int, logs: dict[str, float], network: Network) -> None:
        """Add this epoch's norms."""
        _, grads = network.loss_and_grads(self.X, self.y, self.loss, self.reduction)
        for name, grad in grads.items():
            self.norms.setdefault(name, []).append(float(np.linalg.norm(grad)))
