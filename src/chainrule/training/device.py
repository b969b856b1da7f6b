"""Training on a device: ``fit(..., device="cuda")`` runs the whole fit on PyTorch tensors.

The network's parameters and the data are copied to the device once; every batch, the
optimizer's state and the update stay there (the engine takes its array functions from
the arrays, :mod:`array_api_compat`); the trained parameters come back into the NumPy
network at the end, and the history's optimizer state as NumPy arrays. Checkpoints are
written as NumPy throughout (:mod:`chainrule.training.resume`). A network whose
parameters are already a device library's arrays (PyTorch tensors, CuPy arrays) trains
where it is, without ``device``.

Examples
--------
>>> import numpy as np
>>> from chainrule import Network
>>> from chainrule.training import fit
>>> net = Network.from_sizes([2, 4, 1], ["tanh", "sigmoid"], random_state=0, dtype=np.float32)
>>> X, y = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32), np.array([0, 1, 1, 0.0])
>>> history = fit(net, X, y, loss="bce", optimizer="sgd", epochs=2, device="cpu")
>>> type(net.params["W1"]).__name__, len(history["loss"])
('ndarray', 2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from array_api_compat import array_namespace
from array_api_compat import device as device_of

from ..checks import is_foreign_array, to_numpy
from ..layers import Dense
from ..network import Network
from .callbacks import History


def torch_device(device: Any) -> Any:
    """``device`` as a ``torch.device`` (``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"`` or
    one already); PyTorch is imported only here."""
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"fit(device={device!r}) trains on PyTorch tensors: pip install torch"
        ) from None
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must name a PyTorch device such as 'cuda', 'cuda:0', 'mps' or 'cpu', "
            f"got {device!r}"
        ) from None


def fit_on_device(network: Network, device: Any, run: Callable[[Network], History]) -> History:
    """Run ``run(copy)`` (the fit) on a copy of ``network`` on ``device`` (a name or a
    ``torch.device``); copy the trained parameters back into ``network`` (NumPy) and
    return the history."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, got {type(network).__name__}")
    if is_foreign_array(network.layers[0].W):
        raise ValueError(
            "device moves a NumPy network; this one is on a device already "
            f"({type(network.layers[0].W).__name__}): call fit without device"
        )
    on = torch_device(device)
    import torch

    layers = [
        Dense(
            torch.asarray(layer.W, device=on),
            torch.asarray(layer.b, device=on),
            layer.activation,
            dropout=layer.dropout,
        )
        for layer in network.layers
    ]
    moved = Network(layers, frozen=network.frozen)
    try:
        return _to_numpy_state(run(moved))
    finally:  # also after Ctrl-C or divergence: the network holds the last weights
        network.set_params({name: to_numpy(p) for name, p in moved.params.items()})


def state_beside(state: Any, W1: Any) -> Any:
    """An optimizer state (numbers and arrays, in dicts) with its NumPy arrays moved to
    ``W1``'s array library and device, where the update runs: a state given to ``fit``
    or read from a checkpoint is NumPy. As it is for a NumPy network."""
    if isinstance(W1, np.ndarray):
        return state
    xp, on = array_namespace(W1), device_of(W1)

    def moved(a: Any) -> Any:
        return xp.asarray(a, device=on) if isinstance(a, np.ndarray) else a

    return _map_arrays(state, moved)


def _to_numpy_state(history: History) -> History:
    history.optimizer_state = _map_arrays(
        history.optimizer_state, lambda a: to_numpy(a) if is_foreign_array(a) else a
    )
    return history


def _map_arrays(value: Any, convert: Callable[[Any], Any]) -> Any:
    """``value`` with ``convert`` applied to each leaf of its nested dicts."""
    if isinstance(value, dict):
        return {k: _map_arrays(v, convert) for k, v in value.items()}
    return convert(value)


__all__ = ["fit_on_device", "state_beside", "torch_device"]
