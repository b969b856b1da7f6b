"""The engine on ``array_api_strict`` arrays placed on a device other than the default.

``array_api_strict`` implements the array API and nothing more: it refuses NumPy-only
functions and methods, arrays of two devices in one operation, and NumPy's indexing
shorthands. These are what would break on CuPy or PyTorch CUDA arrays, so running
forward, backward (every activation and loss, both reductions, sample weights, dropout)
and the trace hooks on its ``device1`` checks the GPU path without a GPU. Loss and
gradients must equal NumPy's (which ``tests/test_parity_torch.py`` checks against
PyTorch autograd): to 1e-6 in float32, 1e-12 in float64; every result must stay on the
input's device.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Network, Trace, train_step
from chainrule.activations import ACTIVATIONS, Softmax
from chainrule.layers import Dense
from chainrule.losses import BinaryCrossEntropy, CrossEntropy, get_loss

xps = pytest.importorskip("array_api_strict", reason="array-api-strict (test extra)")

DEVICE = xps.Device("device1")
CPU = xps.Device("CPU_DEVICE")
TOL = {np.float32: 1e-6, np.float64: 1e-12}

# Together: every activation, every loss, the fused and the unfused cross-entropies,
# and both from-logits forms.
CASES = [
    (["relu", "tanh", "softmax"], "cross_entropy"),  # fused with softmax
    (["sigmoid", "leaky_relu", "sigmoid"], "binary_cross_entropy"),  # fused with sigmoid
    (["softplus", "relu", "identity"], "mean_squared_error"),
    (["tanh", "sigmoid", "sigmoid"], "half_squared_error"),
    (["relu", "identity", "softmax"], "half_squared_error"),  # softmax's Jacobian product
    (["leaky_relu", "tanh", "sigmoid"], "cross_entropy"),  # unfused: clipped log(p)
    (["tanh", "relu", "softmax"], "binary_cross_entropy"),  # unfused
    (["relu", "softplus", "identity"], "ce_logits"),
    (["sigmoid", "tanh", "identity"], "bce_logits"),
]
LOSSES = {
    "ce_logits": CrossEntropy(from_logits=True),
    "bce_logits": BinaryCrossEntropy(from_logits=True),
}


def _on_device(a: np.ndarray):
    return xps.asarray(a, device=DEVICE, copy=True)


def _to_numpy(a) -> np.ndarray:
    assert a.device == DEVICE, f"a result left the input's device: {a.device}"
    return np.from_dlpack(a.to_device(CPU))


def _strict_net(net: Network) -> Network:
    layers = [
        Dense(_on_device(layer.W), _on_device(layer.b), layer.activation, dropout=layer.dropout)
        for layer in net.layers
    ]
    return Network(layers, frozen=net.frozen)


def _problem(acts, loss, dtype, dropout=0.0):
    rng = np.random.default_rng(0)
    net = Network.from_sizes([6, 8, 5, 3], acts, random_state=1, dtype=dtype, dropout=dropout)
    X = rng.standard_normal((16, 6)).astype(dtype)
    if "cross_entropy" in loss or loss == "ce_logits":
        y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 16)]
    else:
        y = rng.random((16, 3)).astype(dtype)
    return net, X, y, LOSSES.get(loss) or get_loss(loss)


def _close(actual, expected, dtype, what: str) -> None:
    tol = TOL[dtype]
    np.testing.assert_allclose(_to_numpy(actual), expected, rtol=tol, atol=tol, err_msg=what)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("acts", "loss"), CASES)
def test_strict_device_arrays_give_numpys_loss_gradients_and_trace(acts, loss, reduction, dtype):
    net, X, y, L = _problem(acts, loss, dtype)
    trace = Trace()
    A, caches = net.forward(X, trace)
    E, grads = net.backward(y, caches, L, reduction, trace)

    snet = _strict_net(net)
    strace = Trace()
    A_s, caches_s = snet.forward(_on_device(X), strace)
    E_s, grads_s = snet.backward(_on_device(y), caches_s, L, reduction, strace)

    assert A_s.dtype == getattr(xps, np.dtype(dtype).name)
    _close(A_s, A, dtype, "A")
    for cache in caches_s:
        for part in (cache.A_prev, cache.Z, cache.A):
            assert part.device == DEVICE
    _close(E_s, E, dtype, "E")
    assert list(grads_s) == list(grads)
    for name, g in grads.items():
        _close(grads_s[name], g, dtype, name)
    assert list(strace) == list(trace)
    for name, value in trace.items():
        _close(strace[name], value, dtype, f"trace {name}")


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_strict_sample_weights(reduction):
    net, X, y, L = _problem(["relu", "tanh", "softmax"], "cross_entropy", np.float64)
    w = np.random.default_rng(5).random(16)
    E, grads = net.backward(y, net.forward(X)[1], L, reduction, sample_weight=w)
    snet = _strict_net(net)
    _, caches = snet.forward(_on_device(X))
    E_s, grads_s = snet.backward(_on_device(y), caches, L, reduction, sample_weight=_on_device(w))
    _close(E_s, E, np.float64, "E")
    for name, g in grads.items():
        _close(grads_s[name], g, np.float64, name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_strict_dropout_draws_numpys_mask_on_the_device(dtype):
    net, X, y, L = _problem(["relu", "tanh", "softmax"], "cross_entropy", dtype, dropout=0.4)
    A, caches = net.forward(X, training=True, rng=np.random.default_rng(7))
    E, grads = net.backward(y, caches, L)
    snet = _strict_net(net)
    A_s, caches_s = snet.forward(_on_device(X), training=True, rng=np.random.default_rng(7))
    for cache, cache_s in zip(caches[:-1], caches_s[:-1], strict=True):
        _close(cache_s.mask, cache.mask, dtype, "mask")
        assert cache_s.mask.dtype == A_s.dtype
    E_s, grads_s = snet.backward(_on_device(y), caches_s, L)
    _close(A_s, A, dtype, "A")
    _close(E_s, E, dtype, "E")
    for name, g in grads.items():
        _close(grads_s[name], g, dtype, name)


def test_strict_train_step_updates_on_the_device_as_numpy_does():
    net, X, y, _ = _problem(["tanh", "sigmoid", "sigmoid"], "half_squared_error", np.float64)
    snet = _strict_net(net)
    trace, strace = Trace(), Trace()
    E = train_step(net, X, y, lr=0.5, tracer=trace)
    E_s = train_step(snet, _on_device(X), _on_device(y), lr=0.5, tracer=strace)
    assert isinstance(E_s, float)
    assert E_s == pytest.approx(E, rel=1e-12)
    for name, value in net.params.items():
        _close(snet.params[name], value, np.float64, name)
    assert list(strace) == list(trace)
    for name in ("W1_new", "b3_new", "e_new", "E_new"):
        _close(strace[name], trace[name], np.float64, name)


def test_strict_validated_entry_points():
    net, X, y, _ = _problem(["softplus", "relu", "identity"], "mean_squared_error", np.float32)
    snet = _strict_net(net)
    X_s, y_s = _on_device(X), _on_device(y)
    _close(snet.predict(X_s), net.predict(X), np.float32, "predict")
    one = snet.predict(X_s[0, ...])  # one instance: (n_out,)
    assert one.shape == (3,)
    _close(one, net.predict(X[0]), np.float32, "predict one")
    loss = snet.loss(X_s, y_s, "mse", "sum")
    assert loss == pytest.approx(net.loss(X, y, "mse", "sum"), rel=1e-6)
    E, grads = snet.loss_and_grads(X_s, y_s, "mse")
    assert E == pytest.approx(net.loss_and_grads(X, y, "mse")[0], rel=1e-6)
    assert all(g.device == DEVICE for g in grads.values())


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_strict_activation_derivatives_stay_on_the_device(name):
    activation = ACTIVATIONS[name]()
    Z = np.random.default_rng(2).standard_normal((4, 3))
    derivative = activation.derivative(_on_device(Z))
    np.testing.assert_allclose(_to_numpy(derivative), activation.derivative(Z), rtol=1e-15)


def test_the_strict_library_refuses_what_a_gpu_would():
    # Guards the tests above: were the library lenient, they would prove nothing.
    Z_cpu = xps.asarray(np.ones((2, 3)))
    with pytest.raises(ValueError, match="different devices"):
        _ = _on_device(np.ones((2, 3))) + Z_cpu
    with pytest.raises(IndexError):
        _ = _on_device(np.ones((2, 3)))[0]  # NumPy's shorthand for [0, ...]
    assert not hasattr(xps, "maximum_reduce")
    # The softmax Jacobian once built its identity on the default device.
    jac = Softmax().derivative(_on_device(np.zeros((2, 3))))
    assert jac.device == DEVICE
