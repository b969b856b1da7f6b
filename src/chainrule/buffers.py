"""Reusable output buffers for the engine: every array of a mini-batch, made once.

:meth:`Network.forward <chainrule.network.Network.forward>` and
:meth:`~chainrule.network.Network.backward` allocate every ``Z``, ``A``, ``dZ`` and
gradient afresh, which costs little for big layers but adds up over thousands of
mini-batches. Given ``buffers=Buffers(network.layers, batch_size)``, the same methods
write into these arrays instead (NumPy networks only):

- each layer's ``Z``, ``A`` (the same array as ``Z`` for a hidden layer whose activation
  has an in-place kernel, :mod:`chainrule.kernels`: backward then reads only ``A``, and
  ReLU's mask), ``delta`` (``dEdOutLk``, overwritten by ``dEdInLk``) and kernel scratch;
- the gradients, every one a view of one flat array, :attr:`Buffers.flat`, in the order
  of ``network.params`` (so that a check of all of them is a single pass);
- the gathered batch ``X`` and ``y`` (:meth:`Buffers.gather`).

The output layer keeps its ``Z`` apart from ``A``: a loss may read the logits. Results
equal those of the readable path bit for bit (the tests check it).

Examples
--------
>>> import numpy as np
>>> from chainrule import Network
>>> from chainrule.losses import get_loss
>>> net = Network.from_sizes([4, 8, 3], ["relu", "softmax"], random_state=0)
>>> buffers = Buffers(net.layers, batch_size=16)
>>> X, y = np.ones((16, 4)), np.eye(3)[np.arange(16) % 3]
>>> _, caches = net.forward(X, buffers=buffers)
>>> E, grads = net.backward(y, caches, get_loss("cross_entropy"), buffers=buffers)
>>> grads["W1"].base is buffers.flat
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .checks import Array, check_positive
from .kernels import gather_kernel, kernel_for, sum_kernel
from .layers import Dense, LayerBuffers


class Buffers:
    """Preallocated arrays for forward and backward passes of up to ``batch_size`` rows.

    Parameters
    ----------
    layers : sequence of Dense
        A NumPy network's layers (``network.layers``); their parameters may be replaced
        between calls, but not their shapes or dtype.
    batch_size : int
        The most rows one pass takes; a smaller (last) batch uses the buffers' first rows.
    fused : bool
        Run the fused kernels where there are (:func:`chainrule.kernels.fused_kernels`):
        faster, equal to the NumPy kernels up to rounding only. Off by default: the
        results then equal the readable path's bit for bit.
    """

    def __init__(self, layers: Sequence[Dense], batch_size: int, fused: bool = False) -> None:
        self.batch_size = B = int(check_positive(batch_size, "batch_size", integer=True))
        W1 = layers[0].W
        if not isinstance(W1, np.ndarray):
            raise TypeError(f"buffers are NumPy arrays: the network's W1 is a {type(W1).__name__}")
        dtype = W1.dtype
        self.X = np.empty((B, layers[0].n_in), dtype)  # the gathered batch
        self.y = np.empty((B, layers[-1].n_out), dtype)
        # Every gradient is a view of one flat buffer, laid out as network.params.
        shapes = [shape for layer in layers for shape in (layer.W.shape, layer.b.shape)]
        self.flat = np.empty(sum(int(np.prod(s)) for s in shapes), dtype)
        views, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            views.append(self.flat[start : start + size].reshape(shape))
            start += size
        self.grads = {
            f"{kind}{k}": views[2 * (k - 1) + (kind == "b")]
            for k in range(1, len(layers) + 1)
            for kind in "Wb"
        }
        self._full = []
        sums = sum_kernel(W1, fused)
        for k, layer in enumerate(layers, start=1):
            shape = (B, layer.n_out)
            kernel = kernel_for(layer.activation, W1, fused)
            Z = np.empty(shape, dtype)
            # A overwrites Z where a kernel runs in place; the output layer keeps Z.
            A = Z if kernel is not None and k < len(layers) else np.empty(shape, dtype)
            mask, tmp, delta = np.empty(shape, bool), np.empty(shape, dtype), np.empty(shape, dtype)
            cols, e = np.empty((B, 3), dtype), np.empty(B, dtype)
            dW, db = self.grads[f"W{k}"], self.grads[f"b{k}"]
            self._full.append(
                LayerBuffers(Z, A, delta, mask, tmp, cols, e, dW, db, kernel, sums, [], bool(fused))
            )
        self._rows: dict[int, list[LayerBuffers]] = {}
        self._gather = gather_kernel(W1) if fused else None

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffers (the batch, activations, deltas, scratch, gradients)."""
        arrays = {id(a): a for a in (self.X, self.y, self.flat)}
        for layer in self._full:
            arrays.update(
                {id(a): a for a in (layer.Z, layer.A, layer.delta, layer.mask, layer.tmp)}
            )
        return sum(int(a.nbytes) for a in arrays.values())

    def rows(self, m: int) -> list[LayerBuffers]:
        """Every layer's buffers cut to their first ``m`` rows (views made once per ``m``)."""
        views = self._rows.get(m)
        if views is None:
            if not 1 <= m <= self.batch_size:
                raise ValueError(f"a batch must have 1 to {self.batch_size} rows, got {m}")
            views = []
            for layer in self._full:
                Z = layer.Z[:m]
                A = Z if layer.A is layer.Z else layer.A[:m]
                views.append(
                    layer._replace(
                        Z=Z,
                        A=A,
                        delta=layer.delta[:m],
                        mask=layer.mask[:m],
                        tmp=layer.tmp[:m],
                        cols=layer.cols[:m],
                        e=layer.e[:m],
                    )
                )
            self._rows[m] = views
        return views

    def gather(self, X: Array, y: Array, rows: Array) -> tuple[Array, Array]:
        """Copy the batch ``X[rows], y[rows]`` into the buffers: one contiguous copy each.

        ``rows`` must be valid row indices (e.g. a slice of a permutation).
        """
        m = len(rows)
        if self._gather is not None:
            Xb, yb = self.X[:m], self.y[:m]
            self._gather(X, rows, Xb)
            self._gather(y, rows, yb)
            return Xb, yb
        # mode="clip" skips the bounds check (and the buffering it implies with out=).
        Xb = X.take(rows, axis=0, out=self.X[:m], mode="clip")
        yb = y.take(rows, axis=0, out=self.y[:m], mode="clip")
        return Xb, yb
