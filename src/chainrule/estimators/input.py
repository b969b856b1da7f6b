"""A fit's input, checked and encoded the scikit-learn way: ``X``, ``y``, sample weights,
and iterables of batches.

``X`` and ``y`` go through scikit-learn's ``validate_data`` (which sets
``n_features_in_``); the estimator encodes the targets (``_encode``) and may turn
``class_weight`` into sample weights (``_class_weight``).

Out of core, ``X`` is an iterable of ``(X_batch, y_batch[, w_batch])`` tuples with
``y=None``: the first batch is checked and encoded the usual way (it fixes
``n_features_in_`` and, for a classifier, the classes); :class:`EncodedBatches` then
checks and encodes each batch as :func:`chainrule.training.fit` reads it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, column_or_1d, validate_data

from ..checks import as_float_array
from ..training.sources import batch_tuple, file_backed, is_batch_iterable
from .settings import MLPSettings

_FLOATS = (np.float64, np.float32)


def fit_input(
    est: BaseEstimator,
    settings: MLPSettings,
    X: Any,
    y: Any,
    sample_weight: Any,
    *,
    incremental: bool,
    continuing: bool,
    classes: Any,
) -> tuple[Any, Any, Any, Any, Any]:
    """Check and encode the input of ``fit`` or ``partial_fit``.

    Parameters
    ----------
    est : the estimator being fitted
        It checks the input's width (``n_features_in_``) and encodes the targets.
    settings : MLPSettings
        Its checked hyper-parameters.
    X, y, sample_weight
        As given to ``fit``: arrays, or an iterable of batches in ``X`` with ``y=None``.
    incremental : bool
        ``partial_fit`` (one epoch) rather than ``fit``.
    continuing : bool
        Training goes on from ``est.network_``: the features and the target encoding
        were fixed by an earlier fit, and ``X`` takes the network's dtype.
    classes : array-like or None
        ``partial_fit``'s classes; for batches, read from them when None.

    Returns
    -------
    X : array, shape (n_samples, n_features)
    y : array, shape (n_samples,) or (n_samples, n_outputs)
        The targets as checked (a single column flattened).
    Y : array, shape (n_samples, n_out)
        The encoded targets, the network's.
    w : array, shape (n_samples,), or None
        The sample weights, class weights included.
    items : iterable of batches or None
        For an iterable of batches, the batches to read each epoch; X, y and w are
        then its first batch.
    """
    items = None
    if is_batch_iterable(X, y):  # out of core: check the first batch here, the rest in fit
        if settings.early_stopping and not incremental:
            raise ValueError("early_stopping needs X in memory, not an iterable of batches")
        if settings.solver == "lbfgs":  # one objective over every row
            raise ValueError("solver='lbfgs' needs X in memory, not an iterable of batches")
        if classes is None and not continuing and isinstance(est, ClassifierMixin):
            classes = classes_of(X)
        if settings.class_weight is not None:
            raise ValueError("class_weight needs y in memory; weigh the batches instead")
        epochs = 1 if incremental else int(settings.max_iter)
        items, (X, y, sample_weight) = first_batch(X, epochs)
    X, y = validate_data(
        est,
        X,
        y,
        reset=not continuing,
        dtype=_FLOATS,  # narrowed below, where a value out of range is named
        multi_output=True,
        y_numeric=isinstance(est, RegressorMixin),
        ensure_all_finite=finite_check(X, settings),
    )
    X = as_float_array(X, "X", dtype=est.network_.dtype if continuing else settings.dtype)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    Y = est._encode(y, first=not continuing, classes=classes)
    w = None
    if sample_weight is not None:
        w = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    w = est._class_weight(y, w)
    return X, y, Y, w, items


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
        got = f"a tuple of {len(first)}" if isinstance(first, tuple) else got
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


def finite_check(X: Any, settings: MLPSettings) -> bool:
    """Whether scikit-learn should scan ``X`` for NaN and infinity up front.

    Not when ``X`` is on disk (a memmap is checked batch by batch), nor when it is an
    array that training checks whole anyway (``chainrule.fit``'s, or L-BFGS's, input
    check): one scan of 60,000 x 784 floats is about 3 % of an epoch. Early stopping
    keeps scikit-learn's scan, since its split comes first and a NaN must be named as
    ``X``'s, not the validation rows'.
    """
    if not isinstance(X, np.ndarray):
        return True  # lists, data frames, sparse: scikit-learn converts and checks them
    return file_backed(X) is None and bool(settings.early_stopping)


class EncodedBatches:
    """Each batch checked against the fitted input size and encoded like ``y``."""

    def __init__(self, estimator: BaseEstimator, items: Iterable[Any], dtype: Any) -> None:
        self.estimator, self.items, self.dtype = estimator, items, dtype

    def __iter__(self) -> Iterator[tuple]:
        estimator = self.estimator
        for i, item in enumerate(self.items):
            batch_tuple(item, f"batch {i} of X")
            try:
                Xb, yb = validate_data(
                    estimator, item[0], item[1], reset=False, dtype=self.dtype, multi_output=True
                )
                if yb.ndim == 2 and yb.shape[1] == 1:
                    yb = column_or_1d(yb)
                Yb = estimator._encode(yb, first=False)
            except (ValueError, TypeError) as exc:  # say which batch, counted from 0
                raise type(exc)(f"batch {i} of X: {exc}") from None
            yield Xb, Yb, item[2] if len(item) == 3 else None
