"""scikit-learn estimators over the engine: :class:`MLPClassifier` and :class:`MLPRegressor`.

These are thin adapters (needs the ``sklearn`` extra): a fit checks the
hyper-parameters into :class:`~chainrule.estimators.settings.MLPSettings` (at fit time,
never in ``__init__``, scikit-learn's rule), checks and encodes its input
(:mod:`chainrule.estimators.input`), builds the network, optimizer and schedule from the
settings and calls :func:`chainrule.training.fit`. No maths lives here. Names follow scikit-learn's
``MLPClassifier``; additions are ``dropout``, ``clip_norm``, ``weight_decay`` (AdamW),
``initializer`` and ``dtype``. A fit that fails leaves the estimator as it was.

``fit`` also takes ``checkpoint``, ``checkpoint_every``, ``resume``, ``on_nonfinite``
and ``device`` (as :func:`chainrule.fit`; fit parameters because they belong to one
run, not to the model). ``save(path)`` and ``MLPClassifier.load(path)`` (or
:func:`chainrule.save` / :func:`chainrule.load`) write and read safe model files.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from chainrule import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, y)
>>> clf.score(X, y) > 0.9
True
"""

from __future__ import annotations

import copy
import inspect
import re
import warnings
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils.class_weight import compute_sample_weight
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "chainrule's estimators need scikit-learn: pip install 'chainrule[sklearn]'"
    ) from exc

from ..errors import ModelFileError
from ..io.files import load, save
from ..network import Network
from ..training.callbacks import Callback, History
from ..training.lbfgs import LBFGSResult, minimize_lbfgs
from ..training.loop import fit
from . import files as _estimator_io
from .input import EncodedBatches, fit_input
from .settings import REGRESSION_LOSSES, MLPSettings, check_all


class _IterationLines(Callback):
    """``verbose=True``: scikit-learn's per-iteration lines, printed as each epoch ends."""

    def __init__(self) -> None:
        self.n_iter = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float], network: Network) -> None:
        self.n_iter += 1
        print(f"Iteration {self.n_iter}, loss = {logs['loss']:.8f}")
        if "val_score" in logs:
            print(f"Validation score: {logs['val_score']:f}")


