"""Gradient checking: analytic gradients against central differences, parameter by parameter.

For every entry ``p`` of every parameter, the numerical derivative is
``(E(p + eps) - E(p - eps)) / (2 * eps)``. The check runs in float64 on a copy of the
network, whatever the network's own dtype, and leaves the network unchanged.

Per parameter the report gives the largest absolute difference, the relative error
``||analytic - numeric|| / (||analytic|| + ||numeric||)`` (0 when both are zero), and
the round-off of the central differences themselves. A computed loss is off by some
round-off ``delta``, which the difference divides by the step: each numerical derivative
may be off by about ``delta / eps`` however right the analytic one is. For a loss of 2
and a gradient entry of 1e-6 that is a relative error near 1e-4 from the differences
alone, so the relative error by itself raises false alarms on small gradients; and
``delta`` is not ``eps_machine * |E|``: a cross-entropy of probabilities near 1 (or of
confident logits) loses far more than that to cancellation.

``delta`` is estimated from the quantities of one backward pass, a first-order running
error analysis: each ``Zk = A_prev @ Wk + bk`` carries round-off up to about
``u * (sqrt(n_in) * |A_prev| @ |Wk| + |bk|)`` (``u = 2**-53``) and each ``Ak = f(Zk)`` a
few ``u * |Ak|``; these reach the loss through ``dE/dZk`` and ``dE/dAk``. The loss's own
rounding (its cancellations) is measured: the loss is evaluated again with its input
(the output layer's ``A``, or ``Z`` when computed from logits) moved by a relative
``PROBE_STEP`` up and down (each entry its own random direction), and the largest half
second difference ``|E(Y + d) + E(Y - d) - 2 E(Y)| / 2`` counts (the first-order change
cancels, the second-order one is negligible at that step); and at least
``u * sum(|y| * |Y|)`` (per instance, reduced as the loss), the size of the terms a
cross-entropy cancels, which an exact cancellation does not reveal. A parameter passes
when ``||analytic - numeric|| <= tol * (||analytic|| + ||numeric||) + roundoff``, with
``roundoff = ROUNDOFF_MARGIN * delta / eps * sqrt(n_entries)``, the differences' own
error in that norm. A derivative wrong by 1 % is still caught wherever the gradient
stands well above that round-off.

Examples
--------
>>> from chainrule import check_gradients, seed_example
>>> seed = seed_example()
>>> report = check_gradients(seed.network, "half_squared_error", seed.x, seed.y)
>>> report.passed()
True
>>> list(report.results)
['W1', 'b1', 'W2', 'b2']
>>> report.loss_roundoff < 1e-15  # the seed's loss, 0.0118, is computed to a few ulps
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import check_non_negative, check_positive, check_reduction
from .losses import Loss, get_loss, reduce
from .network import Network
from .regularization import add_l2_gradient, l2_penalty

# delta is an estimate (first order, and a few samples of the loss's own rounding), not
# a bound: the margin covers what it leaves out.
ROUNDOFF_MARGIN = 4.0
ROUNDOFF_SAMPLES = 4
# Rounding steps in evaluating an activation f(z) (sigmoid: exp, add, divide).
ACTIVATION_OPS = 4
# The relative move of the loss's input that probes the loss's own rounding.
PROBE_STEP = 1e-10


@dataclass(frozen=True)
class ParamCheck:
    """The comparison for one parameter.

    Attributes
    ----------
    name : str
    analytic, numeric : ndarray, the parameter's shape
        The back-propagated gradient and its central-difference estimate.
    max_abs_error : float
        ``max |analytic - numeric|``.
    relative_error : float
        ``||analytic - numeric|| / (||analytic|| + ||numeric||)``.
    roundoff : float
        The central differences' own round-off, in the norm of ``||analytic - numeric||``:
        what that norm may reach with a correct analytic gradient.
    """

    name: str
    analytic: np.ndarray
    numeric: np.ndarray
    max_abs_error: float
    relative_error: float
    roundoff: float = 0.0

    def error_ratio(self, tol: float = 1e-7) -> float:
        """``||analytic - numeric|| / (tol * (||analytic|| + ||numeric||) + roundoff)``:
        at most 1 when the parameter passes."""
        diff = float(np.linalg.norm(self.analytic - self.numeric))
        scale = float(np.linalg.norm(self.analytic) + np.linalg.norm(self.numeric))
        allowed = tol * scale + self.roundoff
        if allowed > 0:
            return diff / allowed
        return 0.0 if diff == 0 else float("inf")


@dataclass(frozen=True)
class GradCheckReport:
    """Per-parameter results of :func:`check_gradients`, in parameter order."""

    results: dict[str, ParamCheck]
    eps: float
    loss_roundoff: float = 0.0
    """The estimated round-off of one loss evaluation (``delta`` in the module's text)."""

    @property
    def max_relative_error(self) -> float:
        """The largest relative error over all parameters."""
        return max(r.relative_error for r in self.results.values())

    @property
    def max_abs_error(self) -> float:
        """The largest absolute difference over all parameters."""
        return max(r.max_abs_error for r in self.results.values())

    def passed(self, tol: float = 1e-7) -> bool:
        """Whether every parameter agrees to a relative ``tol``, beyond the round-off.

        A parameter passes when ``||analytic - numeric|| <= tol * (||analytic|| +
        ||numeric||) + roundoff`` (see the module's text).
        """
        check_positive(tol, "tol")
        return all(r.error_ratio(tol) <= 1 for r in self.results.values())

    def __str__(self) -> str:
        lines = [
            f"{'parameter':<10} {'max abs error':>14} {'relative error':>15} {'round-off':>10}",
        ]
        for r in self.results.values():
            lines.append(
                f"{r.name:<10} {r.max_abs_error:>14.3e} {r.relative_error:>15.3e} "
                f"{r.roundoff:>10.1e}"
            )
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
        Per parameter: both gradients, the largest absolute and the relative error, and
        the differences' round-off; ``passed()`` weighs them.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, got {type(network).__name__}")
    check_positive(eps, "eps")
    check_reduction(reduction)
    l2 = check_non_negative(l2, "l2")
    if dropout_seed is not None and (
        isinstance(dropout_seed, bool) or not isinstance(dropout_seed, int | np.integer)
    ):
        raise TypeError(f"dropout_seed must be None or an int, got {dropout_seed!r:.40}")
    loss = get_loss(loss)
    net = network.astype(np.float64)
    X, y = net.check_Xy(X, y)
    training = dropout_seed is not None

    def run_forward() -> list:
        rng = np.random.default_rng(dropout_seed) if training else None
        return net.forward(X, training=training, rng=rng)[1]

    def batch_loss() -> float:
        E = reduce(net.instance_errors(y, run_forward(), loss), reduction)
        return float(E) + l2_penalty(net.params, l2)

    caches = run_forward()
    backward = _Backward()
    E, grads = net.backward(y, caches, loss, reduction, tracer=backward)
    if l2:
        add_l2_gradient(grads, net.params, l2)
    delta = _loss_roundoff(net, loss, y, reduction, caches, backward) + _ROUNDING * (
        abs(float(E)) + 2 * l2_penalty(net.params, l2)
    )
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
            roundoff=ROUNDOFF_MARGIN * delta / eps * float(np.sqrt(param.size)),
        )
    return GradCheckReport(results=results, eps=float(eps), loss_roundoff=delta)


