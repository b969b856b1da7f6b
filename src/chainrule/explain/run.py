"""Run the traced step(s) that an explanation shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._validation import check_positive
from ..losses import Loss, get_loss
from ..network import Network
from ..step import train_step
from ..trace import Trace
from .text import render_text

FORMATS = ("text",)


@dataclass
class Explanation:
    """A traced first step, the error over all steps, and how to render them.

    Attributes
    ----------
    trace : Trace
        Every quantity of the first step, under the seed's names.
    errors : list of float
        The batch loss before step 1, after step 1, ..., after step ``steps``.
    title : str
    """

    trace: Trace
    errors: list[float] = field(default_factory=list)
    title: str = ""

    def render(self, format: str = "text", precision: int = 6) -> str:
        """The explanation as text (the notebook's look)."""
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
        return render_text(self.trace, self.errors, precision=precision, title=self.title)

    def __str__(self) -> str:
        return self.render()


def explain(
    network: Network,
    x: Any,
    y: Any,
    *,
    lr: float,
    loss: str | Loss = "half_squared_error",
    reduction: str = "mean",
    steps: int = 1,
    title: str = "",
) -> Explanation:
    """Trace one gradient-descent step of ``network`` on ``(x, y)`` and explain it.

    The network itself is not changed: the steps run on a copy.

    Parameters
    ----------
    network : Network
    x : array-like, shape (n_samples, n_features) or (n_features,)
    y : array-like, shape (n_samples, n_out), (n_out,) or a scalar
    lr : float
        Learning rate of plain gradient descent.
    loss : str or Loss
    reduction : {"mean", "sum"}
    steps : int
        Steps to take; the explanation details the first and tabulates the error of all.

    Examples
    --------
    >>> from chainrule import explain, seed_example
    >>> seed = seed_example()
    >>> text = str(explain(seed.network, seed.x, seed.y, lr=seed.lr))
    >>> "Input to layer 1:  [1.099 1.13 ]" in text
    True
    """
    check_positive(steps, "steps", integer=True)
    loss = get_loss(loss)
    work = network.copy()
    trace = Trace()
    errors = [train_step(work, x, y, lr=lr, loss=loss, reduction=reduction, tracer=trace)]
    for _ in range(steps - 1):
        errors.append(train_step(work, x, y, lr=lr, loss=loss, reduction=reduction))
    errors.append(work.loss(x, y, loss, reduction))
    return Explanation(trace=trace, errors=errors, title=title)
