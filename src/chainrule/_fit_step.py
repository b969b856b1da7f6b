"""The per-batch arithmetic of the fit loop: the plain engine, or a Workspace when it can.

:func:`batch_stepper` picks, once per fit, how each mini-batch is computed:

- the plain path (reference): ``Network.forward`` + ``backward``, then the L2 gradient,
  clipping and ``optimizer.update``; used with dropout, sample weights or activations
  a workspace does not run;
- the workspace path (:mod:`chainrule.workspace`): the same gradients, bit for bit, in
  preallocated buffers, then the same L2, clipping and update;
- plain SGD (no momentum, no L2, no clipping) goes further: the update is folded into
  the backward pass (:meth:`Workspace.sgd_step`), equal to the above up to rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._validation import Array
from .losses import Loss
from .network import Network
from .optimizers import SGD, Optimizer
from .regularization import add_l2_gradient, clip_by_global_norm, l2_penalty
from .workspace import Workspace, supports

Step = Callable[[Array, Array, Any, dict[str, Array], dict[str, Any]], float]


def batch_stepper(
    network: Network,
    loss: Loss,
    optimizer: Optimizer,
    *,
    batch: int,
    reduction: str,
    l2: float,
    clip_norm: float | None,
    sample_weight: Array | None,
    rng: np.random.Generator,
) -> Step:
    """A function ``step(X, y, rows, trainable, state) -> E * n_rows`` for one mini-batch.

    ``rows`` is a slice or an array of row indices of ``X`` and ``y``; ``trainable`` the
    parameters the optimizer updates (in place) with its ``state``.
    """
    names = network.trainable
    dropout = any(layer.dropout for layer in network.layers)

    def regularize(E: float, grads: dict[str, Array]) -> float:
        if l2:
            E = float(E) + l2_penalty(network.params, l2)
            add_l2_gradient(grads, network.params, l2)
        if clip_norm is not None:
            clip_by_global_norm(grads, clip_norm)
        return float(E)

    if sample_weight is not None or not supports(network, loss):

        def plain(X: Array, y: Array, rows: Any, trainable: dict, state: dict) -> float:
            if isinstance(rows, slice):
                Xb, yb = X[rows], y[rows]
            else:
                Xb, yb = X.take(rows, axis=0), y.take(rows, axis=0)
            wb = None if sample_weight is None else sample_weight[rows]
            _, caches = network.forward(Xb, training=dropout, rng=rng)
            E, grads = network.backward(yb, caches, loss, reduction, sample_weight=wb)
            E = regularize(E, grads)
            optimizer.update(trainable, {k: grads[k] for k in names}, state)
            return E * Xb.shape[0]

        return plain

    ws = Workspace(network, loss, batch)
    folded = type(optimizer) is SGD and not optimizer.momentum and not l2 and clip_norm is None

    def fast(X: Array, y: Array, rows: Any, trainable: dict, state: dict) -> float:
        Xb, yb = (X[rows], y[rows]) if isinstance(rows, slice) else ws.gather(X, y, rows)
        if folded:
            E = ws.sgd_step(Xb, yb, state["lr"], reduction)
            state["t"] += 1
        else:
            E, grads = ws.loss_and_grads(Xb, yb, reduction)
            E = regularize(E, grads)
            optimizer.update(trainable, {k: grads[k] for k in names}, state)
        return E * Xb.shape[0]

    return fast
