"""The dense layer: an affine map ``Z = A_prev @ W + b`` and its activation ``A = f(Z)``.

A layer is the affine map *and* its activation, like the seed's "layer 1". Its forward
step returns the output and a small frozen cache; its backward step takes that cache
back, so nothing piles up on the layer between calls.

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

from dataclasses import dataclass

from array_api_compat import array_namespace

from ._validation import Array, as_float_array, is_foreign_array, shape_of
from .activations import Activation, get_activation


@dataclass(frozen=True)
class DenseCache:
    """What a dense layer's backward step needs from its forward step."""

    A_prev: Array  # (n_samples, n_in): the layer's input, the seed's outL(k-1) or x
    Z: Array  # (n_samples, n_out): the seed's inLk
    A: Array  # (n_samples, n_out): the seed's outLk


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
    """

    def __init__(self, W: Array, b: Array, activation: str | Activation = "identity") -> None:
        W = as_float_array(W, "W")
        b = as_float_array(b, "b", dtype=None if is_foreign_array(b) else W.dtype)
        if len(shape_of(W)) != 2:
            raise ValueError(f"W must be 2-D (n_in, n_out), got shape {shape_of(W)}")
        if shape_of(b) != (W.shape[1],):
            raise ValueError(f"b must have shape ({W.shape[1]},), got {shape_of(b)}")
        self.W = W
        self.b = b
        self.activation = get_activation(activation)

    @property
    def n_in(self) -> int:
        """Number of inputs."""
        return int(self.W.shape[0])

    @property
    def n_out(self) -> int:
        """Number of outputs (neurons)."""
        return int(self.W.shape[1])

    def forward(self, A_prev: Array) -> tuple[Array, DenseCache]:
        """``Z = A_prev @ W + b``, ``A = f(Z)``.

        Parameters
        ----------
        A_prev : array, shape (n_samples, n_in)

        Returns
        -------
        A : array, shape (n_samples, n_out)
        cache : DenseCache
        """
        Z = A_prev @ self.W + self.b
        A = self.activation.value(Z)
        return A, DenseCache(A_prev, Z, A)

    def backward(self, dA: Array, cache: DenseCache) -> tuple[Array, dict[str, Array], Array]:
        """Back-propagate dE/dA through the activation and the affine map.

        Parameters
        ----------
        dA : array, shape (n_samples, n_out)
            dE/dA, the seed's ``dEdOutLk``.
        cache : DenseCache

        Returns
        -------
        dA_prev : array, shape (n_samples, n_in)
            dE/dA_prev = dZ @ W.T, the layer below's ``dEdOutL``.
        grads : dict
            ``{"W": dE/dW (n_in, n_out), "b": dE/db (n_out,)}``.
        dZ : array, shape (n_samples, n_out)
            dE/dZ = dA * f'(Z), the seed's ``dEdInLk``.
        """
        dZ = self.activation.backprop(dA, cache.Z, cache.A)
        dA_prev, grads = self.backward_from_dZ(dZ, cache)
        return dA_prev, grads, dZ

    def backward_from_dZ(
        self, dZ: Array, cache: DenseCache, need_dA_prev: bool = True
    ) -> tuple[Array | None, dict[str, Array]]:
        """The affine part of the backward step, given dE/dZ.

        ``dW = A_prev.T @ dZ``, ``db = sum of dZ over instances``, ``dA_prev = dZ @ W.T``
        (skipped, and returned as None, when ``need_dA_prev`` is false: layer 1 needs no
        gradient for the input).
        """
        xp = array_namespace(dZ)
        grads = {"W": cache.A_prev.T @ dZ, "b": xp.sum(dZ, axis=0)}
        return (dZ @ self.W.T if need_dA_prev else None), grads

    def __repr__(self) -> str:
        return f"Dense(n_in={self.n_in}, n_out={self.n_out}, activation={self.activation!r})"
