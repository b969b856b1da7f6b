"""One training step: forward, loss, backward, update (plain gradient descent).

This is the seed notebook's cell 13 for any network: ``Wk <- Wk - lr * dEdWk`` and
``bk <- bk - lr * dEdBk`` for every parameter that is not frozen (the update of
:class:`~chainrule.optimizers.SGD`, as in ``fit``). Parameter shapes
never change (in the seed, ``b1`` drifts from shape (2,) to (1, 2)).

Examples
--------
>>> from chainrule import seed_example, train_step
>>> seed = seed_example()
>>> round(train_step(seed.network, seed.x, seed.y, lr=seed.lr), 6)
0.011843
>>> round(seed.network.loss(seed.x, seed.y), 6)
0.010953
>>> seed.network.params["b1"].shape
(2,)
"""

from __future__ import annotations

from typing import Any

from .checks import check_positive, check_reduction
from .losses import Loss, check_targets, get_loss, reduce
from .network import Network
from .optimizers import SGD
from .regularization import add_l2_gradient, l2_penalty
from .trace import Trace, Tracer


def train_step(
    network: Network,
    X: Any,
    y: Any,
    *,
    lr: float,
    loss: str | Loss = "half_squared_error",
    reduction: str = "mean",
    tracer: Tracer | None = None,
    l2: float = 0.0,
) -> float:
    """Take one gradient-descent step on ``(X, y)``; return the batch loss before it.

    Parameters
    ----------
    network : Network
        Updated in place (frozen parameters excepted).
    X : array-like, shape (n_samples, n_features) or (n_features,)
        A 1-D ``x`` is one instance.
    y : array-like, shape (n_samples, n_out), (n_samples,) or a scalar for one instance
    lr : float
        The learning rate, > 0.
    loss : str or Loss
        Default: the seed's half squared error.
    reduction : {"mean", "sum"}
        The batch loss is the mean (default) or the sum of the per-instance errors.
    tracer : Tracer, optional
        If given (e.g. a :class:`~chainrule.trace.Trace`), it records, in order: ``x, y``,
        the parameters, the forward pass, the error, every partial derivative, the
        updated parameters (``Wk_new``, ``bk_new``) and the error after the step
        (``e_new``, ``E_new``, which costs one more forward pass).
    l2 : float
        L2 regularization (weight decay), >= 0: the penalty ``l2/2 * sum_k ||Wk||^2``
        (weights only, not biases) is added to the batch loss, so ``l2 * Wk`` is added
        to each weight's gradient. scikit-learn's ``alpha`` is ``l2 * n_samples``. With
        a tracer, ``E`` and ``dEdWk`` include the penalty; ``E_data`` and ``dEdWk_data``
        are the loss's own parts and ``penalty`` the penalty.

    Returns
    -------
    float
        The batch loss before the update.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, got {type(network).__name__}")
    check_positive(lr, "lr")
    check_reduction(reduction)
    if isinstance(l2, bool) or not isinstance(l2, int | float) or not 0 <= l2 < float("inf"):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
    loss = get_loss(loss)
    X, y = network.check_Xy(X, y)
    check_targets(loss, network.layers[-1].activation, network.n_outputs, y)
    if tracer is not None:
        if isinstance(tracer, Trace):
            tracer.info.update(
                loss=loss,
                reduction=reduction,
                lr=lr,
                n_layers=network.n_layers,
                activations=[layer.activation for layer in network.layers],
                frozen=sorted(network.frozen),
                l2=float(l2),
            )
        tracer.record("x", X)
        tracer.record("y", y)
        for name, value in network.params.items():
            tracer.record(name, value)
    _, caches = network.forward(X, tracer)
    E, grads = network.backward(y, caches, loss, reduction, tracer)
    params = network.params
    if l2:
        total = E + l2_penalty(params, l2)
        if tracer is not None:
            tracer.record("E_data", E)
            tracer.record("penalty", total - E)
            tracer.record("E", total)
        E = total
        weights = {name: grads[name] for name in grads if name.startswith("W")}
        if tracer is not None:
            for name, g in weights.items():
                tracer.record(f"dEd{name}_data", g)
        add_l2_gradient(weights, params, l2)
        if tracer is not None:
            for name, g in weights.items():
                tracer.record(f"dEd{name}", g)
    trainable = {name: params[name] for name in network.trainable}
    sgd = SGD(lr=lr)
    sgd.update(trainable, grads, sgd.init(trainable))
    if tracer is not None:
        for name, value in params.items():
            tracer.record(f"{name}_new", value)
        _, caches = network.forward(X)
        e_new = network.instance_errors(y, caches, loss)
        tracer.record("e_new", e_new)
        E_new = reduce(e_new, reduction)
        tracer.record("E_new", E_new + l2_penalty(params, l2) if l2 else E_new)
    return float(E)
