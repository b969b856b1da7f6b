"""A fit's settings: every argument of :func:`chainrule.training.fit` that is not data,
checked once into a frozen :class:`FitSettings`.

Each check raises ``ValueError`` or ``TypeError`` naming the argument, before the
network, the data or anything else is touched. Names (``"adam"``, ``"bce"``,
``"cosine"``) become the objects they name; the fit then reads only the settings.

Examples
--------
>>> from chainrule.training.settings import FitSettings
>>> settings = FitSettings.check(loss="bce", optimizer="sgd", epochs=3)
>>> settings.loss, settings.optimizer.lr, settings.batch_size
(BinaryCrossEntropy(from_logits=False), 0.01, 32)
>>> FitSettings.check(loss="bce", epochs=0)
Traceback (most recent call last):
...
ValueError: epochs must be a positive integer, got 0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import check_bool, check_non_negative, check_positive, check_reduction
from ..losses import Loss, get_loss
from ..optimizers import Optimizer, get_optimizer
from ..regularization import L2_SCALES
from ..schedules import Schedule, get_schedule
from .callbacks import Callback, as_callback
from .device import torch_device
from .early_stopping import STOPPING_RULES
from .guard import ON_NONFINITE
from .logs import Metric, get_metrics


@dataclass(frozen=True)
class FitSettings:
    """The checked settings of one fit (see :func:`chainrule.training.fit` for each)."""

    loss: Loss
    optimizer: Optimizer = dataclasses.field(default_factory=lambda: get_optimizer("adam"))
    epochs: int = 10
    batch_size: int | None = 32
    shuffle: bool = True
    validation_split: float = 0.0
    early_stopping: bool = False
    monitor: str | None = None
    patience: int = 10
    min_delta: float = 0.0
    restore_best_weights: bool = True
    stopping_rule: str = "keras"
    schedule: Schedule = dataclasses.field(default_factory=lambda: get_schedule(None))
    metrics: Mapping[str, Metric] = dataclasses.field(default_factory=dict)
    train_metrics: bool = True
    callbacks: tuple[Callback, ...] = ()
    verbose: int = 0
    l2: float = 0.0
    l2_scale: str = "fixed"
    clip_norm: float | None = None
    reduction: str = "mean"
    on_nonfinite: str = "raise"
    device: Any = None

    @classmethod
    def check(
        cls,
        *,
        loss: str | Loss,
        optimizer: str | Optimizer = "adam",
        epochs: int = 10,
        batch_size: int | None = 32,
        shuffle: bool = True,
        validation_split: float = 0.0,
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
        reduction: str = "mean",
        on_nonfinite: str = "raise",
        device: Any = None,
    ) -> FitSettings:
        """Check every setting (names as :func:`~chainrule.training.fit`'s arguments)."""
        if batch_size is not None:
            batch_size = int(check_positive(batch_size, "batch_size", integer=True))
        if not isinstance(validation_split, int | float) or isinstance(validation_split, bool):
            raise TypeError(
                f"validation_split must be a number in [0, 1), got {validation_split!r}"
            )
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}")
        if clip_norm is not None:
            clip_norm = float(check_positive(clip_norm, "clip_norm"))
        if on_nonfinite not in ON_NONFINITE:
            raise ValueError(f"on_nonfinite must be one of {ON_NONFINITE}, got {on_nonfinite!r}")
        if stopping_rule not in STOPPING_RULES:
            raise ValueError(
                f"stopping_rule must be one of {STOPPING_RULES}, got {stopping_rule!r}"
            )
        if l2_scale not in L2_SCALES:
            raise ValueError(f"l2_scale must be one of {L2_SCALES}, got {l2_scale!r}")
        if verbose not in (0, 1, 2) or not isinstance(verbose, int | np.integer):
            raise ValueError(
                f"verbose must be 0, 1 (a progress bar) or 2 (a line per epoch), got {verbose!r}"
            )
        if isinstance(callbacks, str) or not hasattr(callbacks, "__iter__"):
            raise TypeError(
                "callbacks must be a sequence of Callback instances or functions, got "
                f"{type(callbacks).__name__}"
            )
        return cls(
            loss=get_loss(loss),
            optimizer=get_optimizer(optimizer),
            epochs=int(check_positive(epochs, "epochs", integer=True)),
            batch_size=batch_size,
            shuffle=check_bool(shuffle, "shuffle"),
            validation_split=float(validation_split),
            early_stopping=check_bool(early_stopping, "early_stopping"),
            monitor=monitor,
            patience=int(check_positive(patience, "patience", integer=True)),
            min_delta=float(check_non_negative(min_delta, "min_delta")),
            restore_best_weights=check_bool(restore_best_weights, "restore_best_weights"),
            stopping_rule=stopping_rule,
            schedule=get_schedule(schedule),
            metrics=get_metrics(metrics),
            train_metrics=check_bool(train_metrics, "train_metrics"),
            callbacks=tuple(as_callback(c) for c in callbacks),
            verbose=verbose,
            l2=float(check_non_negative(l2, "l2")),
            l2_scale=l2_scale,
            clip_norm=clip_norm,
            reduction=check_reduction(reduction),
            on_nonfinite=on_nonfinite,
            device=None if device is None else torch_device(device),
        )
