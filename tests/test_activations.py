"""Activations: derivatives against central differences and PyTorch, and stability."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.activations import LeakyReLU

from .conftest import ACTIVATION_NAMES

TORCH = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
    # A huge threshold: PyTorch's default switches to z itself above 20.
    "softplus": lambda z: torch.nn.functional.softplus(z, threshold=1000.0),
    "identity": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=-1),
}


def points(rng: np.random.Generator) -> np.ndarray:
    Z = rng.normal(0, 2, (5, 4))
    return np.where(np.abs(Z) < 1e-3, 0.5, Z)  # off ReLU's kink


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_backprop_matches_central_differences(name, rng):
    act = cr.get_activation(name)
    Z = points(rng)
    dA = rng.normal(size=Z.shape)
    A = act.value(Z)
    analytic = act.backprop(dA, Z, A)
    eps = 1e-6
    numeric = np.zeros_like(Z)
    for index in np.ndindex(Z.shape):
        plus, minus = Z.copy(), Z.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = np.sum(dA * (act.value(plus) - act.value(minus))) / (2 * eps)
    error = np.linalg.norm(analytic - numeric) / (
        np.linalg.norm(analytic) + np.linalg.norm(numeric)
    )
    assert error < 1e-7


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_value_and_backprop_match_pytorch(name, rng):
    act = cr.get_activation(name)
    Z = points(rng)
    dA = rng.normal(size=Z.shape)
    Zt = torch.tensor(Z, requires_grad=True)
    At = TORCH[name](Zt)
    At.backward(torch.tensor(dA))
    A = act.value(Z)
    np.testing.assert_allclose(A, At.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(act.backprop(dA, Z, A), Zt.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_derivative_matches_pytorch_jacobian(name, rng):
    act = cr.get_activation(name)
    z = points(rng)[0]
    jacobian = torch.autograd.functional.jacobian(TORCH[name], torch.tensor(z)).numpy()
    derivative = act.derivative(z[None, :])[0]
    if act.elementwise:
        np.testing.assert_allclose(np.diag(jacobian), derivative, rtol=1e-10, atol=1e-14)
    else:
        np.testing.assert_allclose(jacobian, derivative, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_at_extremes(name, dtype):
    # pytest turns every warning into an error, so an overflow here fails the test.
    act = cr.get_activation(name)
    Z = np.array([[-1e4, -1e3, -50.0, 0.0, 50.0, 1e3, 1e4]], dtype=dtype)
    A = act.value(Z)
    dZ = act.backprop(np.ones_like(Z), Z, A)
    assert A.dtype == dtype and dZ.dtype == dtype
    assert np.isfinite(A).all() and np.isfinite(dZ).all()


def test_sigmoid_limits_are_exact():
    A = cr.get_activation("sigmoid").value(np.array([-1e4, 0.0, 1e4]))
    assert A.tolist() == [0.0, 0.5, 1.0]


def test_every_activation_states_its_formula():
    for name in ACTIVATION_NAMES:
        act = cr.get_activation(name)
        assert act.name == name
        assert "f(z)" in act.formula and "f(z)" in act.latex


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown activation 'sigmod'; known: identity, leaky"):
        cr.get_activation("sigmod")
    with pytest.raises(TypeError, match="activation must be a name"):
        cr.get_activation(3)


def test_leaky_relu_slope_is_a_setting():
    act = LeakyReLU(0.2)
    np.testing.assert_allclose(act.value(np.array([-1.0, 2.0])), [-0.2, 2.0])
    with pytest.raises(ValueError, match="alpha"):
        LeakyReLU(-1)