# The constructor parameters, documented once: each estimator's docstring holds the
# entries of its own signature, in its order (composed by _with_parameters), so that
# help() and the API reference show every parameter of each.
_PARAMETERS = """\
hidden_layer_sizes : int or sequence of int, default (100,)
    Neurons of each hidden layer.
activation : str or sequence of str, default "relu"
    The hidden layers' activation, one name or one per hidden layer: ``relu``,
    ``tanh``, ``logistic`` (or ``sigmoid``), ``identity``, ``leaky_relu``,
    ``softplus``, in any case.
loss : {"squared_error", "poisson"}, default "squared_error"
    scikit-learn's: half the squared error with an identity output, or half the Poisson
    deviance (targets >= 0) with an exponential output.
solver : {"adam", "adamw", "sgd", "lbfgs"}, default "adam"
    ``lbfgs`` minimises the loss over all rows at once with scipy's L-BFGS-B, as
    scikit-learn's (no mini-batches; ``partial_fit`` is not available).
alpha : float, default 0.0001
    L2 penalty: ``alpha / 2 * sum ||W||^2`` over each batch's rows or summed sample
    weights, as scikit-learn's (biases are not penalised).
batch_size : int or "auto", default "auto"
    Instances per update; ``"auto"`` is ``min(200, n_samples)``. Not for ``lbfgs``.
learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default "constant"
    The schedule: ``invscaling`` (``sgd`` only, as scikit-learn) is
    ``learning_rate_init / (t + 1) ** power_t`` with ``t`` the samples seen, updated at
    the end of each epoch; ``adaptive`` divides by 5 on a plateau (as scikit-learn),
    ``cosine`` anneals over ``max_iter`` epochs.
learning_rate_init : float, default 0.001
    The first learning rate of the stochastic solvers.
power_t : float, default 0.5
    The exponent of ``invscaling``, > 0.
max_iter : int, default 200
    Epochs at most (the iterations of ``lbfgs``).
shuffle : bool, default True
    Draw a new order of the rows every epoch.
random_state : int, RandomState, Generator or None, default None
    Seeds the initial weights, the shuffles, the validation split and dropout.
tol : float, default 1e-4
    The improvement that counts for early stopping; for ``lbfgs``, scipy's ``gtol``
    (the largest entry of the gradient at which it stops).
verbose : bool or "progress", default False
    True: scikit-learn's line per iteration ("Iteration 1, loss = ..."), with
    nothing to install; ``"progress"``: a progress bar (the ``progress`` extra).
warm_start : bool, default False
    Continue from the current weights in ``fit``.
momentum : float, default 0.9
    SGD's momentum, in [0, 1).
nesterovs_momentum : bool, default True
    Nesterov momentum for SGD.
early_stopping : bool, default False
    Stop when the validation score has not improved by ``tol`` for
    ``n_iter_no_change`` epochs (the stochastic solvers).
validation_fraction : float, default 0.1
    The rows held out for early stopping, in (0, 1).
beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
    Adam's (and AdamW's) settings.
n_iter_no_change : int, default 10
    Epochs without improvement before early stopping.
max_fun : int, default 15000
    ``lbfgs`` only: at most this many evaluations of the loss, >= 1.
dropout : float, default 0.0
    Inverted dropout on the hidden layers, in [0, 1) (chainrule's addition; not
    with ``lbfgs``).
clip_norm : float or None, default None
    Clip the gradients to this global norm (chainrule's addition; not with ``lbfgs``).
weight_decay : float, default 0.01
    AdamW's decoupled weight decay (chainrule's addition).
initializer : str, default "glorot_uniform"
    ``glorot_uniform``, ``glorot_normal``, ``he_uniform``, ``he_normal`` or ``auto``
    (He for the ReLU family, Glorot otherwise) (chainrule's addition).
dtype : None, float32 or float64, default None
    The network's dtype; None follows ``X`` (chainrule's addition).
class_weight : None, dict or "balanced", default None
    Weights of the classes, multiplied into the sample weights.
callbacks : sequence of Callback or None, default None
    Passed to :func:`chainrule.training.fit`, e.g.
    :class:`chainrule.training.callbacks.GradientNorms` (the stochastic solvers).
"""


def _with_parameters(cls: type) -> type:
    """Fill ``{parameters}`` in ``cls``'s docstring with the entries of its signature."""
    entries = {}  # the entries of _PARAMETERS by their names, "beta_1, beta_2, epsilon"
    for entry in re.split(r"\n(?=\S)", _PARAMETERS.strip()):
        entries[entry.split(" : ", 1)[0]] = entry
    names = list(inspect.signature(cls.__init__).parameters)[1:]
    chosen, covered = [], []
    for name in names:
        if name not in covered:
            group = next(key for key in entries if name in key.split(", "))
            chosen.append(entries[group].replace("\n", "\n    "))
            covered += group.split(", ")
    if covered != names:  # a grouped entry must follow the signature's order
        raise TypeError(f"{cls.__name__}'s parameters {names} are documented as {covered}")
    cls.__doc__ = (cls.__doc__ or "").replace("{parameters}", "\n    ".join(chosen))
    return cls


# fit's run parameters and their defaults (solver="lbfgs" takes none of them).
_RUN_DEFAULTS = {
    "checkpoint": None,
    "checkpoint_every": None,
    "resume": False,
    "on_nonfinite": "raise",
    "device": None,
}


