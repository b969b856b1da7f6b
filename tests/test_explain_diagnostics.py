"""Diagnostics: saturated sigmoid/tanh units, dead ReLUs, vanishing and exploding gradients.

Each network below is built by hand so that the flagged condition holds by
construction (the reasoning is in the comments), and a healthy network flags nothing.
"""

from __future__ import annotations

import numpy as np

from chainrule import Network, explain, seed_example
from chainrule.explain.diagnostics import diagnose


def findings(network, X, y, **kwargs):
    return explain(network, X, y, lr=0.1, **kwargs)


def test_seed_is_healthy():
    seed = seed_example()
    d = diagnose(explain(seed.network, seed.x, seed.y, lr=seed.lr).trace)
    assert d.findings == []
    # ||dEdW2|| from the seed's printed gradients: sqrt(0.021869**2 + 0.022037**2).
    assert abs(d.gradient_norms["W2"] - np.hypot(0.021869, 0.022037)) < 1e-5


def test_saturated_sigmoid_is_flagged():
    # inL1 = 10 * 1 = 10, so sigmoid'(10) = 4.5e-5, far below 0.1 * 0.25.
    net = Network.from_weights([[[10.0, 0.1]], [[1.0], [1.0]]], [[0, 0], [0]], "sigmoid")
    ex = findings(net, [1.0], [0.5])
    d = diagnose(ex.trace)
    assert d.flags == {(1, 1): "saturated"}
    assert "layer 1, neuron 1: saturated sigmoid on 1 of 1 instance" in d.findings[0]
    assert "saturated sigmoid" in ex.render("markdown")
    assert 'fill="#fde3c4"' in ex.diagram()  # drawn orange


def test_saturated_tanh_is_flagged():
    # tanh'(-3) = 1 - tanh(3)**2 = 0.0099 < 0.1.
    net = Network.from_weights([[[-3.0]], [[1.0]]], [[0], [0]], ["tanh", "identity"])
    assert diagnose(findings(net, [1.0], [0.0]).trace).flags == {(1, 1): "saturated"}


def test_dead_relu_is_flagged():
    # Neuron 2 of layer 1 gets -x for x > 0 on every instance: never active.
    net = Network.from_weights([[[1.0, -1.0]], [[1.0], [1.0]]], [[0, 0], [0]], ["relu", "identity"])
    ex = findings(net, [[1.0], [2.0], [0.5]], [[1.0], [0.0], [2.0]])
    d = diagnose(ex.trace)
    assert d.flags == {(1, 2): "dead"}
    assert "dead ReLU (inL1 <= 0 for all 3 instances" in d.findings[0]
    assert 'stroke-dasharray="4 3"' in ex.diagram()
    assert "dead ReLU" in ex.render("text", derive=True)


def test_vanishing_gradient_is_flagged():
    # Five tanh layers with weight 0.01 and bias 1: every output is about tanh(1) = 0.76,
    # but each layer scales the backward signal by 0.01 * tanh'(1) = 0.0042.
    net = Network.from_weights([[[0.01]]] * 5, [[1.0]] * 5, "tanh")
    d = diagnose(findings(net, [1.0], [1.0]).trace)
    assert any("layer 1: vanishing gradient" in f for f in d.findings)
    assert d.gradient_norms["W1"] < 1e-3 * d.gradient_norms["W5"]


def test_exploding_gradient_is_flagged():
    # Identity layers with weight 30: dE/dW1 = 30**2 * x * (yhat - y) with yhat = 27000.
    net = Network.from_weights([[[30.0]]] * 3, [[0.0]] * 3, "identity")
    d = diagnose(findings(net, [1.0], [0.0]).trace)
    assert any("layer 1: exploding gradient" in f for f in d.findings)
