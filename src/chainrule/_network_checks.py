"""Checks of a network's input ``X`` and target ``y`` (``Network.check_X`` and friends).

NumPy input is converted to the network's dtype; arrays of other array libraries pass
through unconverted, so that the engine can run on them. Every error names the
argument, the shape expected and the shape given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .checks import Array, as_float_array, check_finite, is_foreign_array, shape_of

if TYPE_CHECKING:
    from .network import Network


def as_input(X: Any, dtype: Any) -> Array:
    """``X`` as an array (of ``dtype`` for NumPy), so that its shape can be read safely."""
    return as_float_array(X, "X", dtype=None if is_foreign_array(X) else dtype)


def check_X(network: Network, X: Any) -> Array:
    """``X`` as a 2-D ``(n_samples, n_features)`` array of the network's dtype; see Network."""
    X = as_input(X, network.dtype)
    shape = shape_of(X)
    if len(shape) == 1:
        X = X[None, :]
    elif len(shape) != 2:
        raise ValueError(
            f"X must be 1-D (one instance) or 2-D (n_samples, n_features), got shape {shape}"
        )
    if X.shape[0] == 0:
        raise ValueError("X is empty: it has 0 instances")
    if X.shape[1] != network.n_features:
        raise ValueError(
            f"X has {X.shape[1]} features per instance, but layer 1 (W1, shape "
            f"{shape_of(network.layers[0].W)}) expects {network.n_features}"
        )
    check_finite(X, "X")
    return X


def check_y(network: Network, y: Any, n_samples: int, single: bool = False) -> Array:
    """``y`` as a 2-D ``(n_samples, n_out)`` array of the network's dtype; see Network."""
    y = as_float_array(y, "y", dtype=None if is_foreign_array(y) else network.dtype)
    n_out = network.n_outputs
    expected = (n_samples, n_out)
    shape = shape_of(y)
    if len(shape) == 0 and n_samples == 1 and n_out == 1:
        y = y.reshape(1, 1) if isinstance(y, np.ndarray) else y[None, None]
    elif len(shape) == 1 and single and shape == (n_out,):
        y = y[None, :]
    elif len(shape) == 1 and n_out == 1 and shape == (n_samples,):
        y = y[:, None]
    elif shape != expected:
        raise ValueError(
            f"y must have shape {expected} (n_samples, n_out) to match X and the "
            f"output layer (b{network.n_layers} has {n_out} outputs), got shape {shape}"
        )
    check_finite(y, "y")
    return y


def check_params(network: Network, params: Any) -> dict[str, Array]:
    """New values for ``Network.set_params``, all checked (names, shapes, finite), copied."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of names to arrays, got {params!r:.40}")
    current = network.params
    unknown = sorted(set(params) - set(current))
    if unknown:
        raise ValueError(f"unknown parameter names {unknown}; known: {list(current)}")
    new = {}
    for name, value in params.items():
        array = as_float_array(value, name, dtype=network.dtype)
        if shape_of(array) != shape_of(current[name]):
            raise ValueError(
                f"{name} must have shape {shape_of(current[name])}, got {shape_of(array)}"
            )
        check_finite(array, name)
        new[name] = array.copy() if isinstance(array, np.ndarray) else array
    return new


def check_param_names(network: Network, names: Iterable[str], action: str) -> set[str]:
    """``names`` as a set, if each names a parameter of ``network``; ``action`` is for errors."""
    names = set(names)
    unknown = sorted(names - set(network.params))
    if unknown:
        known = list(network.params)
        raise ValueError(f"cannot {action} unknown parameters {unknown}; known: {known}")
    return names
