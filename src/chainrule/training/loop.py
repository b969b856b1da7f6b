"""The fit loop: epochs of shuffled mini-batches, validation, early stopping, callbacks.

Each batch is the seed's step at scale: forward (with dropout in training), loss,
backward, the L2 gradient ``l2 * Wk``, clipping by global norm, and one optimizer
update of the trainable (not frozen) parameters. ``X`` and ``y`` are checked once per
fit, not per batch; with shuffling, each batch is one contiguous copy of its rows.

Everything random (the validation split, the shuffles, the dropout masks) comes from
one ``numpy.random.Generator`` made from ``random_state``: the same seed gives
bit-identical weights, run to run. Ctrl-C (KeyboardInterrupt) ends training cleanly:
the network stays usable and the history so far is returned.

With ``checkpoint=PATH`` the run saves itself every ``checkpoint_every`` batches and
``resume=True`` continues it after a crash, bit-identically (:mod:`._fit_checkpoint`).
A NaN or infinity in a batch's loss or gradients raises
:class:`~chainrule.errors.DivergenceError` at once, or skips the batch
(``on_nonfinite="skip"``); the check is cheap (:mod:`._fit_guard`).

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

import os
from collections.abc import Callable, Mapping, Sequence
from itertools import islice
from typing import Any

import numpy as np

from ..checks import check_bool, check_non_negative, check_positive, check_reduction
from ..errors import DivergenceError
from ..initializers import as_generator
from ..losses import Loss, check_targets, get_loss
from ..network import Network
from ..optimizers import Optimizer, get_optimizer
from ..schedules import Schedule, get_schedule
from .callbacks import Callback, History, as_callback
from .guard import Guard
from .parts import (
    Metric,
    check_optimizer_state,
    evaluate,
    get_metrics,
    patience_ran_out,
    progress,
    report,
    resolve_monitor,
    validation_set,
)
from .resume import FINISHED, Checkpointer, Progress, identity, replay_generator
from .sources import ArraySource, batch_source
from .update import BatchUpdate, batch_gradients


def fit(
    network: Network,
    X: Any,
    y: Any = None,
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
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    on_nonfinite: str = "raise",
) -> History:
    """Train ``network`` in place on ``(X, y)``; return the :class:`History`.

    Parameters
    ----------
    network : Network
        Trained in place; frozen parameters are left unchanged.
    X : array-like, shape (n_samples, n_features), memmap, or iterable of batches
        A ``numpy.memmap`` (or a view of one) is read chunk by chunk, and an iterable
        of ``(X_batch, y_batch[, w_batch])`` tuples (with ``y=None``) batch by batch,
        so that memory stays flat however many rows there are
        (:mod:`chainrule.training.sources`). Out of core, there are no training metrics and no
        ``validation_split`` (pass ``validation_data``).
    y : array-like, shape (n_samples, n_out), or (n_samples,) when n_out == 1
        None when ``X`` is an iterable of batches.
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
    metrics : name, sequence of names or mapping of name to ``f(y, A) -> float``
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
    checkpoint : path, optional
        Save a checkpoint here (atomically) every ``checkpoint_every`` updates and when
        training ends: parameters, optimizer state, generator state, position, schedule
        state, early-stopping state and history (see :mod:`chainrule.training.resume`).
        Not on Ctrl-C or divergence: the last checkpoint then stays as it was.
    checkpoint_every : int, optional
        Updates (batches) between checkpoints, counted over the whole run; default once
        per epoch.
    resume : bool
        Continue from ``checkpoint`` if the file exists (else start afresh; without
        ``resume`` an existing file is overwritten). The settings
        and the data must be the run's own (else ``ValueError``); ``epochs`` may be
        raised to train longer. The final weights and history are bit-identical to those
        of the run never interrupted. Callbacks are not saved: they see
        ``on_train_begin`` again and ``on_epoch_begin`` for the epoch resumed part-way.
    on_nonfinite : {"raise", "skip"}
        When the loss or a gradient of a batch is NaN or infinite: raise
        :class:`~chainrule.errors.DivergenceError` at once (naming the epoch, batch,
        layer and parameter; the network is left at its last finite weights and the
        error carries ``history`` and ``network``), or skip that batch (recorded in
        ``History.skipped_batches``; an epoch with every batch skipped raises).
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a chainrule Network, got {type(network).__name__}")
    flags = {"shuffle": shuffle, "early_stopping": early_stopping, "resume": resume}
    flags.update(restore_best_weights=restore_best_weights, train_metrics=train_metrics)
    for name, flag in flags.items():
        check_bool(flag, name)
    if verbose not in (0, 1, 2) or not isinstance(verbose, int | np.integer):
        raise ValueError(
            f"verbose must be 0, 1 (a progress bar) or 2 (a line per epoch), got {verbose!r}"
        )
    loss = get_loss(loss)
    optimizer = get_optimizer(optimizer)
    schedule = get_schedule(schedule)
    check_reduction(reduction)
    epochs = int(check_positive(epochs, "epochs", integer=True))
    patience = int(check_positive(patience, "patience", integer=True))
    if batch_size is not None:
        batch_size = int(check_positive(batch_size, "batch_size", integer=True))
    l2, min_delta = check_non_negative(l2, "l2"), check_non_negative(min_delta, "min_delta")
    if clip_norm is not None:
        check_positive(clip_norm, "clip_norm")
    metric_fns = get_metrics(metrics)
    if isinstance(callbacks, str) or not hasattr(callbacks, "__iter__"):
        raise TypeError(
            "callbacks must be a sequence of Callback instances or functions, got "
            f"{type(callbacks).__name__}"
        )
    hooks = [as_callback(c) for c in callbacks]
    if not isinstance(network.layers[0].W, np.ndarray):
        raise TypeError("fit trains NumPy networks; convert the parameters with astype()")
    source = batch_source(network, X, y, sample_weight, epochs)
    # Once per fit; out of core, the pairing only (a batch's values are not scanned).
    y_all = source.y if isinstance(source, ArraySource) else None
    check_targets(loss, network.layers[-1].activation, network.n_outputs, y_all)
    rng = as_generator(random_state)
    if checkpoint is not None and not isinstance(source, ArraySource):
        raise ValueError(
            "checkpoint needs X and y in memory (resuming reads the data again in the same "
            f"order); got X of type {type(X).__name__}"
        )
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=PATH, the file to resume from")
    keeper = Checkpointer.create(checkpoint, checkpoint_every, {})
    saved = None
    if keeper is not None:
        keeper.settings = identity(
            network,
            (loss, optimizer, schedule),
            (source.X, source.y, source.w),
            validation_data,
            batch_size=batch_size,
            shuffle=bool(shuffle),
            reduction=reduction,
            l2=float(l2),
            clip_norm=clip_norm,
            validation_split=float(validation_split),
            early_stopping=[bool(early_stopping), monitor, patience, float(min_delta)],
            restore_best_weights=bool(restore_best_weights),
            metrics=[*metric_fns, bool(train_metrics)],
            on_nonfinite=on_nonfinite,
        )
        saved = keeper.load(network) if resume else None
        if saved is not None:
            rng.bit_generator.state = saved.extra["start_rng"]  # the same split as before
        keeper.start_rng = rng.bit_generator.state
    X_val, y_val, source = validation_set(network, source, validation_data, validation_split, rng)
    check_targets(loss, network.layers[-1].activation, network.n_outputs, y_val)
    monitor, lower_is_better = resolve_monitor(monitor, metric_fns, X_val is not None)
    n = source.n_samples
    batch = min(batch_size or n, n) if n else batch_size or 1
    on_train = train_metrics and isinstance(source, ArraySource)  # out of core: no extra pass
    X_metrics, y_metrics = (source.X, source.y) if on_train else (None, None)
    if keeper is not None:
        keeper.every = keeper.every or -(-n // batch)  # once per epoch
    history = History()
    guard = Guard(network, on_nonfinite, history)
    gradients = batch_gradients(network, loss, batch=batch, reduction=reduction, rng=rng)
    names = network.trainable
    update = BatchUpdate(gradients, guard, optimizer, names, l2=l2, clip_norm=clip_norm)
    state = optimizer.init({k: network.params[k] for k in names})
    if optimizer_state is not None:
        state = check_optimizer_state(optimizer_state, state)
    run = Progress(sched_state=schedule.init(state["lr"]))
    if saved is not None and keeper is not None:
        state, run = keeper.restore(saved, network, optimizer, names, rng, history, run.sched_state)
    history.optimizer_state = state
    last_epoch = run.epoch if run.finished in FINISHED else epochs
    bar = progress(epochs, verbose)
    for hook in hooks:
        hook.on_train_begin(network, history)
    errors = np.geterr()
    try:
        for epoch in range(run.epoch, last_epoch):
            run.epoch = epoch
            for hook in hooks:
                hook.on_epoch_begin(epoch, network)
            if run.batch == 0:
                state["lr"], run.sched_state = schedule.step(
                    epoch, run.sched_state, run.last_monitor
                )
                run.epoch_rng = rng.bit_generator.state if keeper is not None else None
                batches = source.epoch(rng, shuffle, batch, gradients.gather)
            else:  # resumed part-way through: the shuffle drawn before the crash, again
                replay = replay_generator(run.epoch_rng)  # type: ignore[arg-type]
                batches = source.epoch(replay, shuffle, batch, gradients.gather)
                batches = islice(batches, run.batch, None)
            params = network.params  # refreshed: a callback may have replaced arrays
            trainable = {k: params[k] for k in names}
            total, seen = run.total, run.seen
            # The guard reports NaN and infinity, not a NumPy warning (restored below).
            np.seterr(over="ignore", invalid="ignore", divide="ignore")
            index = run.batch - 1
            for index, (Xb, yb, wb) in enumerate(batches, start=run.batch):
                E = update(Xb, yb, wb, params, trainable, state, epoch, index)
                if E is None:  # skipped by the guard
                    continue
                total += E * Xb.shape[0]
                seen += Xb.shape[0]
                if keeper is not None:
                    run.updates += 1
                    if keeper.due(run.updates):
                        run.batch, run.total, run.seen = index + 1, total, seen
                        keeper.save(network, state, rng, run, history)
            np.seterr(**errors)
            run.batch, run.total, run.seen = 0, 0.0, 0
            if index < 0:
                raise ValueError(f"X gave no batches in epoch {epoch}")
            if seen == 0 or not np.isfinite(total):
                raise guard.diverged(
                    DivergenceError(
                        f"training diverged at epoch {epoch}: "
                        + ("every batch was skipped" if seen == 0 else f"the loss sum is {total}"),
                        epoch=epoch,
                    )
                )
            logs = {"loss": total / seen, "lr": state["lr"]}
            evaluate(network, loss, metric_fns, logs, X_metrics, y_metrics, X_val, y_val)
            history.append(logs)
            run.last_monitor = logs.get(monitor)
            if run.last_monitor is not None and not lower_is_better:
                run.last_monitor = -run.last_monitor  # schedules take lower as better
            stop = False
            if early_stopping:
                stop = patience_ran_out(
                    run, logs[monitor], epoch, params, history,
                    lower_is_better=lower_is_better, min_delta=min_delta, patience=patience,
                    keep_best=restore_best_weights,
                )  # fmt: skip
            for hook in hooks:
                if hook.on_epoch_end(epoch, logs, network):
                    history.stop_reason, stop = "callback", True
            report(bar, verbose, epoch, logs)
            run.epoch += 1
            if stop:
                break
        if keeper is not None:  # the end state: a resume returns at once (or trains on)
            run.finished = history.stop_reason
            keeper.save(network, state, rng, run, history)
    except KeyboardInterrupt:
        history.stop_reason = "interrupted"
    finally:
        np.seterr(**errors)
        if bar is not None:
            bar.close()
    if run.best_params is not None and history.best_epoch != history.epochs - 1:
        network.set_params(run.best_params)
        history.restored_best = True
    for hook in hooks:
        hook.on_train_end(network, history)
    return history
