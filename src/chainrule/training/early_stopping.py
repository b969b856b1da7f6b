"""Early stopping: the quantity a fit monitors, and when it stops for lack of progress.

The monitored quantity is a key of the history: ``val_loss`` by default with validation
data, else ``loss``; lower is better for names with ``loss``, higher otherwise.
Plateau schedules follow the same quantity. With ``early_stopping=True`` a fit stops
once ``patience`` epochs in a row have not improved on the best value by more than
``min_delta``, and with ``restore_best_weights`` puts back the weights of the best epoch.
That is Keras's rule (``rule="keras"``). scikit-learn's (``rule="sklearn"``) differs in two
ways: the best value follows every gain, even one within ``min_delta``, and the fit stops
once *more than* ``patience`` epochs in a row have not improved by ``min_delta``.

The best value, the count of bad epochs and the best weights live in the run's
position (:class:`chainrule.training.resume.RunPosition`), so that they survive a resume.

Examples
--------
>>> from chainrule.training.early_stopping import resolve_monitor
>>> resolve_monitor(None, {"accuracy": None}, validation=True)
('val_loss', True)
>>> resolve_monitor("val_accuracy", {"accuracy": None}, validation=True)
('val_accuracy', False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import Array, to_numpy
from ..names import did_you_mean
from .callbacks import History

STOPPING_RULES = ("keras", "sklearn")


def resolve_monitor(
    monitor: str | None, metric_names: Mapping[str, Any], validation: bool
) -> tuple[str, bool]:
    """The history key that early stopping and plateau schedules follow, and whether lower
    is better.

    ``metric_names`` are the metrics the fit computes; ``validation`` says whether it has
    validation data (``val_`` keys are then known).
    """
    if monitor is not None and not isinstance(monitor, str):
        raise TypeError(f"monitor must be a name (str) or None, got {monitor!r:.40}")
    monitor = monitor or ("val_loss" if validation else "loss")
    if monitor.startswith("val_") and not validation:
        raise ValueError(f"monitor={monitor!r} needs validation_data or validation_split")
    known = ["loss", *metric_names]
    known += [f"val_{k}" for k in known] if validation else []
    if monitor not in known:
        raise ValueError(
            f"monitor must be one of {known}, got {monitor!r}{did_you_mean(monitor, known)}"
        )
    return monitor, "loss" in monitor


@dataclass(frozen=True)
class EarlyStopping:
    """The stopping rule of one fit; see the module docstring."""

    monitor: str
    lower_is_better: bool
    patience: int
    min_delta: float
    restore_best_weights: bool
    rule: str = "keras"

    def ran_out(
        self, position: Any, value: float, epoch: int, params: dict[str, Array], history: History
    ) -> bool:
        """After an epoch whose monitored quantity is ``value``: record a new best (and,
        with ``restore_best_weights``, a copy of the weights) or count one more bad epoch;
        True when ``patience`` bad epochs in a row have passed (the history says why).

        ``position`` (a :class:`~chainrule.training.resume.RunPosition`) holds ``best``,
        ``bad_epochs`` and ``best_params`` across epochs.
        """
        first = position.best is None
        sign = 1.0 if self.lower_is_better else -1.0
        better = first or sign * value < sign * position.best - self.min_delta
        gain = first or sign * value < sign * position.best
        if better or (gain and self.rule == "sklearn"):
            position.best, history.best_epoch = value, epoch
            if self.restore_best_weights:
                position.best_params = {
                    k: np.array(to_numpy(v), copy=True) for k, v in params.items()
                }
        if better:
            position.bad_epochs = 0
            return False
        position.bad_epochs += 1
        # scikit-learn stops after patience + 1 bad epochs in a row, Keras after patience.
        if position.bad_epochs >= self.patience + (self.rule == "sklearn"):
            history.stop_reason = "early_stopping"
            return True
        return False
