"""The fit: its setup, then the epoch loop over shuffled mini-batches, with validation,
early stopping and callbacks.

:func:`fit` reads in three parts. Its arguments are checked once into a frozen
:class:`~chainrule.training.settings.FitSettings`. :func:`prepare` then builds what one
run needs (the batch source, the validation set, the stopping rule, the guard, the
batch update, the optimizer state, the checkpointer, a resumed position) into a
:class:`Run`. :func:`train` is the epoch loop; each epoch is :func:`train_epoch` (its
batches, each one update) and :func:`end_epoch` (its logs, early stopping, callbacks).

Each batch is the seed's step at scale: forward (with dropout in training), loss,
backward, the L2 gradient ``l2 * Wk``, clipping by global norm, and one optimizer
update of the trainable (not frozen) parameters. ``X`` and ``y`` are checked once per
fit, not per batch; with shuffling, each batch is one contiguous copy of its rows.

Everything random (the validation split, the shuffles, the dropout masks) comes from
one ``numpy.random.Generator`` made from ``random_state``: the same seed gives
bit-identical weights, run to run. Ctrl-C (SIGINT) and SIGTERM take effect between
batches (:mod:`chainrule.training.interrupts`): Ctrl-C ends training cleanly, with the
parameters, the optimizer state and the history of one and the same update, and the
history so far is returned.

With ``checkpoint=PATH`` the run saves itself every ``checkpoint_every`` batches and
``resume=True`` continues it after a crash, bit-identically
(:mod:`chainrule.training.resume`).
A NaN or infinity in a batch's loss or gradients raises
:class:`~chainrule.errors.DivergenceError` at once, or skips the batch
(``on_nonfinite="skip"``); the check is cheap (:mod:`chainrule.training.guard`).

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np
from array_api_compat import array_namespace
from array_api_compat import device as device_of

from ..checks import Array, check_bool, to_numpy
from ..errors import DivergenceError
from ..initializers import as_generator
from ..losses import Loss, check_targets, one_hot_labels
from ..network import Network
from ..optimizers import Optimizer
from ..schedules import Schedule
from .callbacks import Callback, History
from .device import fit_on_device, state_beside
from .early_stopping import EarlyStopping, check_stopping_state, resolve_monitor
from .guard import Guard
from .interrupts import DeferredSignals, whole_updates
from .logs import Metric, evaluate
from .report import EpochReport
from .resume import (
    FINISHED,
    Checkpointer,
    RunPosition,
    check_optimizer_state,
    describe_seed,
    identity,
    replay_generator,
)
from .settings import FitSettings
from .sources import ArraySource, Batch, batch_source
from .update import BatchGradients, BatchUpdate, batch_gradients
from .validation import Source, validation_set


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
    stopping_rule: str = "keras",
    schedule: str | Schedule | None = None,
    metrics: Sequence[str] | Mapping[str, Metric] = (),
    train_metrics: bool = True,
    callbacks: Sequence[Callback | Callable[..., Any]] = (),
    verbose: int = 0,
    l2: float = 0.0,
    l2_scale: str = "fixed",
    clip_norm: float | None = None,
    sample_weight: Any = None,
    reduction: str = "mean",
    optimizer_state: dict[str, Any] | None = None,
    stopping_state: dict[str, Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    on_nonfinite: str = "raise",
    device: Any = None,
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
    stopping_rule : {"keras", "sklearn", "sklearn_adaptive"}
        Keras's rule, or scikit-learn's MLP rule: the best follows every gain and the fit
        stops after more than ``patience`` epochs without a gain of ``min_delta``;
        ``sklearn_adaptive`` divides the rate by 5 there instead, until it is at most
        1e-6 (:mod:`chainrule.training.early_stopping`).
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
    l2_scale : {"fixed", "batch"}
        ``"batch"``: each batch's ``l2`` is ``l2`` over its rows or summed sample weights,
        scikit-learn's ``alpha`` (:func:`chainrule.regularization.batch_l2`).
    clip_norm : float, optional
        Clip the gradients to this global norm before each update.
    sample_weight : array-like, shape (n_samples,), optional
        The batch loss is ``sum(w * e) / sum(w)`` over each batch.
    reduction : {"mean", "sum"}
    optimizer_state : dict, optional
        Continue from this state (``History.optimizer_state`` of an earlier fit).
    stopping_state : dict, optional
        Early stopping goes on from an earlier fit's best value, count of bad epochs and
        best weights (its ``History.stopping_state``), as scikit-learn's warm starts do.
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
        ``resume`` an existing file is overwritten). The settings and the data must be
        the run's own (else ``ValueError`` naming each argument that differs): only
        those in :data:`chainrule.training.resume.MAY_CHANGE_ON_RESUME` may change
        (``verbose``, ``callbacks``, ``checkpoint_every``, and ``epochs`` upward to train
        longer). The final weights and history are bit-identical to those of the run
        never interrupted. Callbacks are not saved: they see ``on_train_begin`` again
        and ``on_epoch_begin`` for the epoch resumed part-way.
    on_nonfinite : {"raise", "skip"}
        When the loss or a gradient of a batch is NaN or infinite: raise
        :class:`~chainrule.errors.DivergenceError` at once (naming the epoch, batch,
        layer and parameter; the network is left at its last finite weights and the
        error carries ``history`` and ``network``), or skip that batch (recorded in
        ``History.skipped_batches``; an epoch with every batch skipped raises).
    device : str or torch.device, optional
        Train on this PyTorch device (``"cuda"``, ``"mps"``, ``"cpu"``) end to end: the
        parameters and the data are copied there once, the trained parameters come back
        into ``network`` (:mod:`chainrule.training.device`). A network whose parameters
        are already PyTorch tensors or CuPy arrays trains where it is. Part of a run's
        identity: a resume on another device is refused.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a chainrule Network, got {type(network).__name__}")
    settings = FitSettings.check(
        loss=loss,
        optimizer=optimizer,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        validation_split=validation_split,
        early_stopping=early_stopping,
        monitor=monitor,
        patience=patience,
        min_delta=min_delta,
        restore_best_weights=restore_best_weights,
        stopping_rule=stopping_rule,
        schedule=schedule,
        metrics=metrics,
        train_metrics=train_metrics,
        callbacks=callbacks,
        verbose=verbose,
        l2=l2,
        l2_scale=l2_scale,
        clip_norm=clip_norm,
        reduction=reduction,
        on_nonfinite=on_nonfinite,
        device=device,
    )

    def run_on(net: Network) -> History:
        run = prepare(
            net,
            X,
            y,
            settings,
            random_state=random_state,
            validation_data=validation_data,
            sample_weight=sample_weight,
            optimizer_state=optimizer_state,
            stopping_state=stopping_state,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            resume=resume,
        )
        return train(run)

    if settings.device is not None:
        # A copy of the network on the device trains; its weights come back as NumPy.
        return fit_on_device(network, settings.device, run_on)
    return run_on(network)


@dataclass
class Run:
    """What one fit's epoch loop works with, built by :func:`prepare`.

    ``update`` trains on one batch (:class:`~chainrule.training.update.BatchUpdate`),
    ``gradients`` is how it computes them, ``batch`` the batch size in rows, ``names``
    the trainable parameters, ``state`` the optimizer's state, ``position`` where the
    run stands (what a checkpoint saves), ``X_metrics`` the training rows the metrics
    are computed on (None: no training metrics).
    """

    network: Network
    settings: FitSettings
    source: Source
    rng: np.random.Generator
    batch: int
    gradients: BatchGradients
    update: BatchUpdate
    guard: Guard
    names: list[str]
    state: dict[str, Any]
    position: RunPosition
    checkpointer: Checkpointer | None
    history: History
    stopping: EarlyStopping
    X_metrics: Array | None
    y_metrics: Array | None
    X_val: Array | None
    y_val: Array | None


def prepare(
    network: Network,
    X: Any,
    y: Any,
    settings: FitSettings,
    *,
    random_state: int | np.random.Generator | None,
    validation_data: tuple[Any, Any] | None,
    sample_weight: Any,
    optimizer_state: dict[str, Any] | None,
    checkpoint: str | os.PathLike[str] | None,
    checkpoint_every: int | None,
    resume: bool,
    stopping_state: dict[str, Any] | None = None,
) -> Run:
    """Check the data and build the :class:`Run` (arguments as :func:`fit`'s).

    With ``resume``, the run's position, parameters, optimizer state, generator and
    history come from the checkpoint, once it is found to be this run's.

    Integer class labels with a cross-entropy (PyTorch's and Keras's sparse targets)
    become one-hot targets in the network's dtype: once for arrays in memory, batch by
    batch out of core (:mod:`chainrule.training.sources`).
    """
    stopping_state = check_stopping_state(stopping_state, network)
    W1 = network.layers[0].W
    if not isinstance(W1, np.ndarray) and isinstance(X, np.ndarray | list):
        # A network on a device (PyTorch, CuPy) trains there: the data moves there once,
        # labels one-hot on the host first (as floats they would no longer be labels).
        xp, on = array_namespace(W1), device_of(W1)
        host = to_numpy(W1[:0]).dtype

        def move(a: Any, name: str = "") -> Any:
            if name:
                a = one_hot_labels(settings.loss, network.n_outputs, a, name, host)
            return None if a is None else xp.asarray(a, dtype=W1.dtype, device=on)

        X, y, sample_weight = move(X), move(y, "y"), move(sample_weight)
        if validation_data is not None:
            validation_data = (
                move(validation_data[0]),
                move(validation_data[1], "validation_data: y"),
            )
    source = batch_source(network, X, y, sample_weight, settings.epochs, settings.loss)
    # Once per fit; out of core, the pairing only (a batch's values are not scanned).
    y_all = source.y if isinstance(source, ArraySource) else None
    check_targets(settings.loss, network.layers[-1].activation, network.n_outputs, y_all)
    rng = as_generator(random_state)
    if checkpoint is not None and not isinstance(source, ArraySource):
        raise ValueError(
            "checkpoint needs X and y in memory (resuming reads the data again in the same "
            f"order); got X of type {type(X).__name__}"
        )
    check_bool(resume, "resume")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=PATH, the file to resume from")
    checkpointer = Checkpointer.create(checkpoint, checkpoint_every, {})
    saved = None
    if checkpointer is not None:
        data = (source.X, source.y, source.w)  # type: ignore[union-attr]
        seed = describe_seed(random_state, rng)
        checkpointer.settings = identity(
            network, settings, data, validation_data, seed, optimizer_state, stopping_state
        )
        saved = checkpointer.load(network, settings.epochs) if resume else None
        if saved is not None:
            rng.bit_generator.state = saved.extra["start_rng"]  # the same split as before
        checkpointer.start_rng = rng.bit_generator.state
    X_val, y_val, source = validation_set(
        network, source, validation_data, settings.validation_split, rng, settings.loss
    )
    check_targets(settings.loss, network.layers[-1].activation, network.n_outputs, y_val)
    validation = X_val is not None
    monitor, lower_is_better = resolve_monitor(settings.monitor, settings.metrics, validation)
    stopping = EarlyStopping(
        monitor=monitor,
        lower_is_better=lower_is_better,
        patience=settings.patience,
        min_delta=settings.min_delta,
        restore_best_weights=settings.restore_best_weights,
        rule=settings.stopping_rule,
    )
    n = source.n_samples
    batch = min(settings.batch_size or n, n) if n else settings.batch_size or 1
    on_train = settings.train_metrics and isinstance(source, ArraySource)  # out of core: no pass
    if checkpointer is not None:
        checkpointer.every = checkpointer.every or -(-n // batch)  # once per epoch
    history = History()
    guard = Guard(network, settings.on_nonfinite, history)
    gradients = batch_gradients(
        network, settings.loss, batch=batch, reduction=settings.reduction, rng=rng
    )
    names = network.trainable
    update = BatchUpdate(
        gradients,
        guard,
        settings.optimizer,
        names,
        l2=settings.l2,
        clip_norm=settings.clip_norm,
        l2_scale=settings.l2_scale,
    )
    state = settings.optimizer.init({k: network.params[k] for k in names})
    if optimizer_state is not None:
        state = check_optimizer_state(optimizer_state, state)
    position = RunPosition(sched_state=settings.schedule.init(state["lr"]))
    if stopping_state is not None and settings.early_stopping:
        position.best, position.bad_epochs = stopping_state["best"], stopping_state["bad_epochs"]
        if settings.restore_best_weights:
            position.best_params = stopping_state["best_params"]
    if saved is not None and checkpointer is not None:
        state, position = checkpointer.restore(
            saved, network, settings.optimizer, names, rng, history, position.sched_state
        )
    state = state_beside(state, W1)
    history.optimizer_state = state
    return Run(
        network=network,
        settings=settings,
        source=source,
        rng=rng,
        batch=batch,
        gradients=gradients,
        update=update,
        guard=guard,
        names=names,
        state=state,
        position=position,
        checkpointer=checkpointer,
        history=history,
        stopping=stopping,
        X_metrics=source.X if on_train else None,  # type: ignore[union-attr]
        y_metrics=source.y if on_train else None,  # type: ignore[union-attr]
        X_val=X_val,
        y_val=y_val,
    )


def train(run: Run) -> History:
    """The epoch loop: train each epoch, log it, stop when asked; returns the history."""
    network, history, position = run.network, run.history, run.position
    callbacks = run.settings.callbacks
    last_epoch = position.epoch if position.finished in FINISHED else run.settings.epochs
    report = EpochReport(run.settings.epochs, run.settings.verbose)
    for hook in callbacks:
        hook.on_train_begin(network, history)
    try:
        with DeferredSignals() as signals:
            update = whole_updates(run.update, run.settings.optimizer, signals)
            for epoch in range(position.epoch, last_epoch):
                position.epoch = epoch
                for hook in callbacks:
                    hook.on_epoch_begin(epoch, network)
                total, seen = train_epoch(run, epoch, update, signals)
                stop = end_epoch(run, epoch, total, seen, report)
                signals.deliver()
                if stop:
                    break
            if run.checkpointer is not None:  # the end state: a resume returns at once
                position.finished = history.stop_reason
                run.checkpointer.save(network, run.state, run.rng, position, history)
    except KeyboardInterrupt:
        history.stop_reason = "interrupted"
    finally:
        report.close()
    history.stopping_state = {
        "best": position.best,
        "bad_epochs": position.bad_epochs,
        "best_params": position.best_params,
    }
    if position.best_params is not None and history.best_epoch != history.epochs - 1:
        network.set_params(position.best_params)
        history.restored_best = True
    for hook in callbacks:
        hook.on_train_end(network, history)
    return history


def _epoch_batches(run: Run, epoch: int) -> Iterator[Batch]:
    """The epoch's batches: a new shuffle, or, resumed part-way, the one drawn before."""
    position, settings = run.position, run.settings
    if position.batch == 0:
        run.state["lr"], position.sched_state = settings.schedule.step(
            epoch, position.sched_state, position.last_monitor
        )
        position.epoch_rng = run.rng.bit_generator.state if run.checkpointer else None
        return run.source.epoch(run.rng, settings.shuffle, run.batch, run.gradients.gather)
    replay = replay_generator(position.epoch_rng)  # type: ignore[arg-type]
    batches = run.source.epoch(replay, settings.shuffle, run.batch, run.gradients.gather)
    return islice(batches, position.batch, None)


def train_epoch(
    run: Run, epoch: int, update: Callable[..., float | None], signals: DeferredSignals
) -> tuple[float, int]:
    """One pass over the batches, one update each; returns the summed batch losses
    (weighted by rows) and the rows they cover (skipped batches count in neither)."""
    position, checkpointer = run.position, run.checkpointer
    batches = _epoch_batches(run, epoch)
    params = run.network.params  # refreshed: a callback may have replaced arrays
    trainable = {k: params[k] for k in run.names}
    total, seen = position.total, position.seen
    index = position.batch - 1
    # The guard reports NaN and infinity, not a NumPy warning.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for index, (Xb, yb, wb) in enumerate(batches, start=position.batch):
            if signals.pending:  # before the update; after the last, the epoch is logged first
                signals.deliver()
            E = update(Xb, yb, wb, params, trainable, run.state, epoch, index)
            if E is not None:  # None: skipped by the guard
                total += E * Xb.shape[0]
                seen += Xb.shape[0]
                if checkpointer is not None:
                    position.updates += 1
                    if checkpointer.due(position.updates):
                        position.batch, position.total, position.seen = index + 1, total, seen
                        checkpointer.save(run.network, run.state, run.rng, position, run.history)
    position.batch, position.total, position.seen = 0, 0.0, 0
    if index < 0:
        raise ValueError(f"X gave no batches in epoch {epoch}")
    return total, seen


def end_epoch(run: Run, epoch: int, total: float, seen: int, report: EpochReport) -> bool:
    """Log the epoch, apply early stopping and the callbacks; whether to stop."""
    network, history, position, stopping = run.network, run.history, run.position, run.stopping
    settings = run.settings
    if seen == 0 or not np.isfinite(total):
        raise run.guard.diverged(
            DivergenceError(
                f"training diverged at epoch {epoch}: "
                + ("every batch was skipped" if seen == 0 else f"the loss sum is {total}"),
                epoch=epoch,
            )
        )
    logs = {"loss": total / seen, "lr": run.state["lr"]}
    evaluate(
        network,
        settings.loss,
        dict(settings.metrics),
        logs,
        run.X_metrics,
        run.y_metrics,
        run.X_val,
        run.y_val,
    )
    history.append(logs)
    position.last_monitor = logs.get(stopping.monitor)
    if position.last_monitor is not None and not stopping.lower_is_better:
        position.last_monitor = -position.last_monitor  # schedules take lower as better
    stop = settings.early_stopping and stopping.ran_out(
        position,
        logs[stopping.monitor],
        epoch,
        network.params,
        history,
        schedule=settings.schedule,
        optimizer_state=run.state,
    )
    for hook in settings.callbacks:
        if hook.on_epoch_end(epoch, logs, network):
            history.stop_reason, stop = "callback", True
    report.epoch_done(epoch, logs)
    position.epoch += 1
    return stop
