"""One mini-batch of the fit loop: its gradients, the divergence guard, L2, clipping, update.

:func:`batch_gradients` picks, once per fit, how each mini-batch's loss and gradients
are computed:

- the plain path (the reference): ``Network.forward`` + ``backward``; used for batches
  with sample weights, networks with dropout, and activations a workspace does not run;
- the workspace path (:mod:`chainrule.workspace`): the same gradients, bit for bit, in
  buffers allocated once per fit.

:class:`BatchStep` then makes the update: it checks the gradients
(:mod:`chainrule.training.guard`), adds the L2 gradient, clips and lets the optimizer
update the trainable parameters, whatever the path.

Plain SGD (no momentum, L2 or clipping) on the workspace path takes a shorter way,
``p <- p - lr * g`` with the learning rate folded into the backward pass: the
workspace returns the steps ``lr * g`` themselves, the guard checks them, and each is
subtracted in one pass (the optimizer would scale a copy of ``g`` first). The result
equals the usual path up to rounding. If the guard finds anything amiss, the batch is
computed again the usual way, which names the culprit or skips the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import Array
from ..losses import Loss
from ..network import Network, Params
from ..optimizers import SGD, Optimizer
from ..regularization import add_l2_gradient, clip_by_global_norm, l2_penalty
from ..workspace import Workspace, supports
from .guard import NORMAL, SKIP, Guard
from .sources import Gather

Gradients = Callable[[Array, Array, Array | None], tuple[float, Params]]
Steps = Callable[[Array, Array, float], tuple[float, Params] | None]


@dataclass(frozen=True)
class BatchGradients:
    """How fit computes a batch: ``gradients(Xb, yb, wb) -> (E, grads)``; ``gather``, the
    workspace's copy of a shuffled batch into its own buffers; ``steps(Xb, yb, lr) ->
    (E, lr * grads)`` or None where the workspace cannot take the batch; ``flat``, the one
    buffer that the workspace's gradients (or steps) are views of. The last three are
    None on the plain path."""

    gradients: Gradients
    gather: Gather | None = None
    steps: Steps | None = None
    flat: Array | None = None


def batch_gradients(
    network: Network,
    loss: Loss,
    *,
    batch: int,
    reduction: str,
    rng: np.random.Generator,
) -> BatchGradients:
    """How to compute one checked mini-batch's loss and gradients (see the module docstring).

    The gradients may be buffers that the next call overwrites. Dropout masks are drawn
    from ``rng``.
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

    def steps(Xb: Array, yb: Array, lr: float) -> tuple[float, Params] | None:
        if Xb.shape[0] > ws.batch_size:
            return None
        return ws.loss_and_grads(Xb, yb, reduction, scale=lr)

    return BatchGradients(fast, ws.gather, steps, ws.flat)


class BatchStep:
    """Trains on one batch: ``step(Xb, yb, wb, params, trainable, state, epoch, index)``
    returns the batch loss (with the L2 penalty), or None when the guard skipped it.

    Parameters
    ----------
    computer : BatchGradients
    guard : Guard
    optimizer : Optimizer
    names : list of str
        The trainable parameters, in the network's order.
    l2 : float
    clip_norm : float or None
    """

    def __init__(
        self,
        computer: BatchGradients,
        guard: Guard,
        optimizer: Optimizer,
        names: list[str],
        *,
        l2: float,
        clip_norm: float | None,
    ) -> None:
        self.computer, self.guard, self.optimizer = computer, guard, optimizer
        self.names, self.l2, self.clip_norm = names, l2, clip_norm
        # Exactly SGD: a subclass may update differently.
        plain_sgd = type(optimizer) is SGD and not optimizer.momentum  # type: ignore[attr-defined]
        self.steps = computer.steps if plain_sgd and not l2 and clip_norm is None else None
        self.all_steps = {"all": computer.flat}  # the guard's sum of squares in one pass

    def __call__(
        self,
        Xb: Array,
        yb: Array,
        wb: Array | None,
        params: Params,
        trainable: Params,
        state: dict[str, Any],
        epoch: int,
        index: int,
    ) -> float | None:
        if self.steps is not None and wb is None:
            done = self.steps(Xb, yb, state["lr"])
            if done is not None and self.guard.fine(done[0], self.all_steps, 1.0):
                steps = done[1]
                for name, p in trainable.items():
                    p -= steps[name]
                state["t"] += 1
                return float(done[0])
            # Too big a batch, or something amiss: the usual way below (which names it).
        E, grads = self.computer.gradients(Xb, yb, wb)
        verdict = self.guard.check(E, grads, state["lr"], epoch, index)
        if verdict == SKIP:
            return None
        if self.l2:
            E = float(E) + l2_penalty(params, self.l2)
            add_l2_gradient(grads, params, self.l2)
        if self.clip_norm is not None:
            clip_by_global_norm(grads, self.clip_norm)
        grads = {k: grads[k] for k in self.names}
        if verdict == NORMAL:
            self.optimizer.update(trainable, grads, state)
        elif not self.guard.careful_update(self.optimizer, trainable, grads, state, epoch, index):
            return None
        return float(E)
