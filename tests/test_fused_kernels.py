"""The fused kernels (numba, the ``fast`` extra) against the NumPy path they replace in fit.

A compiled loop rounds differently from NumPy's ufuncs (float64 where a Python float meets
float32, serial sums), so these tests hold them to a stated tolerance, not bit for bit:

- one kernel call: ``rtol=2e-6`` in float32 (a few units in the last place) and
  ``rtol=1e-13`` in float64;
- one epoch of fit: the losses and the weights to ``rtol=1e-4`` (float32) and ``1e-10``
  (float64), after dozens of updates that each carry the differences on.

Without numba (or with ``CHAINRULE_KERNELS=numpy``) everything runs on the NumPy kernels:
the last tests check that path without needing numba to be absent.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from chainrule import Network
from chainrule import kernels as kernels_module
from chainrule.activations import get_activation
from chainrule.buffers import Buffers
from chainrule.kernels import (
    FUSED,
    KERNELS,
    KERNELS_ENV,
    fused_kernels,
    gather_kernel,
    kernel_for,
    loss_kernel_for,
    sum_kernel,
    update_kernel_for,
)
from chainrule.losses import get_loss
from chainrule.optimizers import SGD, Adam, AdamW
from chainrule.training import fit

RTOL = {np.float32: 2e-6, np.float64: 1e-13}
ATOL = {np.float32: 1e-7, np.float64: 1e-16}
FIT_RTOL = {np.float32: 1e-4, np.float64: 1e-10}


@pytest.fixture
def fused_on(monkeypatch):
    """numba is in the test extra: these run in make test."""
    pytest.importorskip("numba")
    monkeypatch.delenv(KERNELS_ENV, raising=False)
    assert fused_kernels()


def _close(actual, expected, dtype, err_msg=""):
    np.testing.assert_allclose(
        actual, expected, rtol=RTOL[dtype], atol=ATOL[dtype], err_msg=err_msg
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "identity", "softmax"])
def test_fused_bias_activation_and_backprop_match_the_numpy_kernels(name, dtype, fused_on):
    rng = np.random.default_rng(1)
    P = (3 * rng.standard_normal((37, 23))).astype(dtype)
    P[0, :4] = [0.0, -0.0, 40.0, -40.0]  # the edges of ReLU and sigmoid's two branches
    b = rng.standard_normal(23).astype(dtype)
    dA = rng.standard_normal(P.shape).astype(dtype)
    activation = get_activation(name)
    fused, numpy_kernel = kernel_for(activation, P, fused=True), kernel_for(activation, P)
    assert fused is KERNELS[(type(activation), FUSED)] and fused.forward_bias is not None
    mask, tmp = np.empty(P.shape, bool), np.empty_like(P)
    cols, cols_np = np.empty((37, 3), dtype), np.empty((37, 3), dtype)

    Z_np = P + b
    A_np = np.empty_like(P)
    numpy_kernel.forward(Z_np, A_np, mask, tmp, cols_np)
    Z, A = P.copy(), np.empty_like(P)
    fused.forward_bias(Z, b, A, mask, tmp, cols)
    _close(A, A_np, dtype, "A")
    _close(A, activation.value(P + b), dtype, "A against the readable activation")
    in_place = P.copy()  # a hidden layer: A overwrites Z
    fused.forward_bias(in_place, b, in_place, mask, tmp, cols)
    _close(in_place, A_np, dtype, "A in place")

    dZ, dZ_np = dA.copy(), dA.copy()
    # from the same A: near A = 1, one unit in A's last place is a large change in 1 - A
    fused.backprop(dZ, A_np, mask, tmp, cols)
    numpy_kernel.backprop(dZ_np, A_np, mask, tmp, cols_np)
    _close(dZ, dZ_np, dtype, "dZ")
    if name == "relu":  # a mask: exactly the same zeros and values
        np.testing.assert_array_equal(dZ, dZ_np)


def test_fused_relu_keeps_nan_and_zeroes_as_the_numpy_kernel(fused_on):
    P = np.array([[np.nan, -np.inf, np.inf, -1.0, 0.0, 2.0]])
    b = np.zeros(6)
    A, A_np = np.empty_like(P), np.empty_like(P)
    mask = np.empty(P.shape, bool)
    fused, numpy_kernel = (
        kernel_for(get_activation("relu"), P, True),
        kernel_for(get_activation("relu"), P),
    )
    fused.forward_bias(P.copy(), b, A, mask, None, None)
    numpy_kernel.forward(P.copy(), A_np, mask, None, None)
    np.testing.assert_array_equal(A, A_np)  # [0, 0, inf, 0, 0, 2]
    dA = np.array([[1.0, np.nan, np.inf, np.inf, 3.0, np.nan]])
    dZ, dZ_np = dA.copy(), dA.copy()
    fused.backprop(dZ, A, mask, None, None)
    with np.errstate(invalid="ignore"):  # inf * 0, as fit runs it (the guard reports NaN)
        numpy_kernel.backprop(dZ_np, A_np, mask, None, None)
    np.testing.assert_array_equal(dZ, dZ_np)  # NaN where dA * mask is NaN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_cross_entropy_matches_the_readable_loss(dtype, fused_on):
    net = Network.from_sizes([6, 9, 4], ["relu", "softmax"], random_state=2, dtype=dtype)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, 6)).astype(dtype)
    y = np.eye(4, dtype=dtype)[rng.integers(0, 4, 20)]
    y[0] *= 0.5  # a soft target: sum(y) != 1
    loss = get_loss("cross_entropy")
    assert loss_kernel_for(loss, get_activation("softmax"), X, fused=True) is not (
        loss_kernel_for(loss, get_activation("softmax"), X)
    )
    _, caches = net.forward(X)
    E_ref, grads_ref = net.backward(y, caches, loss)
    buffers = Buffers(net.layers, 32, fused=True)
    _, caches = net.forward(X, buffers=buffers)
    E, grads = net.backward(y, caches, loss, buffers=buffers)
    _close(float(E), float(E_ref), dtype, "E")
    for name, g in grads_ref.items():
        _close(grads[name], g, dtype, name)
    # per-instance weights: dE/de is a column, the NumPy delta after the fused errors
    w = rng.random(20).astype(dtype)
    _, caches = net.forward(X)
    E_ref, grads_ref = net.backward(y, caches, loss, sample_weight=w)
    _, caches = net.forward(X, buffers=buffers)
    E, grads = net.backward(y, caches, loss, sample_weight=w, buffers=buffers)
    _close(float(E), float(E_ref), dtype, "E weighted")
    for name, g in grads_ref.items():
        _close(grads[name], g, dtype, name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_fused_adam_sweep_matches_numpy_adam_over_steps(cls, dtype, fused_on):
    rng = np.random.default_rng(4)
    params = {"W1": rng.standard_normal((7, 5)).astype(dtype), "b1": np.zeros(5, dtype)}
    twin = {k: v.copy() for k, v in params.items()}
    opt = cls(lr=0.01)
    sweep = update_kernel_for(opt, params["W1"])
    assert sweep is not None
    assert update_kernel_for(SGD(lr=0.1), params["W1"]) is None  # one sweep already
    state, state_np = opt.init(params), opt.init(twin)
    for _ in range(5):
        grads = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in params.items()}
        opt.update(params, grads, state, sweep=sweep)
        opt.update(twin, grads, state_np)
    assert state["t"] == state_np["t"] == 5
    for name in params:
        _close(params[name], twin[name], dtype, name)
        _close(state["m"][name], state_np["m"][name], dtype, "m " + name)
        _close(state["s"][name], state_np["s"][name], dtype, "s " + name)


def test_fused_adam_sweep_declines_a_non_contiguous_parameter(fused_on):
    p = np.ones((4, 6))[:, ::2]
    g, m, s = np.ones_like(p), np.zeros_like(p), np.zeros_like(p)
    assert update_kernel_for(Adam(), p)(p, g, m, s, 0.9, 0.999, 1.0, 1e-8) is False
    np.testing.assert_array_equal(p, 1.0)  # untouched: NumPy's passes take over


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_gather_copies_the_rows_exactly(dtype, fused_on):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((50, 7)).astype(dtype)
    rows = rng.permutation(50)[:13]
    out = np.empty((13, 7), dtype)
    gather_kernel(X)(X, rows, out)
    np.testing.assert_array_equal(out, X[rows])
    strided = X[:, ::2]  # not contiguous: NumPy's take
    out = np.empty((13, 4), dtype)
    gather_kernel(X)(strided, rows, out)
    np.testing.assert_array_equal(out, strided[rows])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 5), (128, 10), (37, 256)])
def test_fused_sum_over_instances_adds_the_rows_as_numpy(shape, dtype, fused_on):
    # The compiled db adds the rows in NumPy's order: the same sums, bit for bit.
    rng = np.random.default_rng(9)
    dZ = (rng.standard_normal(shape) * 10.0 ** rng.integers(-6, 6, shape)).astype(dtype)
    dZ[0, 0] = np.nan if shape[0] > 1 else dZ[0, 0]
    fused, numpy_sum = sum_kernel(dZ, fused=True), sum_kernel(dZ)
    assert fused is not numpy_sum
    out = np.empty(shape[1], dtype)
    assert fused(dZ, out=out) is out
    np.testing.assert_array_equal(out, np.add.reduce(dZ, axis=0))
    np.testing.assert_array_equal(numpy_sum(dZ, out=np.empty_like(out)), np.add.reduce(dZ, axis=0))


def _epoch(dtype, optimizer, monkeypatch, mode, acts=("relu", "tanh", "softmax")):
    monkeypatch.setenv(KERNELS_ENV, mode)
    rng = np.random.default_rng(6)
    X = rng.standard_normal((300, 12)).astype(dtype)
    y = np.eye(5, dtype=dtype)[rng.integers(0, 5, 300)]
    net = Network.from_sizes([12, 16, 8, 5], list(acts), random_state=7, dtype=dtype)
    history = fit(
        net, X, y, loss="cross_entropy", optimizer=optimizer, epochs=2, batch_size=32,
        random_state=8,
    )  # fmt: skip
    return history["loss"], net.params


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_with_fused_kernels_matches_fit_with_numpy_kernels(
    dtype, optimizer, monkeypatch, fused_on
):
    opt = SGD(lr=0.1) if optimizer == "sgd" else Adam(lr=0.01)
    losses, params = _epoch(dtype, opt, monkeypatch, "fused")
    losses_np, params_np = _epoch(dtype, opt, monkeypatch, "numpy")
    np.testing.assert_allclose(losses, losses_np, rtol=FIT_RTOL[dtype])
    for name, p in params_np.items():
        np.testing.assert_allclose(params[name], p, rtol=FIT_RTOL[dtype], atol=1e-6, err_msg=name)
    assert losses != losses_np or dtype == np.float64  # float32: the kernels did run


def test_numpy_kernels_forced_by_the_environment(monkeypatch):
    monkeypatch.setenv(KERNELS_ENV, "numpy")
    relu, Z = get_activation("relu"), np.zeros((2, 2))
    assert not fused_kernels()
    assert kernel_for(relu, Z, fused=True) is KERNELS[(type(relu), "numpy")]
    assert update_kernel_for(Adam(), Z) is None and gather_kernel(Z) is None
    assert Buffers(Network.from_sizes([2, 2], "relu").layers, 4, fused=True)._gather is None
    monkeypatch.setenv(KERNELS_ENV, "fastest")
    with pytest.raises(ValueError, match="CHAINRULE_KERNELS must be one of fused, numpy"):
        fused_kernels()


def test_without_numba_fit_runs_on_the_numpy_kernels(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    monkeypatch.setattr(kernels_module, "_FUSED_STATE", [])
    monkeypatch.setattr(kernels_module, "KERNELS", dict(kernels_module.KERNELS))
    for key in [key for key in kernels_module.KERNELS if key[1] == FUSED]:
        del kernels_module.KERNELS[key]
    assert not fused_kernels()
    relu = get_activation("relu")
    assert kernel_for(relu, np.zeros(1), fused=True) is KERNELS[(type(relu), "numpy")]
    # fit on NumPy's kernels equals fit forced to them, bit for bit
    losses, params = _epoch(np.float32, Adam(lr=0.01), monkeypatch, "fused")
    losses_np, params_np = _epoch(np.float32, Adam(lr=0.01), monkeypatch, "numpy")
    assert losses == losses_np
    for name, p in params_np.items():
        np.testing.assert_array_equal(params[name], p, err_msg=name)


def test_a_wide_softmax_runs_numpys_kernel_bit_for_bit(fused_on):
    # Above 32 classes the fused softmax hands over to NumPy's (SIMD exponentials).
    rng = np.random.default_rng(9)
    P = rng.standard_normal((16, 40)).astype(np.float32)
    b = rng.standard_normal(40).astype(np.float32)
    softmax = get_activation("softmax")
    mask, tmp = np.empty(P.shape, bool), np.empty_like(P)
    cols, cols_np = np.empty((16, 3), np.float32), np.empty((16, 3), np.float32)
    Z, A = P.copy(), np.empty_like(P)
    kernel_for(softmax, P, fused=True).forward_bias(Z, b, A, mask, tmp, cols)
    Z_np, A_np = P + b, np.empty_like(P)
    kernel_for(softmax, P).forward(Z_np, A_np, mask, tmp, cols_np)
    np.testing.assert_array_equal(A, A_np)
    np.testing.assert_array_equal(cols[:, :2], cols_np[:, :2])
