"""The shared machinery of chainrule's scikit-learn estimators (see :mod:`chainrule.estimators`).

Parameters are checked at fit time, never in ``__init__`` (scikit-learn's rule); a fit
that fails leaves the estimator as it was. A fit checks and encodes its input
(:mod:`chainrule.estimators.input`), builds its optimizer, schedule and network from
the hyper-parameters (:mod:`chainrule.estimators.build`) and runs
:func:`chainrule.training.fit`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "chainrule's estimators need scikit-learn: pip install 'chainrule[sklearn]'"
    ) from exc

from ..checks import as_float_array
from ..network import Network
from ..training.loop import fit
from . import batches, build, params
from .input import fit_input


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, fit, partial_fit."""

    _output: tuple[str, str]  # (output activation, loss), set per target type

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: Any = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        dropout: float = 0.0,
        clip_norm: float | None = None,
        weight_decay: float = 0.01,
        initializer: str = "glorot_uniform",
        dtype: Any = None,
        callbacks: Any = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.clip_norm = clip_norm
        self.weight_decay = weight_decay
        self.initializer = initializer
        self.dtype = dtype
        self.callbacks = callbacks

    # -- what the subclasses provide ----------------------------------------------------
    def _encode(self, y: Any, first: bool) -> np.ndarray:
        """Targets as the network's ``(n_samples, n_out)`` array; sets the encoding if first."""
        raise NotImplementedError

    def _score_metric(self, y: np.ndarray, A: np.ndarray) -> float:
        raise NotImplementedError

    # -- fitting --------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        sample_weight: Any = None,
        *,
        checkpoint: Any = None,
        checkpoint_every: int | None = None,
        resume: bool = False,
        on_nonfinite: str = "raise",
    ) -> _BaseMLP:
        """Train from scratch (or from the last weights with ``warm_start``).

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features), memmap, or iterable of batches
            A memmap is read chunk by chunk; an iterable of ``(X_batch, y_batch[,
            w_batch])`` tuples (with ``y=None``) batch by batch, in its own order
            (:mod:`chainrule.training.sources`).
        y : array-like, shape (n_samples,) or (n_samples, n_outputs); None for batches
        sample_weight : array-like, shape (n_samples,), optional
        checkpoint, checkpoint_every, resume, on_nonfinite
            As :func:`chainrule.fit`: fit parameters, not hyper-parameters, since they
            belong to one run (a clone in a grid search must not share the file). A
            resumed fit needs the same data and an integer ``random_state`` (the
            initial weights and the early-stopping split are drawn from it); it ends
            bit-identical to the fit never interrupted. A fit that raises
            (:class:`~chainrule.errors.DivergenceError` included, which carries the
            ``history``) leaves the estimator as it was.

        Returns
        -------
        self
        """
        run = {
            "checkpoint": checkpoint,
            "checkpoint_every": checkpoint_every,
            "resume": resume,
            "on_nonfinite": on_nonfinite,
        }
        return self._guarded(self._fit, X, y, sample_weight, incremental=False, run=run)

    def _guarded(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        # A failed fit must leave the estimator exactly as it was.
        before = dict(self.__dict__)
        try:
            return method(*args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        *,
        incremental: bool,
        classes: Any = None,
        run: dict[str, Any] | None = None,
    ) -> _BaseMLP:
        params.check_all(self)
        continuing = hasattr(self, "network_") and (incremental or self.warm_start)
        X, y, Y, w, items = fit_input(
            self,
            X,
            y,
            sample_weight,
            incremental=incremental,
            continuing=continuing,
            classes=classes,
        )
        rng = build.generator(self)
        if continuing:
            network = self.network_.copy()
        else:
            network = build.network(self, X.shape[1], Y.shape[1], X.dtype, rng)
        validation = None
        if self.early_stopping and not incremental:
            X, Y, w, validation = build.split(self, X, Y, y, w, rng)
        n = X.shape[0]
        if items is not None:
            X, Y, w = batches.EncodedBatches(self, items, X.dtype), None, None
        batch = n if self.batch_size == "auto" and n <= 200 else self.batch_size
        batch = min(200 if batch == "auto" else int(batch), n)
        mean_weight = 1.0 if w is None else float(np.mean(w)) or 1.0  # 0: fit refuses w
        state = copy.deepcopy(getattr(self, "_optimizer_state", None)) if incremental else None
        history = fit(
            network,
            X,
            Y,
            loss=self._output[1],
            optimizer=build.optimizer(self),
            epochs=1 if incremental else int(self.max_iter),
            batch_size=batch,
            shuffle=bool(self.shuffle),
            random_state=rng,
            validation_data=validation,
            # scikit-learn's stopping rule: no improvement by tol for n_iter_no_change epochs.
            early_stopping=not incremental,
            monitor="val_score" if validation is not None else "loss",
            patience=int(self.n_iter_no_change),
            min_delta=float(self.tol),
            restore_best_weights=validation is not None,
            schedule=build.schedule(self),
            metrics={"score": self._score_metric} if validation is not None else (),
            train_metrics=False,
            verbose=1 if self.verbose else 0,
            # scikit-learn's penalty: alpha / 2 * ||W||^2 per batch, over the batch's weight.
            l2=float(self.alpha) / (batch * mean_weight),
            clip_norm=self.clip_norm,
            callbacks=self.callbacks or (),
            sample_weight=w,
            optimizer_state=state,
            **(run or {}),
        )
        self._set_fitted(network, history, incremental=continuing, n_samples=n)
        return self

    def _class_weight(self, y: np.ndarray, w: np.ndarray | None) -> np.ndarray | None:
        return w

    def _set_fitted(self, network: Network, history: Any, *, incremental: bool, n_samples: int):
        self.network_ = network
        self._optimizer_state = history.optimizer_state
        self.coefs_ = [layer.W for layer in network.layers]
        self.intercepts_ = [layer.b for layer in network.layers]
        self.n_layers_ = network.n_layers + 1
        self.n_outputs_ = network.n_outputs
        losses = list(history["loss"]) if "loss" in history else []
        scores = list(history["val_score"]) if "val_score" in history else None
        if incremental:
            self.loss_curve_ = [*self.loss_curve_, *losses]
            self.n_iter_ += history.epochs
            self.t_ += history.epochs * n_samples
        else:
            self.loss_curve_ = losses
            self.n_iter_ = history.epochs
            self.t_ = history.epochs * n_samples
        self.validation_scores_ = scores
        self.best_validation_score_ = max(scores) if scores else None
        self.best_loss_ = None if scores else min(self.loss_curve_, default=None)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        self.history_ = history

    # -- model files ----------------------------------------------------------------------
    def save(self, path: Any) -> Any:
        """Save the fitted estimator as a safe model file (see :func:`chainrule.save`).

        Arrays in safetensors, hyper-parameters, classes and fitted attributes as JSON;
        written atomically. :meth:`load` (or :func:`chainrule.load`) reads it back with
        bit-identical predictions. Returns the path written.
        """
        from ..io.files import save

        return save(self, path)

    @classmethod
    def load(cls, path: Any) -> Any:
        """Load an estimator saved by :meth:`save`; it must be of this class.

        Raises :class:`~chainrule.errors.ModelFileError` for any invalid file.
        """
        from ..errors import ModelFileError
        from ..io.files import load

        model = load(path)
        if not isinstance(model, cls):
            raise ModelFileError(
                f"{str(path)!r} holds a {type(model).__name__}, not a {cls.__name__}"
            )
        return model

    # -- prediction -----------------------------------------------------------------------
    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        X = as_float_array(X, "X", dtype=self.network_.dtype)  # names out-of-range values
        return self.network_.forward(X)[0]
