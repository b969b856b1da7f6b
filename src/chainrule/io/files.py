"""Model files: ``save(model, path)`` and ``load(path)``, safe to load from anyone.

A model file is a `safetensors <https://github.com/huggingface/safetensors>`_ file:
the parameters as raw little-endian arrays, and one JSON document of metadata. No
pickle, no code: loading a file only ever parses JSON and copies numbers, so a hostile
file can at worst be refused. Any tool that reads safetensors reads the arrays.

The metadata (``__metadata__["chainrule"]``, a JSON string) holds:

======================  ============================================================
``format``              ``"chainrule"``
``format_version``      :data:`FORMAT_VERSION`; a newer version is refused clearly
``chainrule_version``   the version that wrote the file (for the reader's messages)
``kind``                which kind of model, e.g. ``"network"`` (see below)
``tensors``             every tensor's ``[dtype, shape, offsets]``, as a cross-check
``model``               the kind's own description (for a network: sizes,
                        activations with their settings, frozen parameters, dtype,
                        each layer's dropout rate)
======================  ============================================================

``__metadata__["chainrule_sha256"]`` is the SHA-256 of that JSON string followed by
the data section, so a flipped bit anywhere in the file is caught. Any problem with a
file raises :class:`~chainrule.errors.ModelFileError` (a ``ValueError``).

Kinds of model (the plug-in protocol)
-------------------------------------
Each kind of model registers itself with :func:`register_kind`, giving:

- ``kind``: a short name stored in the file (``"network"``);
- ``cls``: the Python class, so that :func:`save` finds the kind of a model;
- ``to_state(model) -> (arrays, description)``: the model's NumPy arrays by name, and
  a JSON-able description of everything else (architecture, hyperparameters, classes);
- ``from_state(arrays, description) -> model``: the inverse. It must check what it is
  given (names, shapes, dtypes, values; :func:`expect_arrays` helps) and raise
  ``ModelFileError``; a ``ValueError``, ``TypeError`` or ``KeyError`` it raises is
  turned into a ``ModelFileError`` too. The arrays are writable copies, all finite.

Examples
--------
>>> import pathlib, tempfile
>>> import chainrule
>>> net = chainrule.seed_example().network
>>> path = pathlib.Path(tempfile.mkdtemp()) / "seed.safetensors"
>>> _ = chainrule.save(net, path)
>>> chainrule.load(path)
Network(2-2-1, activations=sigmoid-sigmoid, dtype=float64)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..activations import ACTIVATIONS
from ..checks import check_finite
from ..errors import ModelFileError
from ..layers import Dense, check_dropout
from ..network import Network
from . import safetensors as _safetensors
from .atomic import atomic_write

FORMAT = "chainrule"
FORMAT_VERSION = 1
Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class ModelKind:
    """How one kind of model is turned into arrays and a description, and back."""

    kind: str
    cls: type
    to_state: Callable[[Any], tuple[Mapping[str, np.ndarray], dict[str, Any]]]
    from_state: Callable[[Arrays, dict[str, Any]], Any]


KINDS: dict[str, ModelKind] = {}
# Kinds registered by modules with optional dependencies, imported when a file needs them.
LAZY_KINDS = {"mlp_classifier": "chainrule.estimators", "mlp_regressor": "chainrule.estimators"}


def register_kind(
    kind: str,
    cls: type,
    to_state: Callable[[Any], tuple[Mapping[str, np.ndarray], dict[str, Any]]],
    from_state: Callable[[Arrays, dict[str, Any]], Any],
) -> None:
    """Make ``cls`` savable with :func:`save` and loadable with :func:`load` (see above)."""
    KINDS[kind] = ModelKind(kind, cls, to_state, from_state)


def _version() -> str:
    return __version__


# -- the container: arrays + checked metadata ----------------------------------------------
def write_container(
    path: str | os.PathLike[str], kind: str, arrays: Mapping[str, Any], body: dict[str, Any]
) -> Path:
    """Atomically write ``arrays`` and the description ``body`` as a file of ``kind``."""
    checked = {}
    for name, value in arrays.items():
        array = np.asarray(value)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinity; such a file could not be loaded")
        _safetensors.dtype_code(array.dtype)
        checked[name] = array
    table = _safetensors.layout(checked)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "chainrule_version": _version(),
        "kind": kind,
        "tensors": {k: [e["dtype"], e["shape"], e["data_offsets"]] for k, e in table.items()},
        **body,
    }
    try:
        _safetensors.check_depth(meta, "the description", _safetensors.MAX_STRING_CHARS)
    except ModelFileError as exc:
        raise ValueError(f"{exc}; such a file could not be loaded") from None
    text = json.dumps(meta, separators=(",", ":"))
    data = b"".join(
        np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"), copy=False)).tobytes()
        for a in checked.values()
    )
    digest = hashlib.sha256(text.encode() + data).hexdigest()
    head = _safetensors.header_bytes(table, {"chainrule": text, "chainrule_sha256": digest})
    return atomic_write(path, head + data)


def read_container(
    path: str | os.PathLike[str], kinds: Collection[str]
) -> tuple[Arrays, dict[str, Any]]:
    """Read a file written by :func:`write_container`, of one of ``kinds``; check everything."""
    with _safetensors.open_file(path) as reader:
        where, header = reader.where, reader.header
        text, expected, meta = _check_metadata(header, kinds, where)
        # Checked as the tensors are read; nothing from them is used before it matches.
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass"))
        arrays = reader.tensors(digest)
    if digest.hexdigest() != expected:
        raise ModelFileError(
            f"{where} is corrupt: its checksum does not match its content "
            "(a damaged copy, or the file was edited)"
        )
    for name, array in arrays.items():
        try:  # no temporary the size of the tensor, unlike isfinite(array).all()
            if array.dtype.kind == "f":
                check_finite(array, "")
        except ValueError:
            raise ModelFileError(
                f"{where}: tensor {_safetensors.quote(name)} contains NaN or infinity"
            ) from None
    return arrays, meta


def _check_metadata(
    header: dict[str, Any], kinds: Collection[str], where: str
) -> tuple[str, str, dict[str, Any]]:
    """What is checked before a file's data is read; returns the text, its SHA-256, its JSON."""
    metadata = header.get("__metadata__", {})
    if "chainrule" not in metadata or "chainrule_sha256" not in metadata:
        raise ModelFileError(
            f"{where} is a safetensors file but not a chainrule file (no chainrule metadata)"
        )
    text = metadata["chainrule"]
    meta = _safetensors.parse_json(text, f"the chainrule metadata of {where}")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{where} is not a chainrule file")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{where} has an invalid format_version {version!r:.40}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where} was written by chainrule {meta.get('chainrule_version')!s:.40} in file "
            f"format version {version}; this chainrule ({_version()}) reads format versions up "
            f"to {FORMAT_VERSION}. Upgrade chainrule to load it."
        )
    table = {
        k: [e["dtype"], e["shape"], e["data_offsets"]]
        for k, e in header.items()
        if k != "__metadata__"
    }
    if meta.get("tensors") != table:
        raise ModelFileError(f"{where}: the tensor table does not match the chainrule metadata")
    kind = meta.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        hint = ""
        if kind == "checkpoint":
            hint = "; read it with load_checkpoint()"
        elif isinstance(kind, str) and kind in KINDS:
            hint = "; read it with load()"
        raise ModelFileError(f"{where} holds a {kind!r:.40}; expected one of {sorted(kinds)}{hint}")
    return text, metadata["chainrule_sha256"], meta


