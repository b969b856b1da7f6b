"""The engine through the array-API namespace: the same network on PyTorch CPU tensors.

Forward, loss and backward of :class:`~chainrule.network.Network` take their array
functions from the input (``array_api_compat.array_namespace``), so the same code runs on
NumPy arrays and on PyTorch tensors (and so on CuPy or PyTorch CUDA arrays; without a GPU,
``tests/test_array_api_strict.py`` runs it on a strict array library's second device). In
float32, loss and gradients must agree with NumPy's to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Network, Trace
from chainrule.layers import Dense
from chainrule.losses import get_loss

torch = pytest.importorskip("torch", reason="PyTorch (test extra) provides the tensors")

CASES = [
    (["relu", "tanh", "softmax"], "cross_entropy"),
    (["sigmoid", "leaky_relu", "sigmoid"], "binary_cross_entropy"),
    (["softplus", "relu", "identity"], "mean_squared_error"),
    (["tanh", "sigmoid", "sigmoid"], "half_squared_error"),
    (["relu", "identity", "softmax"], "half_squared_error"),  # softmax's Jacobian product
]


def _on_torch(net: Network) -> Network:
    layers = [
        Dense(torch.from_numpy(layer.W.copy()), torch.from_numpy(layer.b.copy()), layer.activation)
        for layer in net.layers
    ]
    return Network(layers)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("acts", "loss"), CASES)
def test_torch_tensors_give_numpys_loss_and_gradients(acts, loss, reduction):
    rng = np.random.default_rng(0)
    net = Network.from_sizes([6, 8, 5, 3], acts, random_state=1, dtype=np.float32)
    X = rng.standard_normal((16, 6)).astype(np.float32)
    if loss == "cross_entropy":
        y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)]
    else:
        y = rng.random((16, 3)).astype(np.float32)
    L = get_loss(loss)
    _, caches = net.forward(X)
    E, grads = net.backward(y, caches, L, reduction)

    tnet = _on_torch(net)
    trace = Trace()
    A_t, caches_t = tnet.forward(torch.from_numpy(X), trace)
    E_t, grads_t = tnet.backward(torch.from_numpy(y), caches_t, L, reduction, trace)
    assert isinstance(A_t, torch.Tensor) and A_t.dtype == torch.float32
    assert isinstance(E_t, torch.Tensor)
    assert float(E_t) == pytest.approx(float(E), rel=1e-6, abs=1e-6)
    for name, g in grads.items():
        assert isinstance(grads_t[name], torch.Tensor), name
        np.testing.assert_allclose(grads_t[name].numpy(), g, rtol=1e-6, atol=1e-6, err_msg=name)
    assert "dEdW1" in trace  # the trace records tensors too


def test_torch_network_predicts_and_checks_its_input():
    net = Network.from_sizes([3, 4, 2], ["tanh", "softmax"], random_state=2, dtype=np.float32)
    tnet = _on_torch(net)
    X = np.random.default_rng(3).standard_normal((5, 3)).astype(np.float32)
    A = tnet.predict(torch.from_numpy(X))
    np.testing.assert_allclose(A.numpy(), net.predict(X), rtol=1e-6)
    with pytest.raises(ValueError, match="X has 2 features per instance"):
        tnet.predict(torch.zeros((5, 2)))


def test_torch_dropout_drops_what_numpy_drops():
    net = Network.from_sizes(
        [6, 8, 3], ["relu", "softmax"], random_state=4, dtype=np.float32, dropout=0.5
    )
    X = np.random.default_rng(5).standard_normal((16, 6)).astype(np.float32)
    A, caches = net.forward(X, training=True, rng=np.random.default_rng(6))
    tnet = _on_torch(net)
    tnet.layers[0].dropout = 0.5
    A_t, caches_t = tnet.forward(torch.from_numpy(X), training=True, rng=np.random.default_rng(6))
    assert caches_t[0].mask.dtype == torch.float32
    np.testing.assert_array_equal(caches_t[0].mask.numpy(), caches[0].mask)
    np.testing.assert_allclose(A_t.numpy(), A, rtol=1e-6)
