"""One mini-batch of the fit loop: its gradients, the divergence guard, L2, clipping, update.

Every batch runs the one engine, ``Network.forward`` + ``backward``. :func:`batch_gradients`
decides once per fit whether they write into buffers made once (a :class:`Workspace`):
for NumPy networks without dropout whose hidden activations have in-place kernels
(:func:`supports`), and batches that fit the buffers. Otherwise (dropout, other
activations, other array libraries, a user's larger batch) they allocate their arrays;
the arithmetic, and so the result, is the same.

:class:`BatchUpdate` then makes the update: it checks the gradients
(:mod:`chainrule.training.guard`), adds the L2 gradient, clips and lets the optimizer
update the trainable parameters.

Plain SGD (no momentum, L2 or clipping) with buffers takes a shorter way: the backward
pass computes the gradients of ``lr * E``, which are the steps ``lr * g`` themselves
(the learning rate scales the output layer's ``dZ`` once, and every product below
carries it), the guard checks them, and :meth:`SGD.descend
<chainrule.optimizers.SGD.descend>` subtracts them: no separate pass scales the
gradients. The result equals the usual path up to rounding. If the guard finds anything
amiss, the batch is computed again the usual way, which names the culprit or skips it.

Examples
--------
The seed's step, validated once and then repeated cheaply:

>>> from chainrule import seed_example
>>> seed = seed_example()
>>> X, y = seed.network.check_Xy(seed.x, seed.y)
>>> ws = Workspace(seed.network, "half_squared_error", batch_size=1)
>>> round(ws.sgd_step(X, y, lr=0.5), 6), round(ws.sgd_step(X, y, lr=0.5), 6)
(0.011843, 0.010953)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..buffers import Buffers
from ..checks import Array
from ..kernels import KERNELS, fused_kernels, kernel_for, update_kernel_for
from ..losses import Loss, get_loss
from ..network import Network, Params
from ..optimizers import SGD, Optimizer
from ..regularization import add_l2_gradient, batch_l2, clip_by_global_norm, l2_penalty
from .guard import NORMAL, SKIP, Guard, squares_bound, sum_of_squares
from .sources import Gather

Gradients = Callable[[Array, Array, Array | None], tuple[float, Params]]
Scaled = Callable[[Array, Array, float], tuple[float, Params] | None]
_CALL = 4096  # a NumPy call's fixed cost, in values read (about a microsecond)


def supports(network: Network, loss: str | Loss) -> bool:
    """Whether a :class:`Workspace` runs ``network`` with ``loss``: a NumPy network
    without dropout whose hidden activations all have an in-place kernel."""
    get_loss(loss)  # any loss and output activation: the output layer keeps its own arrays
    W1 = network.layers[0].W
    return (
        isinstance(W1, np.ndarray)
        and all(kernel_for(layer.activation, W1) is not None for layer in network.layers[:-1])
        and not any(layer.dropout for layer in network.layers)
    )


class Workspace:
    """A network, its loss and its :class:`~chainrule.buffers.Buffers`: the engine's
    forward and backward passes for batches of up to ``batch_size`` rows, allocating nothing.

    Parameters
    ----------
    network : Network
        Read afresh on every call (its arrays may be replaced between calls), never copied.
    loss : str or Loss
    batch_size : int
    fused : bool
        Run the fused kernels where there are (see :class:`~chainrule.buffers.Buffers`);
        fit asks for them unless ``CHAINRULE_KERNELS=numpy``.

    Notes
    -----
    The arrays returned (``grads``, the gathered batch) are the buffers: the next call
    overwrites them. Inputs are not validated here (that is done once, by
    ``Network.check_Xy``), except that the batch must fit the buffers.
    """

    def __init__(
        self, network: Network, loss: str | Loss, batch_size: int, fused: bool = False
    ) -> None:
        if not isinstance(network, Network):
            raise TypeError(f"network must be a Network, got {type(network).__name__}")
        self.loss = get_loss(loss)
        if not supports(network, self.loss):
            raise ValueError(
                "a Workspace runs NumPy networks without dropout whose hidden activations "
                f"are {', '.join(sorted({cls.name for cls, _ in KERNELS}))}; "
                f"got {network!r} with {self.loss!r}"
            )
        self.network = network
        self.buffers = Buffers(network.layers, batch_size, fused)
        self._sgd = SGD()  # its descend, the update itself, reads no learning rate
        self.batch_size = B = self.buffers.batch_size
        # The output layer's gradients, the tail of the flat buffer, are read as they are.
        top = network.layers[-1]
        self._top = self.flat[self.flat.size - top.W.size - top.b.size :]
        # squares_bound reads n * (n_in + n_out) values a hidden layer, in two calls, and the
        # output layer's gradients in one; the gradients themselves are one call over n_in *
        # n_out values a layer. With a call's fixed cost (about 4096 values' worth), the bound
        # must read at most half as much: the gradients were just written, so they come from
        # the nearer caches (measured: the reference 784-256-128-10 network with batches of
        # 128, where the bound reads 0.85 as much, gained nothing at 1 thread).
        hidden = network.layers[:-1]
        calls = 2 * len(hidden) + 1
        read = sum(B * (layer.n_in + layer.n_out) for layer in hidden) + self._top.size
        self.bounds = 2 * (read + calls * _CALL) <= self.flat.size + _CALL

    @property
    def flat(self) -> Array:
        """The one array that every gradient is a view of."""
        return self.buffers.flat

    @property
    def grads(self) -> Params:
        """The gradient buffers by name."""
        return self.buffers.grads

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffers."""
        return self.buffers.nbytes

    def gather(self, X: Array, y: Array, rows: Array) -> tuple[Array, Array]:
        """Copy the batch ``X[rows], y[rows]`` into the buffers (see ``Buffers.gather``)."""
        return self.buffers.gather(X, y, rows)

    def loss_and_grads(
        self, X: Array, y: Array, reduction: str = "mean", scale: float = 1.0
    ) -> tuple[float, Params]:
        """The batch loss and the gradients of ``scale * E`` (``Network.backward``'s).

        Returns ``E`` as a float and the gradient buffers, overwritten by the next call.
        """
        _, caches = self.network.forward(X, buffers=self.buffers)
        E, grads = self.network.backward(
            y, caches, self.loss, reduction, buffers=self.buffers, scale=scale
        )
        return float(E), grads

    def squares_bound(self, X: Array) -> float:
        """An upper bound on the sum of squares of the gradients (or steps) of the last
        :meth:`loss_and_grads` on ``X``: :func:`~chainrule.training.guard.squares_bound`
        over the hidden layers' inputs and deltas, and the output layer's gradients as
        they are. Reads less than the gradients where :attr:`bounds` is true.
        """
        layers = self.buffers.rows(X.shape[0])[:-1]  # the hidden layers
        inputs = [X, *(layer.A for layer in layers)][: len(layers)]
        bound = squares_bound(zip(inputs, [layer.delta for layer in layers], strict=True))
        return bound + sum_of_squares(self._top)

    def sgd_step(self, X: Array, y: Array, lr: float, reduction: str = "mean") -> float:
        """One plain SGD update ``p <- p - lr * dE/dp`` (frozen parameters kept); the loss before.

        The backward pass computes the steps ``lr * g`` themselves (``scale=lr``), which
        :meth:`SGD.descend <chainrule.optimizers.SGD.descend>` subtracts.
        """
        E, steps = self.loss_and_grads(X, y, reduction, scale=lr)
        params, frozen = self.network.params, self.network.frozen
        if frozen:
            params = {name: p for name, p in params.items() if name not in frozen}
        self._sgd.descend(params, steps, {"t": 0})
        return E


