"""``fit(net, X, y, loss="cross_entropy")`` with integer class labels, against PyTorch's
``cross_entropy`` on the same labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule
from chainrule import Network


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(10, 4))
    labels = rng.integers(0, 3, size=10)
    W1, b1 = rng.normal(size=(4, 5)) * 0.5, rng.normal(size=5) * 0.1
    W2, b2 = rng.normal(size=(5, 3)) * 0.5, rng.normal(size=3) * 0.1
    return X, labels, [W1, W2], [b1, b2]


def test_integer_labels_train_as_torch_cross_entropy():
    X, labels, weights, biases = _data()
    net = Network.from_weights(weights, biases, ["tanh", "softmax"])
    chainrule.fit(
        net,
        X,
        labels,
        loss="cross_entropy",
        optimizer=chainrule.SGD(lr=0.1),
        epochs=3,
        batch_size=10,
        shuffle=False,
    )
    params = [torch.tensor(a, requires_grad=True) for a in (*weights, *biases)]
    W1, W2, b1, b2 = params
    for _ in range(3):
        logits = torch.tanh(torch.tensor(X) @ W1 + b1) @ W2 + b2
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p -= 0.1 * g
    for name, p in zip(["W1", "W2", "b1", "b2"], params, strict=True):
        np.testing.assert_allclose(net.params[name], p.detach().numpy(), rtol=0, atol=1e-12)


def test_labels_out_of_range_are_refused_before_training():
    X, labels, weights, biases = _data()
    net = Network.from_weights(weights, biases, ["tanh", "softmax"])
    before = {k: v.copy() for k, v in net.params.items()}
    labels[4] = 3
    with pytest.raises(ValueError, match=r"y holds class labels outside 0\.\.2 .* 3 at row 4"):
        chainrule.fit(net, X, labels, loss="cross_entropy", epochs=1)
    labels[4] = -1
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        chainrule.fit(
            net, X, np.zeros(10, dtype=int), loss="ce", epochs=1, validation_data=(X, labels)
        )
    assert all(np.array_equal(before[k], v) for k, v in net.params.items())
