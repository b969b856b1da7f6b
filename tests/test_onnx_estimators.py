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


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_poisson_regressor_variable_is_the_exp(tmp_path, n_outputs):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(50, 3))
    counts = rng.poisson(np.exp(0.5 * X[:, :n_outputs]))
    reg = cr.MLPRegressor((5,), "tanh", loss="poisson", max_iter=20, random_state=0)
    reg.fit(X, counts[:, 0] if n_outputs == 1 else counts)
    cr.export_onnx(reg, tmp_path / "poisson.onnx")
    got = run(tmp_path / "poisson.onnx", X)["variable"]
    np.testing.assert_allclose(got, reg.predict(X).reshape(50, n_outputs), rtol=1e-12)


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
    from chainrule.interop.onnx import _classes_tensor

    with pytest.raises(TypeError, match="integer, float, bool or string class labels"):
        _classes_tensor(np.array([(1, 2), "a"], dtype=object))


def test_unfitted_estimator_is_refused(tmp_path):
    with pytest.raises(ValueError, match="MLPRegressor is not fitted"):
        cr.export_onnx(cr.MLPRegressor(), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def unused_initializers(path) -> set[str]:
    model = onnx.load(str(path))
    used = {name for node in model.graph.node for name in node.input}
    return {init.name for init in model.graph.initializer} - used


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("zipmap", [False, True])
def test_no_unused_initializer_and_the_lowest_ir_version(tmp_path, n_classes, zipmap):
    rng = np.random.default_rng(6)
    X, y = data(n_classes, "int", rng)
    clf = cr.MLPClassifier((5,), "leaky_relu", max_iter=5, random_state=0).fit(X, y)
    cr.export_onnx(clf, tmp_path / "clf.onnx", zipmap=zipmap)
    assert unused_initializers(tmp_path / "clf.onnx") == set()
    # opset 17 needs IR 8; ai.onnx.ml 1 (ZipMap's) needs IR 3 (onnx.helper.VERSION_TABLE)
    assert onnx.load(str(tmp_path / "clf.onnx")).ir_version == 8


def labels_of_kind(kind: str, n_classes: int, rng) -> np.ndarray:
    index = rng.integers(0, n_classes, 60)
    pools = {
        "int": np.array([-3, 7, 11, 40]),
        "str": np.array(["cat", "dog", "emu", "fox"]),
        "float": np.array([1.0, 2.0, -4.0, 8.0]),
        "bool": np.array([False, True]),
    }
    return pools[kind][index]


def skl2onnx_outputs(X, y, multilabel: bool = False):
    """scikit-learn's own MLPClassifier, converted by skl2onnx with its defaults (ZipMap on)."""
    skl2onnx = pytest.importorskip("skl2onnx", reason="the reference converter")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    with pytest.warns(ConvergenceWarning):
        clf = MLPClassifier((5,), max_iter=3, random_state=0).fit(X, y)
    model = skl2onnx.to_onnx(clf, X[:1].astype(np.float32), target_opset=17)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    X32 = X.astype(np.float32)
    return session.get_outputs(), session.run(None, {session.get_inputs()[0].name: X32})


def run_zipmap(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.get_outputs(), session.run(None, {"X": X})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("kind", "n_classes"),
    [("int", 2), ("int", 4), ("str", 2), ("str", 3), ("float", 3), ("bool", 2)],
)
def test_zipmap_outputs_match_skl2onnx(tmp_path, kind, n_classes, dtype):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 4)).astype(dtype)
    y = labels_of_kind(kind, n_classes, rng)
    reference, (ref_label, ref_maps) = skl2onnx_outputs(X, y)
    clf = cr.MLPClassifier((6,), "tanh", max_iter=20, random_state=0).fit(X, y)
    cr.export_onnx(clf, tmp_path / "clf.onnx", zipmap=True)
    outputs, (label, maps) = run_zipmap(tmp_path / "clf.onnx", X)
    # skl2onnx's names and types (float32 maps also for a float64 network: ZipMap takes
    # only float32; skl2onnx itself cannot convert a float64 input with ZipMap on).
    assert [(o.name, o.type) for o in outputs] == [(o.name, o.type) for o in reference]
    assert label.dtype == ref_label.dtype and label.shape == ref_label.shape
    assert [sorted(m) for m in maps] == [sorted(m) for m in ref_maps]  # the same keys
    expected = clf.predict(X)
    if kind in ("bool", "float"):  # skl2onnx casts these labels to int64, exactly
        expected = expected.astype(np.int64)
    assert list(label) == list(expected)
    keys = list(maps[0])
    assert keys == [k.item() if hasattr(k, "item") else k for k in skl_keys(clf.classes_)]
    proba = np.array([[m[k] for k in keys] for m in maps])
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-6, atol=1e-7)


def skl_keys(classes):
    return classes.astype(np.int64) if classes.dtype.kind in "biuf" else classes


def test_zipmap_multilabel_matches_skl2onnx(tmp_path):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    Y = (X[:, :3] + 0.3 * rng.normal(size=(60, 3)) > 0).astype(int)
    reference, (ref_label, ref_maps) = skl2onnx_outputs(X, Y)
    clf = cr.MLPClassifier((6,), "tanh", max_iter=20, random_state=0).fit(X, Y)
    cr.export_onnx(clf, tmp_path / "ml.onnx", zipmap=True)
    outputs, (label, maps) = run_zipmap(tmp_path / "ml.onnx", X)
    assert [(o.name, o.type) for o in outputs] == [(o.name, o.type) for o in reference]
    assert label.dtype == ref_label.dtype and label.shape == ref_label.shape == (60, 3)
    assert [list(m) for m in maps] == [list(m) for m in ref_maps]
    np.testing.assert_array_equal(label, clf.predict(X))
    proba = np.array([[m[k] for k in range(3)] for m in maps])
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-6, atol=1e-7)


def test_zipmap_is_refused_for_a_regressor(tmp_path):
    X = np.random.default_rng(9).normal(size=(20, 2))
    reg = cr.MLPRegressor((3,), max_iter=5, random_state=0).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="zipmap=True applies to classifiers, not to a MLPReg"):
        cr.export_onnx(reg, tmp_path / "reg.onnx", zipmap=True)


def test_estimators_are_recognised_by_what_they_hold(tmp_path):
    # interop sits below chainrule.estimators: anything holding a fitted Network in
    # network_ exports; another library's estimator is named in the error.
    from sklearn.linear_model import LinearRegression

    with pytest.raises(TypeError, match=r"got LinearRegression \(from sklearn\.linear_model"):
        cr.export_onnx(LinearRegression(), tmp_path / "x.onnx")

    class Holder:
        network_ = cr.seed_example().network

    cr.export_onnx(Holder(), tmp_path / "holder.onnx")
    out = run(tmp_path / "holder.onnx", np.array([[0.5, 0.1]]))
    np.testing.assert_allclose(out["variable"], Holder.network_.predict([[0.5, 0.1]]))


def test_interop_does_not_import_the_estimators():
    import subprocess
    import sys

    code = (
        "import sys, chainrule.interop.onnx, chainrule.interop.torch; "
        "print(sorted(m for m in sys.modules if m.startswith(('chainrule.estimators', "
        "'sklearn'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