def expect_arrays(arrays: Arrays, shapes: Mapping[str, tuple[int, ...]], dtype: Any) -> None:
    """Check that ``arrays`` holds exactly ``shapes`` (by name), each of ``dtype``."""
    missing = [name for name in shapes if name not in arrays]
    extra = sorted(set(arrays) - set(shapes))
    if missing or extra:
        raise ModelFileError(
            f"expected tensors {list(shapes)!s:.200}; missing {missing!s:.200}, "
            f"extra {_safetensors.quote(extra)}"
        )
    for name, shape in shapes.items():
        if arrays[name].shape != tuple(shape):
            raise ModelFileError(
                f"tensor {name!r} has shape {arrays[name].shape}, expected {tuple(shape)}"
            )
        if arrays[name].dtype != np.dtype(dtype):
            raise ModelFileError(f"tensor {name!r} is {arrays[name].dtype}, expected {dtype}")


# -- save and load -------------------------------------------------------------------------
def save(model: Any, path: str | os.PathLike[str]) -> Path:
    """Save a model (a :class:`~chainrule.network.Network`, or any registered kind).

    The file is written atomically: a crash leaves the previous file or the new one.
    Suggested suffix: ``.safetensors``.

    Parameters
    ----------
    model : Network or another registered kind
    path : str or path-like

    Returns
    -------
    Path
        The path written.
    """
    for entry in KINDS.values():
        if isinstance(model, entry.cls):
            arrays, description = entry.to_state(model)
            return write_container(path, entry.kind, arrays, {"model": description})
    kinds = ", ".join(entry.cls.__name__ for entry in KINDS.values())
    raise TypeError(f"model must be one of {kinds}, got {type(model).__name__}")


