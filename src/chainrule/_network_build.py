"""Building a network's layers: from explicit weights, from sizes, and checking them.

:class:`~chainrule.network.Network` keeps thin constructors (``from_weights``,
``from_sizes``) that call these functions; every check here runs before any layer is
built, and every error names the argument, what was expected and what was given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from .activations import Activation, get_activation
from .checks import as_float_array, check_finite, shape_of
from .initializers import as_generator, initialize
from .layers import Dense, check_dropout


def per_layer(value: Any, n_layers: int, name: str) -> list[Any]:
    """One value for every layer: a single value is repeated, a list must match in length."""
    if isinstance(value, str | Activation) or not isinstance(value, Sequence):
        return [value] * n_layers
    if len(value) != n_layers:
        raise ValueError(f"{name} must name one per layer: {n_layers} expected, got {len(value)}")
    return list(value)


def dropout_rates(dropout: float | Sequence[float], n_layers: int) -> list[float]:
    """One rate per layer: the hidden layers' rates, then 0 for the output layer."""
    if isinstance(dropout, Sequence) and not isinstance(dropout, str):
        if len(dropout) != n_layers - 1:
            raise ValueError(
                f"dropout must give one rate per hidden layer: {n_layers - 1} expected, "
                f"got {len(dropout)}"
            )
        rates = [check_dropout(rate, f"dropout[{i}]") for i, rate in enumerate(dropout)]
    else:
        rates = [check_dropout(dropout)] * (n_layers - 1)
    return [*rates, 0.0]


def check_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy dtype, if it is float32 or float64; else raise."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def check_layers(layers: Any, frozen: Any) -> list[Dense]:
    """Validate the arguments of ``Network(layers, frozen)``; return the layers as a list."""
    if isinstance(layers, str | bytes) or not isinstance(layers, Iterable):
        raise TypeError(f"layers must be a sequence of Dense layers, got {layers!r:.40}")
    layers = list(layers)
    if not layers:
        raise ValueError("layers must hold at least one Dense layer, got none")
    for k, layer in enumerate(layers, start=1):
        if not isinstance(layer, Dense):
            raise TypeError(f"layers[{k - 1}] must be a Dense layer, got {layer!r:.40}")
    if isinstance(frozen, str) or not isinstance(frozen, Iterable):
        # A string would be read as its letters: "b1" -> {"b", "1"}.
        raise TypeError(f"frozen must be a list of parameter names, got {frozen!r:.40}")
    for k, (below, above) in enumerate(pairwise(layers), start=1):
        if below.n_out != above.n_in:
            raise ValueError(
                f"layer {k + 1}: W{k + 1} has shape {shape_of(above.W)}, so it expects "
                f"{above.n_in} inputs, but layer {k} has {below.n_out} outputs"
            )
    if layers[-1].dropout:
        raise ValueError(
            f"the output layer (layer {len(layers)}) cannot have dropout, got "
            f"dropout={layers[-1].dropout}; dropout applies to hidden layers"
        )
    return layers


def layers_from_weights(
    weights: Sequence[Any],
    biases: Sequence[Any],
    activations: str | Activation | Sequence[str | Activation],
    dtype: Any,
    dropout: float | Sequence[float],
) -> list[Dense]:
    """The layers of :meth:`Network.from_weights <chainrule.network.Network.from_weights>`."""
    for name, value in (("weights", weights), ("biases", biases)):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
            raise TypeError(f"{name} must be a list with one array per layer, got {value!r:.40}")
    if len(weights) != len(biases):
        raise ValueError(
            f"weights and biases must have one entry per layer: got {len(weights)} "
            f"weight matrices and {len(biases)} bias vectors"
        )
    arrays = [as_float_array(w, f"W{k}") for k, w in enumerate(weights, start=1)]
    if dtype is None:
        float32 = all(getattr(w, "dtype", None) == np.float32 for w in arrays)
        dtype = np.float32 if float32 else np.float64
    dtype = check_dtype(dtype)
    acts = per_layer(activations, len(weights), "activations")
    rates = dropout_rates(dropout, len(weights))
    layers = []
    for k, (W, b, act) in enumerate(zip(arrays, biases, acts, strict=True), start=1):
        W = np.array(W, dtype=dtype, copy=True)
        if W.ndim != 2 or 0 in W.shape:
            raise ValueError(
                f"layer {k}: W{k} must be 2-D (n_in, n_out) with n_in, n_out >= 1, "
                f"got shape {W.shape}"
            )
        check_finite(W, f"W{k}")
        b = np.array(as_float_array(b, f"b{k}"), dtype=dtype, copy=True)
        if b.ndim == 0 and W.shape[1] == 1:
            b = b.reshape(1)
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"layer {k}: b{k} must have shape ({W.shape[1]},), one bias per column "
                f"of W{k} {W.shape}, got shape {b.shape}"
            )
        check_finite(b, f"b{k}")
        act = get_activation(act, f"layer {k} activation")
        layers.append(Dense(W, b, act, dropout=rates[k - 1]))
    return layers


def layers_from_sizes(
    sizes: Sequence[int],
    activations: str | Activation | Sequence[str | Activation],
    initializer: str,
    random_state: int | np.random.Generator | None,
    dtype: Any,
    dropout: float | Sequence[float],
) -> list[Dense]:
    """The layers of :meth:`Network.from_sizes <chainrule.network.Network.from_sizes>`."""
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence | np.ndarray):
        raise TypeError(f"sizes must be a list of layer sizes, got {sizes!r:.40}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list n_features and at least one layer, got {sizes}")
    for i, n in enumerate(sizes):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"sizes[{i}] must be a positive integer, got {n!r}")
    dtype = check_dtype(dtype)
    rng = as_generator(random_state)
    acts = per_layer(activations, len(sizes) - 1, "activations")
    rates = dropout_rates(dropout, len(sizes) - 1)
    return [
        Dense(
            initialize(initializer, n_in, n_out, rng, dtype),
            np.zeros(n_out, dtype=dtype),
            get_activation(act, f"layer {k} activation"),
            dropout=rate,
        )
        for k, (n_in, n_out, act, rate) in enumerate(
            zip(sizes, sizes[1:], acts, rates, strict=False), start=1
        )
    ]


def copy_layers(layers: Sequence[Dense], dtype: Any = None) -> list[Dense]:
    """Copies of ``layers`` with copied parameters, cast to ``dtype`` (NumPy only) if given."""
    if dtype is not None:
        dtype = check_dtype(dtype)
        return [
            Dense(
                np.array(layer.W, dtype=dtype),
                np.array(layer.b, dtype=dtype),
                layer.activation,
                dropout=layer.dropout,
            )
            for layer in layers
        ]
    xp = array_namespace(layers[0].W)
    return [
        Dense(
            xp.asarray(layer.W, copy=True),
            xp.asarray(layer.b, copy=True),
            layer.activation,
            dropout=layer.dropout,
        )
        for layer in layers
    ]
