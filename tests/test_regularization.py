"""L2 penalty and gradient clipping: gradient checks and the clipping rule."""

import numpy as np
import pytest

from chainrule import Network, check_gradients, fit
from chainrule.regularization import (
    add_l2_gradient,
    clip_by_global_norm,
    global_norm,
    l2_penalty,
)


def _net_and_data():
    net = Network.from_sizes([3, 4, 2], ["tanh", "softmax"], random_state=1)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5, 3))
    y = np.eye(2)[rng.integers(0, 2, size=5)]
    return net, X, y


def test_l2_penalty_by_hand():
    params = {"W1": np.array([[1.0, 2.0]]), "b1": np.array([5.0]), "W2": np.array([[3.0]])}
    # 0.1 / 2 * (1 + 4 + 9); biases are not penalized
    assert l2_penalty(params, 0.1) == pytest.approx(0.7)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    add_l2_gradient(grads, params, 0.1)
    np.testing.assert_allclose(grads["W1"], [[0.1, 0.2]])
    np.testing.assert_array_equal(grads["b1"], [0.0])


def test_l2_gradient_check():
    net, X, y = _net_and_data()
    report = check_gradients(net, "cross_entropy", X, y, l2=0.3)
    assert report.passed(1e-7), str(report)
    # and the penalty does change the gradient (the check is not vacuous)
    plain = check_gradients(net, "cross_entropy", X, y)
    diff = report.results["W1"].analytic - plain.results["W1"].analytic
    np.testing.assert_allclose(diff, 0.3 * net.params["W1"], rtol=1e-10)


def test_l2_shrinks_weights_in_fit():
    net, X, y = _net_and_data()
    plain, decayed = net.copy(), net.copy()
    fit(plain, X, y, loss="ce", optimizer="sgd", epochs=20, random_state=0)
    fit(decayed, X, y, loss="ce", optimizer="sgd", epochs=20, random_state=0, l2=5.0)
    assert np.linalg.norm(decayed.params["W1"]) < np.linalg.norm(plain.params["W1"])


def test_clipping_scales_to_the_norm_and_keeps_direction():
    grads = {"W1": np.array([[3.0, 0.0]]), "b1": np.array([4.0])}
    before = {k: v.copy() for k, v in grads.items()}
    norm = clip_by_global_norm(grads, 2.5)
    assert norm == pytest.approx(5.0)
    assert global_norm(grads) == pytest.approx(2.5)
    np.testing.assert_allclose(grads["W1"], before["W1"] / 2)
    np.testing.assert_allclose(grads["b1"], before["b1"] / 2)


def test_clipping_leaves_small_gradients_alone():
    grads = {"W1": np.array([[0.3]]), "b1": np.array([0.4])}
    clip_by_global_norm(grads, 1.0)
    np.testing.assert_array_equal(grads["W1"], [[0.3]])


def test_clipped_fit_with_huge_rate_stays_finite():
    # plain SGD at lr = 0.01 on badly scaled data diverges; clipping keeps it finite
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 3)) * 100
    y = X @ np.array([1.0, -2.0, 0.5])
    net = Network.from_sizes([3, 1], "identity", random_state=0)
    with pytest.raises(FloatingPointError, match="clip_norm"):
        with np.errstate(all="ignore"):
            fit(net.copy(), X, y, loss="mse", optimizer="sgd", epochs=200, random_state=0)
    from chainrule.optimizers import SGD

    fit(net, X, y, loss="mse", optimizer=SGD(lr=0.001), epochs=50, clip_norm=1.0, random_state=0)
    assert np.isfinite(net.params["W1"]).all()


def test_bad_regularization_settings():
    net, X, y = _net_and_data()
    with pytest.raises(ValueError, match="l2"):
        fit(net, X, y, loss="ce", l2=-1.0)
    with pytest.raises(ValueError, match="clip_norm"):
        fit(net, X, y, loss="ce", clip_norm=0.0)
