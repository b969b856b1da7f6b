"""The exceptions chainrule raises for broken files and diverging training.

Bad arguments raise the built-in ``ValueError`` or ``TypeError``; these two cover the
cases a caller may want to catch on their own:

- :class:`ModelFileError` (a ``ValueError``): a model or checkpoint file cannot be
  read, whatever the reason: truncated, corrupted, hand-edited, from a newer format
  version, or not a chainrule file at all. Errors of the operating system (a missing
  file, no permission) stay ``OSError``.
- :class:`DivergenceError` (a ``FloatingPointError``, so an ``ArithmeticError``): the
  loss, a gradient or a parameter became NaN or infinite during training. It names
  where: the epoch, the batch, and the layer and parameter when one is to blame.

Examples
--------
>>> from chainrule import DivergenceError, ModelFileError
>>> issubclass(ModelFileError, ValueError), issubclass(DivergenceError, FloatingPointError)
(True, True)
"""

from __future__ import annotations

from typing import Any


class ModelFileError(ValueError):
    """A model or checkpoint file is not a valid chainrule file; the message says why."""


class DivergenceError(FloatingPointError):
    """Training produced NaN or infinity.

    Attributes
    ----------
    epoch, batch : int or None
        Where in training it happened (as the caller counts them).
    quantity : str
        ``"loss"``, ``"gradient"`` or ``"parameter"``.
    parameter : str or None
        The offending parameter's name (``"W2"``), when a gradient or a parameter is to blame.
    layer : int or None
        The layer that holds ``parameter`` (counting from 1), else None.
    history : History or None
        Raised by :func:`chainrule.fit`: the history up to the last completed epoch.
    network : Network or None
        Raised by :func:`chainrule.fit`: the network trained, left at its last finite weights.
    """

    history: Any = None
    network: Any = None

    def __init__(
        self,
        message: str,
        *,
        epoch: int | None = None,
        batch: int | None = None,
        quantity: str = "loss",
        parameter: str | None = None,
        layer: int | None = None,
    ) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.quantity = quantity
        self.parameter = parameter
        self.layer = layer
