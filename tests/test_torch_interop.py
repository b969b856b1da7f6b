"""PyTorch interop both ways: the same predictions and the same gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.activations import LeakyReLU

from .conftest import ACTIVATION_NAMES, random_network


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_to_torch_predicts_and_differentiates_the_same(activation):
    rng = np.random.default_rng(2)
    net = random_network(rng, [3, 4, 2], activation, "sigmoid")
    X, y = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
    module = cr.to_torch(net)
    out = module(torch.tensor(X))
    np.testing.assert_allclose(out.detach().numpy(), net.predict(X), rtol=1e-12)
    loss = 0.5 * ((out - torch.tensor(y)) ** 2).sum(dim=1).mean()
    loss.backward()
    _, grads = net.loss_and_grads(X, y, "half_squared_error")
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    for k, linear in enumerate(linears, start=1):
        np.testing.assert_allclose(linear.weight.grad.numpy().T, grads[f"W{k}"], rtol=1e-10)
        np.testing.assert_allclose(linear.bias.grad.numpy(), grads[f"b{k}"], rtol=1e-10)


def test_from_torch_reads_a_sequential():
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(3, 5),
        torch.nn.LeakyReLU(0.2),
        torch.nn.Linear(5, 4),
        torch.nn.Tanh(),
        torch.nn.Linear(4, 2),
    )
    net = cr.from_torch(module)
    assert repr(net) == "Network(3-5-4-2, activations=leaky_relu-tanh-identity, dtype=float32)"
    assert net.layers[0].activation == LeakyReLU(0.2)
    X = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        net.predict(X), module(torch.tensor(X)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    back = cr.to_torch(net)
    np.testing.assert_array_equal(
        back[0].weight.detach().numpy(), module[0].weight.detach().numpy()
    )


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()), r"module 1 \(Dropout\)"),
        (torch.nn.Sequential(torch.nn.ReLU()), r"module 0 \(ReLU\) must follow a Linear"),
        (torch.nn.Sequential(), "holds no Linear layer"),
        (torch.nn.Sequential(torch.nn.Linear(2, 2).half()), "float32 or float64, got float16"),
    ],
)
def test_unsupported_modules_are_named(module, message):
    with pytest.raises(ValueError, match=message):
        cr.from_torch(module)
    with pytest.raises(TypeError, match=r"torch\.nn\.Sequential"):
        cr.from_torch(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("activation", ["tanh", "softplus", "leaky_relu"])
def test_from_torch_differentiates_like_torch(activation):
    torch.manual_seed(3)
    modules = {"tanh": torch.nn.Tanh(), "softplus": torch.nn.Softplus(threshold=1000.0)}
    hidden = modules.get(activation, torch.nn.LeakyReLU(0.1))
    module = torch.nn.Sequential(
        torch.nn.Linear(3, 6), hidden, torch.nn.Linear(6, 3), torch.nn.Softmax(dim=1)
    ).double()
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(5, 3)), np.eye(3)[rng.integers(0, 3, 5)]
    out = module(torch.tensor(X))
    (-(torch.tensor(Y) * torch.log(out)).sum(dim=1).mean()).backward()
    net = cr.from_torch(module)
    _, grads = net.loss_and_grads(X, Y, "cross_entropy")
    for k, index in ((1, 0), (2, 2)):
        np.testing.assert_allclose(grads[f"W{k}"], module[index].weight.grad.numpy().T, rtol=1e-10)
        np.testing.assert_allclose(grads[f"b{k}"], module[index].bias.grad.numpy(), rtol=1e-10)


def test_to_torch_takes_a_fitted_estimator():
    pytest.importorskip("sklearn", reason="the estimators need the [sklearn] extra")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    clf = cr.MLPClassifier((5,), max_iter=10, random_state=0).fit(X, X[:, 0] > 0)
    out = cr.to_torch(clf)(torch.tensor(X)).detach().numpy()
    np.testing.assert_allclose(out[:, 0], clf.predict_proba(X)[:, 1], rtol=1e-12)
    reg = cr.MLPRegressor((4,), max_iter=5, random_state=0).fit(X, X[:, 1])
    out = cr.to_torch(reg)(torch.tensor(X)).detach().numpy()
    np.testing.assert_allclose(out[:, 0], reg.predict(X), rtol=1e-12)
    with pytest.raises(TypeError, match="a chainrule Network or a fitted estimator, got"):
        cr.to_torch(cr.MLPRegressor())
