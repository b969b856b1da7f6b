"""ONNX export: the file passes onnx.checker and onnxruntime predicts what chainrule does."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .conftest import ACTIVATION_NAMES, random_network

onnx = pytest.importorskip("onnx", reason="the [onnx] extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the [onnx] extra is not installed")


def run_onnx(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": X})[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_every_activation_matches_onnxruntime(tmp_path, activation, dtype):
    rng = np.random.default_rng(0)
    net = random_network(rng, [4, 5, 3], activation, activation, dtype=dtype)
    X = rng.normal(size=(7, 4)).astype(dtype)
    path = tmp_path / "net.onnx"
    cr.export_onnx(net, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    got = run_onnx(path, X)
    assert got.dtype == dtype and got.shape == (7, 3)
    np.testing.assert_allclose(got, net.predict(X), rtol=1e-5, atol=1e-6)


def test_leaky_relu_slope_and_deep_network(tmp_path):
    rng = np.random.default_rng(1)
    layers = [
        cr.Dense(rng.normal(size=(3, 4)), rng.normal(size=4), cr.activations.LeakyReLU(0.3)),
        cr.Dense(rng.normal(size=(4, 4)), rng.normal(size=4), "tanh"),
        cr.Dense(rng.normal(size=(4, 2)), rng.normal(size=2), "identity"),
    ]
    net = cr.Network(layers).astype(np.float32)
    cr.export_onnx(net, tmp_path / "deep.onnx")
    X = rng.normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "deep.onnx", X), net.predict(X), rtol=1e-5)


def test_only_networks_are_exported(tmp_path):
    with pytest.raises(
        TypeError,
        match="model must be a chainrule Network, MLPClassifier or MLPRegressor, got dict",
    ):
        cr.export_onnx({}, tmp_path / "x.onnx")
