"""The seed's 2-2-1 sigmoid network trained one instance at a time: time per full step.

Compared: the notebook's hand-written NumPy step (its cell 13: forward, error, backward,
update), chainrule's lean step (a :class:`~chainrule.training.update.Workspace`, input checked
once), chainrule's validated :func:`~chainrule.step.train_step`, and PyTorch autograd.
Also the cost of the tracing hooks when no tracer is given ("tracing off").
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..buffers import Buffers
from ..datasets.catalog import seed_example
from ..losses import batch_error
from ..network import Network, param_names
from ..step import train_step
from ..training.update import Workspace


def per_step(step: Callable[[], Any], n_steps: int) -> float:
    """Seconds per call of ``step``, over ``n_steps`` calls."""
    start = time.perf_counter()
    for _ in range(n_steps):
        step()
    return (time.perf_counter() - start) / n_steps


def notebook_step() -> Callable[[], Any]:
    """The seed notebook's step (its cell 13, less the prints), from the notebook's weights.

    The cell starts from the same weights each time (its ``b1`` turns (1, 2) after one
    update, so it cannot be chained); the updated weights are returned, not kept.
    """

    def sigmoid(v: Any) -> Any:
        return 1 / (1 + np.exp(-v))

    def sigmoid_derivative(v: Any) -> Any:
        return sigmoid(v) * (1 - sigmoid(v))

    x, y, l = np.array([0.5, 0.1]), 0.9, 0.5  # noqa: E741 - the notebook's names
    w1, b1 = np.array([[0.15, 0.2], [0.24, 0.3]]), np.array([1, 1])
    w2, b2 = np.array([[-0.4], [0.5]]), 1

    def step() -> Any:
        inL1 = x @ w1 + b1
        outL1 = sigmoid(inL1)
        inL2 = outL1 @ w2 + b2
        outL2 = sigmoid(inL2)
        e = 0.5 * np.power(y - outL2, 2)
        dEdW2 = outL1.reshape([len(outL1), 1]) * sigmoid_derivative(inL2) * (outL2 - y)
        dEdB2 = sigmoid_derivative(inL2) * (outL2 - y)
        dOutL1dInL1 = sigmoid_derivative(inL1)
        delta = sigmoid_derivative(inL2) * (outL2 - y) * (w2.T)
        dEdW1 = x.reshape([len(x), 1]) @ delta * dOutL1dInL1
        dEdB1 = (sigmoid_derivative(inL2) * (outL2 - y) * (w2.T)) * dOutL1dInL1
        return e, w1 - l * dEdW1, b1 - l * dEdB1, w2 - l * dEdW2, b2 - l * dEdB2

    return step


def lean_step() -> Callable[[], float]:
    """chainrule's lean step: a Workspace; the input is checked once, before the loop."""
    seed = seed_example()
    X, y = seed.network.check_Xy(seed.x, seed.y)
    ws = Workspace(seed.network, seed.loss, batch_size=1)
    return lambda: ws.sgd_step(X, y, seed.lr)


def validated_step() -> Callable[[], float]:
    """chainrule's :func:`train_step`: checks its input on every call."""
    seed = seed_example()
    return lambda: train_step(seed.network, seed.x, seed.y, lr=seed.lr)


def torch_step() -> Callable[[], Any]:
    """PyTorch autograd on the same network, float64, one instance per step."""
    import torch

    x = torch.tensor([[0.5, 0.1]], dtype=torch.float64)
    y = torch.tensor([[0.9]], dtype=torch.float64)
    params = [
        torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for v in ([[0.15, 0.2], [0.24, 0.3]], [1.0, 1.0], [[-0.4], [0.5]], [1.0])
    ]
    w1, b1, w2, b2 = params
    opt = torch.optim.SGD(params, lr=0.5)

    def step() -> Any:
        opt.zero_grad(set_to_none=True)
        out = torch.sigmoid(torch.sigmoid(x @ w1 + b1) @ w2 + b2)
        loss = 0.5 * ((y - out) ** 2).sum()
        loss.backward()
        opt.step()
        return loss

    return step


