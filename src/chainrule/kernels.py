"""In-place NumPy kernels of the activations, chosen per activation class and array library.

:mod:`chainrule.activations` is the readable arithmetic, for any array-API array. A
kernel computes the same values with the same NumPy operations in the same order, bit
for bit (the tests check it), but into buffers that the engine made once
(:class:`chainrule.buffers.Buffers`), so that a mini-batch allocates nothing:

- ``forward(Z, A, mask, tmp, cols)``: ``A <- f(Z)``; ``A`` may be ``Z`` itself (in place);
- ``backprop(dA, A, mask, tmp, cols)``: ``dA <- dA * f'(Z)`` in place, ``f'`` read from
  ``A = f(Z)`` (and, for ReLU, from ``mask``, its ``Z > 0`` kept from the forward pass).

``mask`` (bool) and ``tmp`` are scratch arrays of ``Z``'s shape, ``cols`` one of shape
``(n_samples, 3)`` for per-instance values (softmax leaves each instance's ``max(z)``
and ``sum(exp(z - max))`` there). :func:`kernel_for` looks a kernel up in
:data:`KERNELS` by the activation's exact class and the array's library; where there is
none (another activation, another array library), the engine calls the activation's own
``value`` and ``backprop``.

A loss may have an in-place kernel for the output layer too (:data:`LOSS_KERNELS`,
:func:`loss_kernel_for`): the instances' errors and the output delta ``dEdInL{L}``.
Softmax with cross-entropy reuses the softmax kernel's ``max`` and sum of exponentials
(as ``CrossEntropy.per_instance_from_logits`` computes them) and writes ``(A * sum(y) -
y) * dE_de``; the seed's half squared error writes ``(A - y) * dE_de`` and runs the output
activation's backprop on it.

Examples
--------
>>> import numpy as np
>>> from chainrule.activations import Sigmoid
>>> from chainrule.kernels import kernel_for
>>> Z = np.array([[1.099, 1.13]])
>>> A = np.empty_like(Z)
>>> kernel_for(Sigmoid(), Z).forward(Z, A, np.empty(Z.shape, bool), np.empty_like(Z), None)
>>> bool(np.array_equal(A, Sigmoid().value(Z)))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .activations import Activation, Identity, ReLU, Sigmoid, Softmax, Tanh
from .checks import Array
from .losses import CrossEntropy, HalfSquaredError, Loss


class Constants(NamedTuple):
    """0-d arrays of one dtype. A ufunc takes them without the conversion that a Python
    number costs on every call (about 0.3 microseconds, a tenth of the seed's whole
    step), and computes the same: ``np.greater(A, zero, mask)`` is ``A > 0``."""

    zero: Array
    one: Array
    minus_one: Array


_CONSTANTS: dict[Any, Constants] = {}


def constants(dtype: Any) -> Constants:
    """The :class:`Constants` of ``dtype``, made once."""
    found = _CONSTANTS.get(dtype)
    if found is None:
        found = Constants(*(np.full((), v, dtype) for v in (0, 1, -1)))
        _CONSTANTS[dtype] = found
    return found


# The ufuncs below take their output positionally (``np.exp(A, A)``): the same as
# ``out=A``, without the keyword's overhead, which tiny networks feel.


def _sigmoid_forward(Z: Array, A: Array, mask: Array, tmp: Array, cols: Array) -> None:
    # As Sigmoid.value: e = exp(-|z|); 1 / (1 + e) for z >= 0, e / (1 + e) below: one
    # quotient, whose numerator is e with 1 put in where z >= 0.
    c = constants(Z.dtype)
    np.greater_equal(Z, c.zero, mask)
    np.copysign(Z, c.minus_one, tmp)  # -|z|
    np.exp(tmp, tmp)
    np.add(c.one, tmp, A)
    np.copyto(tmp, c.one, where=mask)
    np.divide(tmp, A, A)


def _sigmoid_backprop(dA: Array, A: Array, mask: Array, tmp: Array, cols: Array) -> None:
    np.subtract(constants(A.dtype).one, A, tmp)  # f' = A * (1 - A)
    np.multiply(tmp, A, tmp)
    np.multiply(dA, tmp, dA)


def _tanh_forward(Z: Array, A: Array, mask: Array, tmp: Array, cols: Array) -> None:
    np.tanh(Z, A)


def _tanh_backprop(dA: Array, A: Array, mask: Array, tmp: Array, cols: Array) -> None:
    np.multiply(A, A, tmp)  # f' = 1 - A**2
    np.subtract(constants(A.dtype).one, tmp, tmp)
    np.multiply(dA, tmp, dA)


def _relu_forward(Z: Array, A: Array, mask: Array, tmp: Array, cols: Array) -> None:
    # fmax, unlike maximum or Z * mask, gives 0 for -inf and NaN, as ReLU.value's
    # where(Z > 0, Z, 0) does. The mask Z > 0 (equally A > 0) is kept for backprop.
    zero = constants(Z.dtype).zero
    np.fmax(Z, zero, A)
    np.greater(A, zero, mask)


def _relu_backprop(dA: Array, A: Array, mask: Array, tmp: Array, cols: Array) -> None:
    np.multiply(dA, mask, dA)


def _identity_forward(Z: Array, A: Array, mask: Array, tmp: Array, cols: Array) -> None:
    if A is not Z:
        np.copyto(A, Z)


def _identity_backprop(dA: Array, A: Array, mask: Array, tmp: Array, cols: Array) -> None:
    """Nothing to do: f' = 1."""


# The ufuncs' own reductions: np.sum and np.max compute the same, with a few microseconds
# of Python around each call, which add up over thousands of small batches.
_add_reduce, _max_reduce = np.add.reduce, np.maximum.reduce


