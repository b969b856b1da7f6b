"""Numerical extremes: inputs and weights up to +-1e4, float32 and float64.

No warning (pytest turns every warning into an error), no NaN, every gradient finite:
for each activation, each loss, the fused output pairs and whole small networks.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from chainrule import Network
from chainrule.activations import ACTIVATIONS, LeakyReLU, get_activation
from chainrule.losses import BinaryCrossEntropy, CrossEntropy, get_loss

LIMIT = 1e4
DTYPES = [np.float32, np.float64]
SETTINGS = settings(max_examples=100, deadline=None)


def _values(
    dtype: type, low: float = -LIMIT, high: float = LIMIT, **shape_args
) -> st.SearchStrategy:
    width = 32 if dtype == np.float32 else 64
    elements = st.floats(low, high, width=width, allow_nan=False, allow_infinity=False)
    shape = st.tuples(st.integers(1, 4), st.integers(1, 4))
    return arrays(dtype, shape_args.get("shape", shape), elements=elements)


def _finite(*values) -> bool:
    return all(np.isfinite(np.asarray(v)).all() for v in values)


def _activation(name: str, alpha: float):
    return LeakyReLU(alpha) if name == "leaky_relu" else get_activation(name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@SETTINGS
@given(data=st.data(), alpha=st.floats(0, 1))
def test_activation_extremes(name, dtype, data, alpha):
    act = _activation(name, alpha)
    Z = data.draw(_values(dtype))
    dA = data.draw(_values(dtype, shape=Z.shape))
    A = act.value(Z)
    dZ = act.backprop(dA, Z, A)
    derivative = act.derivative(Z, A)
    assert A.shape == Z.shape and A.dtype == dtype and dZ.dtype == dtype
    assert _finite(A, dZ, derivative)
    if name in ("sigmoid", "softmax"):
        assert ((A >= 0) & (A <= 1)).all()
    if name == "tanh":
        assert (np.abs(A) <= 1).all()
    if name == "softmax":
        np.testing.assert_allclose(A.sum(axis=1), 1, rtol=1e-5 if dtype == np.float32 else 1e-12)


def _probabilities(dtype: type, shape: tuple[int, int]) -> st.SearchStrategy:
    # Exact 0 and 1 included: the clipped losses must stay finite there.
    return _values(dtype, 0.0, 1.0, shape=shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "name", ["half_squared_error", "mean_squared_error", "binary_cross_entropy", "cross_entropy"]
)
@SETTINGS
@given(data=st.data(), reduction=st.sampled_from(["mean", "sum"]))
def test_loss_extremes(name, dtype, data, reduction):
    loss = get_loss(name)
    y = data.draw(_values(dtype))
    if name in ("binary_cross_entropy", "cross_entropy"):
        y = data.draw(_probabilities(dtype, y.shape))
        yhat = data.draw(_probabilities(dtype, y.shape))
    else:
        yhat = data.draw(_values(dtype, shape=y.shape))
    E = loss.value(y, yhat, reduction)
    grad = loss.gradient(y, yhat, reduction)
    assert _finite(E, grad)
    assert E >= -1e-6 * max(1.0, abs(float(E)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "loss", [BinaryCrossEntropy(from_logits=True), CrossEntropy(from_logits=True)]
)
@SETTINGS
@given(data=st.data())
def test_from_logits_extremes(loss, dtype, data):
    Z = data.draw(_values(dtype))
    y = data.draw(_probabilities(dtype, Z.shape))
    assert _finite(loss.value(y, Z), loss.gradient(y, Z))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("activation", "loss"), [("sigmoid", "bce"), ("softmax", "ce")])
@SETTINGS
@given(data=st.data())
def test_fused_pairs_extremes(activation, loss, dtype, data):
    """The output layer's Z at +-1e4: A saturates to exactly 0 or 1, the error stays finite."""
    Z = data.draw(_values(dtype))
    y = data.draw(_probabilities(dtype, Z.shape))
    n_out = Z.shape[1]
    # An identity-weight output layer puts Z into the loss unchanged.
    net = Network.from_weights([np.eye(n_out)], [np.zeros(n_out)], activation, dtype=dtype)
    E, grads = net.loss_and_grads(Z, y, loss=loss)
    assert _finite(E, *grads.values())
    assert E >= 0


# Output layers with the losses that belong to them.
OUTPUTS = [
    ("identity", "half_squared_error"),
    ("identity", "mean_squared_error"),
    ("tanh", "half_squared_error"),
    ("relu", "mean_squared_error"),
    ("sigmoid", "half_squared_error"),
    ("sigmoid", "mean_squared_error"),
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
    ("softmax", "half_squared_error"),  # not fused: through the softmax Jacobian
    ("sigmoid", "cross_entropy"),  # not fused: the clipped probability path
    ("softmax", "binary_cross_entropy"),  # not fused either
]


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=250, deadline=None)
@given(
    data=st.data(),
    hidden=st.sampled_from(sorted(ACTIVATIONS)),
    output=st.sampled_from(OUTPUTS),
    reduction=st.sampled_from(["mean", "sum"]),
    sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    n_samples=st.integers(1, 3),
)
def test_whole_network_extremes(dtype, data, hidden, output, reduction, sizes, n_samples):
    activation, loss = output
    n_in, n_hidden, n_out = sizes
    if activation == "softmax" and n_out == 1:
        n_out = 2
    weights = [
        data.draw(_values(dtype, shape=(n_in, n_hidden))),
        data.draw(_values(dtype, shape=(n_hidden, n_out))),
    ]
    biases = [data.draw(_values(dtype, shape=(n,))) for n in (n_hidden, n_out)]
    net = Network.from_weights(weights, biases, [hidden, activation], dtype=dtype)
    X = data.draw(_values(dtype, shape=(n_samples, n_in)))
    if loss in ("binary_cross_entropy", "cross_entropy"):
        y = data.draw(_probabilities(dtype, (n_samples, n_out)))
    else:
        y = data.draw(_values(dtype, shape=(n_samples, n_out)))
    E, grads = net.loss_and_grads(X, y, loss=loss, reduction=reduction)
    assert _finite(E, net.predict(X), *grads.values())
    assert all(g.dtype == dtype for g in grads.values())