def _forward(
    network: Network,
    X: Any,
    *,
    training: bool = False,
    rng: Any = None,
    buffers: Buffers | None = None,
) -> tuple[Any, list[Any]]:
    """:meth:`Network.forward` less its tracer lines."""
    outs: list[Any] = [None] * len(network.layers) if buffers is None else buffers.rows(len(X))
    caches = []
    A = X
    for layer, out in zip(network.layers, outs, strict=True):
        A, cache = layer.forward(A, training=training, rng=rng, out=out)
        caches.append(cache)
    return A, caches


def _backward(
    network: Network,
    y: Any,
    caches: list[Any],
    loss: Any,
    reduction: str = "mean",
    *,
    sample_weight: Any = None,
    buffers: Buffers | None = None,
    scale: float = 1.0,
) -> tuple[Any, dict[str, Any]]:
    """:meth:`Network.backward` less its tracer lines."""
    n_layers = len(network.layers)
    outs: list[Any] = [None] * n_layers if buffers is None else buffers.rows(len(y))
    e = network.instance_errors(y, caches, loss, outs[-1])
    E, dE_de = batch_error(e, reduction, sample_weight, scale)
    dZ = network.output_delta(y, caches, loss, dE_de, outs[-1])
    grads = {}
    for k in range(n_layers, 0, -1):
        layer, cache, out = network.layers[k - 1], caches[k - 1], outs[k - 1]
        out_below, (Wk, bk) = outs[k - 2] if k > 1 else None, param_names(k)
        dA_prev, grads[Wk], grads[bk] = layer.backward_affine(
            dZ, cache, need_dA_prev=k > 1, out=out, out_below=out_below
        )
        if k > 1:
            below, cache_below = network.layers[k - 2], caches[k - 2]
            dZ = below.backward_activation(dA_prev, cache_below, out_below)
    if buffers is not None:
        return E, buffers.grads
    return E, {name: grads[name] for name in network.params}


def hookless(network: Network, X: Any, y: Any, loss: Any) -> Callable[[], Any]:
    """Forward and backward with no tracer checks at all: the baseline against which
    ``Network.forward/backward(tracer=None)`` shows what the hooks cost. The same calls
    (two functions with the methods' signatures, less ``tracer``) and the same work."""

    def step() -> Any:
        _, caches = _forward(network, X)
        return _backward(network, y, caches, loss)

    return step


def traced_off(network: Network, X: Any, y: Any, loss: Any) -> Callable[[], Any]:
    """The engine's own ``forward`` and ``backward`` with ``tracer=None``."""

    def step() -> Any:
        _, caches = network.forward(X)
        return network.backward(y, caches, loss)

    return step


def calls_for(step: Callable[[], Any], seconds: float = 0.003) -> int:
    """The number of calls of ``step`` that take at least ``seconds`` (from the fastest of
    3 runs of 8 calls, so a busy moment does not shorten the timings): long enough that
    the timer's resolution and a single interruption weigh little."""
    fastest = min(per_step(step, 8) for _ in range(3))
    return max(1, math.ceil(seconds / fastest)) if fastest > 0 else 2**20


def paired_ratios(
    a: Callable[[], Any], b: Callable[[], Any], calls: int, pairs: int
) -> tuple[list[float], list[float], list[float]]:
    """Time ``a`` and ``b`` back to back ``pairs`` times, in alternating order (a b, b a,
    a b, ...: ABBA), so that warm-up, drift and whatever ran first cost both alike; the
    garbage collector is off meanwhile. Returns the seconds per call of ``a`` and of ``b``
    and the ratio ``a / b`` of each pair (take the median)."""
    times_a, times_b = [], []
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for i in range(pairs):
            if i % 2 == 0:
                times_a.append(per_step(a, calls))
                times_b.append(per_step(b, calls))
            else:
                times_b.append(per_step(b, calls))
                times_a.append(per_step(a, calls))
    finally:
        if gc_was_on:
            gc.enable()
    return times_a, times_b, [x / y for x, y in zip(times_a, times_b, strict=True)]
