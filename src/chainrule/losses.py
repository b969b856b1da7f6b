"""Loss functions: the per-instance error, its reduction over a batch, and its gradient.

Shapes: ``y`` and ``yhat`` are ``(n_samples, n_out)``. ``per_instance`` gives one error
per instance, ``(n_samples,)``; ``value`` reduces them to the batch loss, their mean
(``reduction="mean"``, the default) or their sum (``reduction="sum"``); ``gradient``
gives dE/dyhat of the reduced loss, ``(n_samples, n_out)``. For one instance both
reductions equal the seed's numbers.

The cross-entropies come in a stable from-logits form too. A network whose output
activation is sigmoid (softmax) and whose loss is binary (categorical) cross-entropy
uses it automatically: the error is computed from ``Z`` and ``dZ = A - y``, which
never overflows.

Examples
--------
>>> import numpy as np
>>> from chainrule.losses import get_loss
>>> loss = get_loss("half_squared_error")
>>> y, yhat = np.array([[0.9]]), np.array([[0.746095]])
>>> round(float(loss.value(y, yhat)), 6)
0.011843
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from array_api_compat import array_namespace

from .activations import Activation, Sigmoid, Softmax
from .checks import Array, check_reduction, shape_of
from .names import lookup


def reduction_scale(reduction: str, n_samples: int, scale: float = 1.0) -> float:
    """The factor that turns per-instance gradients into the reduced loss's gradient.

    ``scale`` multiplies it (the gradients of ``scale * E``); plain SGD passes its
    learning rate, so that every gradient below comes out as the update ``lr * g``.
    """
    return scale / n_samples if _is_mean(reduction) else scale


def _is_mean(reduction: str) -> bool:
    """Whether ``reduction`` is "mean" (else "sum"; anything else is refused). "mean" is
    answered without the check: the engine asks for every mini-batch, the seed per step."""
    return reduction == "mean" or check_reduction(reduction) == "mean"


def reduce(e: Array, reduction: str) -> Array:
    """Reduce per-instance errors ``e`` (shape ``(n_samples,)``) to the batch loss."""
    if isinstance(e, np.ndarray):  # NumPy's own sum, without the namespace's dispatch
        total = np.add.reduce(e, None)  # axis=None, passed by position: a little cheaper
    else:
        total = array_namespace(e).sum(e)
    return total / e.shape[0] if _is_mean(reduction) else total


def batch_error(
    e: Array, reduction: str, sample_weight: Array | None = None, scale: float = 1.0
) -> tuple[Array, Any]:
    """The batch loss ``E`` of per-instance errors ``e`` and ``dE/de``.

    Without weights, ``dE/de_i`` is the same for every instance (a float: ``1/n`` for
    "mean", 1 for "sum"). With non-negative weights ``w``, ``E = sum(w * e) / sum(w)``
    ("mean") or ``sum(w * e)`` ("sum"), and ``dE/de`` is a column ``(n_samples, 1)``.
    ``scale`` multiplies ``dE/de``, not ``E`` (see :func:`reduction_scale`).
    """
    if sample_weight is None:
        return reduce(e, reduction), reduction_scale(reduction, int(e.shape[0]), scale)
    xp = array_namespace(e)
    total = xp.sum(sample_weight) if _is_mean(reduction) else 1.0
    dE_de = (sample_weight / total)[:, None]
    return xp.sum(sample_weight * e) / total, dE_de if scale == 1.0 else dE_de * scale


class Loss:
    """Base class. Subclasses implement ``per_instance`` and ``instance_gradient``."""

    name: ClassVar[str] = ""
    error_formula: ClassVar[str] = ""  # E of one instance, in y and yhat
    gradient_formula: ClassVar[str] = ""  # dE/dyhat of one instance
    latex: ClassVar[str] = ""
    fuses_with: ClassVar[str | None] = None

    @property
    def formula(self) -> str:
        """The error of one instance and its derivative, as plain text."""
        return f"E = {self.error_formula};  dE/dyhat = {self.gradient_formula}"

    def per_instance(self, y: Array, yhat: Array) -> Array:
        """Error of each instance, shape ``(n_samples,)``."""
        raise NotImplementedError

    def instance_gradient(self, y: Array, yhat: Array) -> Array:
        """dE_i/dyhat_i for each instance, shape ``(n_samples, n_out)``, before reduction."""
        raise NotImplementedError

    def value(self, y: Array, yhat: Array, reduction: str = "mean") -> Array:
        """The batch loss: mean (default) or sum of ``per_instance``; a 0-d array."""
        _check_pair(y, yhat)
        return reduce(self.per_instance(y, yhat), reduction)

    def gradient(self, y: Array, yhat: Array, reduction: str = "mean") -> Array:
        """dE/dyhat of the batch loss, shape ``(n_samples, n_out)``."""
        _check_pair(y, yhat)
        return self.instance_gradient(y, yhat) * reduction_scale(reduction, yhat.shape[0])

    def output_delta(
        self, y: Array, Z: Array, A: Array, activation: Activation, dE_de: Any
    ) -> Array:
        """The output layer's ``dE/dZ``, the seed's ``dEdInL{L}``, for the batch loss.

        Parameters
        ----------
        y : array, shape (n_samples, n_out)
        Z, A : array, shape (n_samples, n_out)
            The output layer's ``inL{L}`` and ``outL{L}``, from the forward pass.
        activation : Activation
            The output layer's.
        dE_de : float or array, shape (n_samples, 1)
            From :func:`batch_error`.

        Returns
        -------
        dZ : array, shape (n_samples, n_out)
            For a cross-entropy after its matching activation, the fused
            ``(A * sum(y) - y) * dE_de`` (softmax) or ``(A - y) * dE_de`` (sigmoid), which
            never overflows; otherwise the activation's backprop of ``dE/dA``.
        """
        if self.fused(activation):
            return self.instance_gradient_from_logits(y, Z, A) * dE_de
        dA = self.instance_gradient(y, A) * dE_de  # dEdOutL{L}
        return activation.backprop(dA, Z, A)

    # The fused (from-logits) path. Only the cross-entropies define it.
    def fused(self, activation: Activation) -> bool:
        """Whether this loss and the output ``activation`` combine into ``dZ = A - y``."""
        return self.fuses_with is not None and activation.name == self.fuses_with

    def per_instance_from_logits(self, y: Array, Z: Array) -> Array:
        """Error of each instance computed stably from the output layer's ``Z``."""
        raise NotImplementedError(f"{self.name} has no from-logits form")

    def instance_gradient_from_logits(self, y: Array, Z: Array, A: Array) -> Array:
        """dE_i/dZ_i of each instance for the fused pair, before reduction."""
        raise NotImplementedError(f"{self.name} has no from-logits form")

    def params(self) -> dict[str, Any]:
        """Settings that define this loss (for specs and model files)."""
        return {}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({settings})"


