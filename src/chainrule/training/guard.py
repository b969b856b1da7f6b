"""The divergence guard: stop training at the first NaN or infinity, and say where.

Two levels, one responsibility:

- the public checks, for any training loop. :func:`check_step_finite` runs after the
  loss and the gradients of a batch are computed, before anything is updated, and
  :func:`check_params_finite` on the updated parameters (a finite gradient times a
  large learning rate can still overflow). Each raises
  :class:`~chainrule.errors.DivergenceError` naming the epoch, the batch and, when one
  is to blame, the layer and the parameter. Overflow on the way to a NaN also makes
  NumPy warn; :func:`quiet_overflow` silences those warnings around a step whose
  result is then checked here, so that the error a user sees is the clear one.
- :class:`Guard`, the fit loop's use of them: cheap on every batch, thorough only when
  something is off. Every batch pays for one ``isfinite`` on the loss and the sum of
  squares of its gradients: one dot product per gradient (``g . g``, a single fast
  pass), or, where fit has its buffers, :func:`squares_bound`, an upper bound read
  from the arrays that made the gradients, which are far smaller for wide layers. The
  sum (or the bound) is NaN or infinite whenever any entry is, and also when the
  gradients are merely huge. Only then does the guard look closer
  (:func:`check_step_finite`), and either raise or skip the batch. Finite but huge
  gradients (or a huge learning rate) could still overflow the parameters in the
  update, so such an update is made carefully: the parameters and the optimizer state
  are copied first and put back if any parameter comes out non-finite. The model is
  therefore always left at its last finite weights.

Examples
--------
>>> import numpy as np
>>> from chainrule.training.guard import check_step_finite
>>> grads = {"W1": np.ones((2, 2)), "b1": np.zeros(2), "W2": np.array([[np.nan], [0.0]])}
>>> check_step_finite(0.25, grads, epoch=3, batch=7)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
chainrule.errors.DivergenceError: training diverged at epoch 3, batch 7: the gradient dE/dW2 ...
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from ..checks import Array
from ..errors import DivergenceError
from ..network import Network
from ..optimizers import Optimizer
from .callbacks import History


def _layer_of(name: str) -> int | None:
    """``"W2" -> 2``; None for names that do not follow the ``Wk``/``bk`` pattern."""
    digits = name[1:]
    return int(digits) if name[:1] in ("W", "b") and digits.isdigit() else None


def _first_bad(value: Any) -> tuple[str, tuple[int, ...]] | None:
    array = np.asarray(value)
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    what = "NaN" if np.isnan(array[index]) else "infinity"
    return what, index


def _where(epoch: int | None, batch: int | None) -> str:
    parts = [f"epoch {epoch}" * (epoch is not None), f"batch {batch}" * (batch is not None)]
    text = ", ".join(part for part in parts if part)
    return f"training diverged at {text}" if text else "training diverged"


def _check_mapping(
    arrays: Mapping[str, Any],
    quantity: str,
    epoch: int | None,
    batch: int | None,
    also: str = "",
) -> None:
    bad = {name: found for name, value in arrays.items() if (found := _first_bad(value))}
    if not bad:
        return
    name, (what, index) = next(iter(bad.items()))
    layer = _layer_of(name)
    of_layer = f" of layer {layer}" if layer is not None else ""
    if quantity == "gradient":
        label = f"the gradient dE/d{name}{of_layer} (parameter {name})"
    else:
        label = f"the parameter {name}{of_layer}"
    others = f"; also non-finite: {', '.join(list(bad)[1:])}" if len(bad) > 1 else ""
    raise DivergenceError(
        f"{_where(epoch, batch)}: {label} holds {what} at index {index}{others}{also}",
        epoch=epoch,
        batch=batch,
        quantity=quantity,
        parameter=name,
        layer=layer,
    )


def check_step_finite(
    E: Any, grads: Mapping[str, Any], *, epoch: int | None = None, batch: int | None = None
) -> None:
    """Raise :class:`DivergenceError` if the loss ``E`` or any gradient is NaN or infinite.

    Parameters
    ----------
    E : float or 0-d array
        The batch loss.
    grads : mapping of str to array
        ``{"W1": dE/dW1, ...}``. The first non-finite gradient, in this order, is named
        (with its layer and the index of a bad entry); the others are listed.
    epoch, batch : int, optional
        Where training stands, for the message.
    """
    loss_finite = bool(np.isfinite(np.asarray(E)).all())
    also = "" if loss_finite else f"; the loss is {float(np.asarray(E))}"
    # A gradient names a layer and a parameter, so it is reported first.
    _check_mapping(grads, "gradient", epoch, batch, also)
    if not loss_finite:
        raise DivergenceError(
            f"{_where(epoch, batch)}: the loss is {float(np.asarray(E))}",
            epoch=epoch,
            batch=batch,
            quantity="loss",
        )


def check_params_finite(
    params: Mapping[str, Any], *, epoch: int | None = None, batch: int | None = None
) -> None:
    """Raise :class:`DivergenceError` if any parameter holds NaN or infinity."""
    _check_mapping(params, "parameter", epoch, batch)


@contextlib.contextmanager
def quiet_overflow() -> Iterator[None]:
    """Silence NumPy's overflow and invalid-value warnings; check the results afterwards."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        yield


