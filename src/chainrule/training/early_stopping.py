"""Early stopping: the quantity a fit monitors, and when it stops for lack of progress.

The monitored quantity is a key of the history: ``val_loss`` by default with validation
data, else ``loss``; lower is better for names with ``loss``, higher otherwise.
Plateau schedules follow the same quantity. With ``early_stopping=True`` a fit stops
once ``patience`` epochs in a row have not improved on the best value by more than
``min_delta``, and with ``restore_best_weights`` puts back the weights of the best epoch.
That is Keras's rule (``rule="keras"``). scikit-learn's (``rule="sklearn"``) differs in two
ways: the best value follows every gain, even one within ``min_delta``, and the fit stops
once *more than* ``patience`` epochs in a row have not improved by ``min_delta``.
``rule="sklearn_adaptive"`` is scikit-learn's SGD with ``learning_rate="adaptive"``:
where the sklearn rule would stop, the learning rate is divided by 5 and the count
starts again, and the fit stops only once the rate is already at most 1e-6 (the rate
and the stop share the one count, as in scikit-learn).

The best value, the count of bad epochs and the best weights live in the run's
position (:class:`chainrule.training.resume.RunPosition`), so that they survive a resume;
a fit may also start from an earlier fit's (``fit(stopping_state=...)``, scikit-learn's
warm starts), and ends with them in ``History.stopping_state``.

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
from ..schedules import Schedule
from .callbacks import History

STOPPING_RULES = ("keras", "sklearn", "sklearn_adaptive")
# scikit-learn's SGDOptimizer.trigger_stopping: divide the rate by 5 on a plateau, stop
# once it is at most 1e-6.
ADAPTIVE_FACTOR = 0.2
ADAPTIVE_MIN_LR = 1e-6


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


def check_stopping_state(state: Any, network: Any) -> dict[str, Any] | None:
    """``fit(stopping_state=...)`` checked: None, or a dict with ``best`` (a number or
    None), ``bad_epochs`` (an integer >= 0) and ``best_params`` (None or parameters of
    ``network``'s shapes), as ``History.stopping_state`` gives them."""
    if state is None:
        return None
    if not isinstance(state, Mapping) or set(state) != {"best", "bad_epochs", "best_params"}:
        raise TypeError(
            "stopping_state must be None or a dict with keys 'best', 'bad_epochs' and "
            f"'best_params' (History.stopping_state), got {state!r:.80}"
        )
    best, bad, params = state["best"], state["bad_epochs"], state["best_params"]
    if best is not None and (isinstance(best, bool) or not isinstance(best, int | float)):
        raise TypeError(f"stopping_state['best'] must be a number or None, got {best!r:.40}")
    if isinstance(bad, bool) or not isinstance(bad, int | np.integer) or bad < 0:
        raise ValueError(f"stopping_state['bad_epochs'] must be an integer >= 0, got {bad!r:.40}")
    if params is not None:
        network.copy().set_params(params)  # checks every name and shape, changes nothing
    return {"best": best, "bad_epochs": int(bad), "best_params": params}


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
        self,
        position: Any,
        value: float,
        epoch: int,
        params: dict[str, Array],
        history: History,
        *,
        schedule: Schedule | None = None,
        optimizer_state: dict[str, Any] | None = None,
    ) -> bool:
        """After an epoch whose monitored quantity is ``value``: record a new best (and,
        with ``restore_best_weights``, a copy of the weights) or count one more bad epoch;
        True when ``patience`` bad epochs in a row have passed (the history says why).

        ``position`` (a :class:`~chainrule.training.resume.RunPosition`) holds ``best``,
        ``bad_epochs``, ``best_params`` and the schedule's state across epochs. With
        ``rule="sklearn_adaptive"``, running out while the rate is above 1e-6 divides
        the rate by 5 instead, in the ``schedule``'s state and the ``optimizer_state``
        (so that the next update, in this fit or a later one, uses it), and
        ``History.rate_cuts`` records it.
        """
        first = position.best is None
        sign = 1.0 if self.lower_is_better else -1.0
        better = first or sign * value < sign * position.best - self.min_delta
        gain = first or sign * value < sign * position.best
        if better or (gain and self.rule != "keras"):
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
        if position.bad_epochs < self.patience + (self.rule != "keras"):
            return False
        if self.rule == "sklearn_adaptive" and position.sched_state["lr"] > ADAPTIVE_MIN_LR:
            if schedule is None:
                raise ValueError("rule='sklearn_adaptive' needs the fit's schedule")
            position.sched_state = schedule.scaled(position.sched_state, ADAPTIVE_FACTOR)
            if optimizer_state is not None:
                optimizer_state["lr"] = position.sched_state["lr"]
            history.rate_cuts.append((epoch, float(position.sched_state["lr"])))
            position.bad_epochs = 0
            return False
        history.stop_reason = "early_stopping"
        return True
