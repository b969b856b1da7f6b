"""Divergence guards: a NaN or infinity stops training with a message that says where."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule import DivergenceError, Network, check_params_finite, check_step_finite
from chainrule.training.guard import quiet_overflow

SEED_W = [[[0.15, 0.2], [0.24, 0.3]], [[-0.4], [0.5]]]
SEED_B = [[1, 1], [1]]
X, Y = [0.5, 0.1], 0.9  # the seed notebook's instance


def _grads() -> dict[str, np.ndarray]:
    return {"W1": np.zeros((2, 2)), "b1": np.zeros(2), "W2": np.zeros((2, 1)), "b2": np.zeros(1)}


def test_error_type_is_a_floating_point_error():
    assert issubclass(DivergenceError, FloatingPointError)
    assert issubclass(DivergenceError, ArithmeticError)


def test_finite_step_passes():
    check_step_finite(0.5, _grads(), epoch=0, batch=0)
    check_params_finite(_grads(), epoch=0, batch=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_bad_loss_is_named(bad):
    with pytest.raises(DivergenceError, match=r"epoch 2, batch 5: the loss is") as info:
        check_step_finite(np.float64(bad), _grads(), epoch=2, batch=5)
    error = info.value
    assert (error.epoch, error.batch, error.quantity) == (2, 5, "loss")
    assert error.parameter is None and error.layer is None


def test_bad_gradient_names_layer_parameter_and_index():
    grads = _grads()
    grads["W2"][1, 0] = np.inf
    grads["b2"][0] = np.nan
    with pytest.raises(DivergenceError) as info:
        check_step_finite(np.inf, grads, epoch=1, batch=3)
    error = info.value
    assert (error.epoch, error.batch, error.layer, error.parameter) == (1, 3, 2, "W2")
    message = str(error)
    assert "epoch 1, batch 3" in message and "dE/dW2 of layer 2" in message
    assert "infinity at index (1, 0)" in message
    assert "also non-finite: b2" in message and "the loss is inf" in message


def test_bad_parameter_is_named():
    params = _grads()
    params["b1"][1] = np.nan
    with pytest.raises(DivergenceError, match="the parameter b1 of layer 1 holds NaN") as info:
        check_params_finite(params, epoch=0, batch=9)
    assert (info.value.quantity, info.value.layer) == ("parameter", 1)


def _train(net: Network, steps: int, lr: float) -> tuple[list[float], Network]:
    """A minimal loop as the fit loop runs it: check the step, update, check the update.

    Returns the losses so far and the last finite network; a divergence propagates.
    """
    history: list[float] = []
    last_finite = net.copy()
    for step in range(steps):
        with quiet_overflow():  # the guard, not a warning, reports the overflow
            E, grads = net.loss_and_grads(X, Y)
        check_step_finite(E, grads, epoch=step, batch=0)
        history.append(E)
        last_finite = net.copy()
        with quiet_overflow():
            chainrule.train_step(net, X, Y, lr=lr)
        try:
            check_params_finite(net.params, epoch=step, batch=0)
        except DivergenceError:
            net.set_params(last_finite.params)
            raise
    return history, last_finite


def test_seed_network_at_lr_1e3_saturates_but_stays_finite():
    # Sigmoid outputs saturate, so the seed's network does not diverge: no false alarm.
    net = chainrule.seed_example().network
    history, _ = _train(net, 50, lr=1e3)
    assert len(history) == 50
    assert all(np.isfinite(history))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_seed_network_at_lr_1e3_diverges_and_is_stopped(dtype):
    # The seed's weights without the sigmoid: each step multiplies the error ~1e3-fold.
    net = Network.from_weights(SEED_W, SEED_B, "identity", dtype=dtype)
    with pytest.raises(DivergenceError) as info:
        _train(net, 100, lr=1e3)
    error = info.value
    assert error.epoch is not None and 1 <= error.epoch < 100
    assert error.batch == 0
    if error.quantity != "loss":
        assert error.parameter in net.params
        assert error.layer == int(error.parameter[1:])
    # The model is left at finite weights, the last ones before the bad step.
    for value in net.params.values():
        assert np.isfinite(value).all()