def sum_of_squares(array: Any) -> float:
    """``sum(array**2)`` as a Python float, in one pass (a dot product for NumPy arrays)."""
    flat = array.reshape(-1)
    return float(np.dot(flat, flat) if isinstance(flat, np.ndarray) else flat @ flat)


def squares_bound(layers: Iterable[tuple[Array, Array]]) -> float:
    """An upper bound on the sum of squares of dense layers' gradients, read from the
    arrays that made them: each layer's input ``A_prev`` and delta ``dZ``.

    For a layer of ``n`` rows, ``dW = A_prev.T @ dZ`` and ``db`` is the sum of ``dZ``
    over the rows. By the Cauchy-Schwarz inequality, entry by entry,
    ``dW[i, j]**2 <= sum(A_prev[:, i]**2) * sum(dZ[:, j]**2)`` and
    ``db[j]**2 <= n * sum(dZ[:, j]**2)``; summed over the entries (Frobenius norms):

        ||dW||**2 + ||db||**2 <= (||A_prev||**2 + n) * ||dZ||**2

    Reading ``A_prev`` and ``dZ`` costs ``n * (n_in + n_out)`` values against
    ``n_in * n_out`` for ``dW``: for a 4096-wide layer and batches of 128, a sixteenth.
    The bound also settles finiteness: a NaN or infinity in ``A_prev`` or ``dZ`` makes it
    NaN or infinite, and if it is finite, no product or partial sum inside ``dW`` or
    ``db`` can have overflowed, so none of their entries is NaN or infinite. The sums of
    squares are computed in the arrays' precision (their rounding is far inside the
    guard's margin, see :class:`Guard`).

    Parameters
    ----------
    layers : iterable of (A_prev, dZ)
        ``A_prev`` of shape ``(n, n_in)`` and ``dZ`` of shape ``(n, n_out)`` for each layer.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A_prev, dZ = rng.normal(size=(8, 5)), rng.normal(size=(8, 3))
    >>> exact = sum_of_squares(A_prev.T @ dZ) + sum_of_squares(dZ.sum(axis=0))
    >>> bool(exact <= squares_bound([(A_prev, dZ)]))
    True
    """
    total = 0.0
    for A_prev, dZ in layers:
        total += (sum_of_squares(A_prev) + A_prev.shape[0]) * sum_of_squares(dZ)
    return total


ON_NONFINITE = ("raise", "skip")
NORMAL, CAREFUL, SKIP = 0, 1, 2
# Room for momentum (up to 1 / (1 - 0.99) = 100) to grow a step from the gradient.
_MARGIN = 1e4


