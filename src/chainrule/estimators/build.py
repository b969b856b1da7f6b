"""What an estimator's fit is made of, built from its hyper-parameters.

The optimizer (``solver`` and its settings), the learning-rate schedule
(``learning_rate``), the initial network (``hidden_layer_sizes``, ``activation``,
``initializer``, ``dropout``), the random generator (``random_state``) and the
early-stopping split (``validation_fraction``). The hyper-parameters are checked
(:mod:`chainrule.estimators.params`) before any of these is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.model_selection import train_test_split

from ..network import Network
from ..optimizers import SGD, Adam, AdamW, Optimizer
from ..schedules import Constant, Cosine, ReduceOnPlateau, Schedule
from . import params

if TYPE_CHECKING:
    from .base import _BaseMLP


def optimizer(est: _BaseMLP) -> Optimizer:
    """The optimizer of ``solver`` ("sgd", "adam" or "adamw"), with its settings."""
    lr = float(est.learning_rate_init)
    if est.solver == "sgd":
        nesterov = bool(est.nesterovs_momentum) and est.momentum > 0
        return SGD(lr=lr, momentum=float(est.momentum), nesterov=nesterov)
    adam = {"lr": lr, "beta1": est.beta_1, "beta2": est.beta_2, "eps": est.epsilon}
    if est.solver == "adamw":
        return AdamW(**adam, weight_decay=float(est.weight_decay))
    return Adam(**adam)


def schedule(est: _BaseMLP) -> Schedule:
    """The learning-rate schedule of ``learning_rate``."""
    if est.learning_rate == "adaptive":  # as scikit-learn: divide by 5 on a plateau
        return ReduceOnPlateau(factor=0.2, patience=1, threshold=0.0)
    if est.learning_rate == "cosine":
        return Cosine(T=int(est.max_iter))
    return Constant()


def network(
    est: _BaseMLP, n_features: int, n_out: int, dtype: Any, rng: np.random.Generator
) -> Network:
    """A new network ``n_features -> hidden_layer_sizes -> n_out``, its weights drawn from ``rng``.

    The output activation is the estimator's (``est._output[0]``); an ``initializer``
    of "auto" is He for the ReLU family and Glorot otherwise.
    """
    hidden = params.hidden_sizes(est.hidden_layer_sizes)
    acts = params.activations(est.activation, len(hidden))
    initializer = est.initializer
    if initializer == "auto":  # He for the ReLU family, Glorot otherwise
        relu = all(a in ("relu", "leaky_relu") for a in acts)
        initializer = "he_uniform" if relu else "glorot_uniform"
    return Network.from_sizes(
        [n_features, *hidden, n_out],
        [*acts, est._output[0]],
        initializer=initializer,
        random_state=rng,
        dtype=dtype,
        dropout=float(est.dropout),
    )


def generator(est: _BaseMLP) -> np.random.Generator:
    """The generator of ``random_state``: None, an int, a RandomState or a Generator."""
    seed = est.random_state
    if isinstance(seed, np.random.RandomState):
        seed = int(seed.randint(np.iinfo(np.int32).max))
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, int | np.integer):
        raise TypeError(f"random_state must be None, an int or a RandomState, got {seed!r}")
    return np.random.default_rng(seed)


def split(est: _BaseMLP, X: Any, Y: Any, y: Any, w: Any, rng: np.random.Generator) -> tuple:
    """The early-stopping split: ``(X_train, Y_train, w_train, (X_val, Y_val))``.

    Parameters
    ----------
    X : array, shape (n_samples, n_features)
    Y : array, shape (n_samples, n_out)
        The encoded targets.
    y : array, shape (n_samples,) or (n_samples, n_outputs)
        The targets as given; a classifier's 1-D ``y`` stratifies the split.
    w : array, shape (n_samples,), or None
        Sample weights, split with the rows.
    rng : numpy.random.Generator
        Draws the split's seed.
    """
    stratify = None
    if isinstance(est, ClassifierMixin) and y.ndim == 1:
        # Stratify (as scikit-learn does) when every class can appear on both sides.
        counts = np.unique(y, return_counts=True)[1]
        n_val = int(np.ceil(est.validation_fraction * len(y)))
        if counts.min() >= 2 and len(counts) <= min(n_val, len(y) - n_val):
            stratify = y
    seed = int(rng.integers(np.iinfo(np.int32).max))
    parts = [X, Y] if w is None else [X, Y, w]
    halves = train_test_split(
        *parts, test_size=est.validation_fraction, random_state=seed, stratify=stratify
    )
    X_train, X_val, Y_train, Y_val = halves[:4]
    w_train = None if w is None else halves[4]
    return X_train, Y_train, w_train, (X_val, Y_val)
