"""Gradient checking: every activation x loss combination, and a planted bug caught."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.activations import Sigmoid
from chainrule.losses import BinaryCrossEntropy, CrossEntropy, HalfSquaredError

from .conftest import ACTIVATION_NAMES, random_network, targets_for

# (output activation, loss) pairs that make sense: squared errors after any output;
# the cross-entropies after an output in (0, 1) and, from logits, after identity.
OUTPUTS = (
    [(act, "half_squared_error") for act in ACTIVATION_NAMES]
    + [(act, "mean_squared_error") for act in ACTIVATION_NAMES]
    + [("sigmoid", "binary_cross_entropy"), ("softmax", "binary_cross_entropy")]
    + [("softmax", "cross_entropy"), ("sigmoid", "cross_entropy")]
    + [("identity", BinaryCrossEntropy(from_logits=True))]
    + [("identity", CrossEntropy(from_logits=True))]
)


def loss_name(loss) -> str:
    return loss if isinstance(loss, str) else f"{loss.name}-from-logits"


@pytest.mark.parametrize("hidden", ACTIVATION_NAMES)
@pytest.mark.parametrize(
    ("output", "loss"), OUTPUTS, ids=[f"{o}-{loss_name(x)}" for o, x in OUTPUTS]
)
def test_every_combination_below_1e7(hidden, output, loss):
    rng = np.random.default_rng(7)
    net = random_network(rng, [3, 4, 3, 2], hidden, output)
    X = rng.normal(size=(5, 3))
    y = targets_for(cr.get_loss(loss).name, rng, 5, 2)
    report = cr.check_gradients(net, loss, X, y)
    assert report.max_relative_error < 1e-7, str(report)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_reductions_and_one_instance(reduction):
    seed = cr.seed_example()
    assert cr.check_gradients(seed.network, "half_squared_error", seed.x, seed.y).passed()
    rng = np.random.default_rng(1)
    net = random_network(rng, [2, 3, 1], "tanh", "sigmoid")
    report = cr.check_gradients(
        net, "mse", rng.normal(size=(4, 2)), rng.normal(size=4), reduction=reduction
    )
    assert report.passed(), str(report)


class WrongSigmoid(Sigmoid):
    """A planted bug: the derivative is off by 1 %."""

    def derivative(self, Z, A=None):
        return 1.01 * super().derivative(Z, A)


class WrongHalfSquaredError(HalfSquaredError):
    """A planted bug: the gradient forgot the 1/2 cancels the square's 2."""

    def instance_gradient(self, y, yhat):
        return 2 * (yhat - y)


def test_a_wrong_activation_derivative_is_caught():
    rng = np.random.default_rng(3)
    good = random_network(rng, [2, 3, 1], "sigmoid", "identity")
    bad = cr.Network([cr.Dense(good.layers[0].W, good.layers[0].b, WrongSigmoid()), good.layers[1]])
    X, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    assert cr.check_gradients(good, "mse", X, y).passed()
    report = cr.check_gradients(bad, "mse", X, y)
    assert not report.passed()
    # Layer 1's derivative is wrong; layer 2's gradients don't depend on it.
    assert report.results["W1"].relative_error > 1e-3
    assert report.results["W2"].relative_error < 1e-7


def test_a_wrong_loss_gradient_is_caught():
    seed = cr.seed_example()
    report = cr.check_gradients(seed.network, WrongHalfSquaredError(), seed.x, seed.y)
    assert report.max_relative_error > 0.1


def test_check_leaves_the_network_unchanged_and_reports_per_parameter():
    seed = cr.seed_example()
    before = {k: v.copy() for k, v in seed.network.params.items()}
    report = cr.check_gradients(seed.network, "half_squared_error", seed.x, seed.y)
    for name, value in seed.network.params.items():
        assert np.array_equal(value, before[name])
    assert list(report.results) == ["W1", "b1", "W2", "b2"]
    assert "max abs error" in str(report)
    assert report.max_abs_error < 1e-9


def test_float32_networks_are_checked_in_float64():
    seed = cr.seed_example()
    net32 = seed.network.astype(np.float32)
    assert cr.check_gradients(net32, "half_squared_error", seed.x, seed.y).passed(1e-6)