class Snapshot:
    """The trainable parameters and the optimizer's state as they are now, to put back
    with :meth:`restore` if an update has to be undone.

    The arrays are copied through their own library's namespace, so that NumPy arrays
    and a device's tensors (``fit(device=...)``) are copied alike, and put back in place:
    the network keeps its arrays.

    Examples
    --------
    >>> import numpy as np
    >>> W, state = np.ones(2), {"t": 1}
    >>> before = Snapshot({"W": W}, state)
    >>> W -= 5.0
    >>> state["t"] += 1
    >>> before.restore()
    >>> W.tolist(), state
    ([1.0, 1.0], {'t': 1})
    """

    def __init__(self, trainable: dict[str, Any], state: dict[str, Any]) -> None:
        self.trainable, self.state = trainable, state
        self.values = {k: array_namespace(v).asarray(v, copy=True) for k, v in trainable.items()}
        self.state_values = copy.deepcopy(state)

    def restore(self) -> None:
        """Put the parameters' values and the state back as they were."""
        for name, value in self.values.items():
            self.trainable[name][...] = value
        self.state.clear()
        self.state.update(self.state_values)


class Guard:
    """Checks each batch's loss and gradients; see the module docstring."""

    def __init__(self, network: Network, on_nonfinite: str, history: History) -> None:
        if on_nonfinite not in ON_NONFINITE:
            raise ValueError(f"on_nonfinite must be one of {ON_NONFINITE}, got {on_nonfinite!r}")
        self.network = network
        self.skip = on_nonfinite == "skip"
        self.history = history
        # Above this, lr**2 * |g|**2 might overflow a parameter in the update.
        xp = array_namespace(network.layers[0].W)  # NumPy's, or a device array library's
        self.limit = float(xp.finfo(network.layers[0].W.dtype).max) / _MARGIN**2

    def fine(self, E: Any, grads: dict[str, Any], lr: float, bound: float | None = None) -> bool:
        """The cheap check: ``E`` is finite and ``lr**2 * sum(g**2)`` is finite and small.

        ``bound``, an upper bound on ``sum(g**2)`` (:func:`squares_bound`), is tried
        first; only if it is not small enough are the gradients themselves read.
        """
        if not math.isfinite(float(E)):
            return False
        if bound is not None and bound * lr * lr < self.limit:
            return True
        squares = sum(sum_of_squares(g) for g in grads.values())
        return squares * lr * lr < self.limit

    def check(
        self,
        E: Any,
        grads: dict[str, Any],
        lr: float,
        epoch: int,
        batch: int,
        bound: float | None = None,
    ) -> int:
        """NORMAL, CAREFUL (finite, but make the update with :meth:`careful_update`) or SKIP.

        ``bound`` as in :meth:`fine`.
        """
        if self.fine(E, grads, lr, bound):
            return NORMAL
        try:
            check_step_finite(E, grads, epoch=epoch, batch=batch)
        except DivergenceError as exc:
            return self._bad(exc)
        return CAREFUL

    def careful_update(
        self,
        optimizer: Optimizer,
        trainable: dict[str, Any],
        grads: dict[str, Any],
        state: dict[str, Any],
        epoch: int,
        batch: int,
    ) -> bool:
        """Update, but undo it if a parameter overflows; whether the update was kept."""
        before = Snapshot(trainable, state)
        optimizer.update(trainable, grads, state)
        try:
            check_params_finite(trainable, epoch=epoch, batch=batch)
        except DivergenceError as exc:
            before.restore()
            self._bad(exc)
            return False
        return True

    def _bad(self, exc: DivergenceError) -> int:
        if self.skip:
            self.history.skipped_batches.append((exc.epoch or 0, exc.batch or 0))
            return SKIP
        raise self.diverged(exc)

    def diverged(self, exc: DivergenceError) -> DivergenceError:
        """``exc`` with the history so far and the network (at its last finite weights)."""
        self.history.stop_reason = "diverged"
        hint = "lower the learning rate or clip the gradients (clip_norm)"
        exc.args = (f"{exc.args[0]}; {hint}", *exc.args[1:])
        exc.history = self.history
        exc.network = self.network
        return exc
