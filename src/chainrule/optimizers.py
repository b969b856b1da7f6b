"""Optimizers: frozen settings plus a pure-looking ``init`` / ``update`` pair.

An optimizer holds only its settings. Its state (step count, learning rate, moments)
is created by ``init(params)`` and threaded through ``update(params, grads, state)``,
which returns the new parameters and the new state. A checkpoint is therefore just
``(params, optimizer state, rng state, epoch)``.

For speed, ``update`` writes into the parameter and state arrays it is given (no
per-batch allocation beyond one scratch array per parameter) and returns them; copy
them first (``Network.copy()``, ``copy.deepcopy(state)``) to keep the old values.

The learning rate of the next update is ``state["lr"]``; a schedule changes it between
epochs (see :mod:`chainrule.schedules`). ``t`` counts the updates taken, from 1.

Formulas, for a parameter ``p`` with gradient ``g`` (the PyTorch conventions):

- SGD: ``v <- momentum * v + g``; ``p <- p - lr * v`` (``p <- p - lr * (g + momentum * v)``
  with Nesterov); plain gradient descent ``p <- p - lr * g`` when ``momentum = 0``.
- Adam: ``m <- b1 m + (1 - b1) g``, ``s <- b2 s + (1 - b2) g**2``,
  ``p <- p - lr * (m / (1 - b1**t)) / (sqrt(s / (1 - b2**t)) + eps)``.
- SklearnSGD: SGD with scikit-learn's velocity ``u <- momentum * u - lr * g``, the same
  steps while the rate stays (for the estimators, whose schedules change it).
- AdamW: Adam after a decoupled decay of the weights, ``W <- W * (1 - lr * weight_decay)``
  (biases are not decayed).

Frozen parameters are never updated: pass only the trainable ones (as
:func:`chainrule.training.fit` does, with ``network.trainable``).

Examples
--------
>>> import numpy as np
>>> from chainrule.optimizers import SGD
>>> opt = SGD(lr=0.5)
>>> params, grads = {"W1": np.array([[1.0]])}, {"W1": np.array([[0.2]])}
>>> params, state = opt.update(params, grads, opt.init(params))
>>> params["W1"], state["t"]
(array([[0.9]]), 1)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from .checks import Array, check_positive
from .names import lookup

Params = dict[str, Array]
State = dict[str, Any]


def _check_fraction(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number in [0, 1), got {value!r}")
    if not (0 <= value < 1):
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


@functools.cache
def _largest(dtype: np.dtype) -> float:
    """The largest finite value of a floating ``dtype``."""
    return float(np.finfo(dtype).max)


def _zeros_like(p: Array) -> Array:
    """Zeros of ``p``'s shape, dtype, library and device (optimizer state beside it)."""
    return np.zeros_like(p) if isinstance(p, np.ndarray) else array_namespace(p).zeros_like(p)


def _check_grads(params: Params, grads: Params) -> None:
    missing = sorted(set(params) - set(grads))
    if missing:
        raise ValueError(f"grads has no entry for parameters {missing}")


class Optimizer:
    """Base class: ``init`` builds the state, ``update`` applies one step."""

    lr: float

    def init(self, params: Params) -> State:
        """The state before the first update: ``{"t": 0, "lr": lr, ...}``."""
        return {"t": 0, "lr": float(self.lr)}

    def update(self, params: Params, grads: Params, state: State) -> tuple[Params, State]:
        """One step: returns the updated ``params`` and ``state`` (both updated in place)."""
        raise NotImplementedError

    def _scratch(self, state: State, params: Params) -> dict[str, Array]:
        # One reusable work array per parameter, so an update allocates nothing.
        scratch = state.get("_scratch")
        if scratch is None or scratch.keys() != params.keys():
            scratch = {name: array_namespace(p).empty_like(p) for name, p in params.items()}
            state["_scratch"] = scratch
        return scratch


