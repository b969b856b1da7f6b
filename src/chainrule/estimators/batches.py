"""Iterables of batches for the estimators' ``fit`` and ``partial_fit`` (out of core).

The estimator checks and encodes the first batch the usual way (it fixes
``n_features_in_`` and, for a classifier, the classes); :class:`EncodedBatches` then
checks and encodes each batch as :func:`chainrule.training.fit` reads it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..training.sources import file_backed


def first_batch(batches: Iterable[Any], epochs: int) -> tuple[Iterable[Any], tuple]:
    """``(items, first)``: the batches to read each epoch, and the first one to check."""
    iterator = iter(batches)
    one_shot = iterator is batches
    if one_shot and epochs > 1:
        raise ValueError(
            f"X is a one-shot iterator of batches, which serves one epoch, but max_iter="
            f"{epochs}; pass a re-iterable (a list, or an object whose __iter__ starts over), "
            "or call partial_fit once per batch source"
        )
    first = next(iterator, None)
    if not isinstance(first, tuple) or len(first) not in (2, 3):
        got = "nothing" if first is None else type(first).__name__
        raise TypeError(
            f"X must yield tuples (X_batch, y_batch) or (X_batch, y_batch, w_batch), got {got}"
        )
    items = itertools.chain([first], iterator) if one_shot else batches
    return items, (first[0], first[1], first[2] if len(first) == 3 else None)


def classes_of(batches: Iterable[Any]) -> np.ndarray | None:
    """All labels of a re-iterable of batches (one extra pass), for a classifier's fit.

    None for multilabel indicator targets, whose columns the first batch already names.
    """
    if iter(batches) is batches:
        raise ValueError(
            "a classifier fitted on a one-shot iterator of batches needs its labels up front: "
            "call partial_fit(batches, classes=...) instead"
        )
    labels = []
    for item in batches:
        y = np.asarray(item[1])
        if y.ndim == 2 and y.shape[1] > 1:
            return None
        labels.append(np.unique(y))
    return np.unique(np.concatenate(labels)) if labels else None


def finite_check(X: Any) -> bool:
    """Whether scikit-learn should scan ``X`` for NaN up front (not when it is on disk)."""
    return file_backed(X) is None if isinstance(X, np.ndarray) else True


class EncodedBatches:
    """Each batch checked against the fitted input size and encoded like ``y``."""

    def __init__(self, estimator: Any, items: Iterable[Any], dtype: Any) -> None:
        self.estimator, self.items, self.dtype = estimator, items, dtype

    def __iter__(self) -> Iterator[tuple]:
        from sklearn.utils.validation import column_or_1d, validate_data

        estimator = self.estimator
        for item in self.items:
            Xb, yb = validate_data(
                estimator, item[0], item[1], reset=False, dtype=self.dtype, multi_output=True
            )
            if yb.ndim == 2 and yb.shape[1] == 1:
                yb = column_or_1d(yb)
            weights = item[2] if len(item) == 3 else None
            yield Xb, estimator._encode(yb, first=False), weights