_ROUNDING = float(np.finfo(np.float64).eps) / 2  # u, the unit round-off of float64


class _Backward:
    """A tracer that keeps the backward pass's ``dE/dA`` and ``dE/dZ`` of each layer."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def record(self, name: str, value: Any) -> None:
        if name.startswith(("dEdOutL", "dEdInL")):
            self.values[name] = value


def _loss_roundoff(
    net: Network, loss: Loss, y: np.ndarray, reduction: str, caches: list, backward: _Backward
) -> float:
    """``delta``: the round-off of one evaluation of the loss, estimated (module's text)."""
    u = _ROUNDING
    fused = loss.fused(net.layers[-1].activation)
    delta = 0.0
    for k, (layer, cache) in enumerate(zip(net.layers, caches, strict=True), start=1):
        # A dot product of n terms is off by about sqrt(n) * u * sum(|terms|) (rounding
        # errors add up like a random walk), the bias adds one rounding.
        Z_error = np.sqrt(layer.n_in) * (np.abs(cache.A_prev) @ np.abs(layer.W))
        Z_error += np.abs(layer.b)
        delta += u * float(np.sum(np.abs(backward.values[f"dEdInL{k}"]) * Z_error))
        dA = backward.values.get(f"dEdOutL{k}")
        if dA is not None and not (fused and k == net.n_layers):  # fused: A is not used
            delta += ACTIVATION_OPS * u * float(np.sum(np.abs(dA * cache.A)))
    # The loss's own rounding (its cancellations), measured: its input moved by a tiny
    # relative step each way. The step is far above one ulp, so that every rounding
    # downstream falls differently (one-ulp moves shift some sums by exactly one ulp and
    # round them alike), and far below eps, so that the second difference holds no
    # curvature, only round-off.
    top = caches[-1]
    Y = top.Z if fused else top.A
    errors = loss.per_instance_from_logits if fused else loss.per_instance
    E = float(reduce(errors(y, Y), reduction))
    # However exact a cancellation (log-sum-exp minus the target's logit can come out as
    # exactly 0), the terms it cancels are only known to u times their size.
    scale = 1.0 / Y.shape[0] if reduction == "mean" else 1.0
    delta += u * scale * float(np.sum(np.abs(y) * np.abs(Y)))
    rng = np.random.default_rng(0)  # a fixed pattern: the check is deterministic
    measured = 0.0
    with np.errstate(all="ignore"):
        for _ in range(ROUNDOFF_SAMPLES):
            step = PROBE_STEP * np.abs(Y) * np.where(rng.random(Y.shape) < 0.5, 1.0, -1.0)
            up = float(reduce(errors(y, Y + step), reduction))
            down = float(reduce(errors(y, Y - step), reduction))
            if np.isfinite(up + down):
                measured = max(measured, abs(up + down - 2 * E) / 2)
    return delta + measured
