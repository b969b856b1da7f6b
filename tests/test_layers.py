"""Dense layers with dropout: inverted scaling, off at inference, gradient-checked."""

import numpy as np
import pytest

from chainrule import Dense, Network, check_gradients


def test_dropout_is_off_at_inference():
    net = Network.from_sizes([4, 50, 3], ["relu", "softmax"], random_state=0, dropout=0.5)
    X = np.random.default_rng(1).normal(size=(6, 4))
    plain = Network.from_sizes([4, 50, 3], ["relu", "softmax"], random_state=0)
    np.testing.assert_array_equal(net.predict(X), plain.predict(X))
    _A, caches = net.forward(X)
    assert all(cache.mask is None for cache in caches)


def test_inverted_dropout_keeps_the_expected_value():
    layer = Dense(np.eye(1), np.zeros(1), "identity", dropout=0.25)
    X = np.ones((200_000, 1))
    A, cache = layer.forward(X, training=True, rng=np.random.default_rng(0))
    kept = cache.mask != 0
    # survivors are scaled by 1 / (1 - p); about 75 % survive; the mean stays about 1
    np.testing.assert_allclose(A[kept], 1 / 0.75)
    assert kept.mean() == pytest.approx(0.75, abs=0.005)
    assert A.mean() == pytest.approx(1.0, abs=0.01)


def test_same_seed_same_mask():
    net = Network.from_sizes([3, 8, 1], ["tanh", "sigmoid"], random_state=0, dropout=0.3)
    X = np.ones((4, 3))
    a, _ = net.forward(X, training=True, rng=np.random.default_rng(5))
    b, _ = net.forward(X, training=True, rng=np.random.default_rng(5))
    c, _ = net.forward(X, training=True, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("loss", ["half_squared_error", "cross_entropy"])
def test_dropout_gradient_check_with_a_fixed_mask(loss):
    act = "sigmoid" if loss == "half_squared_error" else "softmax"
    net = Network.from_sizes([3, 6, 5, 2], ["tanh", "relu", act], random_state=3, dropout=0.4)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(7, 3))
    y = np.eye(2)[rng.integers(0, 2, size=7)]
    report = check_gradients(net, loss, X, y, dropout_seed=11)
    assert report.passed(1e-7), str(report)
    # the mask matters: the gradient differs from the one without dropout
    plain = check_gradients(net, loss, X, y)
    assert not np.allclose(report.results["W1"].analytic, plain.results["W1"].analytic)


def test_dropout_layer_backward_uses_the_mask():
    layer = Dense(np.array([[1.0, -1.0]]), np.zeros(2), "sigmoid", dropout=0.5)
    A, cache = layer.forward(np.array([[0.3]]), training=True, rng=np.random.default_rng(0))
    _dA_prev, _grads, dZ = layer.backward(np.ones_like(A), cache)
    s = 1 / (1 + np.exp(-np.array([0.3, -0.3])))
    np.testing.assert_allclose(dZ[0], cache.mask[0] * s * (1 - s))


def test_float32_dropout_stays_float32():
    net = Network.from_sizes([3, 8, 1], "tanh", random_state=0, dtype=np.float32, dropout=0.2)
    A, caches = net.forward(
        np.ones((2, 3), np.float32), training=True, rng=np.random.default_rng(0)
    )
    assert A.dtype == np.float32 and caches[0].mask.dtype == np.float32


@pytest.mark.parametrize("rate", [-0.1, 1.0, "0.5", True])
def test_bad_dropout_rates(rate):
    with pytest.raises((ValueError, TypeError), match="dropout"):
        Network.from_sizes([2, 3, 1], random_state=0, dropout=rate)


def test_output_layer_cannot_drop_out_and_rng_is_needed():
    with pytest.raises(ValueError, match="output layer"):
        Network([Dense(np.ones((2, 1)), np.zeros(1), dropout=0.5)])
    with pytest.raises(ValueError, match="one rate per hidden layer"):
        Network.from_sizes([2, 3, 1], random_state=0, dropout=[0.1, 0.2])
    net = Network.from_sizes([2, 3, 1], random_state=0, dropout=0.5)
    with pytest.raises(ValueError, match="rng"):
        net.forward(np.ones((1, 2)), training=True)


def test_copy_and_astype_keep_dropout():
    net = Network.from_sizes([2, 3, 1], random_state=0, dropout=0.5)
    assert net.copy().layers[0].dropout == 0.5
    assert net.astype(np.float32).layers[0].dropout == 0.5
    assert "dropout=[0.5]" in repr(net)
