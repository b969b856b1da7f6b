"""Workspace: the fast path of training, the plain engine's arithmetic in preallocated buffers.

:meth:`Network.forward <chainrule.network.Network.forward>` and
:meth:`~chainrule.network.Network.backward` are the reference: readable, array-API,
traced. They allocate every ``Z``, ``A``, ``dZ`` and gradient afresh, which costs little
for big layers but adds up over thousands of mini-batches. A :class:`Workspace` runs
the same operations, in the same order, into buffers made once for a batch size:

- ``Z = A_prev @ W`` is written into the layer's buffer (``np.dot(..., out=)``: the same
  BLAS product as ``@``, bit for bit, with less overhead per call than ``np.matmul``), the
  bias added and the activation applied in place, so ``A`` overwrites ``Z``; backward
  needs only ``A`` (and ReLU's mask ``Z > 0``; sigmoid's and tanh's derivatives are
  functions of ``A``);
- softmax with cross-entropy computes the batch loss from the logits (stable, as the
  plain path) and ``dZ = (A * sum(y) - y) / n_samples`` in place;
- ``dZ @ W.T`` is written straight into the layer below's ``dZ`` buffer, and the
  activation's derivative is applied there in place;
- :meth:`Workspace.sgd_step` folds plain SGD into the backward pass: the learning rate
  scales the top layer's ``dZ`` once, so each ``A_prev.T @ dZ`` is already
  ``lr * dE/dW``, subtracted from ``W`` at once (after ``W`` has served ``dZ @ W.T``).

Where the operations are the same as the plain path's, so are the results, bit for
bit (the tests check it); folding the learning rate changes the rounding only.

Supported: NumPy networks of float32 or float64, hidden activations ``relu``,
``identity``, ``sigmoid``, ``tanh``, any output activation and loss (softmax with
cross-entropy fully in place; other outputs use the loss's own methods, which allocate
arrays of the output's small size), no dropout. :func:`chainrule.training.fit` uses a
workspace whenever :func:`supports` says so and no ``sample_weight`` is given.

Examples
--------
The seed's step, validated once and then repeated cheaply:

>>> from chainrule import seed_example
>>> from chainrule.workspace import Workspace
>>> seed = seed_example()
>>> X, y = seed.network.check_Xy(seed.x, seed.y)
>>> ws = Workspace(seed.network, "half_squared_error", batch_size=1)
>>> round(ws.sgd_step(X, y, lr=0.5), 6), round(ws.sgd_step(X, y, lr=0.5), 6)
(0.011843, 0.010953)
"""

from __future__ import annotations

import numpy as np

from ._inplace import activate as _activate
from ._inplace import add_reduce, constants, max_reduce
from ._inplace import backprop as _backprop
from ._inplace import reduce as _reduce
from .checks import Array, check_positive, check_reduction
from .losses import CrossEntropy, HalfSquaredError, Loss, get_loss
from .network import Network

Params = dict[str, Array]
HIDDEN = ("relu", "identity", "sigmoid", "tanh")


def supports(network: Network, loss: str | Loss) -> bool:
    """Whether a :class:`Workspace` can run ``network`` with ``loss``."""
    get_loss(loss)  # any loss and output activation: the output layer may use their methods
    layers = network.layers
    return (
        isinstance(layers[0].W, np.ndarray)
        and all(layer.activation.name in HIDDEN for layer in layers[:-1])
        and not any(layer.dropout for layer in layers)
    )


