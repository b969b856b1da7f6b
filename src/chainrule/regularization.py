"""Regularization applied by the fit loop: the L2 penalty and gradient clipping by norm.

Dropout lives in the layers (:class:`chainrule.layers.Dense`, ``dropout=``), since it
changes the forward pass; these two only change the loss and the gradients.

- L2: the batch loss gains ``l2 / 2 * sum_k ||Wk||^2`` (weights only, not biases), so
  each weight gradient gains ``l2 * Wk``. With ``l2_scale="batch"`` (scikit-learn's
  ``alpha``) the ``l2`` of each batch is ``l2`` over its rows, or over its summed sample
  weights (:func:`batch_l2`).
- Clipping: when the global norm ``sqrt(sum over all gradients of g**2)`` exceeds
  ``max_norm``, every gradient is scaled by ``max_norm / norm``; the direction is kept.

Examples
--------
>>> import numpy as np
>>> from chainrule.regularization import clip_by_global_norm
>>> grads = {"W1": np.array([[3.0]]), "b1": np.array([4.0])}
>>> float(clip_by_global_norm(grads, 1.0))
5.0
>>> grads["W1"], grads["b1"]
(array([[0.6]]), array([0.8]))
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from array_api_compat import array_namespace

from .checks import Array

Params = dict[str, Array]


def l2_penalty(params: Params, l2: float, names: Iterable[str] | None = None) -> float:
    """``l2 / 2 * sum of ||Wk||^2`` over the weight matrices among ``names`` (default: all)."""
    names = params if names is None else names
    total = sum(_squared_norm(params[n]) for n in names if n.startswith("W"))
    return 0.5 * l2 * total


L2_SCALES = ("fixed", "batch")


def batch_l2(l2: float, l2_scale: str, n_rows: int, sample_weight: Array | None) -> float:
    """The L2 coefficient of one batch of ``n_rows`` rows (``sample_weight``, shape (n_rows,)).

    ``"fixed"``: ``l2`` itself; ``"batch"``: ``l2 / n_rows``, or ``l2 / sum(sample_weight)``
    with weights, as scikit-learn's MLP divides ``alpha`` by each batch's weight.

    Examples
    --------
    >>> import numpy as np
    >>> batch_l2(1.0, "batch", 4, None), batch_l2(1.0, "batch", 2, np.array([0.5, 1.5]))
    (0.25, 0.5)
    >>> batch_l2(1.0, "fixed", 4, None)
    1.0
    """
    if l2_scale == "fixed":
        return l2
    total = (
        n_rows
        if sample_weight is None
        else float(array_namespace(sample_weight).sum(sample_weight))
    )
    return l2 / total


def _squared_norm(W: Array) -> float:
    """``sum(W**2)``: one BLAS call for NumPy, the array's own namespace otherwise."""
    if isinstance(W, np.ndarray):
        return float(np.vdot(W, W))
    xp = array_namespace(W)
    return float(xp.sum(W * W))


def add_l2_gradient(grads: Params, params: Params, l2: float) -> None:
    """Add ``l2 * Wk`` to each weight gradient in ``grads``, in place."""
    for name, g in grads.items():
        if name.startswith("W"):
            g += l2 * params[name]


def global_norm(grads: Params) -> float:
    """``sqrt(sum over every gradient entry of g**2)``."""
    return float(np.sqrt(sum(_squared_norm(g) for g in grads.values())))


def clip_by_global_norm(grads: Params, max_norm: float) -> float:
    """Scale all gradients in place so that their global norm is at most ``max_norm``.

    Returns the norm before clipping.
    """
    norm = global_norm(grads)
    if norm > max_norm:
        factor = max_norm / norm
        for g in grads.values():
            g *= factor
    return norm
