"""scikit-learn estimators over the engine: :class:`MLPClassifier` and :class:`MLPRegressor`.

These are thin adapters (needs the ``sklearn`` extra): they check input the
scikit-learn way, encode the targets, build a :class:`~chainrule.network.Network` and
call :func:`chainrule.training.fit`. No maths lives here. Names follow scikit-learn's
``MLPClassifier``; additions are ``dropout``, ``clip_norm``, ``weight_decay`` (AdamW),
``initializer`` and ``dtype``. A fit that fails leaves the estimator as it was.

``fit`` also takes ``checkpoint``, ``checkpoint_every``, ``resume`` and
``on_nonfinite`` (as :func:`chainrule.fit`; fit parameters because they belong to one
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

from typing import Any

import numpy as np

try:
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils.class_weight import compute_sample_weight
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "chainrule's estimators need scikit-learn: pip install 'chainrule[sklearn]'"
    ) from exc

from . import files as _estimator_io
from .base import _BaseMLP


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier: softmax (multiclass) or sigmoid (binary, multilabel).

    Parameters are scikit-learn's ``MLPClassifier``'s, plus ``dropout``, ``clip_norm``,
    ``weight_decay``, ``initializer``, ``dtype``, ``class_weight`` and ``callbacks``.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        Neurons of each hidden layer.
    activation : str or sequence of str, default "relu"
        The hidden layers' activation, one name or one per hidden layer: ``relu``,
        ``tanh``, ``logistic`` (or ``sigmoid``), ``identity``, ``leaky_relu``,
        ``softplus``, in any case.
    solver : {"adam", "adamw", "sgd"}, default "adam"
    alpha : float, default 0.0001
        L2 penalty (scikit-learn's scaling; see "Differences from scikit-learn's MLP").
    batch_size : int or "auto", default "auto"
        Instances per update; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "adaptive", "cosine"}, default "constant"
        The schedule: ``adaptive`` divides by 5 on a plateau (as scikit-learn),
        ``cosine`` anneals over ``max_iter`` epochs.
    learning_rate_init : float, default 0.001
    max_iter : int, default 200
        Epochs at most.
    shuffle : bool, default True
        Draw a new order of the rows every epoch.
    random_state : int, RandomState, Generator or None, default None
        Seeds the initial weights, the shuffles, the validation split and dropout.
    tol : float, default 1e-4
        The improvement that counts for early stopping.
    verbose : bool, default False
        A progress bar (needs the ``progress`` extra).
    warm_start : bool, default False
        Continue from the current weights in ``fit``.
    momentum : float, default 0.9
        SGD's momentum, in [0, 1).
    nesterovs_momentum : bool, default True
        Nesterov momentum for SGD.
    early_stopping : bool, default False
        Stop when the validation score has not improved by ``tol`` for
        ``n_iter_no_change`` epochs.
    validation_fraction : float, default 0.1
        The rows held out for early stopping, in (0, 1).
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's (and AdamW's) settings.
    n_iter_no_change : int, default 10
        Epochs without improvement before early stopping.
    dropout : float, default 0.0
        Inverted dropout on the hidden layers, in [0, 1) (chainrule's addition).
    clip_norm : float or None, default None
        Clip the gradients to this global norm (chainrule's addition).
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
        :class:`chainrule.training.monitors.GradientNorms`.

    Attributes
    ----------
    classes_, coefs_, intercepts_, loss_curve_, validation_scores_, n_iter_,
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
                    f"y has only 1 class ({binarizer.classes_[0]!r}); "
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
            raise ValueError(f"classes={classes!r} differs from classes_={self.classes_!r}")
        binarizer = self._label_binarizer
        if binarizer.y_type_ != "multilabel-indicator" and not np.isin(y, self.classes_).all():
            unseen = np.setdiff1d(y, self.classes_)
            raise ValueError(
                f"y holds labels {unseen!r} that are not in classes_ {self.classes_!r}"
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

    def partial_fit(self, X: Any, y: Any = None, classes: Any = None, sample_weight: Any = None):
        """One epoch over ``(X, y)``; ``classes`` (all labels) is required on the first call.

        ``X`` may be a memmap or an iterable of ``(X_batch, y_batch)`` (with ``y=None``).
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


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor: identity output, mean squared error.

    Attributes as :class:`MLPClassifier`'s, without ``classes_``; ``y`` may have several
    outputs.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        Neurons of each hidden layer.
    activation : str or sequence of str, default "relu"
        The hidden layers' activation, one name or one per hidden layer: ``relu``,
        ``tanh``, ``logistic`` (or ``sigmoid``), ``identity``, ``leaky_relu``,
        ``softplus``, in any case.
    solver : {"adam", "adamw", "sgd"}, default "adam"
    alpha : float, default 0.0001
        L2 penalty (scikit-learn's scaling; see "Differences from scikit-learn's MLP").
    batch_size : int or "auto", default "auto"
        Instances per update; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "adaptive", "cosine"}, default "constant"
        The schedule: ``adaptive`` divides by 5 on a plateau (as scikit-learn),
        ``cosine`` anneals over ``max_iter`` epochs.
    learning_rate_init : float, default 0.001
    max_iter : int, default 200
        Epochs at most.
    shuffle : bool, default True
        Draw a new order of the rows every epoch.
    random_state : int, RandomState, Generator or None, default None
        Seeds the initial weights, the shuffles, the validation split and dropout.
    tol : float, default 1e-4
        The improvement that counts for early stopping.
    verbose : bool, default False
        A progress bar (needs the ``progress`` extra).
    warm_start : bool, default False
        Continue from the current weights in ``fit``.
    momentum : float, default 0.9
        SGD's momentum, in [0, 1).
    nesterovs_momentum : bool, default True
        Nesterov momentum for SGD.
    early_stopping : bool, default False
        Stop when the validation score has not improved by ``tol`` for
        ``n_iter_no_change`` epochs.
    validation_fraction : float, default 0.1
        The rows held out for early stopping, in (0, 1).
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's (and AdamW's) settings.
    n_iter_no_change : int, default 10
        Epochs without improvement before early stopping.
    dropout : float, default 0.0
        Inverted dropout on the hidden layers, in [0, 1) (chainrule's addition).
    clip_norm : float or None, default None
        Clip the gradients to this global norm (chainrule's addition).
    weight_decay : float, default 0.01
        AdamW's decoupled weight decay (chainrule's addition).
    initializer : str, default "glorot_uniform"
        ``glorot_uniform``, ``glorot_normal``, ``he_uniform``, ``he_normal`` or ``auto``
        (He for the ReLU family, Glorot otherwise) (chainrule's addition).
    dtype : None, float32 or float64, default None
        The network's dtype; None follows ``X`` (chainrule's addition).
    callbacks : sequence of Callback or None, default None
        Passed to :func:`chainrule.training.fit`.
    """

    _output = ("identity", "mean_squared_error")

    def _encode(self, y: Any, first: bool, classes: Any = None) -> np.ndarray:
        Y = np.asarray(y, dtype=float)
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if first:
            self.out_activation_ = "identity"
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the model has {self.n_outputs_}")
        return Y

    def _score_metric(self, y: np.ndarray, A: np.ndarray) -> float:
        return float(r2_score(y, A))

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing from the current weights.

        ``X`` may be a memmap or an iterable of ``(X_batch, y_batch)`` (with ``y=None``).
        """
        return self._guarded(self._fit, X, y, sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, ``(n_samples,)`` for one output, else ``(n_samples, n_outputs)``."""
        A = self._forward(X)
        return A[:, 0] if A.shape[1] == 1 else A


_estimator_io.register(MLPClassifier, MLPRegressor)
