"""In-place activations, derivatives and reductions for :mod:`chainrule.workspace`.

Each applies, into a preallocated buffer, the same operations as the readable
:mod:`chainrule.activations` and :mod:`chainrule.losses`, so the results are equal bit
for bit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .checks import Array

# The ufuncs' own reductions: np.sum and np.max compute the same, with a few microseconds
# of Python around each call, which add up over thousands of small batches.
add_reduce, max_reduce = np.add.reduce, np.maximum.reduce


def reduce(e: Array, reduction: str) -> float:
    """The batch loss from the errors, in their dtype, as :func:`chainrule.losses.reduce`."""
    if e.size == 1:  # one instance: the sum (and the mean) of one error is that error
        return e.item()
    total = add_reduce(e, axis=None)
    return float(total / e.shape[0] if reduction == "mean" else total)


class Constants(NamedTuple):
    """0-d arrays of one dtype. A ufunc takes them without the conversion that a Python
    number costs on every call (about 0.3 microseconds, a tenth of the seed's whole
    step), and computes the same: ``np.greater(A, zero, mask)`` is ``A > 0``."""

    zero: Array
    one: Array
    minus_one: Array
    half: Array


_CONSTANTS: dict[Any, Constants] = {}


def constants(dtype: Any) -> Constants:
    """The :class:`Constants` of ``dtype``, made once."""
    found = _CONSTANTS.get(dtype)
    if found is None:
        found = Constants(*(np.full((), v, dtype) for v in (0, 1, -1, 0.5)))
        _CONSTANTS[dtype] = found
    return found


# The ufuncs below take their output positionally (``np.exp(A, A)``): the same as
# ``out=A``, without the keyword's overhead, which tiny networks feel.


def activate(name: str, A: Array, mask: Array, tmp: Array, c: Constants) -> None:
    """``A <- f(A)`` in place, with the same operations as :mod:`chainrule.activations`;
    ``c`` holds the constants of ``A``'s dtype."""
    if name == "relu":
        # fmax, unlike maximum or A * mask, gives 0 for -inf and NaN, as the plain
        # where(Z > 0, Z, 0) does. The mask Z > 0 (equally A > 0) is kept for backward.
        np.fmax(A, c.zero, out=A)
        np.greater(A, c.zero, mask)
    elif name == "tanh":
        np.tanh(A, A)
    elif name == "sigmoid":
        # As the plain path: e = exp(-|z|); 1 / (1 + e) for z >= 0, e / (1 + e) below:
        # one quotient, whose numerator is e with 1 put in where z >= 0.
        np.greater_equal(A, c.zero, mask)
        np.copysign(A, c.minus_one, tmp)  # -|z|
        np.exp(tmp, tmp)
        np.add(c.one, tmp, A)
        np.copyto(tmp, c.one, where=mask)
        np.divide(tmp, A, A)
    # identity: nothing to do


def backprop(name: str, dA: Array, A: Array, mask: Array, tmp: Array, c: Constants) -> None:
    """``dA <- dA * f'(Z)`` in place, ``f'`` read from ``A = f(Z)``."""
    if name == "relu":
        np.multiply(dA, mask, dA)  # Z > 0, from the forward pass
    elif name == "sigmoid":  # f' = A * (1 - A)
        np.subtract(c.one, A, tmp)
        np.multiply(tmp, A, tmp)
        np.multiply(dA, tmp, dA)
    elif name == "tanh":  # f' = 1 - A**2
        np.multiply(A, A, tmp)
        np.subtract(c.one, tmp, tmp)
        np.multiply(dA, tmp, dA)
