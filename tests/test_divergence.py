"""Divergence in fit: NaN or infinity stops training at once, or the batch is skipped.

The learning rate of 1e3 makes plain gradient descent on a linear model blow up: each
step multiplies the error by about ``1 - lr * |x|**2``, so the loss overflows within a
few dozen steps, in float32 and in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import DivergenceError, History, Network, fit
from chainrule.optimizers import SGD


def _linear_data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([[1.0], [-2.0], [0.5]])


def _linear(dtype="float64", hidden=False) -> Network:
    if hidden:
        return Network.from_sizes([3, 4, 1], ["relu", "identity"], random_state=0, dtype=dtype)
    return Network.from_sizes([3, 1], "identity", random_state=0, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", [False, True])
def test_lr_1e3_stops_at_once_with_the_last_finite_weights(dtype, hidden):
    X, y = _linear_data()
    net = _linear(dtype, hidden)
    start = net.copy()
    settings = {"loss": "mse", "optimizer": SGD(lr=1e3), "batch_size": None, "shuffle": False}
    with pytest.raises(DivergenceError) as info:
        fit(net, X, y, epochs=500, **settings)
    error = info.value
    # Full batch: one update per epoch, so the bad batch is batch 0 of some epoch.
    assert error.batch == 0 and error.epoch is not None and 1 <= error.epoch < 500
    assert f"epoch {error.epoch}, batch 0" in str(error)
    if error.quantity == "gradient":
        assert error.parameter in net.params and error.layer == int(error.parameter[1:])
        assert f"dE/d{error.parameter}" in str(error)
    else:
        assert error.quantity in ("loss", "parameter")
    # The history is kept: every epoch before the bad one, and why it ended.
    history = error.history
    assert isinstance(history, History) and history.stop_reason == "diverged"
    assert history.epochs == error.epoch == len(history["loss"])
    assert error.network is net
    # The model holds exactly the weights of the last finite step: the same fit,
    # stopped one epoch earlier, reaches them.
    for value in net.params.values():
        assert np.isfinite(value).all()
    if error.epoch:
        fit(start, X, y, epochs=error.epoch, **settings)
        for name, value in net.params.items():
            assert value.tobytes() == start.params[name].tobytes()


def test_skip_leaves_out_exactly_the_bad_batches():
    """One row overflows float32 in the forward pass; skipping its batch equals dropping it."""
    X, y = _linear_data(12)
    X, y = X.astype(np.float32), y.astype(np.float32)
    X_bad = X.copy()
    X_bad[5] = 3e38  # finite, but the sum X @ W overflows
    a, b = _linear("float32"), _linear("float32")
    settings = {"loss": "mse", "optimizer": "adam", "epochs": 4, "batch_size": 1, "shuffle": False}
    history = fit(a, X_bad, y, on_nonfinite="skip", **settings)
    assert history.skipped_batches == [(epoch, 5) for epoch in range(4)]
    expected = fit(b, np.delete(X, 5, axis=0), np.delete(y, 5, axis=0), **settings)
    for name, value in a.params.items():
        assert value.tobytes() == b.params[name].tobytes()
    assert history["loss"] == expected["loss"]
    with pytest.raises(DivergenceError, match="epoch 0, batch 5"):
        fit(_linear("float32"), X_bad, y, **settings)


def test_an_epoch_with_every_batch_skipped_raises():
    X, y = _linear_data(4)
    X = np.full_like(X, 3e38).astype(np.float32)
    with pytest.raises(DivergenceError, match="every batch was skipped") as info:
        fit(_linear("float32"), X, y, loss="mse", epochs=3, batch_size=2, on_nonfinite="skip")
    assert info.value.history.skipped_batches == [(0, 0), (0, 1)]


def test_an_update_that_overflows_the_parameters_is_undone():
    """Finite gradients, but lr * gradient overflows float32: the update is taken back."""
    X, y = _linear_data()
    net = _linear("float32")
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(DivergenceError) as info:
        fit(net, X, y, loss="mse", optimizer=SGD(lr=3e38), epochs=3, batch_size=None)
    assert info.value.quantity == "parameter" and (info.value.epoch, info.value.batch) == (0, 0)
    for name, value in net.params.items():
        assert value.tobytes() == before[name].tobytes()


def test_on_nonfinite_must_be_known():
    X, y = _linear_data()
    with pytest.raises(ValueError, match="on_nonfinite must be one of"):
        fit(_linear(), X, y, loss="mse", on_nonfinite="ignore")


def test_no_warning_escapes_and_error_state_is_restored():
    # pytest turns warnings into errors here: an overflow warning would fail the test.
    X, y = _linear_data()
    before = np.geterr()
    with pytest.raises(DivergenceError):
        fit(_linear(), X, y, loss="mse", optimizer=SGD(lr=1e3), epochs=500, batch_size=4)
    assert np.geterr() == before


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_estimators_at_lr_1e3(kind):
    pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
    from chainrule import MLPClassifier, MLPRegressor

    X, y = _linear_data(40)
    if kind == "regressor":
        est = MLPRegressor((4,), activation="identity", solver="sgd", momentum=0.0)
        target = y[:, 0] * 1e3
    else:  # the logits grow without bound; the softmax loss overflows
        est = MLPClassifier((4,), activation="identity", solver="sgd", momentum=0.0)
        target = (y[:, 0] > 0).astype(int) + (y[:, 0] > 1)
    est.set_params(learning_rate_init=1e3, max_iter=300, random_state=0, n_iter_no_change=300)
    with pytest.raises(DivergenceError) as info:
        est.fit(X, target)
    assert info.value.history.stop_reason == "diverged"
    assert info.value.history.epochs == info.value.epoch
    assert not hasattr(est, "network_")  # a failed fit leaves the estimator as it was
    for value in info.value.network.params.values():
        assert np.isfinite(value).all()


def test_estimator_skips_the_bad_batches():
    pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
    from chainrule import MLPRegressor

    X, y = _linear_data(12)
    X = X.astype(np.float32)
    X[5] = 3e38  # finite, but its forward pass overflows float32
    est = MLPRegressor((4,), activation="identity", batch_size=1, shuffle=False, max_iter=3)
    est.set_params(dtype="float32", random_state=0, n_iter_no_change=10)
    est.fit(X, y[:, 0], on_nonfinite="skip")
    assert est.history_.skipped_batches == [(0, 5), (1, 5), (2, 5)]
    assert all(np.isfinite(c).all() for c in est.coefs_)