@dataclass(frozen=True)
class BatchGradients:
    """How fit computes a batch: ``gradients(Xb, yb, wb) -> (E, grads)``; ``gather``, the
    copy of a shuffled batch into the buffers; ``scaled(Xb, yb, lr) -> (E, lr * grads)``
    or None where the buffers cannot take the batch; ``flat``, the one buffer that the
    gradients (or scaled gradients) are views of; ``bound(Xb, wb)``, the guard's bound on
    the sum of squares of the gradients just computed for ``Xb`` (the Workspace's
    :meth:`~Workspace.squares_bound`), or None where they did not come from the buffers.
    All but the first are None without buffers; ``bound`` is also None where reading the
    gradients costs less."""

    gradients: Gradients
    gather: Gather | None = None
    scaled: Scaled | None = None
    flat: Array | None = None
    bound: Callable[[Array, Array | None], float | None] | None = None


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

    def allocating(Xb: Array, yb: Array, wb: Array | None) -> tuple[float, Params]:
        _, caches = network.forward(Xb, training=dropout, rng=rng)
        return network.backward(yb, caches, loss, reduction, sample_weight=wb)

    if not supports(network, loss):
        return BatchGradients(allocating)
    ws = Workspace(network, loss, batch, fused=fused_kernels())

    def fits(Xb: Array, wb: Array | None) -> bool:
        """Whether the buffers take the batch (not e.g. a user's larger one)."""
        return wb is None and Xb.shape[0] <= ws.batch_size

    def buffered(Xb: Array, yb: Array, wb: Array | None) -> tuple[float, Params]:
        if not fits(Xb, wb):
            return allocating(Xb, yb, wb)
        return ws.loss_and_grads(Xb, yb, reduction)

    def scaled(Xb: Array, yb: Array, lr: float) -> tuple[float, Params] | None:
        if not fits(Xb, None):
            return None
        return ws.loss_and_grads(Xb, yb, reduction, scale=lr)

    def bound(Xb: Array, wb: Array | None) -> float | None:
        return ws.squares_bound(Xb) if fits(Xb, wb) else None

    return BatchGradients(buffered, ws.gather, scaled, ws.flat, bound if ws.bounds else None)


