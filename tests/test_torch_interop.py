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
        (
            torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()),
            r"module 1 \(Dropout\) fo",
        ),
        (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU()), r"module 1 \(GELU\) is not"),
        (
            torch.nn.Sequential(torch.nn.Dropout(), torch.nn.Linear(2, 2)),
            r"module 0 \(Dropout\) mu",
        ),
        (
            torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(), torch.nn.ReLU()),
            r"module 2 \(ReLU\) must follow a Linear layer \(one activation per layer, before",
        ),
        (
            torch.nn.Sequential(
                torch.nn.Linear(2, 2), torch.nn.Dropout(1.0), torch.nn.Linear(2, 1)
            ),
            r"module 0: dropout must be a rate in \[0, 1\), got 1\.0",
        ),
        (
            torch.nn.Sequential(torch.nn.Linear(2, 2, dtype=torch.bfloat16)),
            r"module 0: Linear weights must be float32 or float64, got bfloat16; convert the "
            r"module first with \.float\(\) or \.double\(\)",
        ),
        (
            torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softplus(threshold=5)),
            r"module 1: Softplus\(threshold=5\) returns z above",
        ),
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


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float32, 1e-6), (np.float64, 1e-14)])
def test_softplus_matches_for_every_finite_input(dtype, rtol):
    # One softplus layer on identity weights: the output is softplus(z) itself.
    net = cr.Network([cr.Dense(np.eye(3), np.zeros(3), "softplus")]).astype(dtype)
    big = np.geomspace(80, 1e4, 200)  # where float32 exp overflows (and threshold=1000 gave inf)
    z = np.concatenate([big, -big, np.linspace(-80, 80, 601)]).astype(dtype)
    X = np.repeat(z[:, None], 3, axis=1)
    module = cr.to_torch(net)
    assert module[1].threshold == 40.0 and module[1].beta == 1.0
    Xt = torch.tensor(X, requires_grad=True)
    out = module(Xt)
    got = out.detach().numpy()
    assert got.dtype == dtype and np.isfinite(got).all()
    # Far below zero softplus is subnormal, where only absolute precision is left.
    tiny = np.finfo(dtype).tiny
    np.testing.assert_allclose(got, net.predict(X), rtol=rtol, atol=tiny)
    out.sum().backward()  # dA/dZ: PyTorch's derivative beside chainrule's sigmoid
    dZ = net.layers[0].activation.derivative(X)
    np.testing.assert_allclose(Xt.grad.numpy(), dZ, rtol=rtol, atol=tiny)


def test_dropout_layers_both_ways():
    net = cr.Network.from_sizes(
        [3, 5, 4, 2], ["relu", "identity", "sigmoid"], random_state=0, dropout=[0.2, 0.5]
    )
    module = cr.to_torch(net)
    kinds = [type(m).__name__ for m in module]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "Dropout", "Linear", "Sigmoid"]
    assert [m.p for m in module if isinstance(m, torch.nn.Dropout)] == [0.2, 0.5]
    X = np.random.default_rng(6).normal(size=(40, 3))
    module.eval()  # inference: no dropout on either side
    np.testing.assert_allclose(module(torch.tensor(X)).detach().numpy(), net.predict(X), rtol=1e-12)
    # Training mode: both are inverted dropout on the layer's output, each unit 0 or A / (1 - p)
    module.train()
    torch.manual_seed(0)
    hidden = module[:3](torch.tensor(X)).detach().numpy()
    A = net.layers[0].activation.value(X @ net.params["W1"] + net.params["b1"])
    kept = hidden != 0
    assert 0.6 < kept[A > 0].mean() < 0.95  # about 1 - 0.2 of the live units kept
    np.testing.assert_allclose(hidden[kept], A[kept] / 0.8, rtol=1e-12)
    back = cr.from_torch(module)
    assert [layer.dropout for layer in back.layers] == [0.2, 0.5, 0.0]
    assert repr(back) == repr(net)
    for name, value in net.params.items():
        np.testing.assert_array_equal(back.params[name], value)


def test_bfloat16_is_refused_before_numpy_sees_it():
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU()).to(torch.bfloat16)
    with pytest.raises(
        ValueError, match="module 0: Linear weights must be float32 or float64, got"
    ):
        cr.from_torch(module)
    cr.from_torch(module.float())  # the conversion the message names works
