"""Checks of the estimators' hyper-parameters, made at fit time (never in ``__init__``).

Each raises ``ValueError`` or ``TypeError`` naming the parameter, what it accepts and
what it got, before the estimator changes.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from ..activations import get_activation
from ..checks import check_bool
from ..names import did_you_mean

SOLVERS = ("adam", "adamw", "sgd")
LEARNING_RATES = ("constant", "adaptive", "cosine")


def _number(value: Any, name: str, *, low: float, low_open: bool, integer: bool = False) -> None:
    kinds = Integral if integer else Real
    what = "an integer" if integer else "a number"
    bound = f"> {low}" if low_open else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise TypeError(f"{name} must be {what} {bound}, got {value!r}")
    if not (value > low if low_open else value >= low) or value != value:
        raise ValueError(f"{name} must be {what} {bound}, got {value!r}")


def hidden_sizes(value: Any) -> list[int]:
    """``hidden_layer_sizes`` as a list of positive ints (an int is one hidden layer)."""
    sizes = [value] if isinstance(value, Integral) and not isinstance(value, bool) else value
    if isinstance(sizes, str) or not hasattr(sizes, "__iter__"):
        raise TypeError(
            f"hidden_layer_sizes must be a positive int or a sequence of them, got {value!r}"
        )
    sizes = list(sizes)
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, Integral) or size < 1:
            raise ValueError(f"hidden_layer_sizes must hold positive integers, got {value!r}")
    return [int(size) for size in sizes]


def activations(value: Any, n_hidden: int) -> list[str]:
    """One engine activation name per hidden layer."""
    names = [value] * n_hidden if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or len(names) != n_hidden:
        raise ValueError(
            f"activation must be a name or one name per hidden layer ({n_hidden}), got {value!r}"
        )
    found = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"activation must be a name or one name per hidden layer, got {name!r}")
        # The engine's names, in any case, and scikit-learn's logistic (get_activation's).
        engine = get_activation(name).name
        if engine == "softmax":
            raise ValueError(
                f"activation {name!r} is an output activation (the classifier's own); "
                "hidden layers take relu, tanh, logistic, identity, leaky_relu or softplus"
            )
        found.append(engine)
    return found


def check_all(est: Any) -> None:
    """Check every hyper-parameter of an MLP estimator."""
    for name, known in (("solver", SOLVERS), ("learning_rate", LEARNING_RATES)):
        value = getattr(est, name)
        if value not in known:
            hint = did_you_mean(value, known) if isinstance(value, str) else ""
            raise ValueError(f"{name} must be one of {known}, got {value!r}{hint}")
    for name in ("shuffle", "warm_start", "early_stopping", "nesterovs_momentum"):
        check_bool(getattr(est, name), name)  # "no" would count as true
    _number(est.alpha, "alpha", low=0, low_open=False)
    _number(est.learning_rate_init, "learning_rate_init", low=0, low_open=True)
    _number(est.max_iter, "max_iter", low=0, low_open=True, integer=True)
    _number(est.tol, "tol", low=0, low_open=False)
    _number(est.n_iter_no_change, "n_iter_no_change", low=0, low_open=True, integer=True)
    _number(est.momentum, "momentum", low=0, low_open=False)
    _number(est.epsilon, "epsilon", low=0, low_open=True)
    _number(est.beta_1, "beta_1", low=0, low_open=False)
    _number(est.beta_2, "beta_2", low=0, low_open=False)
    _number(est.validation_fraction, "validation_fraction", low=0, low_open=True)
    _number(est.weight_decay, "weight_decay", low=0, low_open=False)
    _number(est.dropout, "dropout", low=0, low_open=False)
    for name in ("beta_1", "beta_2", "momentum", "dropout"):
        if getattr(est, name) >= 1:
            raise ValueError(f"{name} must be in [0, 1), got {getattr(est, name)!r}")
    if not 0 < est.validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {est.validation_fraction!r}")
    if est.batch_size != "auto":
        _number(est.batch_size, "batch_size", low=0, low_open=True, integer=True)
    if est.clip_norm is not None:
        _number(est.clip_norm, "clip_norm", low=0, low_open=True)
    if est.dtype is not None:
        try:
            name = np.dtype(est.dtype).name
        except TypeError:
            name = None
        if name not in ("float32", "float64"):
            raise ValueError(f"dtype must be None, float32 or float64, got {est.dtype!r}")
    initializers = ("auto", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal")
    if est.initializer not in initializers:
        hint = (
            did_you_mean(est.initializer, initializers) if isinstance(est.initializer, str) else ""
        )
        raise ValueError(
            f"initializer must be one of {initializers}, got {est.initializer!r}{hint}"
        )
