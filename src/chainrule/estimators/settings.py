"""An estimator's hyper-parameters, checked once into a frozen :class:`MLPSettings` that
builds what a fit is made of.

Checks are made at fit time, never in ``__init__`` (scikit-learn's rule), and each
raises ``ValueError`` or ``TypeError`` naming the parameter, what it accepts and what it
got, before the estimator changes. :func:`check_all` checks a mapping of
hyper-parameters (an estimator's ``get_params()``, or those read from a model file).
The settings then build the optimizer (``solver`` and its settings; ``lbfgs`` has
none, :mod:`chainrule.training.lbfgs` trains instead), the learning-rate schedule
(``learning_rate``; ``invscaling`` from the samples per epoch and those seen before),
the initial network (``hidden_layer_sizes``, ``activation``, ``initializer``,
``dropout``), the random generator (``random_state``) and the early-stopping split
(``validation_fraction``); nothing reaches back into the estimator.

Examples
--------
>>> from chainrule.estimators.settings import check_all
>>> settings = check_all({"hidden_layer_sizes": (8, 4), "activation": "logistic",
...                       "solver": "sgd", "momentum": 0.0})
>>> settings.hidden_layer_sizes, settings.activations, settings.optimizer()
((8, 4), ('sigmoid', 'sigmoid'), SGD(lr=0.001, momentum=0.0, nesterov=False))
>>> check_all({"alpha": -1.0})
Traceback (most recent call last):
...
ValueError: alpha must be a number >= 0, got -1.0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split

from ..activations import get_activation
from ..checks import check_bool
from ..names import did_you_mean
from ..network import Network
from ..optimizers import SGD, Adam, AdamW, Optimizer, SklearnSGD
from ..schedules import Constant, Cosine, InvScaling, ReduceOnPlateau, Schedule

SOLVERS = ("adam", "adamw", "sgd", "lbfgs")
LEARNING_RATES = ("constant", "adaptive", "cosine", "invscaling")
# MLPRegressor's losses, as scikit-learn's, and the engine's loss of each.
REGRESSION_LOSSES = {"squared_error": "half_squared_error", "poisson": "half_poisson_deviance"}
INITIALIZERS = ("auto", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal")


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


@dataclass(frozen=True)
class MLPSettings:
    """The checked hyper-parameters of an MLP estimator (scikit-learn's names), with
    ``activations`` as engine names, one per hidden layer, and ``dtype`` as a NumPy
    dtype (or None). Made by :func:`check_all`."""

    hidden_layer_sizes: tuple[int, ...] = (100,)
    activations: tuple[str, ...] = ("relu",)
    solver: str = "adam"
    alpha: float = 0.0001
    batch_size: Any = "auto"
    learning_rate: str = "constant"
    learning_rate_init: float = 0.001
    power_t: float = 0.5
    max_iter: int = 200
    shuffle: bool = True
    random_state: Any = None
    tol: float = 1e-4
    verbose: bool = False
    warm_start: bool = False
    momentum: float = 0.9
    nesterovs_momentum: bool = True
    early_stopping: bool = False
    validation_fraction: float = 0.1
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    n_iter_no_change: int = 10
    max_fun: int = 15000
    loss: str | None = None  # MLPRegressor's; the classifier's follows its targets
    dropout: float = 0.0
    clip_norm: float | None = None
    weight_decay: float = 0.01
    initializer: str = "glorot_uniform"
    dtype: np.dtype | None = None
    class_weight: Any = None  # checked by scikit-learn when the weights are computed
    callbacks: tuple[Any, ...] = ()

    def optimizer(self) -> Optimizer:
        """The optimizer of ``solver`` ("sgd", "adam" or "adamw"), with its settings.

        "lbfgs" has none: :func:`chainrule.training.lbfgs.minimize_lbfgs` trains instead.
        """
        if self.solver == "lbfgs":
            raise ValueError("solver='lbfgs' trains with minimize_lbfgs, not an optimizer")
        lr = float(self.learning_rate_init)
        if self.solver == "sgd":
            nesterov = bool(self.nesterovs_momentum) and self.momentum > 0
            sgd = SklearnSGD if self.momentum > 0 else SGD  # the same without momentum
            return sgd(lr=lr, momentum=float(self.momentum), nesterov=nesterov)
        adam = {"lr": lr, "beta1": self.beta_1, "beta2": self.beta_2, "eps": self.epsilon}
        if self.solver == "adamw":
            return AdamW(**adam, weight_decay=float(self.weight_decay))
        return Adam(**adam)

    def schedule(self, samples_per_epoch: int = 1, samples_seen: int = 0) -> Schedule:
        """The learning-rate schedule of ``learning_rate``.

        ``samples_per_epoch`` (the training rows) and ``samples_seen`` (before this fit,
        ``t_``) set "invscaling", which scales the rate by the samples seen.
        """
        if self.learning_rate == "invscaling":  # scikit-learn's SGD's only
            if self.solver != "sgd":
                return Constant()
            return InvScaling(float(self.power_t), int(samples_per_epoch), int(samples_seen))
        if self.learning_rate == "adaptive":  # as scikit-learn: divide by 5 on a plateau
            return ReduceOnPlateau(factor=0.2, patience=1, threshold=0.0)
        if self.learning_rate == "cosine":
            return Cosine(T=int(self.max_iter))
        return Constant()

    def generator(self) -> np.random.Generator:
        """The generator of ``random_state``: None, an int, a RandomState or a Generator."""
        seed = self.random_state
        if isinstance(seed, np.random.RandomState):
            seed = int(seed.randint(np.iinfo(np.int32).max))
        if isinstance(seed, np.random.Generator):
            return seed
        return np.random.default_rng(seed)

    def network(
        self, n_features: int, n_out: int, output: str, dtype: Any, rng: np.random.Generator
    ) -> Network:
        """A new network ``n_features -> hidden_layer_sizes -> n_out`` with the ``output``
        activation, its weights drawn from ``rng``.

        An ``initializer`` of "auto" is He for the ReLU family and Glorot otherwise.
        """
        initializer = self.initializer
        if initializer == "auto":
            relu = all(a in ("relu", "leaky_relu") for a in self.activations)
            initializer = "he_uniform" if relu else "glorot_uniform"
        return Network.from_sizes(
            [n_features, *self.hidden_layer_sizes, n_out],
            [*self.activations, output],
            initializer=initializer,
            random_state=rng,
            dtype=dtype,
            dropout=float(self.dropout),
        )

    def batch_rows(self, n_samples: int) -> int:
        """Rows per batch: ``batch_size``, or with "auto" min(200, n_samples)."""
        batch = n_samples if self.batch_size == "auto" and n_samples <= 200 else self.batch_size
        return min(200 if batch == "auto" else int(batch), n_samples)

    def split(
        self, X: Any, Y: Any, labels: Any, w: Any, rng: np.random.Generator
    ) -> tuple[Any, Any, Any, tuple[Any, Any]]:
        """The early-stopping split: ``(X_train, Y_train, w_train, (X_val, Y_val))``.

        Parameters
        ----------
        X : array, shape (n_samples, n_features)
        Y : array, shape (n_samples, n_out)
            The encoded targets.
        labels : array, shape (n_samples,), or None
            A classifier's class labels, to stratify the split by (None: no stratifying).
        w : array, shape (n_samples,), or None
            Sample weights, split with the rows.
        rng : numpy.random.Generator
            Draws the split's seed.
        """
        stratify = None
        if labels is not None:
            # Stratify (as scikit-learn does) when every class can appear on both sides.
            counts = np.unique(labels, return_counts=True)[1]
            n_val = int(np.ceil(self.validation_fraction * len(labels)))
            if counts.min() >= 2 and len(counts) <= min(n_val, len(labels) - n_val):
                stratify = labels
        seed = int(rng.integers(np.iinfo(np.int32).max))
        parts = [X, Y] if w is None else [X, Y, w]
        halves = train_test_split(
            *parts, test_size=self.validation_fraction, random_state=seed, stratify=stratify
        )
        X_train, X_val, Y_train, Y_val = halves[:4]
        w_train = None if w is None else halves[4]
        return X_train, Y_train, w_train, (X_val, Y_val)


FIELDS = tuple(field.name for field in dataclasses.fields(MLPSettings))
NAMES = (*(name for name in FIELDS if name != "activations"), "activation")


def check_all(params: Mapping[str, Any] | BaseEstimator) -> MLPSettings:
    """Check the hyper-parameters in ``params`` (scikit-learn's names; those left out take
    their defaults), or those of an estimator, and return them as :class:`MLPSettings`."""
    if isinstance(params, BaseEstimator):
        params = params.get_params(deep=False)
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of hyper-parameters, got {params!r:.60}")
    unknown = sorted(set(params) - set(NAMES))
    if unknown:
        raise TypeError(f"unknown hyper-parameters {unknown}; known: {', '.join(sorted(NAMES))}")
    defaults = MLPSettings()
    p = {name: getattr(defaults, name) for name in FIELDS if name != "activations"}
    p["activation"] = "relu"
    p.update(params)
    for name, known in (("solver", SOLVERS), ("learning_rate", LEARNING_RATES)):
        value = p[name]
        if value not in known:
            hint = did_you_mean(value, known) if isinstance(value, str) else ""
            raise ValueError(f"{name} must be one of {known}, got {value!r}{hint}")
    loss = p["loss"]
    if loss is not None and (not isinstance(loss, str) or loss not in REGRESSION_LOSSES):
        known = tuple(REGRESSION_LOSSES)
        hint = did_you_mean(loss, known) if isinstance(loss, str) else ""
        raise ValueError(f"loss must be one of {known}, got {loss!r}{hint}")
    for name in ("shuffle", "warm_start", "early_stopping", "nesterovs_momentum"):
        check_bool(p[name], name)  # "no" would count as true
    _number(p["alpha"], "alpha", low=0, low_open=False)
    _number(p["learning_rate_init"], "learning_rate_init", low=0, low_open=True)
    _number(p["max_iter"], "max_iter", low=0, low_open=True, integer=True)
    _number(p["tol"], "tol", low=0, low_open=False)
    _number(p["n_iter_no_change"], "n_iter_no_change", low=0, low_open=True, integer=True)
    _number(p["power_t"], "power_t", low=0, low_open=True)
    _number(p["max_fun"], "max_fun", low=1, low_open=False, integer=True)
    _number(p["momentum"], "momentum", low=0, low_open=False)
    _number(p["epsilon"], "epsilon", low=0, low_open=True)
    _number(p["beta_1"], "beta_1", low=0, low_open=False)
    _number(p["beta_2"], "beta_2", low=0, low_open=False)
    _number(p["validation_fraction"], "validation_fraction", low=0, low_open=True)
    _number(p["weight_decay"], "weight_decay", low=0, low_open=False)
    _number(p["dropout"], "dropout", low=0, low_open=False)
    for name in ("beta_1", "beta_2", "momentum", "dropout"):
        if p[name] >= 1:
            raise ValueError(f"{name} must be in [0, 1), got {p[name]!r}")
    if not 0 < p["validation_fraction"] < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {p['validation_fraction']!r}")
    if p["batch_size"] != "auto":
        _number(p["batch_size"], "batch_size", low=0, low_open=True, integer=True)
    if p["clip_norm"] is not None:
        _number(p["clip_norm"], "clip_norm", low=0, low_open=True)
    if p["solver"] == "lbfgs":
        # L-BFGS minimises one full-batch objective: a random mask or a clipped
        # gradient would make it a different function at every evaluation.
        for name, off in (("dropout", 0.0), ("clip_norm", None)):
            if p[name] != off:
                raise ValueError(
                    f"{name} must be {off} with solver='lbfgs' (it needs a stochastic "
                    f"solver: sgd, adam or adamw), got {p[name]!r}"
                )
    dtype = None
    if p["dtype"] is not None:
        try:
            dtype = np.dtype(p["dtype"])
        except TypeError:
            dtype = None
        if dtype is None or dtype.name not in ("float32", "float64"):
            raise ValueError(f"dtype must be None, float32 or float64, got {p['dtype']!r}")
    if p["initializer"] not in INITIALIZERS:
        init = p["initializer"]
        hint = did_you_mean(init, INITIALIZERS) if isinstance(init, str) else ""
        raise ValueError(f"initializer must be one of {INITIALIZERS}, got {init!r}{hint}")
    seed = p["random_state"]
    if not (
        seed is None
        or isinstance(seed, np.random.RandomState | np.random.Generator)
        or (isinstance(seed, int | np.integer) and not isinstance(seed, bool))
    ):
        raise TypeError(f"random_state must be None, an int or a RandomState, got {seed!r}")
    hidden = tuple(hidden_sizes(p["hidden_layer_sizes"]))
    callbacks = p["callbacks"] or ()
    if isinstance(callbacks, str) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"callbacks must be a sequence or None, got {callbacks!r}")
    checked = {
        "hidden_layer_sizes": hidden,
        "activations": tuple(activations(p["activation"], len(hidden))),
        "dtype": dtype,
        "callbacks": tuple(callbacks),
    }
    return MLPSettings(**{name: checked[name] if name in checked else p[name] for name in FIELDS})
