"""The fit loop: epochs of shuffled mini-batches, validation, early stopping, callbacks.

Each batch is the seed's step at scale: forward (with dropout in training), loss,
backward, the L2 gradient ``l2 * Wk``, clipping by global norm, and one optimizer
update of the trainable (not frozen) parameters. ``X`` and ``y`` are checked once per
fit, not per batch; with shuffling, each batch is one contiguous copy of its rows.

Everything random (the validation split, the shuffles, the dropout masks) comes from
one ``numpy.random.Generator`` made from ``random_state``: the same seed gives
bit-identical weights, run to run. Ctrl-C (KeyboardInterrupt) ends training cleanly:
the network stays usable and the history so far is returned.

Examples
--------
>>> import numpy as np
>>> from chainrule import Network
>>> from chainrule.training import fit
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
>>> y = np.array([0.0, 1.0, 1.0, 0.0])
>>> net = Network.from_sizes([2, 8, 1], ["tanh", "sigmoid"], random_state=0)
>>> history = fit(net, X, y, loss="bce", optimizer="adam", epochs=300, batch_size=4,
...               random_state=0)
>>> history.epochs, history["loss"][-1] < history["loss"][0]
(300, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._fit_parts import (
    Metric,
    check_sample_weight,
    evaluate,
    get_metrics,
    progress,
    random_split,
    report,
)
from ._fit_step import batch_stepper
from ._validation import check_positive, check_reduction
from .callbacks import Callback, History, as_callback
from .initializers import as_generator
from .losses import Loss, get_loss
from .network import Network
from .optimizers import Optimizer, get_optimizer
from .schedules import Schedule, get_schedule


def fit(
    network: Network,
    X: Any,
    y: Any,
    *,
    loss: str | Loss,
    optimizer: str | Optimizer = "adam",
    epochs: int = 10,
    batch_size: int | None = 32,
    shuffle: bool = True,
    random_state: int | np.random.Generator | None = None,
    validation_split: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    early_stopping: bool = False,
    monitor: str | None = None,
    patience: int = 10,
    min_delta: float = 0.0,
    restore_best_weights: bool = True,
    schedule: str | Schedule | None = None,
    metrics: Sequence[str] | Mapping[str, Metric] = (),
    train_metrics: bool = True,
    callbacks: Sequence[Callback | Callable[..., Any]] = (),
    verbose: int = 0,
    l2: float = 0.0,
    clip_norm: float | None = None,
    sample_weight: Any = None,
    reduction: str = "mean",
    optimizer_state: dict[str, Any] | None = None,
) -> History:
    """Train ``network`` in place on ``(X, y)``; return the :class:`History`.

    Parameters
    ----------
    network : Network
        Trained in place; frozen parameters are left unchanged.
    X : array-like, shape (n_samples, n_features)
    y : array-like, shape (n_samples, n_out), or (n_samples,) when n_out == 1
    loss : str or Loss
    optimizer : str or Optimizer
        A name (``sgd``, ``adam``, ``adamw`` with default settings) or an instance.
    epochs : int
        Passes over the training data.
    batch_size : int or None
        Instances per update; None (or anything >= n_samples) for full batch.
    shuffle : bool
        Draw a new order of the training rows every epoch.
    random_state : int, Generator or None
        Seeds the validation split, the shuffles and the dropout masks.
    validation_split : float
        Fraction of the rows (drawn at random) held out for validation.
    validation_data : (X_val, y_val), optional
        An explicit validation set (takes precedence over ``validation_split``).
    early_stopping : bool
        Stop when ``monitor`` has not improved by more than ``min_delta`` for
        ``patience`` epochs.
    monitor : str, optional
        A key of the history; lower is better for names with ``loss``, higher otherwise.
        Default ``val_loss`` with validation data, else ``loss``.
    restore_best_weights : bool
        With early stopping, put back the weights of the best epoch at the end.
    schedule : str or Schedule, optional
        Learning rate per epoch (:mod:`chainrule.schedules`); ReduceOnPlateau follows
        ``monitor``.
    metrics : sequence of names or mapping of name to ``f(y, A) -> float``
        Computed after each epoch on the training data and on the validation data,
        in inference mode (no dropout). Built in: ``accuracy``, ``mse``, ``mae``.
    train_metrics : bool
        Also compute the metrics on the training data (one more forward pass per epoch).
    callbacks : sequence of Callback or functions ``f(epoch, logs, network)``
    verbose : int
        0: silent; 1: a tqdm progress bar (the ``progress`` extra); 2: a line per epoch.
    l2 : float
        L2 penalty ``l2 / 2 * sum ||Wk||^2`` added to the batch loss.
    clip_norm : float, optional
        Clip the gradients to this global norm before each update.
    sample_weight : array-like, shape (n_samples,), optional
        The batch loss is ``sum(w * e) / sum(w)`` over each batch.
    reduction : {"mean", "sum"}
    optimizer_state : dict, optional
        Continue from this state (``History.optimizer_state`` of an earlier fit).
    """
    loss = get_loss(loss)
    optimizer = get_optimizer(optimizer)
    schedule = get_schedule(schedule)
    check_reduction(reduction)
    epochs = int(check_positive(epochs, "epochs", integer=True))
    patience = int(check_positive(patience, "patience", integer=True))
    if batch_size is not None:
        batch_size = int(check_positive(batch_size, "batch_size", integer=True))
    if not l2 >= 0 or not min_delta >= 0:
        raise ValueError(f"l2 and min_delta must be >= 0, got l2={l2!r}, min_delta={min_delta!r}")
    if clip_norm is not None:
        check_positive(clip_norm, "clip_norm")
    metric_fns = get_metrics(metrics)
    hooks = [as_callback(c) for c in callbacks]
    if not isinstance(network.layers[0].W, np.ndarray):
        raise TypeError("fit trains NumPy networks; convert the parameters with astype()")
    X, y = network.check_Xy(X, y)
    w = check_sample_weight(sample_weight, X.shape[0], network.dtype)
    rng = as_generator(random_state)
    if validation_data is not None:
        X_val, y_val = network.check_Xy(*validation_data)
    elif validation_split:
        (X, y, w), (X_val, y_val) = random_split(X, y, w, validation_split, rng)
    else:
        X_val = y_val = None
    monitor = monitor or ("val_loss" if X_val is not None else "loss")
    if monitor.startswith("val_") and X_val is None:
        raise ValueError(f"monitor={monitor!r} needs validation_data or validation_split")
    known = ["loss", *metric_fns]
    known += [f"val_{k}" for k in known] if X_val is not None else []
    if monitor not in known:
        raise ValueError(f"monitor must be one of {known}, got {monitor!r}")
    lower_is_better = "loss" in monitor
    bar = progress(epochs, verbose)

    n = X.shape[0]
    batch = min(batch_size or n, n)
    names = network.trainable
    state = optimizer.init({k: network.params[k] for k in names})
    if optimizer_state is not None:
        state = optimizer_state
    step = batch_stepper(
        network,
        loss,
        optimizer,
        batch=batch,
        reduction=reduction,
        l2=l2,
        clip_norm=clip_norm,
        sample_weight=w,
        rng=rng,
    )
    sched_state = schedule.init(state["lr"])
    history = History(optimizer_state=state)
    best, best_params, bad_epochs, last_monitor = None, None, 0, None
    for hook in hooks:
        hook.on_train_begin(network, history)
    try:
        for epoch in range(epochs):
            for hook in hooks:
                hook.on_epoch_begin(epoch, network)
            state["lr"], sched_state = schedule.step(epoch, sched_state, last_monitor)
            params = network.params  # refreshed: a callback may have replaced arrays
            trainable = {k: params[k] for k in names}
            order = rng.permutation(n) if shuffle else None
            total = 0.0
            for start in range(0, n, batch):
                stop = start + batch
                rows = slice(start, stop) if order is None else order[start:stop]
                total += step(X, y, rows, trainable, state)
            logs = {"loss": total / n, "lr": state["lr"]}
            if not np.isfinite(logs["loss"]):
                raise FloatingPointError(
                    f"the training loss became {logs['loss']} at epoch {epoch}; "
                    "lower the learning rate or clip the gradients (clip_norm)"
                )
            evaluate(network, loss, metric_fns, logs, X if train_metrics else None, y, X_val, y_val)
            history.append(logs)
            last_monitor = logs.get(monitor)
            if last_monitor is not None and not lower_is_better:
                last_monitor = -last_monitor  # schedules take lower as better
            stop = False
            if early_stopping:
                value = logs[monitor]
                better = (
                    best is None
                    or (lower_is_better and value < best - min_delta)
                    or (not lower_is_better and value > best + min_delta)
                )
                if better:
                    best, bad_epochs, history.best_epoch = value, 0, epoch
                    if restore_best_weights:
                        best_params = {k: np.array(v, copy=True) for k, v in params.items()}
                else:
                    bad_epochs += 1
                    if bad_epochs >= patience:
                        history.stop_reason, stop = "early_stopping", True
            for hook in hooks:
                if hook.on_epoch_end(epoch, logs, network):
                    history.stop_reason, stop = "callback", True
            report(bar, verbose, epoch, logs)
            if stop:
                break
    except KeyboardInterrupt:
        history.stop_reason = "interrupted"
    finally:
        if bar is not None:
            bar.close()
    if best_params is not None and history.best_epoch != history.epochs - 1:
        network.set_params(best_params)
        history.restored_best = True
    for hook in hooks:
        hook.on_train_end(network, history)
    return history
