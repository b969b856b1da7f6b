"""Learning-rate schedules, applied once per epoch.

Each schedule maps the epoch number (from 0) and the initial learning rate ``lr0`` to
the learning rate of that epoch. Like optimizers, schedules are frozen settings; the
one that needs memory, :class:`ReduceOnPlateau`, keeps it in an explicit state:

``state = schedule.init(lr0)``; then, at the start of each epoch,
``lr, state = schedule.step(epoch, state, monitor)`` where ``monitor`` is the last
epoch's monitored value (e.g. the validation loss; None before the first epoch).

=====================  =====================================================
schedule               learning rate of epoch ``e``
=====================  =====================================================
Constant()             ``lr0``
StepDecay(k, gamma)    ``lr0 * gamma ** (e // k)``
ExponentialDecay(g)    ``lr0 * g ** e``
Cosine(T, lr_min)      ``lr_min + (lr0 - lr_min) * (1 + cos(pi * min(e, T) / T)) / 2``
ReduceOnPlateau(...)   ``lr * factor`` after more than ``patience`` epochs without
                       improvement of ``monitor`` by ``threshold`` (relative)
InvScaling(p, n, t0)   ``lr0`` for ``e = 0``, then ``lr0 / (t0 + e * n + 1) ** p``
                       (scikit-learn's "invscaling"; ``t0 + e * n`` samples seen)
=====================  =====================================================

Examples
--------
>>> from chainrule.schedules import StepDecay
>>> schedule = StepDecay(step_size=2, gamma=0.5)
>>> [schedule.value(e, 1.0) for e in range(5)]
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .checks import check_positive
from .names import lookup

State = dict[str, Any]


class Schedule:
    """Base class for schedules that depend only on the epoch."""

    def value(self, epoch: int, lr0: float) -> float:
        """The learning rate of ``epoch`` (from 0) given the initial rate ``lr0``."""
        raise NotImplementedError

    def init(self, lr0: float) -> State:
        """The state before epoch 0."""
        return {"lr0": float(lr0), "lr": float(lr0)}

    def step(self, epoch: int, state: State, monitor: float | None = None) -> tuple[float, State]:
        """The learning rate of ``epoch`` and the new state."""
        lr = self.value(epoch, state["lr0"])
        return lr, {**state, "lr": lr}


def _check_gamma(gamma: object) -> None:
    check_positive(gamma, "gamma")
    if gamma > 1:  # type: ignore[operator]
        raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")


@dataclass(frozen=True)
class Constant(Schedule):
    """The same learning rate every epoch."""

    def value(self, epoch: int, lr0: float) -> float:
        return float(lr0)


@dataclass(frozen=True)
class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    step_size: int = 10
    gamma: float = 0.1

    def __post_init__(self) -> None:
        check_positive(self.step_size, "step_size", integer=True)
        _check_gamma(self.gamma)

    def value(self, epoch: int, lr0: float) -> float:
        return float(lr0 * self.gamma ** (epoch // self.step_size))


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """Multiply the rate by ``gamma`` every epoch."""

    gamma: float = 0.95

    def __post_init__(self) -> None:
        _check_gamma(self.gamma)

    def value(self, epoch: int, lr0: float) -> float:
        return float(lr0 * self.gamma**epoch)


@dataclass(frozen=True)
class Cosine(Schedule):
    """Cosine annealing from ``lr0`` down to ``lr_min`` over ``T`` epochs, then ``lr_min``."""

    T: int = 100
    lr_min: float = 0.0

    def __post_init__(self) -> None:
        check_positive(self.T, "T", integer=True)
        if isinstance(self.lr_min, bool) or not self.lr_min >= 0:
            raise ValueError(f"lr_min must be a number >= 0, got {self.lr_min!r}")

    def value(self, epoch: int, lr0: float) -> float:
        fraction = min(epoch, self.T) / self.T
        return float(self.lr_min + (lr0 - self.lr_min) * (1 + math.cos(math.pi * fraction)) / 2)


@dataclass(frozen=True)
class ReduceOnPlateau(Schedule):
    """Shrink the rate when the monitored value (lower is better) stops improving.

    An epoch improves on the best value so far when ``monitor < best * (1 - threshold)``
    (PyTorch's relative threshold for positive values). After more than ``patience``
    epochs without improvement the rate becomes ``max(lr * factor, min_lr)`` and the
    count restarts.
    """

    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        check_positive(self.factor, "factor")
        if self.factor >= 1:
            raise ValueError(f"factor must be in (0, 1), got {self.factor!r}")
        if isinstance(self.patience, bool) or not isinstance(self.patience, int):
            raise TypeError(f"patience must be an integer >= 0, got {self.patience!r}")
        if self.patience < 0:
            raise ValueError(f"patience must be an integer >= 0, got {self.patience!r}")
        if not self.threshold >= 0 or not self.min_lr >= 0:
            raise ValueError("threshold and min_lr must be >= 0")

    def value(self, epoch: int, lr0: float) -> float:
        raise TypeError("ReduceOnPlateau depends on the monitored value: use init() and step()")

    def init(self, lr0: float) -> State:
        return {"lr0": float(lr0), "lr": float(lr0), "best": math.inf, "bad_epochs": 0}

    def step(self, epoch: int, state: State, monitor: float | None = None) -> tuple[float, State]:
        if monitor is None:
            return state["lr"], state
        state = dict(state)
        best = state["best"]
        if monitor < best * (1 - self.threshold):
            state["best"], state["bad_epochs"] = float(monitor), 0
        else:
            state["bad_epochs"] += 1
        if state["bad_epochs"] > self.patience:
            state["lr"] = max(state["lr"] * self.factor, self.min_lr)
            state["bad_epochs"] = 0
        return state["lr"], state


@dataclass(frozen=True)
class InvScaling(Schedule):
    """scikit-learn's "invscaling": the rate shrinks as ``1 / (t + 1) ** power_t`` with
    ``t`` the samples seen.

    As scikit-learn's SGD does, the rate is set at the end of each epoch, from the
    samples seen by then, and a run starts at ``lr0``: epoch 0 runs at ``lr0`` and epoch
    ``e >= 1`` at ``lr0 / (samples_seen + e * samples_per_epoch + 1) ** power_t``.
    ``samples_seen`` counts the samples of earlier runs (scikit-learn's ``t_``, which a
    warm start keeps), ``samples_per_epoch`` the rows of one epoch.

    Examples
    --------
    >>> schedule = InvScaling(power_t=0.5, samples_per_epoch=3)
    >>> [schedule.value(e, 1.0) for e in range(3)]  # 1, 1/sqrt(4), 1/sqrt(7)
    [1.0, 0.5, 0.3779644730092272]
    """

    power_t: float = 0.5
    samples_per_epoch: int = 1
    samples_seen: int = 0

    def __post_init__(self) -> None:
        check_positive(self.power_t, "power_t")
        check_positive(self.samples_per_epoch, "samples_per_epoch", integer=True)
        if isinstance(self.samples_seen, bool) or not isinstance(self.samples_seen, int):
            raise TypeError(f"samples_seen must be an integer >= 0, got {self.samples_seen!r}")
        if self.samples_seen < 0:
            raise ValueError(f"samples_seen must be an integer >= 0, got {self.samples_seen!r}")

    def value(self, epoch: int, lr0: float) -> float:
        if epoch == 0:
            return float(lr0)
        t = self.samples_seen + epoch * self.samples_per_epoch
        return float(lr0) / (t + 1) ** self.power_t


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "cosine": Cosine,
    "plateau": ReduceOnPlateau,
    "invscaling": InvScaling,
}


def get_schedule(schedule: str | Schedule | None, **settings: Any) -> Schedule:
    """A schedule from its name (``constant, step, exponential, cosine, plateau,
    invscaling``) or itself."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    if not isinstance(schedule, str):
        raise TypeError(f"schedule must be a name or a Schedule, got {type(schedule).__name__}")
    return lookup(SCHEDULES, schedule, "schedule")(**settings)