def _check_bool(value: object, name: str) -> bool:
    # bool("no") is True: a string here is a mistake, not a setting.
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _check_pair(y: Array, yhat: Array) -> None:
    if shape_of(y) != shape_of(yhat):
        raise ValueError(
            f"y has shape {shape_of(y)} but the network output yhat has shape "
            f"{shape_of(yhat)}; they must match"
        )


class HalfSquaredError(Loss):
    """The seed's error ``E = 1/2 * sum over outputs of (y - yhat)**2`` per instance."""

    name = "half_squared_error"
    error_formula = "1/2 * sum_j (y_j - yhat_j)**2"
    gradient_formula = "yhat - y"
    latex = (
        r"E = \tfrac{1}{2}\sum_j (y_j - \hat y_j)^2, \quad "
        r"\frac{\partial E}{\partial \hat y} = \hat y - y"
    )

    def per_instance(self, y: Array, yhat: Array) -> Array:
        diff = y - yhat
        return 0.5 * array_namespace(diff).sum(diff * diff, axis=1)

    def instance_gradient(self, y: Array, yhat: Array) -> Array:
        return yhat - y


class MeanSquaredError(Loss):
    """``E = mean over outputs of (y - yhat)**2`` per instance (PyTorch's ``MSELoss``)."""

    name = "mean_squared_error"
    error_formula = "1/n_out * sum_j (y_j - yhat_j)**2"
    gradient_formula = "2 * (yhat - y) / n_out"
    latex = (
        r"E = \frac{1}{n_\mathrm{out}}\sum_j (y_j - \hat y_j)^2, \quad "
        r"\frac{\partial E}{\partial \hat y} = \frac{2(\hat y - y)}{n_\mathrm{out}}"
    )

    def per_instance(self, y: Array, yhat: Array) -> Array:
        diff = y - yhat
        return array_namespace(diff).mean(diff * diff, axis=1)

    def instance_gradient(self, y: Array, yhat: Array) -> Array:
        return (yhat - y) * (2.0 / yhat.shape[1])


