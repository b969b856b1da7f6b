"""Activation functions, each with its derivative and the formula a learner reads.

Every activation maps ``Z`` (the seed's ``inLk``, shape ``(n_samples, n_out)``) to
``A = f(Z)`` (the seed's ``outLk``) and back-propagates ``dA`` (``dEdOutLk``) to
``dZ = dA * f'(Z)`` (``dEdInLk``). All are numerically stable for any finite input in
float32 and float64: no overflow warning and no NaN, even at ``z = +-1e4``.

Examples
--------
>>> import numpy as np
>>> from chainrule.activations import get_activation, sigmoid_derivative
>>> float(sigmoid_derivative(1.13))
0.18454645770996225
>>> get_activation("tanh").formula
"f(z) = tanh(z);  f'(z) = 1 - f(z)**2"
"""

from __future__ import annotations

from typing import Any, ClassVar

from array_api_compat import array_namespace, device

from .checks import Array, as_float_array
from .names import lookup


class Activation:
    """Base class: an element-wise function ``f`` and its derivative ``f'``.

    Subclasses set ``name``, ``formula`` (plain text) and ``latex`` and implement
    ``value`` and ``derivative``. ``backprop`` is the chain-rule step used by a layer.
    """

    name: ClassVar[str] = ""
    formula: ClassVar[str] = ""
    latex: ClassVar[str] = ""
    elementwise: ClassVar[bool] = True

    def value(self, Z: Array) -> Array:
        """``A = f(Z)``, same shape and dtype as ``Z``."""
        raise NotImplementedError

    def derivative(self, Z: Array, A: Array | None = None) -> Array:
        """``f'(Z)`` element-wise, same shape as ``Z``; ``A = f(Z)`` may be passed to reuse it."""
        raise NotImplementedError

    def backprop(self, dA: Array, Z: Array, A: Array) -> Array:
        """``dZ = dA * f'(Z)``: the seed's ``dEdInL = dEdOutL * dOutLdInL``.

        Parameters
        ----------
        dA : array, shape (n_samples, n_out)
            dE/dA, the gradient of the loss with respect to this activation's output.
        Z, A : array, shape (n_samples, n_out)
            The activation's input and output from the forward pass.
        """
        return dA * self.derivative(Z, A)

    def params(self) -> dict[str, Any]:
        """Settings that define this activation (for specs and model files)."""
        return {}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({settings})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.params() == self.params()

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.params().items())))


def _stable_sigmoid(Z: Array) -> Array:
    xp = array_namespace(Z)
    # exp(-|z|) never overflows; 1/(1+exp(-z)) is used as is for z >= 0, as in the seed.
    e = xp.exp(-xp.abs(Z))
    return xp.where(Z >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Activation):
    """The logistic function, the seed's activation."""

    name = "sigmoid"
    formula = "f(z) = 1 / (1 + exp(-z));  f'(z) = f(z) * (1 - f(z))"
    latex = r"f(z) = \frac{1}{1 + e^{-z}}, \quad f'(z) = f(z)\,\bigl(1 - f(z)\bigr)"

    def value(self, Z: Array) -> Array:
        return _stable_sigmoid(Z)

    def derivative(self, Z: Array, A: Array | None = None) -> Array:
        A = self.value(Z) if A is None else A
        return A * (1 - A)


class Tanh(Activation):
    """The hyperbolic tangent."""

    name = "tanh"
    formula = "f(z) = tanh(z);  f'(z) = 1 - f(z)**2"
    latex = r"f(z) = \tanh z, \quad f'(z) = 1 - f(z)^2"

    def value(self, Z: Array) -> Array:
        return array_namespace(Z).tanh(Z)

    def derivative(self, Z: Array, A: Array | None = None) -> Array:
        A = self.value(Z) if A is None else A
        return 1 - A * A


class ReLU(Activation):
    """The rectified linear unit; ``f'(0)`` is taken as 0."""

    name = "relu"
    formula = "f(z) = max(z, 0);  f'(z) = 1 if z > 0 else 0"
    latex = r"f(z) = \max(z, 0), \quad f'(z) = [z > 0]"

    def value(self, Z: Array) -> Array:
        xp = array_namespace(Z)
        return xp.where(Z > 0, Z, xp.zeros_like(Z))

    def derivative(self, Z: Array, A: Array | None = None) -> Array:
        return array_namespace(Z).astype(Z > 0, Z.dtype)


