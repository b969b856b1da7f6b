"""Losses: values and gradients against PyTorch and central differences; reductions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule.losses import BinaryCrossEntropy, CrossEntropy

from .conftest import targets_for


def torch_loss(name: str, y: torch.Tensor, yhat: torch.Tensor, reduction: str) -> torch.Tensor:
    """Each loss written with PyTorch's own functions, per instance, then reduced."""
    if name == "half_squared_error":
        e = 0.5 * F.mse_loss(yhat, y, reduction="none").sum(dim=1)
    elif name == "mean_squared_error":
        e = F.mse_loss(yhat, y, reduction="none").mean(dim=1)
    elif name == "binary_cross_entropy":
        e = F.binary_cross_entropy(yhat, y, reduction="none").sum(dim=1)
    elif name == "half_poisson_deviance":  # PyTorch's exp(yhat) - y yhat, plus y log y - y
        nll = F.poisson_nll_loss(yhat, y, log_input=True, full=False, reduction="none")
        e = (nll + torch.xlogy(y, y) - y).sum(dim=1)
    else:
        e = -(y * torch.log(yhat)).sum(dim=1)
    return e.mean() if reduction == "mean" else e.sum()


def predictions(name: str, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    if name in ("half_squared_error", "mean_squared_error"):
        return rng.normal(0, 1, (n, k))
    if name == "binary_cross_entropy":
        return rng.uniform(0.05, 0.95, (n, k))
    p = rng.uniform(0.1, 1, (n, k))
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("name", sorted(cr.LOSSES))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_value_and_gradient_match_pytorch(name, reduction, rng):
    loss = cr.get_loss(name)
    y, yhat = targets_for(name, rng, 6, 3), predictions(name, rng, 6, 3)
    yt, yhat_t = torch.tensor(y), torch.tensor(yhat, requires_grad=True)
    expected = torch_loss(name, yt, yhat_t, reduction)
    expected.backward()
    assert abs(float(loss.value(y, yhat, reduction)) - expected.item()) <= 1e-12 * abs(
        expected.item()
    )
    np.testing.assert_allclose(
        loss.gradient(y, yhat, reduction), yhat_t.grad.numpy(), rtol=1e-10, atol=1e-14
    )


@pytest.mark.parametrize("cls", [BinaryCrossEntropy, CrossEntropy])
def test_from_logits_matches_pytorch(cls, rng):
    Z = rng.normal(0, 3, (5, 4))
    y = targets_for(cls.name, rng, 5, 4)
    Zt = torch.tensor(Z, requires_grad=True)
    if cls is BinaryCrossEntropy:
        expected = F.binary_cross_entropy_with_logits(Zt, torch.tensor(y), reduction="sum") / 5
    else:
        expected = F.cross_entropy(Zt, torch.tensor(y))
    expected.backward()
    loss = cls(from_logits=True)
    assert float(loss.value(y, Z)) == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(loss.gradient(y, Z), Zt.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cls", [BinaryCrossEntropy, CrossEntropy])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_from_logits_is_finite_at_extremes(cls, dtype):
    Z = np.array([[-1e4, 1e4, 0.0], [1e4, -1e4, 3.0]], dtype=dtype)
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    loss = cls(from_logits=True)
    value, grad = loss.value(y, Z), loss.gradient(y, Z)
    assert np.isfinite(value) and np.isfinite(grad).all() and grad.dtype == dtype


def test_one_instance_mean_equals_sum():
    loss = cr.get_loss("half_squared_error")
    y, yhat = np.array([[0.9]]), np.array([[0.746095]])
    assert loss.value(y, yhat, "mean") == loss.value(y, yhat, "sum")


def test_half_squared_error_by_hand():
    # E = 1/2 ((1 - 0)^2 + (2 - 4)^2) = 2.5 for one instance; the mean over two is 1.25.
    loss = cr.get_loss("half_squared_error")
    y, yhat = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 4.0], [0.0, 0.0]])
    assert loss.per_instance(y, yhat).tolist() == [2.5, 0.0]
    assert float(loss.value(y, yhat)) == 1.25
    assert float(loss.value(y, yhat, "sum")) == 2.5


def test_shape_mismatch_is_an_error():
    loss = cr.get_loss("mse")
    with pytest.raises(ValueError, match=r"y has shape \(2, 1\) but .* yhat has shape \(1, 2\)"):
        loss.value(np.zeros((2, 1)), np.zeros((1, 2)))


def test_unknown_loss_and_reduction():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; known: binary_cross_entropy"):
        cr.get_loss("hinge")
    with pytest.raises(ValueError, match="reduction must be one of"):
        cr.get_loss("mse").value(np.zeros((1, 1)), np.zeros((1, 1)), "median")
