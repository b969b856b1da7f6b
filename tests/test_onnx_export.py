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


def opset_ir(table, opset: int) -> int:
    """The IR version of the first onnx release whose default ai.onnx opset is ``opset``
    or more, read from onnx's own release table (release, IR, ai.onnx, ai.onnx.ml, ...)."""
    return min(row[1] for row in table if row[2] >= opset)


def test_ir_version_is_the_lowest_the_opset_needs(tmp_path):
    from chainrule.interop.onnx import OPSET

    net = cr.seed_example().network
    cr.export_onnx(net, tmp_path / "seed.onnx")
    model = onnx.load(str(tmp_path / "seed.onnx"))
    expected = opset_ir(onnx.helper.VERSION_TABLE, OPSET)
    assert model.ir_version == expected == 8
    # The installed onnx writes newer IR by default (what onnxruntime 1.18 refused) ...
    assert onnx.IR_VERSION > model.ir_version
    # ... and onnxruntime 1.18 (the [onnx] extra's lowest) reads IR <= 10 (its release notes:
    # ONNX 1.16, opset 21, IR 10).
    assert model.ir_version <= 10
    onnx.checker.check_model(model, full_check=True)
    X = np.array([[0.5, 0.1]])
    np.testing.assert_allclose(run_onnx(tmp_path / "seed.onnx", X), net.predict(X), rtol=1e-12)


def unused_initializers(model) -> set[str]:
    used = {name for node in model.graph.node for name in node.input}
    return {init.name for init in model.graph.initializer} - used


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_every_initializer_is_used(activation):
    from chainrule.interop.onnx import onnx_model

    net = random_network(np.random.default_rng(0), [3, 4, 4, 2], activation, activation)
    assert unused_initializers(onnx_model(net)) == set()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [0.1, 0.3, 1 / 3, 0.01])
def test_leaky_relu_slope_is_exact_in_the_networks_dtype(tmp_path, dtype, alpha):
    # Identity weights and zero biases: MatMul and Add are exact, so the output is the
    # activation alone, which must equal chainrule's bit for bit (a float32 ``alpha``
    # attribute would round the float64 slope: 0.1 * z differs in the last bits).
    layer = cr.Dense(np.eye(6), np.zeros(6), cr.activations.LeakyReLU(alpha))
    net = cr.Network([layer]).astype(dtype)
    X = np.random.default_rng(5).normal(size=(50, 6)).astype(dtype) * 100
    cr.export_onnx(net, tmp_path / "leaky.onnx")
    got = run_onnx(tmp_path / "leaky.onnx", X)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, net.predict(X))


def test_zipmap_needs_a_classifier(tmp_path):
    with pytest.raises(ValueError, match="zipmap=True applies to a fitted classifier"):
        cr.export_onnx(cr.seed_example().network, tmp_path / "x.onnx", zipmap=True)
    with pytest.raises(TypeError, match="zipmap must be True or False, got 'yes'"):
        cr.export_onnx(cr.seed_example().network, tmp_path / "x.onnx", zipmap="yes")
    assert not (tmp_path / "x.onnx").exists()
