"""Optimizers: each update formula restated here independently, and PyTorch's optimizers."""

import copy
import math

import numpy as np
import pytest

from chainrule import Network, fit
from chainrule.optimizers import SGD, Adam, AdamW, SklearnSGD, get_optimizer


def _params_and_grad_sequence(seed=0, steps=6):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)}
    grads = [{k: rng.normal(size=v.shape) for k, v in params.items()} for _ in range(steps)]
    return params, grads


def _run(optimizer, params, grads_seq):
    params = copy.deepcopy(params)
    state = optimizer.init(params)
    for grads in grads_seq:
        params, state = optimizer.update(params, grads, state)
    return params, state


# -- the formulas, restated one scalar at a time ------------------------------------------
def _sgd_reference(p, gs, lr, momentum, nesterov):
    v = 0.0
    for g in gs:
        if momentum:
            v = momentum * v + g
            step = g + momentum * v if nesterov else v
        else:
            step = g
        p = p - lr * step
    return p


def _adam_reference(p, gs, lr, b1, b2, eps, decay=0.0):
    m = s = 0.0
    for t, g in enumerate(gs, start=1):
        p = p * (1 - lr * decay)
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        s_hat = s / (1 - b2**t)
        p = p - lr * m_hat / (math.sqrt(s_hat) + eps)
    return p


@pytest.mark.parametrize(
    ("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True), (0.5, True)]
)
def test_sgd_matches_the_formula(momentum, nesterov):
    params, grads = _params_and_grad_sequence()
    new, state = _run(SGD(lr=0.1, momentum=momentum, nesterov=nesterov), params, grads)
    for name, p in params.items():
        for index in np.ndindex(p.shape):
            gs = [float(g[name][index]) for g in grads]
            expected = _sgd_reference(float(p[index]), gs, 0.1, momentum, nesterov)
            assert new[name][index] == pytest.approx(expected, rel=1e-12)
    assert state["t"] == len(grads)


def test_adam_matches_the_formula():
    params, grads = _params_and_grad_sequence()
    new, _ = _run(Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6), params, grads)
    for name, p in params.items():
        for index in np.ndindex(p.shape):
            gs = [float(g[name][index]) for g in grads]
            expected = _adam_reference(float(p[index]), gs, 0.01, 0.8, 0.99, 1e-6)
            assert new[name][index] == pytest.approx(expected, rel=1e-12)


def test_adamw_decays_weights_but_not_biases():
    params, grads = _params_and_grad_sequence()
    new, _ = _run(AdamW(lr=0.01, weight_decay=0.1), params, grads)
    for name, p in params.items():
        decay = 0.1 if name.startswith("W") else 0.0
        for index in np.ndindex(p.shape):
            gs = [float(g[name][index]) for g in grads]
            expected = _adam_reference(float(p[index]), gs, 0.01, 0.9, 0.999, 1e-8, decay)
            assert new[name][index] == pytest.approx(expected, rel=1e-12)