@dataclass(frozen=True)
class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        In [0, 1); 0 gives the seed's plain update ``p <- p - lr * g``.
    nesterov : bool
        Use Nesterov momentum (requires ``momentum > 0``).
    """

    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self) -> None:
        check_positive(self.lr, "lr")
        _check_fraction(self.momentum, "momentum")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True requires momentum > 0, got momentum=0")

    def init(self, params: Params) -> State:
        state = super().init(params)
        if self.momentum:
            state["velocity"] = {name: _zeros_like(p) for name, p in params.items()}
        return state

    def update(self, params: Params, grads: Params, state: State) -> tuple[Params, State]:
        _check_grads(params, grads)
        lr = state["lr"]
        steps = self._scratch(state, params)
        for name in params:
            g, step = grads[name], steps[name]
            if self.momentum:
                v = state["velocity"][name]
                v *= self.momentum
                v += g
                if not isinstance(step, np.ndarray):  # another library's arrays: no out=
                    steps[name] = (v * self.momentum + g) * lr if self.nesterov else v * lr
                elif self.nesterov:
                    np.multiply(v, self.momentum, out=step)
                    step += g
                    step *= lr
                else:
                    np.multiply(v, lr, out=step)
            elif isinstance(step, np.ndarray):
                np.multiply(g, lr, out=step)  # one pass: the copy and the scaling at once
            else:  # an array of another library (train_step runs on any): no out=
                steps[name] = g * lr
        return self.descend(params, steps, state)

    def descend(self, params: Params, steps: Params, state: State) -> tuple[Params, State]:
        """``p <- p - step`` for every parameter in ``params``: the update itself.

        :meth:`update` computes the steps from the gradients. Plain SGD may get them
        straight from the backward pass instead (the gradients of ``lr * E``, see
        :meth:`Network.backward <chainrule.network.Network.backward>`'s ``scale``) and
        call this alone.
        """
        for name, p in params.items():
            p -= steps[name]
        state["t"] += 1
        return params, state


@dataclass(frozen=True)
class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), with bias correction.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    beta1, beta2 : float
        Decay rates of the first and second moment estimates, in [0, 1).
    eps : float
        Added to the square root of the second moment, > 0.
    """

    lr: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        check_positive(self.lr, "lr")
        _check_fraction(self.beta1, "beta1")
        _check_fraction(self.beta2, "beta2")
        check_positive(self.eps, "eps")

    def init(self, params: Params) -> State:
        state = super().init(params)
        state["m"] = {name: _zeros_like(p) for name, p in params.items()}
        state["s"] = {name: _zeros_like(p) for name, p in params.items()}
        return state

    def _decay(self, params: Params, lr: float) -> None:
        """AdamW's decoupled weight decay; none for Adam."""

    def update(
        self,
        params: Params,
        grads: Params,
        state: State,
        *,
        sweep: Callable[..., bool] | None = None,
    ) -> tuple[Params, State]:
        """One step; ``sweep(p, g, m, s, beta1, beta2, a, b)``, if given, a fused kernel
        (:func:`chainrule.kernels.update_kernel_for`) that updates one parameter and its
        moments in a single pass and returns False where it cannot (then NumPy's passes)."""
        _check_grads(params, grads)
        state["t"] += 1
        t, lr = state["t"], state["lr"]
        self._decay(params, lr)
        b1, b2, eps = self.beta1, self.beta2, self.eps
        # p <- p - step * m / (sqrt(s) / root_c2 + eps), PyTorch's formulation, is computed
        # as p <- p - m / (sqrt(s) * a + b): the step folded into the denominator.
        step = lr / (1 - b1**t)
        root_c2 = math.sqrt(1 - b2**t)
        a = 1 / (root_c2 * step) if step > 0 else math.inf
        b = eps / step if step > 0 else math.inf
        ms, ss, scratch = state["m"], state["s"], self._scratch(state, params)
        for name, p in params.items():
            g, m, s, work = grads[name], ms[name], ss[name], scratch[name]
            if sweep is not None and max(a, b) <= _largest(p.dtype):
                if sweep(p, g, m, s, b1, b2, a, b):
                    continue
            if not isinstance(p, np.ndarray):  # another library's arrays (a GPU's): no out=
                m *= b1
                m += g * (1 - b1)
                s *= b2
                s += g * g * (1 - b2)
                p -= m / (array_namespace(p).sqrt(s) / root_c2 + eps) * step
                continue
            np.multiply(g, 1 - b1, out=work)  # m <- b1 m + (1 - b1) g: 3 passes
            m *= b1
            m += work
            np.square(g, out=work)  # s <- b2 s + (1 - b2) g**2: 4 passes
            work *= 1 - b2
            s *= b2
            s += work
            np.sqrt(s, out=work)  # the step: 5 passes
            if max(a, b) <= _largest(p.dtype):
                work *= a
                work += b
                np.divide(m, work, out=work)
            else:  # a tiny step (or 0): a and b overflow, so scale by the step itself
                work /= root_c2
                work += eps
                np.divide(m, work, out=work)
                work *= step
            p -= work
        return params, state


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    Before each Adam step, weights (``Wk``, not biases) shrink: ``W <- W * (1 - lr *
    weight_decay)``.

    Parameters
    ----------
    weight_decay : float
        >= 0.
    """

    weight_decay: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        wd = self.weight_decay
        if isinstance(wd, bool) or not isinstance(wd, int | float) or not wd >= 0:
            raise ValueError(f"weight_decay must be a number >= 0, got {wd!r}")

    def _decay(self, params: Params, lr: float) -> None:
        for name, p in params.items():
            if name.startswith("W"):
                p *= 1 - lr * self.weight_decay


@dataclass(frozen=True)
class SklearnSGD(SGD):
    """SGD with scikit-learn's velocity, which holds each step's own rate.

    :class:`SGD` keeps PyTorch's velocity of gradients,
    ``v <- momentum * v + g`` and the step ``lr * v``, so a new rate scales the whole
    velocity; scikit-learn's is the step itself, ``u <- momentum * u - lr * g``. The two
    agree while the rate stays. When a schedule changes it (``invscaling``), this one
    first rescales the velocity by ``old_lr / lr``, which gives scikit-learn's step,
    ``lr * (momentum * v * old_lr / lr + g) = momentum * old_lr * v + lr * g``. The
    state's ``velocity_lr`` is the rate the velocity is counted in. The estimators'
    ``solver="sgd"`` with momentum uses it.
    """

    def init(self, params: Params) -> State:
        state = super().init(params)
        state["velocity_lr"] = float(self.lr)
        return state

    def update(self, params: Params, grads: Params, state: State) -> tuple[Params, State]:
        if self.momentum and state["velocity_lr"] != state["lr"]:
            ratio = state["velocity_lr"] / state["lr"]
            for v in state["velocity"].values():
                v *= ratio
            state["velocity_lr"] = float(state["lr"])
        return super().update(params, grads, state)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def get_optimizer(optimizer: str | Optimizer, **settings: Any) -> Optimizer:
    """An optimizer from its name (``sgd``, ``adam``, ``adamw``) and settings, or itself."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name or an Optimizer, got {type(optimizer).__name__}")
    return lookup(OPTIMIZERS, optimizer, "optimizer")(**settings)