def _stochastic(est: Any) -> bool:
    """Whether ``partial_fit`` applies: scikit-learn's check, which hides it for lbfgs."""
    if est.solver == "lbfgs":
        raise AttributeError(
            "partial_fit is only available for stochastic optimizers. lbfgs is not stochastic."
        )
    return True


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
        power_t: float = 0.5,
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
        max_fun: int = 15000,
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
        self.power_t = power_t
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
        self.max_fun = max_fun
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
        device: Any = None,
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
        device : str or torch.device, optional
            Train on this PyTorch device (``"cuda"``, ``"mps"``, ``"cpu"``), as
            :func:`chainrule.fit`; the fitted network is NumPy again.

        Returns
        -------
        self
        """
        run = {
            "checkpoint": checkpoint,
            "checkpoint_every": checkpoint_every,
            "resume": resume,
            "on_nonfinite": on_nonfinite,
            "device": device,
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
        settings = check_all(self)
        run = run or {}
        if settings.solver == "lbfgs":
            used = [name for name, value in run.items() if value != _RUN_DEFAULTS[name]]
            if used:
                raise ValueError(
                    f"{', '.join(used)} belong to the stochastic solvers (sgd, adam, adamw); "
                    "solver='lbfgs' takes none of them"
                )
        continuing = hasattr(self, "network_") and (incremental or settings.warm_start)
        X, y, Y, w, items = fit_input(
            self,
            settings,
            X,
            y,
            sample_weight,
            incremental=incremental,
            continuing=continuing,
            classes=classes,
        )
        output, loss = self._outputs(settings)
        rng = settings.generator()
        if continuing:
            network = self.network_.copy()
        else:
            network = settings.network(X.shape[1], Y.shape[1], output, X.dtype, rng)
        if settings.solver == "lbfgs":
            return self._fit_lbfgs(settings, network, X, Y, w, loss, continuing)
        validation = None
        if settings.early_stopping and not incremental:
            labels = y if isinstance(self, ClassifierMixin) and y.ndim == 1 else None
            X, Y, w, validation = settings.split(X, Y, labels, w, rng)
        n = X.shape[0]
        if items is not None:
            X, Y, w = EncodedBatches(self, items, X.dtype), None, None
        batch = settings.batch_rows(n)
        saved = getattr(self, "_optimizer_state", None)
        state = copy.deepcopy(saved) if incremental and saved else None
        callbacks = list(settings.callbacks or ())
        # verbose="progress" asks for chainrule's tqdm bar; any other true value for
        # scikit-learn's lines, which need nothing installed.
        progress = isinstance(settings.verbose, str) and settings.verbose == "progress"
        lines = bool(settings.verbose) and not progress
        if lines:
            callbacks.append(_IterationLines())
        history = fit(
            network,
            X,
            Y,
            loss=loss,
            optimizer=settings.optimizer(),
            epochs=1 if incremental else int(settings.max_iter),
            batch_size=batch,
            shuffle=bool(settings.shuffle),
            random_state=rng,
            validation_data=validation,
            # scikit-learn's stopping rule: no improvement by tol for more than
            # n_iter_no_change epochs, the best following every gain.
            early_stopping=not incremental,
            stopping_rule="sklearn",
            monitor="val_score" if validation is not None else "loss",
            patience=int(settings.n_iter_no_change),
            min_delta=float(settings.tol),
            restore_best_weights=validation is not None,
            # invscaling counts the samples of earlier fits too (scikit-learn's t_).
            schedule=settings.schedule(n, self.t_ if continuing else 0),
            metrics={"score": self._score_metric} if validation is not None else (),
            train_metrics=False,
            verbose=1 if progress else 0,
            # scikit-learn's penalty: alpha / 2 * ||W||^2 over each batch's rows or weight.
            l2=float(settings.alpha),
            l2_scale="batch",
            clip_norm=settings.clip_norm,
            callbacks=callbacks,
            sample_weight=w,
            optimizer_state=state,
            **run,
        )
        self._set_fitted(network, history, incremental=continuing, samples=history.epochs * n)
        if settings.learning_rate == "invscaling" and settings.solver == "sgd":
            # scikit-learn sets the rate at the end of each epoch: the next partial_fit
            # starts from the rate of the samples seen by now.
            rate = float(settings.learning_rate_init) / (self.t_ + 1) ** float(settings.power_t)
            self._optimizer_state["lr"] = rate
        stopped = history.stop_reason == "early_stopping"
        if stopped and lines:
            what = "Validation score" if validation is not None else "Training loss"
            print(
                f"{what} did not improve more than tol={float(settings.tol):f} for "
                f"{int(settings.n_iter_no_change)} consecutive epochs. Stopping."
            )
        if not incremental and not stopped and history.epochs == int(settings.max_iter):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({int(settings.max_iter)}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _fit_lbfgs(
        self,
        settings: MLPSettings,
        network: Network,
        X: np.ndarray,
        Y: np.ndarray,
        w: np.ndarray | None,
        loss: str,
        continuing: bool,
    ) -> _BaseMLP:
        """scikit-learn's ``_fit_lbfgs``: all rows at once, through scipy's L-BFGS-B."""
        result: LBFGSResult = minimize_lbfgs(
            network,
            X,
            Y,
            loss,
            sample_weight=w,
            alpha=float(settings.alpha),
            max_iter=int(settings.max_iter),
            max_fun=int(settings.max_fun),
            tol=float(settings.tol),
            verbose=bool(settings.verbose),
        )
        history = History(history={"loss": result.losses}, epochs=result.n_iter)
        # L-BFGS counts no samples: t_ stays where it was (0 for a new fit), as scikit-learn's.
        self._set_fitted(network, history, incremental=continuing, samples=0)
        self.loss_ = result.loss
        if not result.converged:
            advice = ""
            if result.n_iter == int(settings.max_iter):
                advice = (
                    "\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={int(settings.max_iter)})."
                )
            warnings.warn(
                f"lbfgs failed to converge after {result.n_iter} iteration(s) "
                f"(status={result.status}):\n{result.message}\n{advice}\nYou might also "
                "want to scale the data as shown in:\n"
                "    https://scikit-learn.org/stable/modules/preprocessing.html",
                ConvergenceWarning,
                stacklevel=4,
            )
        return self

    def _outputs(self, settings: MLPSettings) -> tuple[str, str]:
        """The output activation and the engine's loss (known once the targets are)."""
        return self._output

    def _class_weight(self, y: np.ndarray, w: np.ndarray | None) -> np.ndarray | None:
        return w

    # -- the weights, scikit-learn's way --------------------------------------------------
    # coefs_ and intercepts_ are views of network_, so the two always agree; setting them
    # (scikit-learn's tests do, before partial_fit or a warm-started fit) replaces the
    # network's weights after checking every shape.
    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weights ``W1 .. WL``, each ``(n_in, n_out)``: the arrays of ``network_``."""
        if "network_" not in self.__dict__:
            raise AttributeError("coefs_ exists once the estimator is fitted")
        return [layer.W for layer in self.network_.layers]

    @coefs_.setter
    def coefs_(self, value: Any) -> None:
        self._set_weights("coefs_", "W", value)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The biases ``b1 .. bL``, each ``(n_out,)``: the arrays of ``network_``."""
        if "network_" not in self.__dict__:
            raise AttributeError("intercepts_ exists once the estimator is fitted")
        return [layer.b for layer in self.network_.layers]

    @intercepts_.setter
    def intercepts_(self, value: Any) -> None:
        self._set_weights("intercepts_", "b", value)

    def _set_weights(self, attribute: str, kind: str, value: Any) -> None:
        if "network_" not in self.__dict__:
            raise AttributeError(
                f"{attribute} can be set only on a fitted estimator (after fit or "
                "partial_fit), whose network gives the shapes; fit or partial_fit first"
            )
        n = self.network_.n_layers
        if isinstance(value, str | np.ndarray) or not hasattr(value, "__len__"):
            raise TypeError(f"{attribute} must be a list of {n} arrays, got {type(value).__name__}")
        if len(value) != n:
            raise ValueError(f"{attribute} must hold {n} arrays (one per layer), got {len(value)}")
        network = self.network_.copy()
        # set_params checks every shape (and finiteness) before it changes anything.
        network.set_params({f"{kind}{k}": v for k, v in enumerate(value, start=1)})
        self.network_ = network

    def _set_fitted(self, network: Network, history: Any, *, incremental: bool, samples: int):
        self.network_ = network
        self._optimizer_state = history.optimizer_state
        self.n_layers_ = network.n_layers + 1
        self.n_outputs_ = network.n_outputs
        losses = list(history["loss"]) if "loss" in history else []
        scores = list(history["val_score"]) if "val_score" in history else None
        # As scikit-learn: n_iter_ counts the last call's epochs (1 for partial_fit); t_,
        # the samples seen, and the loss curve go on across warm starts.
        self.n_iter_ = history.epochs
        if incremental:
            self.loss_curve_ = [*self.loss_curve_, *losses]
            self.t_ += samples
        else:
            self.loss_curve_ = losses
            self.t_ = samples
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
        return save(self, path)

    @classmethod
    def load(cls, path: Any) -> Any:
        """Load an estimator saved by :meth:`save`; it must be of this class.

        Raises :class:`~chainrule.errors.ModelFileError` for any invalid file.
        """
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
        # Network.predict converts to its dtype (naming out-of-range values) chunk by chunk:
        # memory holds the output plus one chunk's activations, and a memmap stays on disk.
        return self.network_.predict(X)


