"""The fit loop's divergence guard: cheap on every batch, thorough only when something is off.

Every batch pays for one ``isfinite`` on the loss and one dot product per gradient
(``g . g``, a single fast pass): the sum of squares is NaN or infinite whenever any
entry is, and also when the gradients are merely huge. Only then does the guard look
closer (:func:`chainrule.training.guards.check_step_finite`), to name the epoch, batch, layer and
parameter, and either raise :class:`~chainrule.errors.DivergenceError` or skip the batch.

Finite but huge gradients (or a huge learning rate) could still overflow the
parameters in the update, so such an update is made carefully: the parameters and the
optimizer state are copied first and put back if any parameter comes out non-finite.
The model is therefore always left at its last finite weights.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from ..errors import DivergenceError
from ..network import Network
from ..optimizers import Optimizer
from .callbacks import History
from .guards import check_params_finite, check_step_finite

ON_NONFINITE = ("raise", "skip")
NORMAL, CAREFUL, SKIP = 0, 1, 2
# Room for momentum (up to 1 / (1 - 0.99) = 100) to grow a step from the gradient.
_MARGIN = 1e4


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

    def fine(self, E: Any, grads: dict[str, Any], lr: float) -> bool:
        """The cheap check: ``E`` is finite and ``lr**2 * sum(g**2)`` is finite and small."""
        if not math.isfinite(float(E)):
            return False
        squares = 0.0
        for g in grads.values():
            flat = g.reshape(-1)
            squares += float(np.dot(flat, flat) if isinstance(flat, np.ndarray) else flat @ flat)
        return squares * lr * lr < self.limit

    def check(self, E: Any, grads: dict[str, Any], lr: float, epoch: int, batch: int) -> int:
        """NORMAL, CAREFUL (finite, but make the update with :meth:`careful_update`) or SKIP."""
        if self.fine(E, grads, lr):
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
        before = {k: v.copy() for k, v in trainable.items()}
        state_before = copy.deepcopy(state)
        optimizer.update(trainable, grads, state)
        try:
            check_params_finite(trainable, epoch=epoch, batch=batch)
        except DivergenceError as exc:
            for name, value in before.items():
                trainable[name][...] = value
            state.clear()
            state.update(state_before)
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
