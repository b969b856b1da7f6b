"""Metrics: the numbers, checked against hand counts."""

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="metrics are computed by sklearn.metrics")

from chainrule.evaluation.metrics import (
    classification_metrics,
    classification_report,
    regression_metrics,
)


def test_binary_metrics_by_hand():
    y_true = [0, 0, 0, 1, 1, 1, 1]
    y_pred = [0, 1, 0, 1, 1, 0, 1]
    found = classification_metrics(y_true, y_pred, y_score=[0.1, 0.6, 0.2, 0.9, 0.8, 0.3, 0.7])
    # TP = 3, FP = 1, FN = 1, TN = 2
    assert found["accuracy"] == pytest.approx(5 / 7)
    assert found["precision"] == pytest.approx(3 / 4)
    assert found["recall"] == pytest.approx(3 / 4)
    assert found["f1"] == pytest.approx(3 / 4)
    np.testing.assert_array_equal(found["confusion_matrix"], [[2, 1], [1, 3]])
    # pairs (positive, negative) ranked correctly: 11 of 12 (0.3 < 0.6 is the miss)
    assert found["roc_auc"] == pytest.approx(11 / 12)


def test_multiclass_macro_averages():
    found = classification_metrics(["a", "b", "c", "c"], ["a", "c", "c", "c"])
    # per class precision 1, 0, 2/3; recall 1, 0, 1
    assert found["precision"] == pytest.approx((1 + 0 + 2 / 3) / 3)
    assert found["recall"] == pytest.approx(2 / 3)
    assert "roc_auc" not in found
    assert list(found["labels"]) == ["a", "b", "c"]


def test_regression_metrics_by_hand():
    found = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 6.0])
    assert found["mae"] == pytest.approx(0.5)
    assert found["rmse"] == pytest.approx(1.0)
    assert found["r2"] == pytest.approx(1 - 4 / 5)


def test_report_lists_the_classes():
    report = classification_report([0, 1, 1], [0, 1, 0])
    assert "precision" in report and "recall" in report
