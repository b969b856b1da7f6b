"""Network's validated entry points: the input checks and the methods built on them.

:class:`~chainrule.network.Network` inherits these methods from
:class:`ValidatedEntryPoints`. ``check_X``, ``check_y`` and ``check_Xy`` check user
input (nested lists, NumPy arrays or arrays of another array-API library) with
:mod:`chainrule._network_checks`; ``loss_and_grads``, ``loss`` and ``predict`` check
theirs so, then run the unchecked engine, ``Network.forward`` and ``Network.backward``,
which expect 2-D arrays of the network's dtype.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _network_checks as checks
from .checks import Array, shape_of
from .losses import Loss, get_loss, reduce, reduction_scale
from .trace import Tracer

if TYPE_CHECKING:
    from .network import Params


class ValidatedEntryPoints:
    """Methods of :class:`~chainrule.network.Network` that check their input first.

    They use the network's ``dtype``, its sizes, ``forward``, ``backward`` and
    ``instance_errors``.
    """

    # -- input checks -------------------------------------------------------------------
    def check_X(self, X: Any) -> Array:
        """Validate ``X``: 1-D (one instance) or 2-D ``(n_samples, n_features)``, finite.

        Returns a 2-D array of the network's dtype.
        """
        return checks.check_X(self, X)

    def check_y(self, y: Any, n_samples: int, single: bool = False) -> Array:
        """Validate ``y`` against ``n_samples`` instances and the output layer's size.

        Accepted: ``(n_samples, n_out)``; ``(n_samples,)`` when ``n_out == 1``; for one
        instance (``single``), ``(n_out,)`` or a scalar when ``n_out == 1``.
        """
        return checks.check_y(self, y, n_samples, single)

    def check_Xy(self, X: Any, y: Any) -> tuple[Array, Array]:
        """Validate ``X`` and ``y`` together; see :meth:`check_X` and :meth:`check_y`."""
        X = checks.as_input(X, self.dtype)
        single = len(shape_of(X)) == 1
        X = self.check_X(X)
        return X, self.check_y(y, int(X.shape[0]), single)

    # -- convenience entry points (validated) ----------------------------------------------
    def loss_and_grads(
        self,
        X: Any,
        y: Any,
        loss: str | Loss = "half_squared_error",
        reduction: str = "mean",
        tracer: Tracer | None = None,
    ) -> tuple[float, Params]:
        """Validate the input, run forward and backward; return the batch loss and gradients."""
        loss = get_loss(loss)
        reduction_scale(reduction, 1)
        X, y = self.check_Xy(X, y)
        _, caches = self.forward(X, tracer)
        E, grads = self.backward(y, caches, loss, reduction, tracer)
        return float(E), grads

    def loss(
        self, X: Any, y: Any, loss: str | Loss = "half_squared_error", reduction: str = "mean"
    ) -> float:
        """The batch loss of the network on ``(X, y)``, without gradients."""
        loss = get_loss(loss)
        X, y = self.check_Xy(X, y)
        _, caches = self.forward(X)
        return float(reduce(self.instance_errors(y, caches, loss), reduction))

    def predict(self, X: Any) -> Array:
        """The network's output.

        Returns an array of shape ``(n_samples, n_out)`` for a 2-D ``X``, and ``(n_out,)``
        for a 1-D ``x`` (one instance).
        """
        X = checks.as_input(X, self.dtype)
        single = len(shape_of(X)) == 1
        A, _ = self.forward(self.check_X(X))
        return A[0, ...] if single else A  # A[0] alone is NumPy's shorthand, not array-API
