"""The one engine with buffers against itself without: bit for bit, for every activation,
loss, reduction, dtype, sample weights and dropout; the kernels against the readable
activations and losses; the update and the backward loop each written once."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Network, seed_example, train_step
from chainrule.activations import ACTIVATIONS, get_activation
from chainrule.buffers import Buffers
from chainrule.kernels import KERNELS, LOSS_KERNELS, kernel_for, loss_kernel_for
from chainrule.layers import Dense
from chainrule.losses import get_loss
from chainrule.optimizers import SGD
from chainrule.trace import Trace

HIDDEN = sorted(ACTIVATIONS)  # softmax too: a hidden layer may use any
OUTPUTS = [
    ("softmax", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
    ("sigmoid", "half_squared_error"),
    ("identity", "mean_squared_error"),
    ("softmax", "half_squared_error"),  # softmax without its loss
    ("tanh", "half_squared_error"),
    ("softplus", "half_squared_error"),  # an output activation without a kernel
    ("sigmoid", "cross_entropy"),  # a cross-entropy that does not fuse
]


def _data(n: int, n_in: int, n_out: int, loss: str, dtype: type, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_in)).astype(dtype)
    if loss == "cross_entropy":
        y = np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, n)]
    else:
        y = rng.random((n, n_out)).astype(dtype)
    return X, y


def _both(net, X, y, loss, reduction, *, weights=None, dropout=False, scale=1.0):
    """Forward and backward without and with buffers (the batch shorter than the buffers)."""
    results = []
    for buffers in (None, Buffers(net.layers, batch_size=X.shape[0] + 3)):
        rng = np.random.default_rng(11)
        A, caches = net.forward(X, training=dropout, rng=rng, buffers=buffers)
        A = A.copy()  # the buffer is the next pass's
        E, grads = net.backward(
            y,
            caches,
            get_loss(loss),
            reduction,
            sample_weight=weights,
            buffers=buffers,
            scale=scale,
        )
        results.append((A, E, {k: g.copy() for k, g in grads.items()}))
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("output", "loss"), OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_buffered_path_is_bit_identical_to_the_readable_one(hidden, output, loss, dtype):
    net = Network.from_sizes([6, 9, 7, 3], [hidden, "tanh", output], random_state=1, dtype=dtype)
    X, y = _data(13, 6, 3, loss, dtype)
    for reduction in ("mean", "sum"):
        (A, E, grads), (A_b, E_b, grads_b) = _both(net, X, y, loss, reduction)
        np.testing.assert_array_equal(A_b, A)
        assert float(E_b) == float(E)
        for name, g in grads.items():
            assert grads_b[name].dtype == dtype
            np.testing.assert_array_equal(grads_b[name], g, err_msg=name)


@pytest.mark.parametrize(("output", "loss"), OUTPUTS[:4])
def test_sample_weights_dropout_and_scale_take_the_same_arithmetic(output, loss):
    net = Network.from_sizes([6, 9, 7, 3], ["relu", "sigmoid", output], random_state=2, dropout=0.3)
    X, y = _data(17, 6, 3, loss, np.float64, seed=3)
    weights = np.random.default_rng(4).random(17)
    (A, E, grads), (A_b, E_b, grads_b) = _both(
        net, X, y, loss, "mean", weights=weights, dropout=True, scale=0.3
    )
    np.testing.assert_array_equal(A_b, A)
    assert float(E_b) == float(E)
    for name, g in grads.items():
        np.testing.assert_array_equal(grads_b[name], g, err_msg=name)


def test_scale_gives_the_gradients_of_the_scaled_loss():
    net = Network.from_sizes([6, 9, 3], ["relu", "softmax"], random_state=5)
    X, y = _data(8, 6, 3, "cross_entropy", np.float64)
    _, caches = net.forward(X)
    E, grads = net.backward(y, caches, get_loss("ce"))
    E_s, scaled = net.backward(y, caches, get_loss("ce"), scale=0.25)
    assert float(E_s) == float(E)  # the loss itself is not scaled
    for name, g in grads.items():
        np.testing.assert_allclose(scaled[name], 0.25 * g, rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(cls.name for cls, _ in KERNELS))
def test_activation_kernels_equal_the_readable_activations_at_the_extremes(name, dtype):
    activation = get_activation(name)
    kernel = kernel_for(activation, np.zeros(1))
    z = [-np.inf, -1e4, -745.0, -88.7, -1.0, -0.0, 0.0, 1e-30, 1.13, 40.0, 1e4, np.inf]
    Z = np.stack([z, np.negative(z), np.linspace(-3, 3, len(z))]).astype(dtype)
    if name == "softmax":
        Z = Z[1:] if dtype == np.float64 else Z[2:]  # rows that softmax keeps finite
    dA = np.random.default_rng(6).standard_normal(Z.shape).astype(dtype)
    mask, tmp, cols = np.empty(Z.shape, bool), np.empty_like(Z), np.empty((len(Z), 3), dtype)
    A = np.empty_like(Z)
    with np.errstate(all="ignore"):  # float32 overflows on the way, in both
        expected = activation.value(Z)
        kernel.forward(Z, A, mask, tmp, cols)
        np.testing.assert_array_equal(A, expected)
        in_place = Z.copy()
        kernel.forward(in_place, in_place, mask, tmp, cols)  # A overwriting Z
        np.testing.assert_array_equal(in_place, expected)
        dZ = dA.copy()
        kernel.backprop(dZ, A, mask, tmp, cols)
        np.testing.assert_array_equal(dZ, activation.backprop(dA, Z, expected))


def test_kernels_are_looked_up_by_class_and_array_library():
    strict = pytest.importorskip("array_api_strict")
    assert (
        kernel_for(get_activation("relu"), np.zeros(1))
        is KERNELS[(type(get_activation("relu")), "numpy")]
    )
    assert kernel_for(get_activation("softplus"), np.zeros(1)) is None  # readable fallback
    assert kernel_for(get_activation("relu"), strict.asarray([0.0])) is None
    ce, softmax = get_loss("ce"), get_activation("softmax")
    assert loss_kernel_for(ce, softmax, np.zeros(1)) in LOSS_KERNELS.values()
    assert loss_kernel_for(ce, get_activation("sigmoid"), np.zeros(1)) is None
    assert loss_kernel_for(get_loss("ce").__class__(from_logits=True), softmax, np.zeros(1)) is None


def test_gradients_are_views_of_one_flat_buffer_in_the_order_of_params():
    net = Network.from_sizes([4, 5, 3], ["relu", "softmax"], random_state=0)
    buffers = Buffers(net.layers, batch_size=8)
    assert list(buffers.grads) == list(net.params)
    assert all(g.base is buffers.flat for g in buffers.grads.values())
    assert buffers.flat.size == sum(p.size for p in net.params.values())
    X, y = _data(8, 4, 3, "cross_entropy", np.float64)
    _, caches = net.forward(X, buffers=buffers)
    _, grads = net.backward(y, caches, get_loss("ce"), buffers=buffers)
    assert all(grads[k] is buffers.grads[k] for k in grads)


def test_bad_buffers_are_refused():
    net = Network.from_sizes([4, 5, 3], ["relu", "softmax"], random_state=0)
    X, _ = _data(9, 4, 3, "cross_entropy", np.float64)
    with pytest.raises(ValueError, match="a batch must have 1 to 8 rows, got 9"):
        net.forward(X, buffers=Buffers(net.layers, batch_size=8))
    with pytest.raises(ValueError, match="a tracer keeps every array"):
        net.forward(X, Trace(), buffers=Buffers(net.layers, batch_size=9))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        Buffers(net.layers, batch_size=0)
    torch = pytest.importorskip("torch")
    layer = Dense(torch.ones(2, 2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64))
    with pytest.raises(TypeError, match="buffers are NumPy arrays"):
        Buffers([layer], batch_size=4)


def test_network_backward_runs_each_layers_backward_pieces(monkeypatch):
    calls = []
    affine, activation = Dense.backward_affine, Dense.backward_activation

    def spy_affine(self, *args, **kwargs):
        calls.append(("affine", self.n_out))
        return affine(self, *args, **kwargs)

    def spy_activation(self, *args, **kwargs):
        calls.append(("activation", self.n_out))
        return activation(self, *args, **kwargs)

    monkeypatch.setattr(Dense, "backward_affine", spy_affine)
    monkeypatch.setattr(Dense, "backward_activation", spy_activation)
    net = Network.from_sizes([4, 5, 6, 3], ["relu", "tanh", "softmax"], random_state=0)
    X, y = _data(8, 4, 3, "cross_entropy", np.float64)
    _, caches = net.forward(X)
    net.backward(y, caches, get_loss("ce"))
    assert calls == [
        ("affine", 3),
        ("activation", 6),
        ("affine", 6),
        ("activation", 5),
        ("affine", 5),
    ]


def test_dense_backward_is_the_networks_backward_for_one_layer():
    net = Network.from_sizes([4, 5], ["sigmoid"], random_state=0)
    X, y = _data(6, 4, 5, "half_squared_error", np.float64)
    _, caches = net.forward(X)
    _, grads = net.backward(y, caches, get_loss("half_squared_error"), "sum")
    dA = caches[0].A - y  # dE/dA of the summed half squared error
    _, layer_grads, _ = net.layers[0].backward(dA, caches[0])
    np.testing.assert_array_equal(layer_grads["W"], grads["W1"])
    np.testing.assert_array_equal(layer_grads["b"], grads["b1"])


def test_train_step_updates_through_sgd(monkeypatch):
    descended = []
    original = SGD.descend

    def spy(self, params, steps, state):
        descended.append(sorted(params))
        return original(self, params, steps, state)

    monkeypatch.setattr(SGD, "descend", spy)
    seed = seed_example()
    seed.network.freeze("b1")
    train_step(seed.network, seed.x, seed.y, lr=seed.lr)
    assert descended == [["W1", "W2", "b2"]]  # the trainable ones, through SGD's update


def test_the_old_backward_from_dz_warns_and_gives_backward_affines_results():
    net = Network.from_sizes([4, 5], ["tanh"], random_state=0)
    X, _ = _data(6, 4, 5, "half_squared_error", np.float64)
    _, caches = net.forward(X)
    dZ = np.random.default_rng(1).standard_normal((6, 5))
    dA_prev, dW, db = net.layers[0].backward_affine(dZ, caches[0])
    with pytest.warns(DeprecationWarning, match="backward_affine"):
        old_dA_prev, grads = net.layers[0].backward_from_dZ(dZ, caches[0])
    np.testing.assert_array_equal(old_dA_prev, dA_prev)
    np.testing.assert_array_equal(grads["W"], dW)
    np.testing.assert_array_equal(grads["b"], db)
