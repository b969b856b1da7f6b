"""The per-batch gradients of the fit loop: the plain engine, or a Workspace when it can.

:func:`batch_gradients` picks, once per fit, how each mini-batch's loss and gradients
are computed:

- the plain path (the reference): ``Network.forward`` + ``backward``; used for batches
  with sample weights, networks with dropout, and activations a workspace does not run;
- the workspace path (:mod:`chainrule.workspace`): the same gradients, bit for bit, in
  buffers allocated once per fit.

The fit loop then checks them (:mod:`chainrule._fit_guard`), adds the L2 gradient,
clips and updates, whatever the path. (:meth:`Workspace.sgd_step` folds plain SGD into
the backward pass, one pass over the weights less; fit does not use it, because the
divergence guard must see the gradients before any weight changes.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validation import Array
from .batches import Gather
from .losses import Loss
from .network import Network, Params
from .workspace import Workspace, supports

Gradients = Callable[[Array, Array, Array | None], tuple[float, Params]]


@dataclass(frozen=True)
class BatchGradients:
    """How fit computes a batch: ``gradients(Xb, yb, wb) -> (E, grads)``, and ``gather``,
    the workspace's copy of a shuffled batch into its own buffers (None on the plain path)."""

    gradients: Gradients
    gather: Gather | None = None


def batch_gradients(
    network: Network,
    loss: Loss,
    *,
    batch: int,
    reduction: str,
    rng: np.random.Generator,
) -> BatchGradients:
    """The function ``gradients(Xb, yb, wb) -> (E, grads)`` for one checked mini-batch.

    ``grads`` may be buffers that the next call overwrites. Dropout masks are drawn from
    ``rng``.
    """
    dropout = any(layer.dropout for layer in network.layers)

    def plain(Xb: Array, yb: Array, wb: Array | None) -> tuple[float, Params]:
        _, caches = network.forward(Xb, training=dropout, rng=rng)
        return network.backward(yb, caches, loss, reduction, sample_weight=wb)

    if not supports(network, loss):
        return BatchGradients(plain)
    ws = Workspace(network, loss, batch)

    def fast(Xb: Array, yb: Array, wb: Array | None) -> tuple[float, Params]:
        if wb is not None or Xb.shape[0] > ws.batch_size:  # e.g. a user's larger batch
            return plain(Xb, yb, wb)
        return ws.loss_and_grads(Xb, yb, reduction)

    return BatchGradients(fast, ws.gather)