def load(path: str | os.PathLike[str]) -> Any:
    """Load a model saved by :func:`save` (a Network, an MLPClassifier or an MLPRegressor).

    Raises
    ------
    ModelFileError
        If the file is not a valid chainrule model file, for whatever reason.
    OSError
        If the file cannot be opened (missing, no permission).
    """
    where = repr(os.fspath(path))
    arrays, meta = read_container(path, {*KINDS, *LAZY_KINDS})
    if meta["kind"] not in KINDS:  # e.g. an estimator: needs scikit-learn
        import importlib

        importlib.import_module(LAZY_KINDS[meta["kind"]])
    try:
        return KINDS[meta["kind"]].from_state(arrays, meta.get("model"))
    except ModelFileError as exc:
        raise ModelFileError(f"{where}: {exc}") from None
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ModelFileError(f"{where} describes an invalid {meta['kind']}: {exc}") from None


# -- the network kind ----------------------------------------------------------------------
def _network_to_state(net: Network) -> tuple[Arrays, dict[str, Any]]:
    activations = []
    for k, layer in enumerate(net.layers, start=1):
        act = layer.activation
        if ACTIVATIONS.get(act.name) is not type(act):
            raise TypeError(f"layer {k}'s activation {act!r} is not built in; it cannot be saved")
        activations.append({"name": act.name, "params": act.params()})
    arrays = {name: np.asarray(value) for name, value in net.params.items()}
    description = {
        "sizes": net.sizes,
        "activations": activations,
        "frozen": sorted(net.frozen),
        "dtype": str(np.dtype(net.dtype)),
        "dropout": [layer.dropout for layer in net.layers],
    }
    return arrays, description


def _network_from_state(arrays: Arrays, description: Any) -> Network:
    if not isinstance(description, dict):
        raise ModelFileError("the network description is not a JSON object")
    sizes, acts = description.get("sizes"), description.get("activations")
    frozen, dtype = description.get("frozen"), description.get("dtype")
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(type(n) is int and n >= 1 for n in sizes)
    ):
        raise ModelFileError(f"invalid network sizes {sizes!r:.100}")
    if not isinstance(acts, list) or len(acts) != len(sizes) - 1:
        raise ModelFileError(f"expected {len(sizes) - 1} activations, got {acts!r:.100}")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"invalid dtype {dtype!r:.40}; expected float32 or float64")
    if not isinstance(frozen, list) or not all(isinstance(name, str) for name in frozen):
        raise ModelFileError(f"invalid frozen list {frozen!r:.100}")
    # Files written before the rates were stored have none: no dropout.
    rates = description.get("dropout", [0.0] * len(acts))
    if not isinstance(rates, list) or len(rates) != len(acts):
        raise ModelFileError(f"expected {len(acts)} dropout rates, got {rates!r:.100}")
    shapes: dict[str, tuple[int, ...]] = {}
    for k, (n_in, n_out) in enumerate(pairwise(sizes), start=1):
        shapes[f"W{k}"], shapes[f"b{k}"] = (n_in, n_out), (n_out,)
    expect_arrays(arrays, shapes, dtype)
    layers = []
    for k, act in enumerate(acts, start=1):
        if not isinstance(act, dict) or set(act) != {"name", "params"}:
            raise ModelFileError(f"layer {k}: invalid activation entry {act!r:.100}")
        if act["name"] not in ACTIVATIONS or not isinstance(act["params"], dict):
            raise ModelFileError(f"layer {k}: unknown activation {act['name']!r:.40}")
        activation = ACTIVATIONS[act["name"]](**act["params"])
        rate = check_dropout(rates[k - 1], f"layer {k}'s dropout")
        layers.append(Dense(arrays[f"W{k}"], arrays[f"b{k}"], activation, dropout=rate))
    return Network(layers, frozen=frozen)


register_kind("network", Network, _network_to_state, _network_from_state)
