"""The fit's validation data: given explicitly, or a random split of the training rows.

``validation_data=(X_val, y_val)`` is checked like the training data (integer class
labels become one-hot targets for a cross-entropy) and held in memory;
``validation_split=f`` holds out ``round(f * n_samples)`` rows drawn at random (from
the fit's generator, before the first shuffle), which are then not trained on.

Examples
--------
>>> import numpy as np
>>> from chainrule.training.validation import random_split
>>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5.0).reshape(5, 1)
>>> (X_train, y_train, w_train), (X_val, y_val) = random_split(
...     X, y, None, 0.4, np.random.default_rng(0))
>>> X_train.shape, X_val.shape
((3, 2), (2, 2))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import Array
from ..losses import Loss
from ..network import Network
from .sources import ArraySource, ChunkedSource, IterableSource, check_pair

Source = ArraySource | ChunkedSource | IterableSource


def random_split(
    X: Array, y: Array, w: Array | None, fraction: float, rng: np.random.Generator
) -> tuple[tuple[Array, Array, Array | None], tuple[Array, Array]]:
    """Hold out a random ``fraction`` of the rows for validation.

    Returns ``((X_train, y_train, w_train), (X_val, y_val))``.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction!r}")
    n = X.shape[0]
    n_val = round(n * fraction)
    if not 1 <= n_val < n:
        raise ValueError(f"validation_split={fraction} leaves no training or validation data")
    order = rng.permutation(n)
    val, train = order[:n_val], order[n_val:]
    return (X[train], y[train], None if w is None else w[train]), (X[val], y[val])


def validation_set(
    network: Network,
    source: Source,
    validation_data: tuple[Any, Any] | None,
    validation_split: float,
    rng: np.random.Generator,
    loss: Loss | None = None,
) -> tuple[Array | None, Array | None, Source]:
    """``(X_val, y_val, source)``: the checked ``validation_data``, or ``validation_split``
    of the rows drawn from ``source`` (which then holds the rest), or no validation.

    With ``loss`` a cross-entropy, ``validation_data``'s integer class labels become
    one-hot targets in the network's dtype."""
    if validation_data is not None:
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            got = (
                f"{len(validation_data)} items"
                if isinstance(validation_data, tuple | list)
                else type(validation_data).__name__
            )
            raise TypeError(f"validation_data must be a pair (X_val, y_val), got {got}")
        try:
            X_val, y_val = check_pair(network, loss, *validation_data)
        except (ValueError, TypeError) as exc:  # say it is the validation data
            raise type(exc)(f"validation_data: {exc}") from None
        return X_val, y_val, source
    if validation_split:
        if not isinstance(source, ArraySource):
            raise ValueError("validation_split needs X in memory; pass validation_data instead")
        train, (X_val, y_val) = random_split(source.X, source.y, source.w, validation_split, rng)
        return X_val, y_val, ArraySource(*train)
    return None, None, source
