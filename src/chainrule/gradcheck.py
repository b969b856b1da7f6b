"""Gradient checking: analytic gradients against central differences, parameter by parameter.

For every entry ``p`` of every parameter, the numerical derivative is
``(E(p + eps) - E(p - eps)) / (2 * eps)``. The check runs in float64 on a copy of the
network, whatever the network's own dtype, and leaves the network unchanged.

Per parameter the report gives the largest absolute difference and the relative error
``||analytic - numeric|| / (||analytic|| + ||numeric||)`` (0 when both are zero).

Examples
--------
>>> from chainrule import check_gradients, seed_example
>>> seed = seed_example()
>>> report = check_gradients(seed.network, "half_squared_error", seed.x, seed.y)
>>> report.passed()
True
>>> list(report.results)
['W1', 'b1', 'W2', 'b2']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import check_positive, check_reduction
from .losses import Loss, get_loss, reduce
from .network import Network
from .regularization import add_l2_gradient, l2_penalty


@dataclass(frozen=True)
class ParamCheck:
    """The comparison for one parameter."""

    name: str
    analytic: np.ndarray
    numeric: np.ndarray
    max_abs_error: float
    relative_error: float


@dataclass(frozen=True)
class GradCheckReport:
    """Per-parameter results of :func:`check_gradients`, in parameter order."""

    results: dict[str, ParamCheck]
    eps: float

    @property
    def max_relative_error(self) -> float:
        """The largest relative error over all parameters."""
        return max(r.relative_error for r in self.results.values())

    @property
    def max_abs_error(self) -> float:
        """The largest absolute difference over all parameters."""
        return max(r.max_abs_error for r in self.results.values())

    def passed(self, tol: float = 1e-7) -> bool:
        """Whether every parameter's relative error is below ``tol``."""
        return self.max_relative_error < tol

    def __str__(self) -> str:
        lines = [f"{'parameter':<10} {'max abs error':>14} {'relative error':>15}"]
        for r in self.results.values():
            lines.append(f"{r.name:<10} {r.max_abs_error:>14.3e} {r.relative_error:>15.3e}")
        return "\n".join(lines)


def check_gradients(
    network: Network,
    loss: str | Loss,
    X: Any,
    y: Any,
    *,
    reduction: str = "mean",
    eps: float = 1e-6,
    l2: float = 0.0,
    dropout_seed: int | None = None,
) -> GradCheckReport:
    """Compare the network's analytic gradients with central differences.

    Parameters
    ----------
    network : Network
        Not modified; the check runs on a float64 copy.
    loss : str or Loss
    X : array-like, shape (n_samples, n_features) or (n_features,)
    y : array-like, shape (n_samples, n_out)
    reduction : {"mean", "sum"}
    eps : float
        The step of the central difference.
    l2 : float
        Check the loss plus the L2 penalty ``l2 / 2 * sum ||Wk||^2`` (see
        :mod:`chainrule.regularization`), whose gradient adds ``l2 * Wk``.
    dropout_seed : int, optional
        Check the training-mode forward pass with dropout: every forward pass draws its
        masks from a fresh generator seeded with this value, so the mask is fixed.

    Returns
    -------
    GradCheckReport
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, got {type(network).__name__}")
    check_positive(eps, "eps")
    check_reduction(reduction)
    loss = get_loss(loss)
    net = network.astype(np.float64)
    X, y = net.check_Xy(X, y)
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2!r}")
    training = dropout_seed is not None

    def run_forward() -> list:
        rng = np.random.default_rng(dropout_seed) if training else None
        return net.forward(X, training=training, rng=rng)[1]

    def batch_loss() -> float:
        E = reduce(net.instance_errors(y, run_forward(), loss), reduction)
        return float(E) + l2_penalty(net.params, l2)

    _, grads = net.backward(y, run_forward(), loss, reduction)
    if l2:
        add_l2_gradient(grads, net.params, l2)
    results = {}
    for name, param in net.params.items():
        numeric = np.empty_like(param)
        for index in np.ndindex(param.shape):
            original = param[index]
            param[index] = original + eps
            plus = batch_loss()
            param[index] = original - eps
            minus = batch_loss()
            param[index] = original
            numeric[index] = (plus - minus) / (2 * eps)
        analytic = np.asarray(grads[name])
        diff = np.linalg.norm(analytic - numeric)
        scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        results[name] = ParamCheck(
            name=name,
            analytic=analytic,
            numeric=numeric,
            max_abs_error=float(np.max(np.abs(analytic - numeric))),
            relative_error=float(diff / scale) if scale > 0 else 0.0,
        )
    return GradCheckReport(results=results, eps=float(eps))