@_with_parameters
class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier: softmax (multiclass) or sigmoid (binary, multilabel).

    Parameters are scikit-learn's ``MLPClassifier``'s, plus ``dropout``, ``clip_norm``,
    ``weight_decay``, ``initializer``, ``dtype``, ``class_weight`` and ``callbacks``.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    classes_, coefs_, intercepts_, loss_, loss_curve_, validation_scores_, n_iter_, t_,
    n_features_in_, n_outputs_, out_activation_, network_ (the trained Network)
    """

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
        power_t: float = 0.5,
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
        max_fun: int = 15000,
        dropout: float = 0.0,
        clip_norm: float | None = None,
        weight_decay: float = 0.01,
        initializer: str = "glorot_uniform",
        dtype: Any = None,
        class_weight: Any = None,
        callbacks: Any = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            clip_norm=clip_norm,
            weight_decay=weight_decay,
            initializer=initializer,
            dtype=dtype,
            callbacks=callbacks,
        )
        self.class_weight = class_weight

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _encode(self, y: Any, first: bool, classes: Any = None) -> np.ndarray:
        if first:
            check_classification_targets(y)
            binarizer = LabelBinarizer()
            binarizer.fit(y if classes is None else classes)
            if len(binarizer.classes_) < 2:
                raise ValueError(
                    f"y has only 1 class ({binarizer.classes_.tolist()[0]!r}); "
                    "a classifier needs at least 2 classes"
                )
            kind = binarizer.y_type_
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
            self._output = (
                ("softmax", "cross_entropy")
                if kind == "multiclass"
                else ("sigmoid", "binary_cross_entropy")
            )
            self.out_activation_ = "softmax" if kind == "multiclass" else "logistic"
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()} differs from classes_="
                f"{self.classes_.tolist()}, the classes of the first call"
            )
        binarizer = self._label_binarizer
        if binarizer.y_type_ != "multilabel-indicator" and not np.isin(y, self.classes_).all():
            unseen = np.setdiff1d(y, self.classes_).tolist()
            raise ValueError(
                f"y holds labels {unseen} that are not in classes_ {self.classes_.tolist()}"
            )
        return binarizer.transform(y).astype(float)

    def _class_weight(self, y: np.ndarray, w: np.ndarray | None) -> np.ndarray | None:
        if self.class_weight is None:
            return w
        if type_of_target(y) == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel targets")
        cw = compute_sample_weight(self.class_weight, y)
        return cw if w is None else w * cw

    def _score_metric(self, y: np.ndarray, A: np.ndarray) -> float:
        if A.shape[1] > 1 and self.out_activation_ == "softmax":
            return float(accuracy_score(y.argmax(axis=1), A.argmax(axis=1)))
        return float(accuracy_score(y > 0.5, A >= 0.5))

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any = None, classes: Any = None, sample_weight: Any = None):
        """One epoch over ``(X, y)``; ``classes`` (all labels) is required on the first call.

        ``X`` may be a memmap or an iterable of ``(X_batch, y_batch)`` (with ``y=None``).
        Not with ``solver="lbfgs"`` (an ``AttributeError``, as scikit-learn's).
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._guarded(self._fit, X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, ``(n_samples, n_classes)`` (per label for multilabel)."""
        A = self._forward(X)
        if A.shape[1] == 1:
            return np.hstack([1 - A, A])
        return A

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The log of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The predicted labels (a 0/1 indicator matrix for multilabel)."""
        A = self._forward(X)
        if self.out_activation_ == "softmax":
            return self.classes_[A.argmax(axis=1)]
        return self._label_binarizer.inverse_transform(A, threshold=0.5)


@_with_parameters
class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor: half the squared error with an identity output,
    or half the Poisson deviance with an exponential output, as scikit-learn's.

    Parameters are scikit-learn's ``MLPRegressor``'s (``loss`` by keyword), plus
    ``dropout``, ``clip_norm``, ``weight_decay``, ``initializer``, ``dtype`` and
    ``callbacks``; ``y`` may have several outputs.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    coefs_, intercepts_, loss_, loss_curve_, validation_scores_, n_iter_, t_,
    n_features_in_, n_outputs_, out_activation_ (``identity`` or ``exp``),
    network_ (the trained Network; with ``loss="poisson"`` it gives the log of the
    prediction)
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: Any = "relu",
        *,
        loss: str = "squared_error",
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
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
        max_fun: int = 15000,
        dropout: float = 0.0,
        clip_norm: float | None = None,
        weight_decay: float = 0.01,
        initializer: str = "glorot_uniform",
        dtype: Any = None,
        callbacks: Any = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            clip_norm=clip_norm,
            weight_decay=weight_decay,
            initializer=initializer,
            dtype=dtype,
            callbacks=callbacks,
        )
        self.loss = loss

    def _outputs(self, settings: MLPSettings) -> tuple[str, str]:
        # scikit-learn's poisson regressor ends with exp; here the network ends with the
        # identity, its output is the log of the prediction, and the loss takes it so
        # (the same gradient, mu - y, as scikit-learn's exp output).
        return "identity", REGRESSION_LOSSES[str(settings.loss)]

    def _encode(self, y: Any, first: bool, classes: Any = None) -> np.ndarray:
        Y = np.asarray(y, dtype=float)
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        out = "exp" if self.loss == "poisson" else "identity"
        if first:
            self.out_activation_ = out
            self.n_outputs_ = Y.shape[1]  # the later batches of an iterable are held to it
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the model has {self.n_outputs_}")
        elif out != self.out_activation_:
            raise ValueError(
                f"loss={self.loss!r} differs from the loss the model was fitted with (its "
                f"output is {self.out_activation_!r}); fit it anew (warm_start=False)"
            )
        if self.loss == "poisson" and (Y < 0).any():
            row = int(np.argmax((Y < 0).any(axis=1)))
            raise ValueError(
                f"y must be >= 0 with loss='poisson' (counts or rates), got {Y[row].min()!r} "
                f"in row {row}"
            )
        return Y

    def _score_metric(self, y: np.ndarray, A: np.ndarray) -> float:
        return float(r2_score(y, self._prediction(A)))

    def _prediction(self, A: np.ndarray) -> np.ndarray:
        """The prediction from the network's output ``A`` (its exp for poisson)."""
        return np.exp(A) if self.out_activation_ == "exp" else A

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing from the current weights.

        ``X`` may be a memmap or an iterable of ``(X_batch, y_batch)`` (with ``y=None``).
        Not with ``solver="lbfgs"`` (an ``AttributeError``, as scikit-learn's classifier).
        """
        return self._guarded(self._fit, X, y, sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, ``(n_samples,)`` for one output, else ``(n_samples, n_outputs)``."""
        A = self._prediction(self._forward(X))
        return A[:, 0] if A.shape[1] == 1 else A


_estimator_io.register(MLPClassifier, MLPRegressor)
