"""The dense layer: an affine map ``Z = A_prev @ W + b`` and its activation ``A = f(Z)``.

A layer is the affine map *and* its activation, like the seed's "layer 1". Its forward
step returns the output and a small frozen cache; its backward step takes that cache
back, so nothing piles up on the layer between calls.

Every step takes an optional ``out``, the layer's :class:`LayerBuffers` (made by
:class:`chainrule.buffers.Buffers`): the same arithmetic is then written into those
arrays (``np.dot(..., out=)`` is the same BLAS product as ``@``, bit for bit) and the
activation runs its in-place kernel (:mod:`chainrule.kernels`) where it has one. Without
``out`` (the readable path, for any array-API array) every result is a new array.

Examples
--------
>>> import numpy as np
>>> from chainrule.layers import Dense
>>> layer = Dense(np.array([[0.15, 0.2], [0.24, 0.3]]), np.array([1.0, 1.0]), "sigmoid")
>>> A, cache = layer.forward(np.array([[0.5, 0.1]]))
>>> cache.Z
array([[1.099, 1.13 ]])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from array_api_compat import array_namespace, device

from .activations import Activation, get_activation
from .checks import Array, as_float_array, is_foreign_array, shape_of
from .kernels import Kernel, LossKernel, loss_kernel_for
from .losses import Loss


class DenseCache(NamedTuple):
    """What a dense layer's backward step needs from its forward step (immutable)."""

    A_prev: Array  # (n_samples, n_in): the layer's input, the seed's outL(k-1) or x
    # (n_samples, n_out): the seed's inLk; None where a kernel overwrote it with A in place
    # (its backprop reads A only)
    Z: Array | None
    A: Array  # (n_samples, n_out): the seed's outLk, f(Z) before any dropout
    # (n_samples, n_out): the inverted-dropout mask, 0 or 1 / (1 - rate); None when the
    # layer ran without dropout. The layer's output is A * mask.
    mask: Array | None = None


class LayerBuffers(NamedTuple):
    """One layer's preallocated arrays for a batch of ``m`` rows (see :mod:`chainrule.buffers`).

    ``Z`` receives ``inLk``; ``A`` receives ``outLk`` and is ``Z`` itself where the
    activation's kernel works in place; ``delta`` receives ``dEdOutLk`` from the layer
    above, overwritten in place by ``dEdInLk``; ``dW`` and ``db`` receive the gradients;
    ``mask`` (bool), ``tmp`` and ``cols`` are the kernel's scratch; ``e`` receives the
    instances' errors (output layer); ``kernel`` is None where the activation has none
    (its own ``value`` and ``backprop`` then run); ``instance_sum(dZ, out=db)`` writes ``db``,
    the sum of ``dZ`` over instances (:func:`chainrule.kernels.sum_kernel`);
    ``loss_memo`` remembers the last loss looked up by :meth:`loss_kernel` and its
    kernel (a list shared by every view).
    """

    Z: np.ndarray  # (m, n_out)
    A: np.ndarray  # (m, n_out)
    delta: np.ndarray  # (m, n_out)
    mask: np.ndarray  # (m, n_out), bool
    tmp: np.ndarray  # (m, n_out)
    cols: np.ndarray  # (m, 3)
    e: np.ndarray  # (m,)
    dW: np.ndarray  # (n_in, n_out)
    db: np.ndarray  # (n_out,)
    kernel: Kernel | None
    instance_sum: Callable[..., Array]  # instance_sum(dZ, out=db): dZ summed over instances
    loss_memo: list[Any]  # [loss, its LossKernel or None], empty before the first look-up
    fused: bool = False  # the fused kernels asked for (the loss's too)

    def loss_kernel(self, loss: Loss, activation: Activation) -> LossKernel | None:
        """The in-place kernel of ``loss`` after the output ``activation`` for these
        buffers (:func:`chainrule.kernels.loss_kernel_for`), looked up once per loss: a
        mini-batch asks twice (the errors, then the delta)."""
        memo = self.loss_memo
        if memo and memo[0] is loss:
            return memo[1]  # type: ignore[no-any-return]
        found = loss_kernel_for(loss, activation, self.Z, self.fused)
        memo[:] = (loss, found)
        return found