class BatchUpdate:
    """Trains on one batch: ``update(Xb, yb, wb, params, trainable, state, epoch, index)``
    returns the batch loss (with the L2 penalty), or None when the guard skipped it.

    Parameters
    ----------
    gradients : BatchGradients
    guard : Guard
    optimizer : Optimizer
    names : list of str
        The trainable parameters, in the network's order.
    l2 : float
    clip_norm : float or None
    l2_scale : {"fixed", "batch"}
        ``l2`` as given, or over each batch's rows or summed weights
        (:func:`chainrule.regularization.batch_l2`).
    """

    def __init__(
        self,
        gradients: BatchGradients,
        guard: Guard,
        optimizer: Optimizer,
        names: list[str],
        *,
        l2: float,
        clip_norm: float | None,
        l2_scale: str = "fixed",
    ) -> None:
        self.gradients, self.guard, self.optimizer = gradients, guard, optimizer
        self.names, self.l2, self.clip_norm = names, l2, clip_norm
        self.l2_scale = l2_scale
        # Exactly SGD: a subclass may update differently.
        plain_sgd = type(optimizer) is SGD and not optimizer.momentum  # type: ignore[attr-defined]
        self.scaled = gradients.scaled if plain_sgd and not l2 and clip_norm is None else None
        self.all_steps = {"all": gradients.flat}  # the guard's sum of squares in one pass
        # Adam's update in one fused sweep per parameter, where there is the kernel.
        sweep = update_kernel_for(optimizer, gradients.flat) if gradients.flat is not None else None
        self.update_options = {} if sweep is None else {"sweep": sweep}

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
        bound = self.gradients.bound
        if self.scaled is not None and wb is None:
            done = self.scaled(Xb, yb, state["lr"])
            if done is not None and self.guard.fine(
                done[0], self.all_steps, 1.0, None if bound is None else bound(Xb, None)
            ):
                self.optimizer.descend(trainable, done[1], state)  # type: ignore[attr-defined]
                return float(done[0])
            # Too big a batch, or something amiss: the usual way below (which names it).
        E, grads = self.gradients.gradients(Xb, yb, wb)
        squares = None if bound is None else bound(Xb, wb)
        verdict = self.guard.check(E, grads, state["lr"], epoch, index, squares)
        if verdict == SKIP:
            return None
        if self.l2:
            l2 = batch_l2(self.l2, self.l2_scale, Xb.shape[0], wb)
            E = float(E) + l2_penalty(params, l2)
            add_l2_gradient(grads, params, l2)
        if self.clip_norm is not None:
            clip_by_global_norm(grads, self.clip_norm)
        grads = {k: grads[k] for k in self.names}
        if verdict == NORMAL:
            self.optimizer.update(trainable, grads, state, **self.update_options)
        elif not self.guard.careful_update(self.optimizer, trainable, grads, state, epoch, index):
            return None
        return float(E)
