"""Test metrics and reports, computed by ``sklearn.metrics`` (the ``sklearn`` extra).

Examples
--------
>>> from chainrule.evaluation.metrics import regression_metrics
>>> regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
{'r2': 0.5, 'mae': 0.3333333333333333, 'rmse': 0.5773502691896257}
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _sklearn_metrics() -> Any:
    try:
        from sklearn import metrics
    except ImportError:
        raise ImportError("metrics need scikit-learn: pip install 'chainrule[sklearn]'") from None
    return metrics


def classification_metrics(y_true: Any, y_pred: Any, y_score: Any = None) -> dict[str, Any]:
    """Accuracy, precision, recall, F1, the confusion matrix and, for two classes, ROC AUC.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_samples,)
        True and predicted labels.
    y_score : array-like, shape (n_samples,) or (n_samples, 2), optional
        For two classes: the probability (or score) of the second class, or
        ``predict_proba``'s output; gives ``roc_auc``.

    Returns
    -------
    dict
        ``accuracy``; ``precision``, ``recall``, ``f1`` (of the second class for two
        classes, macro-averaged otherwise); ``confusion_matrix`` (rows: true labels);
        ``labels`` (the order of the matrix); ``roc_auc`` when ``y_score`` is given for
        two classes.
    """
    m = _sklearn_metrics()
    labels = np.unique(np.concatenate([np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()]))
    binary = len(labels) == 2
    average = "binary" if binary else "macro"
    kwargs: dict[str, Any] = {"average": average, "zero_division": 0}
    if binary:
        kwargs["pos_label"] = labels[1]
    result: dict[str, Any] = {
        "accuracy": float(m.accuracy_score(y_true, y_pred)),
        "precision": float(m.precision_score(y_true, y_pred, **kwargs)),
        "recall": float(m.recall_score(y_true, y_pred, **kwargs)),
        "f1": float(m.f1_score(y_true, y_pred, **kwargs)),
        "confusion_matrix": m.confusion_matrix(y_true, y_pred, labels=labels),
        "labels": labels,
    }
    if y_score is not None and binary:
        score = np.asarray(y_score)
        if score.ndim == 2:
            score = score[:, 1]
        result["roc_auc"] = float(m.roc_auc_score(np.asarray(y_true) == labels[1], score))
    return result


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """R^2, mean absolute error and root mean squared error (averaged over outputs)."""
    m = _sklearn_metrics()
    return {
        "r2": float(m.r2_score(y_true, y_pred)),
        "mae": float(m.mean_absolute_error(y_true, y_pred)),
        "rmse": float(m.root_mean_squared_error(y_true, y_pred)),
    }


def classification_report(y_true: Any, y_pred: Any, **kwargs: Any) -> str:
    """scikit-learn's text report of precision, recall and F1 per class."""
    return str(_sklearn_metrics().classification_report(y_true, y_pred, zero_division=0, **kwargs))
