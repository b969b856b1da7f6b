"""Full-batch training with L-BFGS: scikit-learn's ``solver="lbfgs"``, through scipy.

scipy's ``minimize(method="L-BFGS-B", jac=True)`` (the ``sklearn`` extra brings scipy)
asks for the objective and its gradient at a vector of parameters; this module answers
from the engine, the same forward and backward passes as a mini-batch
(:meth:`Network.forward <chainrule.network.Network.forward>`, then
:meth:`Network.backward <chainrule.network.Network.backward>`), over every row at once:

- the parameters are packed into one vector, the weights ``W1 .. WL`` then the biases
  ``b1 .. bL`` (scikit-learn's order, so that both sum the same numbers in the same
  order);
- the objective is the loss, the mean of the per-instance errors (weighted by
  ``sample_weight``), plus ``l2 / 2 * sum_k ||Wk||^2`` with ``l2 = alpha / n_samples``,
  or ``alpha`` over the summed sample weights, as scikit-learn's (biases not penalised);
- ``tol`` is scipy's ``gtol``: it stops when every entry of the projected gradient is
  at most ``tol``; ``max_iter`` and ``max_fun`` bound the iterations and the objective's
  evaluations.

Examples
--------
>>> import numpy as np
>>> from chainrule import Network
>>> from chainrule.training.lbfgs import minimize_lbfgs
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
>>> y = np.array([[0.0], [1.0], [1.0], [0.0]])
>>> net = Network.from_sizes([2, 4, 1], ["tanh", "sigmoid"], random_state=0)
>>> result = minimize_lbfgs(net, X, y, "binary_cross_entropy", max_iter=200, tol=1e-8)
>>> result.loss < 0.01, net.predict(X).round().ravel().tolist()
(True, [0.0, 1.0, 1.0, 0.0])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._optional import require
from ..checks import check_bool, check_non_negative, check_positive
from ..losses import Loss, check_targets, get_loss
from ..network import Network
from ..regularization import add_l2_gradient, batch_l2, l2_penalty
from .guard import check_params_finite
from .sources import check_sample_weight


@dataclass(frozen=True)
class LBFGSResult:
    """How an L-BFGS run ended.

    Attributes
    ----------
    n_iter : int
        Iterations run (scipy's ``nit``, at most ``max_iter``).
    n_fun : int
        Evaluations of the objective (scipy's ``nfev``).
    loss : float
        The objective at the final parameters (L2 penalty included).
    losses : list of float
        The objective after each iteration.
    converged : bool
        Whether scipy reports success (``status == 0``): the gradient or the change
        of the objective fell below its tolerance.
    status : int
        scipy's status: 0 converged, 1 ``max_iter`` or ``max_fun`` reached, 2 stopped
        otherwise (e.g. a line search that found no better point).
    message : str
        scipy's message.
    """

    n_iter: int
    n_fun: int
    loss: float
    losses: list[float] = field(default_factory=list)
    converged: bool = True
    status: int = 0
    message: str = ""


def minimize_lbfgs(
    network: Network,
    X: Any,
    y: Any,
    loss: str | Loss,
    *,
    sample_weight: Any = None,
    alpha: float = 0.0,
    max_iter: int = 200,
    max_fun: int = 15000,
    tol: float = 1e-4,
    verbose: bool = False,
) -> LBFGSResult:
    """Train ``network`` in place on all of ``(X, y)`` with L-BFGS (see the module).

    Parameters
    ----------
    network : Network
        Its trainable parameters are optimised, from their current values; dropout
        must be off (the objective must be one function).
    X : array-like, shape (n_samples, n_features)
    y : array-like, shape (n_samples, n_out)
    loss : str or Loss
    sample_weight : array-like, shape (n_samples,), optional
        Non-negative weights of the rows, with a positive sum.
    alpha : float, default 0.0
        The L2 coefficient, divided by ``n_samples`` (or the summed weights).
    max_iter : int, default 200
    max_fun : int, default 15000
        At most this many evaluations of the objective.
    tol : float, default 1e-4
        scipy's ``gtol``.
    verbose : bool, default False
        Print ``Iteration k, loss = ...`` after each iteration (and, with scipy older
        than 1.15, which still takes it, scipy's own report, ``iprint=1``).

    Returns
    -------
    LBFGSResult

    Raises
    ------
    DivergenceError
        The optimiser left a parameter NaN or infinite; the network keeps its
        parameters from before the call.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a chainrule Network, got {type(network).__name__}")
    loss = get_loss(loss)
    check_non_negative(alpha, "alpha")
    check_positive(max_iter, "max_iter", integer=True)
    check_positive(max_fun, "max_fun", integer=True)
    check_non_negative(tol, "tol")
    check_bool(verbose, "verbose")
    if any(layer.dropout for layer in network.layers):
        raise ValueError("L-BFGS needs a network without dropout (its objective must not vary)")
    X, Y = network.check_Xy(X, y)
    n_samples = int(X.shape[0])
    w = check_sample_weight(sample_weight, n_samples, network.dtype)
    check_targets(loss, network.layers[-1].activation, network.n_outputs, Y)
    optimize = require("scipy.optimize", "sklearn", "solver='lbfgs'")

    params = network.params
    # scikit-learn's order: every weight matrix, then every bias.
    names = [n for n in params if n[0] == "W"] + [n for n in params if n[0] == "b"]
    names = [n for n in names if n in network.trainable]
    sizes = [params[n].size for n in names]
    offsets = np.cumsum([0, *sizes])
    l2 = batch_l2(float(alpha), "batch", n_samples, w)
    before = {n: params[n].copy() for n in names}

    def unpack(theta: np.ndarray) -> None:
        for name, start, stop in zip(names, offsets[:-1], offsets[1:], strict=True):
            params[name][...] = theta[start:stop].reshape(params[name].shape)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        unpack(theta)
        _, caches = network.forward(X)
        E, grads = network.backward(Y, caches, loss, "mean", sample_weight=w)
        E = float(E)
        if l2:
            E += l2_penalty(params, l2, names)
            add_l2_gradient(grads, params, l2)
        return E, np.concatenate([grads[n].ravel() for n in names]).astype(np.float64)

    losses: list[float] = []

    def after_iteration(intermediate_result: Any) -> None:
        losses.append(float(intermediate_result.fun))
        if verbose:
            print(f"Iteration {len(losses)}, loss = {losses[-1]:.8f}")

    options: dict[str, Any] = {"maxfun": int(max_fun), "maxiter": int(max_iter), "gtol": tol}
    if _scipy_takes_iprint():
        options["iprint"] = 1 if verbose else -1
    theta0 = np.concatenate([params[n].ravel() for n in names]).astype(np.float64)
    result = optimize.minimize(
        objective, theta0, method="L-BFGS-B", jac=True, options=options, callback=after_iteration
    )
    unpack(result.x)
    try:
        check_params_finite({n: params[n] for n in names})
    except FloatingPointError:
        unpack(np.concatenate([before[n].ravel() for n in names]))
        raise
    return LBFGSResult(
        n_iter=min(int(result.nit), int(max_iter)),
        n_fun=int(result.nfev),
        loss=float(result.fun),
        losses=losses,
        converged=int(result.status) == 0,
        status=int(result.status),
        message=str(result.message),
    )


def _scipy_takes_iprint() -> bool:
    # scipy 1.15 deprecated L-BFGS-B's iprint (scikit-learn passes it only before).
    scipy = require("scipy", "sklearn", "solver='lbfgs'")
    major, minor = (int(part) for part in scipy.__version__.split(".")[:2])
    return (major, minor) < (1, 15)
