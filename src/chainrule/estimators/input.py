"""A fit's input, checked and encoded the scikit-learn way: ``X``, ``y``, sample weights.

``X`` and ``y`` go through scikit-learn's ``validate_data`` (which sets
``n_features_in_``); the estimator encodes the targets (``_encode``) and may turn
``class_weight`` into sample weights (``_class_weight``). An iterable of batches (out of
core, :mod:`chainrule.estimators.batches`) is checked here by its first batch only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, column_or_1d, validate_data

from ..checks import as_float_array
from ..training.sources import is_batch_iterable
from . import batches

if TYPE_CHECKING:
    from .base import _BaseMLP

_FLOATS = (np.float64, np.float32)


def fit_input(
    est: _BaseMLP,
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
        if est.early_stopping and not incremental:
            raise ValueError("early_stopping needs X in memory, not an iterable of batches")
        if classes is None and not continuing and isinstance(est, ClassifierMixin):
            classes = batches.classes_of(X)
        if getattr(est, "class_weight", None) is not None:
            raise ValueError("class_weight needs y in memory; weigh the batches instead")
        epochs = 1 if incremental else int(est.max_iter)
        items, (X, y, sample_weight) = batches.first_batch(X, epochs)
    X, y = validate_data(
        est,
        X,
        y,
        reset=not continuing,
        dtype=_FLOATS,  # narrowed below, where a value out of range is named
        multi_output=True,
        y_numeric=isinstance(est, RegressorMixin),
        ensure_all_finite=batches.finite_check(X),  # a memmap is checked batch by batch
    )
    X = as_float_array(X, "X", dtype=est.network_.dtype if continuing else est.dtype)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    Y = est._encode(y, first=not continuing, classes=classes)
    w = None
    if sample_weight is not None:
        w = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    w = est._class_weight(y, w)
    return X, y, Y, w, items