# -- an independent implementation: torch.optim -------------------------------------------
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (SGD(lr=0.05, momentum=0.9, nesterov=True), ("SGD", {"momentum": 0.9, "nesterov": True})),
        (Adam(lr=0.01), ("Adam", {})),
        (AdamW(lr=0.01, weight_decay=0.2), ("AdamW", {"weight_decay": 0.2})),
    ],
)
def test_same_steps_as_torch(ours, theirs):
    torch = pytest.importorskip("torch", reason="torch is the reference implementation")
    params, grads = _params_and_grad_sequence(seed=3, steps=10)
    new, _ = _run(ours, params, grads)
    W = torch.tensor(params["W1"], requires_grad=True)
    b = torch.tensor(params["b1"], requires_grad=True)
    name, settings = theirs
    # Biases are not decayed in AdamW here; torch is told so by a parameter group.
    groups = [{"params": [W]}, {"params": [b], "weight_decay": 0.0}]
    opt = getattr(torch.optim, name)(groups, lr=ours.lr, **settings)
    for g in grads:
        W.grad, b.grad = torch.tensor(g["W1"]), torch.tensor(g["b1"])
        opt.step()
    np.testing.assert_allclose(new["W1"], W.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(new["b1"], b.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("ours", "theirs", "lr"),
    [
        (Adam(), ("Adam", {}), None),
        (AdamW(weight_decay=0.05), ("AdamW", {"weight_decay": 0.05}), None),
        (Adam(), ("Adam", {}), 1e-39),  # so small that the folded constants overflow float32
        (Adam(), ("Adam", {}), 0.0),  # what a schedule may set between epochs
    ],
)
def test_float32_steps_as_torch(ours, theirs, lr):
    torch = pytest.importorskip("torch", reason="torch is the reference implementation")
    rng = np.random.default_rng(7)
    params = {"W1": rng.normal(size=(40, 30)), "b1": rng.normal(size=30)}
    params = {k: v.astype(np.float32) for k, v in params.items()}
    # gradients of mixed scales (and exact zeros), 300 steps: past the bias corrections' start
    grads = []
    for _ in range(300):
        g = {
            k: rng.normal(size=v.shape) * 10.0 ** rng.integers(-6, 3, v.shape)
            for k, v in params.items()
        }
        g["W1"][rng.random(g["W1"].shape) < 0.1] = 0.0
        grads.append({k: v.astype(np.float32) for k, v in g.items()})
    state = ours.init(params)
    if lr is not None:
        state["lr"] = lr
    new = copy.deepcopy(params)
    for g in grads:
        new, state = ours.update(new, g, state)
    W = torch.tensor(params["W1"], requires_grad=True)
    b = torch.tensor(params["b1"], requires_grad=True)
    name, settings = theirs
    groups = [{"params": [W]}, {"params": [b], "weight_decay": 0.0}]
    opt = getattr(torch.optim, name)(groups, lr=state["lr"], **settings)
    for g in grads:
        W.grad, b.grad = torch.tensor(g["W1"]), torch.tensor(g["b1"])
        opt.step()
    for key, theirs_p in (("W1", W), ("b1", b)):
        assert new[key].dtype == np.float32
        # within two float32 roundings of |p| < 4 (2.4e-7 each) after 300 steps
        np.testing.assert_allclose(new[key], theirs_p.detach().numpy(), rtol=0, atol=5e-7)
    if lr == 0.0:
        np.testing.assert_array_equal(new["W1"], params["W1"])


def test_update_keeps_float32():
    params = {"W1": np.ones((2, 2), np.float32), "b1": np.zeros(2, np.float32)}
    grads = {k: np.full_like(v, 0.5) for k, v in params.items()}
    for opt in (SGD(lr=0.1, momentum=0.9), Adam(), AdamW()):
        new, _state = opt.update(copy.deepcopy(params), grads, opt.init(params))
        assert all(v.dtype == np.float32 for v in new.values())


def test_state_threads_through_and_lr_comes_from_state():
    params = {"W1": np.array([[1.0]])}
    opt = SGD(lr=0.1)
    state = opt.init(params)
    state["lr"] = 0.5  # what a schedule does between epochs
    new, state = opt.update(params, {"W1": np.array([[1.0]])}, state)
    assert new["W1"][0, 0] == pytest.approx(0.5)


def test_frozen_parameters_are_never_updated_by_fit():
    net = Network.from_sizes([2, 3, 1], "tanh", random_state=0, frozen={"b1", "W2"})
    before = {k: v.copy() for k, v in net.params.items()}
    X = np.random.default_rng(0).normal(size=(16, 2))
    fit(net, X, X[:, 0], loss="mse", optimizer=Adam(lr=0.1), epochs=3, random_state=0)
    np.testing.assert_array_equal(net.params["b1"], before["b1"])
    np.testing.assert_array_equal(net.params["W2"], before["W2"])
    assert not np.array_equal(net.params["W1"], before["W1"])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SGD(lr=0), "lr"),
        (lambda: SGD(lr=0.1, momentum=1.0), "momentum"),
        (lambda: SGD(lr=0.1, nesterov=True), "nesterov"),
        (lambda: Adam(beta1=-0.1), "beta1"),
        (lambda: Adam(eps=0), "eps"),
        (lambda: AdamW(weight_decay=-1), "weight_decay"),
        (lambda: get_optimizer("rmsprop"), "unknown optimizer"),
    ],
)
def test_bad_settings_are_refused(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_missing_gradient_is_refused():
    params = {"W1": np.ones((1, 1)), "b1": np.ones(1)}
    opt = SGD(lr=0.1)
    with pytest.raises(ValueError, match="b1"):
        opt.update(params, {"W1": np.ones((1, 1))}, opt.init(params))


@pytest.mark.parametrize("nesterov", [False, True])
def test_sklearn_sgd_steps_as_sklearns_optimizer_when_the_rate_changes(nesterov):
    # scikit-learn's SGDOptimizer (velocity u <- momentum u - lr g) with a new rate every
    # 3 steps, as invscaling sets it; SGD's PyTorch velocity would drift from it.
    from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

    rng = np.random.default_rng(3)
    start = rng.normal(size=(3, 2))
    theirs_p = start.copy()
    theirs = SGDOptimizer([theirs_p], 0.3, momentum=0.8, nesterov=nesterov)
    opt = SklearnSGD(lr=0.3, momentum=0.8, nesterov=nesterov)
    ours = {"W1": start.copy()}
    state = opt.init(ours)
    for step in range(12):
        lr = 0.3 / (step // 3 + 1) ** 0.5
        theirs.learning_rate = state["lr"] = lr
        g = rng.normal(size=(3, 2))
        theirs.update_params([theirs_p], [g])
        opt.update(ours, {"W1": g}, state)
    np.testing.assert_allclose(ours["W1"], theirs_p, rtol=0, atol=1e-14)
