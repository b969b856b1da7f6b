"""Problem specs: a network, one batch ``(x, y)`` and the step's settings, from a file.

A spec is a JSON or TOML file (or a dict) with these fields:

==============  =======================================================================
field           meaning
==============  =======================================================================
``layers``      a list of ``{W, b, activation}``: explicit weights, as the seed gives them
``sizes``       instead of ``layers``: ``[n_features, n_1, ..., n_out]``, with
                ``activations`` (one name or one per layer), ``seed`` and ``initializer``
``x``, ``y``    the input (one instance, 1-D, or a batch, 2-D) and the target
``lr``          the learning rate
``loss``        ``half_squared_error`` (default), ``mean_squared_error``,
                ``binary_cross_entropy``, ``cross_entropy``
``reduction``   ``mean`` (default) or ``sum`` over the instances of a batch
``frozen``      parameter names kept fixed, e.g. ``["b1", "b2"]``
``dtype``       ``float64`` (default) or ``float32``
``l2``          L2 regularization, >= 0 (default 0): ``l2/2 * sum_k ||Wk||^2`` joins the error
==============  =======================================================================

The seed notebook as a TOML spec::

    x = [0.5, 0.1]
    y = 0.9
    lr = 0.5

    [[layers]]
    W = [[0.15, 0.2], [0.24, 0.3]]
    b = [1, 1]
    activation = "sigmoid"

    [[layers]]
    W = [[-0.4], [0.5]]
    b = [1]
    activation = "sigmoid"
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from ..checks import Array, as_float_array, check_finite, check_positive, check_reduction
from ..losses import Loss, get_loss
from ..network import Network

FIELDS = (
    "layers", "sizes", "activations", "seed", "initializer",
    "x", "y", "lr", "loss", "reduction", "frozen", "dtype", "l2",
)  # fmt: skip
LAYER_FIELDS = ("W", "b", "activation")
MAX_SPEC_PARAMETERS = 10_000_000
"""A spec describes a worked example; a bigger network is built in code, not from a file."""


@dataclass
class Example:
    """A network with one batch and the settings of a training step on it.

    Attributes
    ----------
    network : Network
    x : array, shape (n_samples, n_features) or (n_features,)
    y : array, shape (n_samples, n_out), (n_out,) or scalar
    lr : float
    loss : Loss
    reduction : {"mean", "sum"}
    title : str
        What this example is, for printed headers.
    l2 : float
        L2 regularization of the step (see :func:`chainrule.train_step`).
    """

    network: Network
    x: Array
    y: Array
    lr: float
    loss: Loss
    reduction: str = "mean"
    title: str = ""
    l2: float = 0.0


def load_spec(path: str | Path) -> Example:
    """Read a JSON (``.json``) or TOML (``.toml``) spec file; see the module docstring."""
    path = Path(path)
    if path.suffix.lower() not in (".json", ".toml"):
        raise ValueError(f"spec file {str(path)!r} must end in .json or .toml, got {path.suffix!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read spec file {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"spec file {str(path)!r} is not UTF-8 text: {exc.reason}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # decode errors, over-long integers, deep nesting
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ValueError(f"spec file {str(path)!r} is not valid {kind}: {exc!s:.200}") from None
    try:
        return spec_from_dict(data, title=path.name)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"spec file {str(path)!r}: {exc}") from None


def spec_from_dict(data: Any, title: str = "") -> Example:
    """Build an :class:`Example` from a spec mapping; errors name the offending field."""
    if not isinstance(data, dict):
        raise TypeError(f"a spec must be a mapping of fields, got {type(data).__name__}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {unknown}; known fields: {', '.join(FIELDS)}")
    for field in ("x", "y", "lr"):
        if field not in data:
            raise ValueError(f"field {field!r} is missing")
    if ("layers" in data) == ("sizes" in data):
        raise ValueError("give exactly one of the fields 'layers' (explicit weights) and 'sizes'")
    frozen = data.get("frozen", [])
    if not isinstance(frozen, list) or not all(isinstance(f, str) for f in frozen):
        raise TypeError(f"field 'frozen' must be a list of parameter names, got {frozen!r}")
    dtype = data.get("dtype", "float64")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"field 'dtype' must be 'float32' or 'float64', got {dtype!r}")
    if "layers" in data:
        network = _network_from_layers(data["layers"], dtype, frozen)
    else:
        _check_spec_size(data["sizes"])
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"field 'seed' must be an integer, got {seed!r}")
        network = Network.from_sizes(
            data["sizes"],
            data.get("activations", "sigmoid"),
            initializer=data.get("initializer", "glorot_uniform"),
            random_state=seed,
            dtype=dtype,
            frozen=frozen,
        )
    lr = check_positive(data["lr"], "field 'lr'")
    reduction = data.get("reduction", "mean")
    try:
        check_reduction(reduction)
    except ValueError as exc:
        raise ValueError(f"field 'reduction': {exc}") from None
    try:
        loss = get_loss(data.get("loss", "half_squared_error"))
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"field 'loss': {exc}") from None
    x = as_float_array(data["x"], "field 'x'", dtype=network.dtype)
    y = as_float_array(data["y"], "field 'y'", dtype=network.dtype)
    check_finite(x, "field 'x'")
    check_finite(y, "field 'y'")
    try:
        network.check_Xy(x, y)  # fail now, naming x or y, not at the first step
    except ValueError as exc:
        raise ValueError(f"fields 'x' and 'y' do not fit the network: {exc}") from None
    l2 = data.get("l2", 0.0)
    if isinstance(l2, bool) or not isinstance(l2, int | float) or not 0 <= l2 < float("inf"):
        raise ValueError(f"field 'l2' must be a finite number >= 0, got {l2!r}")
    return Example(network, x, y, float(lr), loss, reduction, title, float(l2))


def _check_spec_size(sizes: Any) -> None:
    """Refuse, before allocating, a spec whose network would not fit in memory."""
    if isinstance(sizes, list) and all(type(n) is int and n >= 1 for n in sizes):
        n_params = sum(n_in * n_out + n_out for n_in, n_out in pairwise(sizes))
        if n_params > MAX_SPEC_PARAMETERS:
            raise ValueError(
                f"field 'sizes' {sizes} describes {n_params} parameters; a spec allows at most "
                f"{MAX_SPEC_PARAMETERS}"
            )


def _network_from_layers(layers: Any, dtype: str, frozen: list[str]) -> Network:
    if not isinstance(layers, list) or not layers:
        raise ValueError("field 'layers' must be a non-empty list of {W, b, activation} tables")
    weights, biases, activations = [], [], []
    for k, layer in enumerate(layers, start=1):
        where = f"layers[{k - 1}] (layer {k})"
        if not isinstance(layer, dict):
            raise TypeError(f"{where} must be a table with W, b, activation, got {layer!r:.40}")
        unknown = sorted(set(layer) - set(LAYER_FIELDS))
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {unknown}; known: W, b, activation")
        for field in ("W", "b"):
            if field not in layer:
                raise ValueError(f"{where}: field {field!r} is missing")
        weights.append(layer["W"])
        biases.append(layer["b"])
        activations.append(layer.get("activation", "sigmoid"))
    return Network.from_weights(weights, biases, activations, dtype=dtype, frozen=frozen)