class HalfPoissonDeviance(Loss):
    """Half the Poisson deviance, taking the *log* of the predicted mean (scikit-learn's
    ``MLPRegressor(loss="poisson")``).

    The network's output ``yhat = log(mu)`` is a log-rate (an identity output layer), and
    per instance ``E = sum_j [exp(yhat_j) - y_j * yhat_j + y_j * log(y_j) - y_j]``:
    ``y log(y / mu) - y + mu``, 0 where ``mu = y`` (``0 * log(0)`` counts as 0). Its
    gradient ``exp(yhat) - y`` is the ``mu - y`` that scikit-learn back-propagates from
    its ``exp`` output. Targets must be >= 0 (counts, rates).
    """

    name = "half_poisson_deviance"
    error_formula = "sum_j [exp(yhat_j) - y_j * yhat_j + y_j * log(y_j) - y_j]"
    gradient_formula = "exp(yhat) - y"
    latex = (
        r"E = \sum_j \bigl(e^{\hat y_j} - y_j \hat y_j + y_j \log y_j - y_j\bigr), \quad "
        r"\frac{\partial E}{\partial \hat y} = e^{\hat y} - y"
    )

    def per_instance(self, y: Array, yhat: Array) -> Array:
        xp = array_namespace(yhat)
        positive = y > 0
        # y log y with 0 log 0 = 0, without log(0)'s warning.
        safe = xp.where(positive, y, xp.ones_like(y))
        y_log_y = xp.where(positive, y * xp.log(safe), xp.zeros_like(y))
        return xp.sum(xp.exp(yhat) - y * yhat + y_log_y - y, axis=1)

    def instance_gradient(self, y: Array, yhat: Array) -> Array:
        return array_namespace(yhat).exp(yhat) - y


def _clip_probability(p: Array) -> Array:
    xp = array_namespace(p)
    info = xp.finfo(p.dtype)
    return xp.clip(p, float(info.smallest_normal), 1.0 - float(info.eps) / 2)


class _FromLogitsLoss(Loss):
    """A cross-entropy: on probabilities by default, on logits with ``from_logits=True``.

    Subclasses give the probability forms (``_per_instance_p``, ``_gradient_p``), the
    from-logits forms, and ``_output``, the activation whose Jacobian cancels.
    """

    _output: ClassVar[type[Activation]]

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = _check_bool(from_logits, "from_logits")

    def params(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits}

    def fused(self, activation: Activation) -> bool:
        return not self.from_logits and super().fused(activation)

    def per_instance(self, y: Array, yhat: Array) -> Array:
        if self.from_logits:
            return self.per_instance_from_logits(y, yhat)
        return self._per_instance_p(y, _clip_probability(yhat))

    def instance_gradient(self, y: Array, yhat: Array) -> Array:
        if self.from_logits:
            return self.instance_gradient_from_logits(y, yhat, self._output().value(yhat))
        return self._gradient_p(y, _clip_probability(yhat))

    def _per_instance_p(self, y: Array, p: Array) -> Array:
        raise NotImplementedError

    def _gradient_p(self, y: Array, p: Array) -> Array:
        raise NotImplementedError


class BinaryCrossEntropy(_FromLogitsLoss):
    """``E = -sum_j [y_j log p_j + (1 - y_j) log(1 - p_j)]`` per instance, for sigmoid outputs.

    Each output is an independent probability (binary or multilabel targets in [0, 1]).
    With ``from_logits=True`` the loss takes the logits ``Z`` instead of ``p``.
    """

    name = "binary_cross_entropy"
    error_formula = "-sum_j [y_j * log(yhat_j) + (1 - y_j) * log(1 - yhat_j)]"
    gradient_formula = "(yhat - y) / (yhat * (1 - yhat))"
    latex = r"E = -\sum_j \bigl[y_j \log p_j + (1 - y_j)\log(1 - p_j)\bigr]"
    fuses_with = "sigmoid"
    _output = Sigmoid

    def _per_instance_p(self, y: Array, p: Array) -> Array:
        xp = array_namespace(p)
        return -xp.sum(y * xp.log(p) + (1 - y) * xp.log(1 - p), axis=1)

    def _gradient_p(self, y: Array, p: Array) -> Array:
        return (p - y) / (p * (1 - p))

    def per_instance_from_logits(self, y: Array, Z: Array) -> Array:
        xp = array_namespace(Z)
        # -[y log s(z) + (1-y) log(1-s(z))] = max(z, 0) - y z + log(1 + exp(-|z|))
        positive = xp.where(Z > 0, Z, xp.zeros_like(Z))
        return xp.sum(positive - y * Z + xp.log1p(xp.exp(-xp.abs(Z))), axis=1)

    def instance_gradient_from_logits(self, y: Array, Z: Array, A: Array) -> Array:
        return A - y