class Dense:
    """A fully connected layer ``A = f(A_prev @ W + b)``.

    Parameters
    ----------
    W : array, shape (n_in, n_out)
        Weights; column ``j`` feeds output ``j``.
    b : array, shape (n_out,)
        Biases.
    activation : str or Activation
        The activation ``f`` (see :mod:`chainrule.activations`).
    dropout : float
        Inverted dropout on the layer's output, rate in [0, 1): in training, each output
        is zeroed with probability ``rate`` and the others are scaled by
        ``1 / (1 - rate)``, so that inference (no dropout) needs no rescaling.
    """

    def __init__(
        self,
        W: Array,
        b: Array,
        activation: str | Activation = "identity",
        *,
        dropout: float = 0.0,
    ) -> None:
        W = as_float_array(W, "W")
        b = as_float_array(b, "b", dtype=None if is_foreign_array(b) else W.dtype)
        if len(shape_of(W)) != 2:
            raise ValueError(f"W must be 2-D (n_in, n_out), got shape {shape_of(W)}")
        if shape_of(b) != (W.shape[1],):
            raise ValueError(f"b must have shape ({W.shape[1]},), got {shape_of(b)}")
        self.W = W
        self.b = b
        self.activation = get_activation(activation)
        self.dropout = check_dropout(dropout)

    @property
    def n_in(self) -> int:
        """Number of inputs."""
        return int(self.W.shape[0])

    @property
    def n_out(self) -> int:
        """Number of outputs (neurons)."""
        return int(self.W.shape[1])

    def forward(
        self,
        A_prev: Array,
        *,
        training: bool = False,
        rng: np.random.Generator | None = None,
        out: LayerBuffers | None = None,
    ) -> tuple[Array, DenseCache]:
        """``Z = A_prev @ W + b``, ``A = f(Z)`` (times the dropout mask in training).

        Parameters
        ----------
        A_prev : array, shape (n_samples, n_in)
        training : bool
            Apply dropout (if the layer has a rate > 0). Off by default: inference.
        rng : numpy.random.Generator, optional
            Draws the dropout mask; required when dropout applies.
        out : LayerBuffers, optional
            Write ``Z`` and ``A`` into these NumPy buffers (``n_samples`` rows).

        Returns
        -------
        A : array, shape (n_samples, n_out)
        cache : DenseCache
        """
        if out is None:
            Z = affine(A_prev, self.W, self.b)
            A = self.activation.value(Z)
        else:
            kernel, A = out.kernel, out.A
            if kernel is None:
                Z = affine(A_prev, self.W, self.b, out.Z)
                A[...] = self.activation.value(Z)
            elif kernel.forward_bias is not None:
                # A fused kernel adds the bias and applies f in one sweep over the product.
                Z = np.dot(A_prev, self.W, out=out.Z)
                kernel.forward_bias(Z, self.b, A, out.mask, out.tmp, out.cols)
            else:
                Z = affine(A_prev, self.W, self.b, out.Z)
                kernel.forward(Z, A, out.mask, out.tmp, out.cols)
            if A is out.Z:
                Z = None  # overwritten by A in place
        if not (training and self.dropout):
            return A, DenseCache(A_prev, Z, A)
        if rng is None:
            raise ValueError("rng must be a numpy.random.Generator when dropout applies")
        if is_foreign_array(A):
            mask = foreign_dropout_mask(A, self.dropout, rng)
        else:
            mask = dropout_mask(A.shape, A.dtype, self.dropout, rng)
        return A * mask, DenseCache(A_prev, Z, A, mask)

    def backward(
        self, dA: Array, cache: DenseCache, out: LayerBuffers | None = None
    ) -> tuple[Array, dict[str, Array], Array]:
        """Back-propagate dE/dA through the activation and the affine map.

        Parameters
        ----------
        dA : array, shape (n_samples, n_out)
            dE/dA, the seed's ``dEdOutLk`` (overwritten by ``dZ`` when ``out`` is given).
        cache : DenseCache
        out : LayerBuffers, optional
            This layer's buffers, from the forward pass that made ``cache``.

        Returns
        -------
        dA_prev : array, shape (n_samples, n_in)
            dE/dA_prev = dZ @ W.T, the layer below's ``dEdOutL``.
        grads : dict
            ``{"W": dE/dW (n_in, n_out), "b": dE/db (n_out,)}``.
        dZ : array, shape (n_samples, n_out)
            dE/dZ = dA * f'(Z), the seed's ``dEdInLk``.
        """
        dZ = self.backward_activation(dA, cache, out)
        dA_prev, dW, db = self.backward_affine(dZ, cache, out=out)
        return dA_prev, {"W": dW, "b": db}, dZ

    def backward_activation(
        self, dA: Array, cache: DenseCache, out: LayerBuffers | None = None
    ) -> Array:
        """``dZ = dA * f'(Z)``: the seed's ``dEdInLk = dEdOutLk * dOutLkdInLk``.

        With dropout, ``dA`` is dE/d(output) and dE/dA of ``f(Z)`` is ``dA * mask``. With
        ``out`` and a kernel, ``dA`` (then ``out.delta``) is overwritten by ``dZ``.
        """
        if cache.mask is not None:
            dA = dA * cache.mask
        if out is not None and out.kernel is not None:
            out.kernel.backprop(dA, cache.A, out.mask, out.tmp, out.cols)
            return dA
        return self.activation.backprop(dA, cache.Z, cache.A)

    def backward_affine(
        self,
        dZ: Array,
        cache: DenseCache,
        *,
        need_dA_prev: bool = True,
        out: LayerBuffers | None = None,
        out_below: LayerBuffers | None = None,
    ) -> tuple[Array | None, Array, Array]:
        """The affine part of the backward step, given dE/dZ (the seed's ``dEdInLk``).

        Returns ``dA_prev = dZ @ W.T`` (None when ``need_dA_prev`` is false: layer 1 needs
        no gradient for the input), ``dW = A_prev.T @ dZ`` and ``db``, the sum of ``dZ``
        over instances. With ``out``, ``dW`` and ``db`` are written into ``out.dW`` and
        ``out.db``; with ``out_below`` (the layer below's buffers), ``dA_prev`` into its
        ``delta``.
        """
        if out is None:
            dW = cache.A_prev.T @ dZ
            db = array_namespace(dZ).sum(dZ, axis=0)
        else:
            dW = np.dot(cache.A_prev.T, dZ, out=out.dW)
            db = out.instance_sum(dZ, out=out.db)
        if not need_dA_prev:
            return None, dW, db
        if out_below is None:
            return dZ @ self.W.T, dW, db
        return np.dot(dZ, self.W.T, out=out_below.delta), dW, db

    def backward_from_dZ(
        self, dZ: Array, cache: DenseCache, need_dA_prev: bool = True
    ) -> tuple[Array | None, dict[str, Array]]:
        """Deprecated: :meth:`backward_affine`, with the gradients as ``{"W": dW, "b": db}``."""
        warnings.warn(
            "Dense.backward_from_dZ is Dense.backward_affine now; this alias goes in the "
            "next release",
            DeprecationWarning,
            stacklevel=2,
        )
        dA_prev, dW, db = self.backward_affine(dZ, cache, need_dA_prev=need_dA_prev)
        return dA_prev, {"W": dW, "b": db}

    def __repr__(self) -> str:
        dropout = f", dropout={self.dropout}" if self.dropout else ""
        return (
            f"Dense(n_in={self.n_in}, n_out={self.n_out}, activation={self.activation!r}{dropout})"
        )


