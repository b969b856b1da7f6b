"""Divergence guards: stop training at the first NaN or infinity, and say where.

A training loop calls :func:`check_step_finite` after computing the loss and the
gradients of a batch, before updating anything, and :func:`check_params_finite` on the
updated parameters (a finite gradient times a large learning rate can still overflow).
Each raises :class:`~chainrule.errors.DivergenceError` naming the epoch, the batch and,
when one is to blame, the layer and the parameter. A loop that keeps a copy of the
parameters from before the update can restore them, so that the model is left at its
last finite weights.

Overflow on the way to a NaN also makes NumPy warn; :func:`quiet_overflow` silences
those warnings around a step whose result is then checked here, so that the error a
user sees is the clear one.

Examples
--------
>>> import numpy as np
>>> from chainrule.training.guards import check_step_finite
>>> grads = {"W1": np.ones((2, 2)), "b1": np.zeros(2), "W2": np.array([[np.nan], [0.0]])}
>>> check_step_finite(0.25, grads, epoch=3, batch=7)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
chainrule.errors.DivergenceError: training diverged at epoch 3, batch 7: the gradient dE/dW2 ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import DivergenceError


def _layer_of(name: str) -> int | None:
    """``"W2" -> 2``; None for names that do not follow the ``Wk``/``bk`` pattern."""
    digits = name[1:]
    return int(digits) if name[:1] in ("W", "b") and digits.isdigit() else None


def _first_bad(value: Any) -> tuple[str, tuple[int, ...]] | None:
    array = np.asarray(value)
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    what = "NaN" if np.isnan(array[index]) else "infinity"
    return what, index


def _where(epoch: int | None, batch: int | None) -> str:
    parts = [f"epoch {epoch}" * (epoch is not None), f"batch {batch}" * (batch is not None)]
    text = ", ".join(part for part in parts if part)
    return f"training diverged at {text}" if text else "training diverged"


def _check_mapping(
    arrays: Mapping[str, Any],
    quantity: str,
    epoch: int | None,
    batch: int | None,
    also: str = "",
) -> None:
    bad = {name: found for name, value in arrays.items() if (found := _first_bad(value))}
    if not bad:
        return
    name, (what, index) = next(iter(bad.items()))
    layer = _layer_of(name)
    of_layer = f" of layer {layer}" if layer is not None else ""
    if quantity == "gradient":
        label = f"the gradient dE/d{name}{of_layer} (parameter {name})"
    else:
        label = f"the parameter {name}{of_layer}"
    others = f"; also non-finite: {', '.join(list(bad)[1:])}" if len(bad) > 1 else ""
    raise DivergenceError(
        f"{_where(epoch, batch)}: {label} holds {what} at index {index}{others}{also}",
        epoch=epoch,
        batch=batch,
        quantity=quantity,
        parameter=name,
        layer=layer,
    )


def check_step_finite(
    E: Any, grads: Mapping[str, Any], *, epoch: int | None = None, batch: int | None = None
) -> None:
    """Raise :class:`DivergenceError` if the loss ``E`` or any gradient is NaN or infinite.

    Parameters
    ----------
    E : float or 0-d array
        The batch loss.
    grads : mapping of str to array
        ``{"W1": dE/dW1, ...}``. The first non-finite gradient, in this order, is named
        (with its layer and the index of a bad entry); the others are listed.
    epoch, batch : int, optional
        Where training stands, for the message.
    """
    loss_finite = bool(np.isfinite(np.asarray(E)).all())
    also = "" if loss_finite else f"; the loss is {float(np.asarray(E))}"
    # A gradient names a layer and a parameter, so it is reported first.
    _check_mapping(grads, "gradient", epoch, batch, also)
    if not loss_finite:
        raise DivergenceError(
            f"{_where(epoch, batch)}: the loss is {float(np.asarray(E))}",
            epoch=epoch,
            batch=batch,
            quantity="loss",
        )


def check_params_finite(
    params: Mapping[str, Any], *, epoch: int | None = None, batch: int | None = None
) -> None:
    """Raise :class:`DivergenceError` if any parameter holds NaN or infinity."""
    _check_mapping(params, "parameter", epoch, batch)


@contextlib.contextmanager
def quiet_overflow() -> Iterator[None]:
    """Silence NumPy's overflow and invalid-value warnings; check the results afterwards."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        yield