class CrossEntropy(_FromLogitsLoss):
    """``E = -sum_j y_j log p_j`` per instance, for softmax outputs and one-hot (or soft) ``y``.

    With ``from_logits=True`` the loss takes the logits ``Z`` instead of ``p``.
    """

    name = "cross_entropy"
    error_formula = "-sum_j y_j * log(yhat_j)"
    gradient_formula = "-y / yhat"
    latex = r"E = -\sum_j y_j \log p_j"
    fuses_with = "softmax"
    _output = Softmax

    def _per_instance_p(self, y: Array, p: Array) -> Array:
        xp = array_namespace(p)
        return -xp.sum(y * xp.log(p), axis=1)

    def _gradient_p(self, y: Array, p: Array) -> Array:
        return -y / p

    def per_instance_from_logits(self, y: Array, Z: Array) -> Array:
        xp = array_namespace(Z)
        top = xp.max(Z, axis=1, keepdims=True)
        log_sum_exp = top[:, 0] + xp.log(xp.sum(xp.exp(Z - top), axis=1))
        return xp.sum(y, axis=1) * log_sum_exp - xp.sum(y * Z, axis=1)

    def instance_gradient_from_logits(self, y: Array, Z: Array, A: Array) -> Array:
        xp = array_namespace(Z)
        return A * xp.sum(y, axis=1, keepdims=True) - y


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (
        HalfSquaredError,
        MeanSquaredError,
        BinaryCrossEntropy,
        CrossEntropy,
        HalfPoissonDeviance,
    )
}
ALIASES = {"mse": "mean_squared_error", "bce": "binary_cross_entropy", "ce": "cross_entropy"}


def get_loss(loss: str | Loss) -> Loss:
    """Return a loss from its name (or the instance itself).

    Names: ``half_squared_error`` (the seed's), ``mean_squared_error`` (``mse``),
    ``binary_cross_entropy`` (``bce``), ``cross_entropy`` (``ce``),
    ``half_poisson_deviance`` (on log-rates).
    """
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name or a Loss, got {type(loss).__name__}")
    return lookup(LOSSES, loss, "loss", aliases=ALIASES)()


def takes_labels(loss: Loss, n_outputs: int, y: Any) -> bool:
    """Whether ``y`` holds integer class labels that ``loss`` takes as targets.

    True for a 1-D integer array (a list or a memmap too) with a cross-entropy over 2 or
    more outputs (PyTorch's and Keras's sparse targets); only ``y``'s dtype and shape
    are looked at, never its values.

    Examples
    --------
    >>> takes_labels(CrossEntropy(), 3, np.array([2, 0])), takes_labels(CrossEntropy(), 3, [0.5])
    (True, False)
    """
    if not isinstance(loss, CrossEntropy) or n_outputs < 2:
        return False
    if isinstance(y, list | tuple):
        y = np.asarray(y)
    return isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "iu"


def check_labels(labels: Array, n_outputs: int, name: str = "y", first_row: int = 0) -> None:
    """Refuse class labels outside ``0 .. n_outputs - 1``.

    Parameters
    ----------
    labels : array of int, shape (n_samples,)
    n_outputs : int
        The network's outputs, one per class.
    name : str
        What the message calls the labels.
    first_row : int
        The row number of ``labels[0]`` in the message (a chunk read from a file).

    Examples
    --------
    >>> check_labels(np.array([0, 1, 5]), 3, first_row=100)
    Traceback (most recent call last):
    ...
    ValueError: y holds class labels outside 0..2 (the network's 3 outputs), e.g. 5 at row 102
    """
    bad = (labels < 0) | (labels >= n_outputs)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(
            f"{name} holds class labels outside 0..{n_outputs - 1} (the network's "
            f"{n_outputs} outputs), e.g. {labels[row]} at row {first_row + row}"
        )


def one_hot_labels(
    loss: Loss, n_outputs: int, y: Any, name: str = "y", dtype: Any = np.float64
) -> Any:
    """Integer class labels, shape (n_samples,), as one-hot targets (n_samples, n_outputs)
    of ``dtype`` for a cross-entropy loss (:func:`takes_labels`); anything else as given.

    Labels must be integers in ``0 .. n_outputs - 1`` (:func:`check_labels`). Pass the
    network's dtype: a float64 one-hot for a float32 network would be converted again,
    a second copy of n_samples x n_outputs numbers.

    Examples
    --------
    >>> one_hot_labels(CrossEntropy(), 3, np.array([2, 0]))
    array([[0., 0., 1.],
           [1., 0., 0.]])
    >>> one_hot_labels(CrossEntropy(), 3, [1], dtype=np.float32).dtype
    dtype('float32')
    """
    if not takes_labels(loss, n_outputs, y):
        return y
    labels = np.asarray(y)
    check_labels(labels, n_outputs, name)
    return np.eye(n_outputs, dtype=dtype)[labels]


