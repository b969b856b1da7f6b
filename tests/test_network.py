"""Network and Dense: construction, shapes, parameters by name, frozen parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .conftest import random_network

SEED_WEIGHTS = [[[0.15, 0.2], [0.24, 0.3]], [[-0.4], [0.5]]]


def seed_net(**kwargs) -> cr.Network:
    return cr.Network.from_weights(SEED_WEIGHTS, [[1, 1], 1], "sigmoid", **kwargs)


def test_from_weights_copies_and_converts_to_float():
    W1 = np.array(SEED_WEIGHTS[0])
    net = cr.Network.from_weights([W1, SEED_WEIGHTS[1]], [[1, 1], 1])
    W1[0, 0] = 99.0
    assert net.params["W1"][0, 0] == 0.15
    assert net.params["b1"].dtype == np.float64 and net.params["b2"].shape == (1,)
    assert list(net.params) == ["W1", "b1", "W2", "b2"]


def test_from_sizes_is_seeded_and_has_the_right_shapes():
    a = cr.Network.from_sizes([4, 8, 3], ["relu", "softmax"], random_state=0)
    b = cr.Network.from_sizes([4, 8, 3], ["relu", "softmax"], random_state=0)
    c = cr.Network.from_sizes([4, 8, 3], ["relu", "softmax"], random_state=1)
    assert {k: v.shape for k, v in a.params.items()} == {
        "W1": (4, 8), "b1": (8,), "W2": (8, 3), "b2": (3,),
    }  # fmt: skip
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    assert repr(a) == "Network(4-8-3, activations=relu-softmax, dtype=float64)"


def test_any_depth_and_width_forward_shapes(rng):
    for depth in range(1, 6):
        sizes = [int(n) for n in rng.integers(1, 9, depth + 1)]
        net = cr.Network.from_sizes(sizes, "tanh", random_state=0)
        assert net.predict(rng.normal(size=(7, sizes[0]))).shape == (7, sizes[-1])
        assert net.predict(rng.normal(size=sizes[0])).shape == (sizes[-1],)


def test_float32_stays_float32(rng):
    net = cr.Network.from_sizes([3, 4, 2], "sigmoid", random_state=0, dtype=np.float32)
    X = rng.normal(size=(5, 3)).astype(np.float32)
    y = rng.normal(size=(5, 2)).astype(np.float32)
    _, grads = net.loss_and_grads(X, y, "mse")
    assert all(g.dtype == np.float32 for g in grads.values())
    trace = cr.Trace()
    cr.train_step(net, X, y, lr=0.1, loss="mse", tracer=trace)
    assert all(np.asarray(v).dtype == np.float32 for v in trace._values.values())
    assert all(p.dtype == np.float32 for p in net.params.values())


def test_frozen_parameters_are_not_updated_but_have_gradients():
    seed = cr.seed_example()
    net = seed.network
    net.freeze("b1", "b2")
    b1, W1 = net.params["b1"].copy(), net.params["W1"].copy()
    trace = cr.Trace()
    cr.train_step(net, seed.x, seed.y, lr=0.5, tracer=trace)
    assert np.array_equal(net.params["b1"], b1)
    assert not np.array_equal(net.params["W1"], W1)
    assert np.abs(trace["dEdB1"]).sum() > 0
    assert trace.info["frozen"] == ["b1", "b2"]
    net.unfreeze("b1")
    assert net.trainable == ["W1", "b1", "W2"]
    with pytest.raises(ValueError, match=r"cannot freeze unknown parameters \['c1'\]"):
        net.freeze("c1")


def test_set_params_checks_everything_before_changing_anything():
    net = seed_net()
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=r"W2 must have shape \(2, 1\), got \(1, 2\)"):
        net.set_params({"W1": np.zeros((2, 2)), "W2": np.zeros((1, 2))})
    assert all(np.array_equal(net.params[k], before[k]) for k in before)
    net.set_params({"b2": [0.5]})
    assert net.params["b2"].tolist() == [0.5]


def test_copy_is_independent():
    net = seed_net()
    other = net.copy()
    other.params["W1"][0, 0] = 5.0
    assert net.params["W1"][0, 0] == 0.15


def test_batch_loss_is_the_mean_of_the_instances(rng):
    net = random_network(rng, [2, 3, 1], "tanh", "sigmoid")
    X, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    singles = [net.loss(X[i], y[i]) for i in range(4)]
    assert net.loss(X, y) == pytest.approx(np.mean(singles), rel=1e-14)
    assert net.loss(X, y, reduction="sum") == pytest.approx(np.sum(singles), rel=1e-14)
    # The mean's gradient is the mean of the per-instance gradients.
    grads = [net.loss_and_grads(X[i], y[i])[1] for i in range(4)]
    _, batch = net.loss_and_grads(X, y)
    for name in batch:
        np.testing.assert_allclose(batch[name], np.mean([g[name] for g in grads], axis=0))


def test_runs_unchanged_on_pytorch_tensors(rng):
    # The engine takes its array functions from the inputs (array-API namespace).
    net = random_network(rng, [3, 4, 2], "relu", "softmax")
    X, y = rng.normal(size=(5, 3)), np.eye(2)[rng.integers(0, 2, 5)]
    E, grads = net.loss_and_grads(X, y, "cross_entropy")
    layers = [
        cr.Dense(torch.tensor(layer.W), torch.tensor(layer.b), layer.activation)
        for layer in net.layers
    ]
    tnet = cr.Network(layers)
    A, caches = tnet.forward(torch.tensor(X))
    Et, grads_t = tnet.backward(torch.tensor(y), caches, cr.get_loss("cross_entropy"))
    assert isinstance(A, torch.Tensor)
    assert float(Et) == pytest.approx(E, rel=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads_t[name].numpy(), grads[name], rtol=1e-12)


def test_nothing_piles_up_on_the_network_between_calls(rng):
    net = random_network(rng, [2, 3, 1], "tanh", "sigmoid")
    attributes = {id(layer): set(vars(layer)) for layer in net.layers}
    for _ in range(3):
        net.loss_and_grads(rng.normal(size=(4, 2)), rng.normal(size=4))
    assert {id(layer): set(vars(layer)) for layer in net.layers} == attributes
    assert set(vars(net)) == {"layers", "frozen"}
