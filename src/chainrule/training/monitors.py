"""Callbacks that watch training from outside the fit loop: per-layer gradient norms.

:class:`GradientNorms` computes, after each epoch, the gradients of the loss on a fixed
probe batch (inference mode, no dropout) and records the Frobenius norm of each
layer's ``dWk`` and ``dbk``. The batches of the fit loop are left alone: the cost is
one forward and backward pass over the probe per epoch, and nothing when the callback
is not used. :func:`chainrule.evaluation.plots.plot_gradient_norms` draws the record.

Examples
--------
>>> import numpy as np
>>> from chainrule import Network
>>> from chainrule.training.monitors import GradientNorms
>>> from chainrule.training import fit
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
>>> y = np.array([0.0, 1.0, 1.0, 0.0])
>>> net = Network.from_sizes([2, 4, 1], ["tanh", "sigmoid"], random_state=0)
>>> norms = GradientNorms(X, y, loss="bce")
>>> _ = fit(net, X, y, loss="bce", epochs=5, callbacks=[norms], random_state=0)
>>> sorted(norms.norms), len(norms.norms["W1"])
(['W1', 'W2', 'b1', 'b2'], 5)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..losses import Loss, get_loss
from ..network import Network
from .callbacks import Callback, History


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