class LeakyReLU(Activation):
    """ReLU with a small slope ``alpha`` for negative inputs."""

    name = "leaky_relu"
    formula = "f(z) = z if z > 0 else alpha * z;  f'(z) = 1 if z > 0 else alpha"
    latex = r"f(z) = \begin{cases} z & z > 0 \\ \alpha z & z \le 0 \end{cases}"

    def __init__(self, alpha: float = 0.01) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, int | float):
            raise TypeError(f"leaky_relu alpha must be a number, got {alpha!r}")
        # An infinite slope would turn 0 * inf into NaN.
        if not 0 <= alpha < float("inf"):
            raise ValueError(f"leaky_relu alpha must be a finite number >= 0, got {alpha!r}")
        self.alpha = float(alpha)

    def value(self, Z: Array) -> Array:
        return array_namespace(Z).where(Z > 0, Z, self.alpha * Z)

    def derivative(self, Z: Array, A: Array | None = None) -> Array:
        positive = array_namespace(Z).astype(Z > 0, Z.dtype)
        return positive * (1 - self.alpha) + self.alpha

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class Softplus(Activation):
    """A smooth ReLU, ``log(1 + exp(z))``."""

    name = "softplus"
    formula = "f(z) = log(1 + exp(z));  f'(z) = 1 / (1 + exp(-z))"
    latex = r"f(z) = \log\bigl(1 + e^{z}\bigr), \quad f'(z) = \frac{1}{1 + e^{-z}}"

    def value(self, Z: Array) -> Array:
        xp = array_namespace(Z)
        # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|): no overflow for large |z|.
        return xp.where(Z > 0, Z, xp.zeros_like(Z)) + xp.log1p(xp.exp(-xp.abs(Z)))

    def derivative(self, Z: Array, A: Array | None = None) -> Array:
        return _stable_sigmoid(Z)


class Identity(Activation):
    """No activation: ``f(z) = z`` (regression outputs, logits)."""

    name = "identity"
    formula = "f(z) = z;  f'(z) = 1"
    latex = r"f(z) = z, \quad f'(z) = 1"

    def value(self, Z: Array) -> Array:
        return Z

    def derivative(self, Z: Array, A: Array | None = None) -> Array:
        return array_namespace(Z).ones_like(Z)

    def backprop(self, dA: Array, Z: Array, A: Array) -> Array:
        return dA


class Softmax(Activation):
    """Softmax over each instance's outputs; its derivative is a Jacobian, not element-wise."""

    name = "softmax"
    formula = (
        "f(z)_i = exp(z_i) / sum_j exp(z_j);  df_i/dz_j = f_i * (delta_ij - f_j), "
        "so dZ = A * (dA - sum(dA * A))"
    )
    latex = (
        r"f(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}}, \quad "
        r"\frac{\partial f_i}{\partial z_j} = f_i\,(\delta_{ij} - f_j)"
    )
    elementwise = False

    def value(self, Z: Array) -> Array:
        xp = array_namespace(Z)
        e = xp.exp(Z - xp.max(Z, axis=-1, keepdims=True))
        return e / xp.sum(e, axis=-1, keepdims=True)

    def derivative(self, Z: Array, A: Array | None = None) -> Array:
        """The Jacobian ``df_i/dz_j`` of each instance, shape ``(n_samples, n_out, n_out)``."""
        xp = array_namespace(Z)
        A = self.value(Z) if A is None else A
        n_out = Z.shape[-1]
        eye = xp.eye(n_out, dtype=Z.dtype, device=device(Z))  # on Z's device (a GPU's, say)
        return A[..., :, None] * (eye - A[..., None, :])

    def backprop(self, dA: Array, Z: Array, A: Array) -> Array:
        xp = array_namespace(A)
        return A * (dA - xp.sum(dA * A, axis=-1, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Softplus, Identity, Softmax)
}
# Other names of the same activations: scikit-learn's "logistic" is the sigmoid.
ALIASES = {"logistic": "sigmoid"}


def get_activation(activation: str | Activation, where: str = "activation") -> Activation:
    """Return an activation from its name (or the instance itself).

    Parameters
    ----------
    activation : str or Activation
        One of ``identity, leaky_relu, relu, sigmoid, softmax, softplus, tanh``, in any
        case, or ``logistic`` (scikit-learn's name of the sigmoid).
    where : str
        What the name belongs to, for the error message (e.g. ``"layer 2 activation"``).
    """
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(f"{where} must be a name or an Activation, got {type(activation).__name__}")
    return lookup(ACTIVATIONS, activation, where, aliases=ALIASES)()


def sigmoid(v: object) -> Array:
    """The seed notebook's ``sigmoid(v)``, numerically stable; accepts scalars and lists.

    >>> sigmoid(0.0)
    np.float64(0.5)
    """
    Z = as_float_array(v, "v")
    return Sigmoid().value(Z)[()]


def sigmoid_derivative(v: object) -> Array:
    """The seed notebook's ``sigmoid_derivative(v) = sigmoid(v) * (1 - sigmoid(v))``.

    >>> import numpy as np
    >>> with np.printoptions(precision=6):
    ...     print(sigmoid_derivative([1, 2, 3]))
    [0.196612 0.104994 0.045177]
    """
    Z = as_float_array(v, "v")
    return Sigmoid().derivative(Z)[()]
