"""In-place activations, derivatives and reductions for :mod:`chainrule.workspace`.

Each applies, into a preallocated buffer, the same operations as the readable
:mod:`chainrule.activations` and :mod:`chainrule.losses`, so the results are equal bit
for bit.
"""

from __future__ import annotations

import numpy as np

from ._validation import Array

# The ufuncs' own reductions: np.sum and np.max compute the same, with a few microseconds
# of Python around each call, which add up over thousands of small batches.
add_reduce, max_reduce = np.add.reduce, np.maximum.reduce


def reduce(e: Array, reduction: str) -> float:
    """The batch loss from the errors, in their dtype, as :func:`chainrule.losses.reduce`."""
    total = add_reduce(e, axis=None)
    return float(total / e.shape[0] if reduction == "mean" else total)


def activate(name: str, A: Array, mask: Array, tmp: Array) -> None:
    """``A <- f(A)`` in place, with the same operations as :mod:`chainrule.activations`."""
    if name == "relu":
        # The mask Z > 0 is kept for backward; A * mask is faster than maximum(A, 0).
        np.greater(A, 0, out=mask)
        np.multiply(A, mask, out=A)
    elif name == "tanh":
        np.tanh(A, out=A)
    elif name == "sigmoid":
        # As the plain path: e = exp(-|z|); 1 / (1 + e) for z >= 0, e / (1 + e) below.
        np.less(A, 0, out=mask)
        np.abs(A, out=tmp)
        np.negative(tmp, out=tmp)
        np.exp(tmp, out=tmp)
        np.add(1, tmp, out=A)
        np.divide(tmp, A, out=tmp)
        np.divide(1, A, out=A)
        np.copyto(A, tmp, where=mask)
    # identity: nothing to do


def backprop(name: str, dA: Array, A: Array, mask: Array, tmp: Array) -> None:
    """``dA <- dA * f'(Z)`` in place, ``f'`` read from ``A = f(Z)``."""
    if name == "relu":
        dA *= mask  # Z > 0, from the forward pass
    elif name == "sigmoid":  # f' = A * (1 - A)
        np.subtract(1, A, out=tmp)
        tmp *= A
        dA *= tmp
    elif name == "tanh":  # f' = 1 - A**2
        np.multiply(A, A, out=tmp)
        np.subtract(1, tmp, out=tmp)
        dA *= tmp