def check_targets(loss: Loss, output: Activation, n_outputs: int, y: Array | None = None) -> None:
    """Refuse a loss, output activation and targets that cannot go together.

    The one place where the loss's conditions are checked; ``train_step``, ``fit``
    (once per fit), the estimators and ``explain`` call it before any state changes.

    Parameters
    ----------
    loss : Loss
    output : Activation
        The output layer's activation.
    n_outputs : int
        The output layer's width.
    y : array, shape (n_samples, n_outputs), optional
        The targets, already checked for shape and finiteness; None checks only the
        pairing (e.g. out of core, where batches are read later).

    Raises
    ------
    ValueError
        One line naming the loss, what it needs and what was given (with the first
        offending row): a softmax over fewer than 2 units (always 1.0, zero gradients);
        binary cross-entropy over an output that is not sigmoid, or targets outside
        [0, 1]; categorical cross-entropy over an output that is not softmax, over one
        output, or targets that are not distributions: each row non-negative and
        summing to 1 within ``8 * n_outputs * eps`` of ``y``'s dtype (e.g. 1.9e-6 for
        two float32 outputs, 3.6e-15 for two float64 ones). With ``from_logits=True``
        the loss applies sigmoid or softmax itself, so any output is accepted.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.activations import Sigmoid, Softmax
    >>> check_targets(get_loss("bce"), Sigmoid(), 1, np.array([[1.5]]))
    Traceback (most recent call last):
    ...
    ValueError: binary_cross_entropy needs targets in [0, 1], got 1.5 in row 0
    >>> y = np.array([[0.0, 1.0], [0.3, 0.3]])
    >>> check_targets(get_loss("ce"), Softmax(), 2, y)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: cross_entropy needs each row of y to be a distribution ..., got row 1 summing to 0.6
    """
    if output.name == "softmax" and n_outputs < 2:
        raise ValueError(
            f"a softmax output needs 2 or more units, got {n_outputs}: over one unit it is "
            "always 1.0 and its gradients are 0 (use sigmoid for one probability)"
        )
    if not isinstance(loss, _FromLogitsLoss):
        return
    if not loss.from_logits and output.name != loss.fuses_with:
        raise ValueError(
            f"{loss.name} needs a {loss.fuses_with} output, got {output.name} (or pass the "
            f"loss with from_logits=True, which applies {loss.fuses_with} itself)"
        )
    if isinstance(loss, CrossEntropy) and n_outputs < 2:
        raise ValueError(
            f"{loss.name} needs 2 or more outputs, got {n_outputs}: over one output, "
            "softmax is always 1.0 and the gradients are 0 (use binary_cross_entropy)"
        )
    if y is None or shape_of(y)[0] == 0:
        return
    xp = array_namespace(y)
    if isinstance(loss, BinaryCrossEntropy):
        bad = xp.any(xp.logical_or(y < 0, y > 1), axis=1)
        if bool(xp.any(bad)):
            row = int(xp.nonzero(bad)[0][0])
            low, high = float(xp.min(y[row, :])), float(xp.max(y[row, :]))
            raise ValueError(
                f"{loss.name} needs targets in [0, 1], got {low if low < 0 else high:.6g} "
                f"in row {row}"
            )
        return
    # Rows that sum to 1 up to rounding: each of n_outputs terms and their sum may be
    # off by a few eps. A wider tolerance would pass weighted rows, whose error and
    # fused gradient (A * sum(y) - y) are not a cross-entropy's.
    tolerance = 8 * n_outputs * float(xp.finfo(y.dtype).eps)
    sums = xp.sum(y, axis=1)
    negative = xp.any(y < 0, axis=1)
    bad = xp.logical_or(negative, xp.abs(sums - 1) > tolerance)
    if bool(xp.any(bad)):
        row = int(xp.nonzero(bad)[0][0])
        total = float(sums[row])
        got = (
            f"a negative target {float(xp.min(y[row, :])):.6g} in row {row}"
            if bool(negative[row])
            else f"row {row} summing to {total:.6g}"
            + (f" (1 {total - 1:+.2g})" if f"{total:.6g}" == "1" else "")
        )
        raise ValueError(
            f"{loss.name} needs each row of y to be a distribution (non-negative, summing "
            f"to 1 within {tolerance:.2g}), got {got}"
        )