def _softmax_forward(Z: Array, A: Array, mask: Array, tmp: Array, cols: Array) -> None:
    # As Softmax.value: e = exp(Z - max(Z)); A = e / sum(e). max and the sum are kept in
    # cols for the cross-entropy's kernel.
    top, total = cols[:, 0:1], cols[:, 1:2]
    _max_reduce(Z, axis=1, keepdims=True, out=top)
    np.subtract(Z, top, A)
    np.exp(A, A)
    _add_reduce(A, axis=1, keepdims=True, out=total)
    np.divide(A, total, A)


def _softmax_backprop(dA: Array, A: Array, mask: Array, tmp: Array, cols: Array) -> None:
    # As Softmax.backprop: dZ = A * (dA - sum(dA * A)).
    total = cols[:, 2:3]
    np.multiply(dA, A, tmp)
    _add_reduce(tmp, axis=1, keepdims=True, out=total)
    np.subtract(dA, total, dA)
    np.multiply(dA, A, dA)


class Kernel(NamedTuple):
    """An activation's in-place forward and backprop (see the module docstring)."""

    forward: Callable[[Array, Array, Array, Array, Array], None]
    backprop: Callable[[Array, Array, Array, Array, Array], None]


KERNELS: dict[tuple[type[Activation], str], Kernel] = {
    (Sigmoid, "numpy"): Kernel(_sigmoid_forward, _sigmoid_backprop),
    (Tanh, "numpy"): Kernel(_tanh_forward, _tanh_backprop),
    (ReLU, "numpy"): Kernel(_relu_forward, _relu_backprop),
    (Identity, "numpy"): Kernel(_identity_forward, _identity_backprop),
    (Softmax, "numpy"): Kernel(_softmax_forward, _softmax_backprop),
}


def _softmax_cross_entropy_errors(y: Array, top: Any, out: Any) -> Array:
    # As CrossEntropy.per_instance_from_logits: e = sum(y) * (max + log(sum(exp(Z - max))))
    # - sum(y * Z), with max and the sum of exponentials from the softmax kernel.
    top_max, total, ysum, e = out.cols[:, 0], out.cols[:, 1], out.cols[:, 2], out.e
    _add_reduce(y, axis=1, out=ysum)
    np.log(total, e)
    np.add(top_max, e, e)
    np.multiply(ysum, e, e)
    np.multiply(y, top.Z, out.tmp)
    return np.subtract(e, _add_reduce(out.tmp, axis=1), e)


def _softmax_cross_entropy_delta(
    y: Array, top: Any, dE_de: Any, out: Any, activation: Activation
) -> Array:
    # As CrossEntropy.instance_gradient_from_logits times dE/de: (A * sum(y) - y) * dE_de,
    # sum(y) kept by the errors' kernel.
    np.multiply(top.A, out.cols[:, 2:3], out.delta)
    np.subtract(out.delta, y, out.delta)
    return np.multiply(out.delta, dE_de, out.delta)


def _half_squared_errors(y: Array, top: Any, out: Any) -> Array:
    # As HalfSquaredError.per_instance: e = 0.5 * sum((y - A)**2).
    np.subtract(y, top.A, out.tmp)
    np.multiply(out.tmp, out.tmp, out.tmp)
    _add_reduce(out.tmp, axis=1, out=out.e)
    return np.multiply(0.5, out.e, out.e)


def _half_squared_delta(y: Array, top: Any, dE_de: Any, out: Any, activation: Activation) -> Array:
    # As Loss.output_delta: dE/dA = (A - y) * dE_de, then the activation's backprop.
    dA = np.subtract(top.A, y, out.delta)
    np.multiply(dA, dE_de, dA)
    if out.kernel is None:
        return activation.backprop(dA, top.Z, top.A)
    out.kernel.backprop(dA, top.A, out.mask, out.tmp, out.cols)
    return dA


class LossKernel(NamedTuple):
    """A loss's in-place kernel for the output layer, after the activation's forward:
    ``errors(y, top, out)`` writes each instance's error into ``out.e``;
    ``delta(y, top, dE_de, out, activation)`` writes the output layer's ``dE/dZ`` into
    ``out.delta``. ``top`` is the output layer's :class:`~chainrule.layers.DenseCache`,
    ``out`` its :class:`~chainrule.layers.LayerBuffers`."""

    errors: Callable[[Array, Any, Any], Array]
    delta: Callable[[Array, Any, Any, Any, Activation], Array]


# Keyed by the loss, the output activation (Activation: any that does not fuse with the
# loss) and the array library.
LOSS_KERNELS: dict[tuple[type[Loss], type[Activation], str], LossKernel] = {
    (CrossEntropy, Softmax, "numpy"): LossKernel(
        _softmax_cross_entropy_errors, _softmax_cross_entropy_delta
    ),
    (HalfSquaredError, Activation, "numpy"): LossKernel(_half_squared_errors, _half_squared_delta),
}


def _library(array: Array) -> str:
    return "numpy" if isinstance(array, np.ndarray) else type(array).__module__.split(".")[0]


def kernel_for(activation: Activation, array: Array) -> Kernel | None:
    """The in-place kernel of ``activation`` for arrays like ``array``; None where there is none."""
    return KERNELS.get((type(activation), _library(array)))


def loss_kernel_for(loss: Loss, activation: Activation, array: Array) -> LossKernel | None:
    """The in-place kernel of ``loss`` after the output ``activation``, for arrays like
    ``array``; None where there is none (a cross-entropy after another activation)."""
    if loss.fuses_with is None:
        return LOSS_KERNELS.get((type(loss), Activation, _library(array)))
    if not loss.fused(activation):
        return None
    return LOSS_KERNELS.get((type(loss), type(activation), _library(array)))
