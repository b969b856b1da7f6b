"""PyTorch parity: random networks, the same weights, loss and every gradient to 1e-10."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.losses import BinaryCrossEntropy, CrossEntropy

from .conftest import ACTIVATION_NAMES, random_network, targets_for
from .test_activations import TORCH
from .test_losses import torch_loss

# Each loss with the output activations it pairs with.
LOSS_OUTPUTS = {
    "half_squared_error": ["identity", "sigmoid", "tanh", "softplus", "relu"],
    "mean_squared_error": ["identity", "tanh", "leaky_relu", "softmax"],
    "binary_cross_entropy": ["sigmoid"],
    "cross_entropy": ["softmax"],
}


def torch_forward(net: cr.Network, X: np.ndarray):
    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    A = torch.tensor(X)
    for k, layer in enumerate(net.layers, start=1):
        A = TORCH[layer.activation.name](A @ params[f"W{k}"] + params[f"b{k}"])
    return A, params


def relative(a, b) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


CASES = [(h, loss) for h in ACTIVATION_NAMES for loss in LOSS_OUTPUTS]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("hidden", "loss"), CASES)
def test_random_network_matches_pytorch(hidden, loss, reduction):
    rng = np.random.default_rng(zlib.crc32(f"{hidden}-{loss}-{reduction}".encode()))
    depth = int(rng.integers(1, 5))
    sizes = [int(n) for n in rng.integers(2, 6, depth + 1)]
    output = LOSS_OUTPUTS[loss][int(rng.integers(len(LOSS_OUTPUTS[loss])))]
    net = random_network(rng, sizes, hidden, output)
    n = int(rng.integers(1, 7))
    X = rng.normal(size=(n, sizes[0]))
    y = targets_for(loss, rng, n, sizes[-1])

    E, grads = net.loss_and_grads(X, y, loss, reduction)
    A, params = torch_forward(net, X)
    expected = torch_loss(loss, torch.tensor(y), A, reduction)
    expected.backward()

    assert abs(E - expected.item()) <= 1e-10 * abs(expected.item())
    for name, tensor in params.items():
        assert relative(grads[name], tensor.grad.numpy()) < 1e-10, name


@pytest.mark.parametrize("cls", [BinaryCrossEntropy, CrossEntropy])
def test_from_logits_network_matches_pytorch(cls):
    rng = np.random.default_rng(11)
    net = random_network(rng, [3, 5, 4], "tanh", "identity")
    X = rng.normal(size=(6, 3))
    y = targets_for(cls.name, rng, 6, 4)
    E, grads = net.loss_and_grads(X, y, cls(from_logits=True))
    Z, params = torch_forward(net, X)
    yt = torch.tensor(y)
    if cls is BinaryCrossEntropy:
        expected = torch.nn.functional.binary_cross_entropy_with_logits(Z, yt, reduction="sum") / 6
    else:
        expected = torch.nn.functional.cross_entropy(Z, yt)
    expected.backward()
    assert E == pytest.approx(expected.item(), rel=1e-10)
    for name, tensor in params.items():
        assert relative(grads[name], tensor.grad.numpy()) < 1e-10, name
