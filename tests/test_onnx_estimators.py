"""ONNX export of the estimators: onnxruntime gives predict and predict_proba (skl2onnx names)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

onnx = pytest.importorskip("onnx", reason="the [onnx] extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the [onnx] extra is not installed")
pytest.importorskip("sklearn", reason="the estimators need the [sklearn] extra")

HIDDEN = ["relu", "tanh", "logistic", "leaky_relu", "softplus", "identity"]


def run(path, X):
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X}), strict=True))


def data(n_classes, labels, rng):
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = rng.integers(0, n_classes, 60)
    if labels == "str":
        y = np.array(["cat", "dog", "emu", "fox"])[y]
    elif labels == "int":
        y = np.array([-3, 7, 11, 40])[y]
    return X, y


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("labels", ["int", "str"])
def test_classifier_labels_and_probabilities(tmp_path, activation, n_classes, labels):
    rng = np.random.default_rng(0)
    X, y = data(n_classes, labels, rng)
    clf = cr.MLPClassifier((6, 5), activation, max_iter=30, random_state=0).fit(X, y)
    cr.export_onnx(clf, tmp_path / "clf.onnx")
    X_test = rng.normal(size=(40, 4)).astype(np.float32)
    out = run(tmp_path / "clf.onnx", X_test)
    assert set(out) == {"label", "probabilities"}
    np.testing.assert_allclose(
        out["probabilities"], clf.predict_proba(X_test), rtol=1e-5, atol=1e-6
    )
    assert out["probabilities"].dtype == np.float32
    expected = clf.predict(X_test)
    assert out["label"].shape == expected.shape
    assert list(out["label"]) == list(expected)


def test_multilabel_indicator_output(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 5)).astype(np.float32)
    Y = (X[:, :3] + 0.3 * rng.normal(size=(80, 3)) > 0).astype(int)
    clf = cr.MLPClassifier((8,), "tanh", max_iter=50, random_state=0).fit(X, Y)
    cr.export_onnx(clf, tmp_path / "ml.onnx")
    out = run(tmp_path / "ml.onnx", X)
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    assert out["label"].dtype == np.int64


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_variable(tmp_path, activation, n_outputs):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3)).astype(np.float32)
    y = X @ rng.normal(size=(3, n_outputs))
    reg = cr.MLPRegressor((7,), activation, max_iter=20, random_state=0)
    reg.fit(X, y[:, 0] if n_outputs == 1 else y)
    cr.export_onnx(reg, tmp_path / "reg.onnx")
    out = run(tmp_path / "reg.onnx", X)
    assert set(out) == {"variable"}
    got = out["variable"]
    assert got.shape == (50, n_outputs) and got.dtype == np.float32
    expected = reg.predict(X).reshape(50, n_outputs)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_float64_estimator_with_bool_labels(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 2))
    clf = cr.MLPClassifier((4,), max_iter=10, random_state=0).fit(X, X[:, 0] > 0)
    cr.export_onnx(clf, tmp_path / "f64.onnx")
    out = run(tmp_path / "f64.onnx", X)
    assert out["probabilities"].dtype == np.float64
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), rtol=1e-12)
    assert out["label"].dtype == bool
    np.testing.assert_array_equal(out["label"], clf.predict(X))


def test_float_labels(tmp_path):
    X = np.random.default_rng(4).normal(size=(20, 2)).astype(np.float32)
    y = np.array([1.0, 2.0, -4.0])[np.digitize(X[:, 0], [-0.5, 0.5])]
    clf = cr.MLPClassifier((3,), max_iter=5, random_state=0).fit(X, y)
    cr.export_onnx(clf, tmp_path / "float.onnx")
    out = run(tmp_path / "float.onnx", X)
    assert out["label"].dtype == np.float64
    np.testing.assert_array_equal(out["label"], clf.predict(X))


def test_labels_onnx_cannot_hold_are_refused():
    from chainrule.interop.onnx_estimators import _classes_tensor

    with pytest.raises(TypeError, match="integer, float, bool or string class labels"):
        _classes_tensor(np.array([(1, 2), "a"], dtype=object))


def test_unfitted_estimator_is_refused(tmp_path):
    with pytest.raises(ValueError, match="MLPRegressor is not fitted"):
        cr.export_onnx(cr.MLPRegressor(), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