class Workspace:
    """Preallocated buffers for forward and backward passes of up to ``batch_size`` rows.

    Parameters
    ----------
    network : Network
        Read afresh on every call (its arrays may be replaced between calls), never copied.
    loss : str or Loss
    batch_size : int
        The most rows one call takes; a smaller (last) batch uses the buffers' first rows.

    Notes
    -----
    The arrays returned (``grads``, the gathered batch) are the workspace's buffers: the
    next call overwrites them. The gradients are views of one flat buffer, ``flat``, in
    the order of ``network.params``. Inputs are not validated here (that is done once, by
    ``Network.check_Xy``), except that the batch must fit the buffers.
    """

    def __init__(self, network: Network, loss: str | Loss, batch_size: int) -> None:
        if not isinstance(network, Network):
            raise TypeError(f"network must be a Network, got {type(network).__name__}")
        self.loss = get_loss(loss)
        if not supports(network, self.loss):
            raise ValueError(
                f"a Workspace runs NumPy networks without dropout whose hidden activations "
                f"are {', '.join(HIDDEN)}; got {network!r} with {self.loss!r}"
            )
        self.batch_size = int(check_positive(batch_size, "batch_size", integer=True))
        self.network = network
        dtype, B = network.dtype, self.batch_size
        top = network.layers[-1]
        self.fused = self.loss.fused(top.activation)
        self.softmax_ce = self.fused and isinstance(self.loss, CrossEntropy)
        self.half_squared = isinstance(self.loss, HalfSquaredError)
        self.top_in_place = top.activation.name in HIDDEN and not self.fused
        self.X = np.empty((B, network.n_features), dtype)  # the gathered batch
        self.y = np.empty((B, network.n_outputs), dtype)
        n_outs = [layer.n_out for layer in network.layers]
        # A[k] holds Z, then A = f(Z) of layer k+1 (in place); dZ[k] holds dE/dA, then
        # dE/dZ; mask[k] is ReLU's Z > 0, kept from forward to backward (sigmoid uses it
        # as scratch for Z >= 0); tmp[k] is scratch.
        self._A = [np.empty((B, n), dtype) for n in n_outs]
        self._dZ = [np.empty((B, n), dtype) for n in n_outs]
        self._mask = [np.empty((B, n), bool) for n in n_outs]
        self._tmp = [np.empty((B, n), dtype) for n in n_outs]
        self._Z_top = np.empty((B, top.n_out), dtype)  # the logits, kept for the loss
        self._col = np.empty((B, 4), dtype)  # per-row scalars: max, sum of exp, sum(y), e
        self._views: dict[int, tuple] = {}
        self._names = [(f"W{k}", f"b{k}") for k in range(1, network.n_layers + 1)]
        self._hidden = [layer.activation.name for layer in network.layers[:-1]]
        # Every gradient is a view of one flat buffer, so that a check of all of them
        # (the fit loop's sum of squares) is a single pass.
        params = network.params
        self.flat = np.empty(sum(p.size for p in params.values()), dtype)
        self.grads: Params = {}
        start = 0
        for name, p in params.items():
            self.grads[name] = self.flat[start : start + p.size].reshape(p.shape)
            start += p.size
        # Per layer: its parameters' names and gradient buffers, looked up once.
        self._slots = [(w, b, self.grads[w], self.grads[b]) for w, b in self._names]
        self._c = constants(dtype)

    @property
    def nbytes(self) -> int:
        """Bytes held by the workspace's buffers (the batch, activations, deltas, gradients)."""
        arrays = [self.X, self.y, self._Z_top, self._col, self.flat]
        arrays += [*self._A, *self._dZ, *self._mask, *self._tmp]
        return sum(int(a.nbytes) for a in arrays)

    def _rows(self, m: int) -> tuple:
        """The buffers' first ``m`` rows (views made once per batch length, not per call)."""
        views = self._views.get(m)
        if views is None:
            if not 1 <= m <= self.batch_size:
                raise ValueError(f"a batch must have 1 to {self.batch_size} rows, got {m}")
            cut = [a[:m] for a in (*self._A, *self._dZ, *self._mask, *self._tmp)]
            L = len(self._A)
            views = (
                cut[:L],
                cut[L : 2 * L],
                cut[2 * L : 3 * L],
                cut[3 * L :],
                self._Z_top[:m],
                tuple(self._col[:m, j : j + 1] for j in range(4)),
            )
            self._views[m] = views
        return views

    def gather(self, X: Array, y: Array, rows: Array) -> tuple[Array, Array]:
        """Copy the batch ``X[rows], y[rows]`` into the workspace: one contiguous copy each.

        ``rows`` must be valid row indices (e.g. a slice of a permutation).
        """
        m = len(rows)
        # mode="clip" skips the bounds check (and the buffering it implies with out=).
        Xb = X.take(rows, axis=0, out=self.X[:m], mode="clip")
        yb = y.take(rows, axis=0, out=self.y[:m], mode="clip")
        return Xb, yb

    def _forward(self, X: Array, y: Array, rows: tuple) -> Array:
        """Forward pass into the buffers; returns the instances' errors, ``(m,)`` or ``(m, 1)``."""
        As, _, masks, tmps, Z, (top_, total, ysum, e) = rows
        layers, c = self.network.layers, self._c
        A_prev = X
        for k, name in enumerate(self._hidden):
            A = As[k]
            np.dot(A_prev, layers[k].W, out=A)
            np.add(A, layers[k].b, A)
            _activate(name, A, masks[k], tmps[k], c)
            A_prev = A
        top, A = layers[-1], As[-1]
        if self.top_in_place:  # the loss needs A only: Z is computed straight into A
            np.dot(A_prev, top.W, out=A)
            np.add(A, top.b, A)
            _activate(top.activation.name, A, masks[-1], tmps[-1], c)
        else:
            np.dot(A_prev, top.W, out=Z)
            np.add(Z, top.b, Z)
        if not self.softmax_ce:
            if not self.top_in_place:
                A[...] = top.activation.value(Z)
            if self.fused:
                return self.loss.per_instance_from_logits(y, Z)
            if self.half_squared:  # the seed's 1/2 * sum((y - A)**2), in place
                diff = tmps[-1]
                np.subtract(y, A, diff)
                np.multiply(diff, diff, diff)
                if diff.shape[1] == 1:  # one output: the sum over it is the square itself
                    np.multiply(diff, c.half, e)
                else:
                    add_reduce(diff, axis=1, keepdims=True, out=e)
                    e *= 0.5
                return e
            return self.loss.per_instance(y, A)
        # Softmax and its cross-entropy share max(Z) and sum(exp(Z - max)), as in the
        # plain path: e = sum(y) * (max + log(sum exp(Z - max))) - sum(y * Z).
        max_reduce(Z, axis=1, keepdims=True, out=top_)
        np.subtract(Z, top_, out=A)
        np.exp(A, out=A)
        add_reduce(A, axis=1, keepdims=True, out=total)
        A /= total
        add_reduce(y, axis=1, keepdims=True, out=ysum)
        np.log(total, out=e)
        e += top_
        e *= ysum
        yZ = tmps[-1]
        np.multiply(y, Z, out=yZ)
        e -= add_reduce(yZ, axis=1, keepdims=True)
        return e

    def _top_delta(self, y: Array, scale: float, rows: tuple) -> Array:
        """dE/dZ of the output layer into its buffer, times ``scale``."""
        As, dZs, masks, tmps, Z, cols = rows
        top, A, dZ = self.network.layers[-1], As[-1], dZs[-1]
        if self.softmax_ce:
            np.multiply(A, cols[2], out=dZ)  # A * sum(y) - y
            dZ -= y
        elif self.fused:
            dZ[...] = self.loss.instance_gradient_from_logits(y, Z, A)
        else:
            if self.half_squared:
                np.subtract(A, y, dZ)  # dE/dA = A - y
            else:
                dZ[...] = self.loss.instance_gradient(y, A)
            if scale != 1.0:  # scaled before f', as the plain path does
                np.multiply(dZ, scale, dZ)
            if self.top_in_place:  # a hidden-layer activation: in place
                _backprop(top.activation.name, dZ, A, masks[-1], tmps[-1], self._c)
            else:
                dZ[...] = top.activation.backprop(dZ, Z, A)
            return dZ
        if scale != 1.0:
            dZ *= scale
        return dZ

    def _backward(self, X: Array, dZ: Array, lr: float | None, rows: tuple) -> None:
        """From the top ``dZ`` down: gradients into ``grads``, or, with ``lr``, the update."""
        As, dZs, masks, tmps, _, _ = rows
        layers, frozen, c = self.network.layers, self.network.frozen, self._c
        for k in range(len(layers) - 1, -1, -1):
            layer, (w, b, dW, db) = layers[k], self._slots[k]
            if k:  # dE/dA of the layer below, before W changes
                np.dot(dZ, layer.W.T, out=dZs[k - 1])
            np.dot(X.T if k == 0 else As[k - 1].T, dZ, out=dW)
            if dZ.shape[0] != 1:
                add_reduce(dZ, axis=0, out=db)
            elif lr is None:  # one instance: the sum over instances is its own row
                db[...] = dZ[0]
            else:  # ... which the update below subtracts directly
                db = dZ[0]
            if lr is not None:  # dZ carries lr: dW and db are already lr * gradient
                if w not in frozen:
                    np.subtract(layer.W, dW, layer.W)
                if b not in frozen:
                    np.subtract(layer.b, db, layer.b)
            if k:
                dZ = dZs[k - 1]
                _backprop(self._hidden[k - 1], dZ, As[k - 1], masks[k - 1], tmps[k - 1], c)

    def loss_and_grads(
        self, X: Array, y: Array, reduction: str = "mean", scale: float = 1.0
    ) -> tuple[float, Params]:
        """The batch loss and every gradient, as ``Network.forward`` + ``backward`` give them.

        Parameters
        ----------
        X : array, shape (m, n_features), m <= batch_size; already checked
        y : array, shape (m, n_out)
        reduction : {"mean", "sum"}
        scale : float
            Return ``scale * gradient`` instead, for the price of the gradient: the factor
            scales the output layer's ``dZ``, and every product below carries it (plain
            SGD's step ``lr * g``, equal to the gradient times ``lr`` up to rounding).
            With the default 1, the gradients equal the plain path's bit for bit.

        Returns
        -------
        E : float
        grads : dict
            ``{"W1": ..., "b1": ...}``: the workspace's buffers, overwritten by the next call.
        """
        m = X.shape[0]
        rows = self._rows(m)  # the buffers' views for m rows, made once per batch length
        e = self._forward(X, y, rows)
        if check_reduction(reduction) == "mean":
            scale = scale / m
        self._backward(X, self._top_delta(y, scale, rows), None, rows)
        return _reduce(e, reduction), self.grads

    def sgd_step(self, X: Array, y: Array, lr: float, reduction: str = "mean") -> float:
        """One plain SGD step ``p <- p - lr * dE/dp`` (frozen parameters kept); the loss before.

        The learning rate is folded into the top layer's ``dZ``, so no separate update
        pass runs; the results equal :meth:`loss_and_grads` followed by the update up to
        rounding. The gradient buffers serve as scratch here: read gradients from
        :meth:`loss_and_grads`.
        """
        m = X.shape[0]
        rows = self._rows(m)
        e = self._forward(X, y, rows)
        scale = 1.0 / m if check_reduction(reduction) == "mean" else 1.0
        self._backward(X, self._top_delta(y, scale * lr, rows), lr, rows)
        return _reduce(e, reduction)