def affine(A_prev: Array, W: Array, b: Array, out: np.ndarray | None = None) -> Array:
    """``Z = A_prev @ W + b``, the seed's ``inLk``; into ``out`` (NumPy) when given.

    ``np.dot(A_prev, W, out=out)`` runs the same BLAS product as ``@``, bit for bit, with
    less overhead per call than ``np.matmul``.
    """
    if out is None:
        return A_prev @ W + b
    np.dot(A_prev, W, out=out)
    return np.add(out, b, out)


def check_dropout(rate: object, name: str = "dropout") -> float:
    """Return ``rate`` as a float if it is a number in [0, 1), else raise."""
    if isinstance(rate, bool) or not isinstance(rate, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number in [0, 1), got {rate!r}")
    if not 0 <= rate < 1:
        raise ValueError(f"{name} must be a rate in [0, 1), got {rate!r}")
    return float(rate)


def dropout_mask(
    shape: tuple[int, ...], dtype: np.dtype, rate: float, rng: np.random.Generator
) -> np.ndarray:
    """The inverted-dropout mask: 0 for a dropped unit, ``1 / (1 - rate)`` for a kept one.

    Drawn in ``dtype`` (float32 or float64), so that a float32 network stays float32.
    """
    keep = rng.random(shape, dtype=dtype) >= rate
    return keep * dtype.type(1 / (1 - rate))


def foreign_dropout_mask(A: Array, rate: float, rng: np.random.Generator) -> Array:
    """The inverted-dropout mask for ``A``, an array of another library (a GPU's, say).

    The mask is drawn by NumPy's ``rng`` exactly as for a NumPy ``A`` of the same dtype
    (so the same seed drops the same units), then copied to ``A``'s device.

    Parameters
    ----------
    A : array, shape (n_samples, n_out)
        float32 or float64.
    rate : float
        The dropout rate, in [0, 1).
    rng : numpy.random.Generator

    Returns
    -------
    mask : array, shape (n_samples, n_out), ``A``'s namespace, dtype and device
    """
    xp = array_namespace(A)
    dtype = np.dtype(np.float32 if A.dtype == xp.float32 else np.float64)
    mask = dropout_mask(shape_of(A), dtype, rate, rng)
    return xp.asarray(mask, device=device(A))
