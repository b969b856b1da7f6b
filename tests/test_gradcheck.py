"""Gradient checking: every activation x loss combination, and a planted bug caught."""

from __future__ import annotations

from itertools import pairwise

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


def random_case(rng, hidden, output, loss):
    """A random small network and batch, from gentle to saturated (weight scale up to 3,
    inputs up to 5): where gradients get small and the loss's round-off large."""
    k = int(rng.integers(2 if output == "softmax" else 1, 11))
    n_hidden = int(rng.integers(1, 3))
    sizes = [int(rng.integers(1, 6)), *(int(rng.integers(1, 7)) for _ in range(n_hidden)), k]
    scale = float(rng.choice([0.3, 1.0, 3.0]))
    weights = [rng.normal(0, scale, (a, b)) for a, b in pairwise(sizes)]
    biases = [rng.normal(0, scale, b) for b in sizes[1:]]
    net = cr.Network.from_weights(weights, biases, [hidden] * n_hidden + [output])
    n = int(rng.integers(1, 9))
    X = rng.normal(0, float(rng.choice([1.0, 5.0])), (n, sizes[0]))
    y = targets_for(cr.get_loss(loss).name, rng, n, k)
    return net, X, y


def test_no_false_alarm_over_hundreds_of_random_networks():
    rng = np.random.default_rng(2024)
    cases = [(h, o, loss) for h in ACTIVATION_NAMES for o, loss in OUTPUTS] * 3  # 336
    relative_alone_fails = 0
    for hidden, output, loss in cases:
        net, X, y = random_case(rng, hidden, output, loss)
        reduction = "sum" if rng.random() < 0.3 else "mean"
        report = cr.check_gradients(net, loss, X, y, reduction=reduction)
        assert report.passed(), f"{hidden}-{output}-{loss_name(loss)}\n{report}"
        relative_alone_fails += report.max_relative_error >= 1e-7
    # The cases where the relative error alone (the old rule) raised a false alarm.
    assert relative_alone_fails >= 20


@pytest.mark.parametrize("seed", [45, 61, 95, 176])
def test_small_gradients_of_a_cross_entropy_network_pass(seed):
    # The reported case: cross-entropy about 2-3, a parameter's gradient of norm 1e-4 to
    # 1e-2, relative error above 1e-7 from the differences' round-off alone, while the
    # analytic gradient equals PyTorch autograd's.
    torch = pytest.importorskip("torch", reason="the independent gradient")
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 8, (4, 6)), rng.normal(0, 0.3, (6, 10))]
    biases = [rng.normal(0, 8, 6), rng.normal(0, 0.3, 10)]
    net = cr.Network.from_weights(weights, biases, ["sigmoid", "softmax"])
    X, Y = rng.normal(0, 2, (8, 4)), np.eye(10)[rng.integers(0, 10, 8)]
    report = cr.check_gradients(net, "cross_entropy", X, Y)
    assert 2 < float(net.loss(X, Y, "cross_entropy")) < 3
    assert report.max_relative_error > 1e-7  # a false alarm by the relative error alone
    assert report.passed(), str(report)
    module = cr.to_torch(net)
    logits = module[:-1](torch.tensor(X))  # the softmax's input: log_softmax is exact
    (-(torch.tensor(Y) * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()).backward()
    W1 = report.results["W1"].analytic
    assert 1e-4 < np.linalg.norm(W1) < 1e-2
    np.testing.assert_allclose(W1, module[0].weight.grad.numpy().T, rtol=1e-9, atol=1e-17)


class PlantedError(cr.Activation):
    """A planted bug: the activation's derivative (its backprop) is off by 1 %."""

    name = "planted"

    def __init__(self, inner):
        self.inner = inner

    def value(self, Z):
        return self.inner.value(Z)

    def backprop(self, dA, Z, A):
        return 1.01 * self.inner.backprop(dA, Z, A)


@pytest.mark.parametrize("hidden", ACTIVATION_NAMES)
def test_a_planted_one_percent_error_is_still_caught(hidden):
    rng = np.random.default_rng(11)
    caught = 0
    for output, loss in OUTPUTS:
        good = random_network(rng, [3, 5, 4, 3], hidden, output, scale=0.8)
        layers = good.layers
        bad = cr.Network([cr.Dense(layers[0].W, layers[0].b, PlantedError(layers[0].activation)),
                          *layers[1:]])  # fmt: skip
        X = rng.normal(size=(6, 3))
        y = targets_for(cr.get_loss(loss).name, rng, 6, 3)
        assert cr.check_gradients(good, loss, X, y).passed()
        caught += not cr.check_gradients(bad, loss, X, y).passed()
    assert caught == len(OUTPUTS)


def test_the_report_shows_relative_and_absolute_error_and_round_off():
    seed = cr.seed_example()
    report = cr.check_gradients(seed.network, "half_squared_error", seed.x, seed.y)
    header = str(report).splitlines()[0].split()
    assert header[:1] == ["parameter"] and "relative" in header and "round-off" in header
    for r in report.results.values():
        assert 0 < r.roundoff < 1e-7  # float64 differences of a loss of 0.01 at step 1e-6
        assert r.error_ratio() <= 1
    with pytest.raises(ValueError, match="tol must be a positive finite number, got 0"):
        report.passed(0)
