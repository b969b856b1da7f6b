"""Checkpoints: everything a training run needs to resume exactly where it stopped.

A checkpoint holds the parameters, the optimizer's state, the random generator's state,
the position in training (e.g. epoch and batch) and the history so far. It is a
chainrule file of kind ``"checkpoint"`` (see :mod:`chainrule.io`): arrays in
safetensors, everything else in checksummed JSON, written atomically, and read back
with the same checks as a model file (any problem raises
:class:`~chainrule.errors.ModelFileError`).

The optimizer state, the generator state, the position and the history may nest
mappings and lists of JSON values (``None``, bools, ints, floats, strings) and NumPy
arrays; the arrays are stored as tensors, the rest as JSON. NumPy scalars become
Python numbers, tuples become lists. NaN and infinity are allowed in the JSON (a
history may hold them) but not in any floating array.

Examples
--------
>>> import pathlib, tempfile
>>> import numpy as np
>>> from chainrule import load_checkpoint, save_checkpoint
>>> rng = np.random.default_rng(0)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "run.ckpt"
>>> _ = save_checkpoint(path, {"W1": np.ones((2, 1))}, {"t": 3}, rng, {"epoch": 2}, {"loss": [0.5]})
>>> ckpt = load_checkpoint(path)
>>> ckpt.position, ckpt.optimizer_state, ckpt.generator().random() == rng.random()
({'epoch': 2}, {'t': 3}, True)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from .files import Arrays, read_container, write_container
from .safetensors import MAX_DEPTH, quote

BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_TENSOR = "__tensor__"


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` returns; the fields mirror :func:`save_checkpoint`."""

    params: dict[str, np.ndarray]
    optimizer_state: dict[str, Any]
    rng_state: dict[str, Any]
    position: dict[str, Any]
    history: dict[str, Any]
    extra: dict[str, Any]

    def generator(self) -> np.random.Generator:
        """A new ``numpy.random.Generator`` that continues exactly where the saved one stood."""
        return _generator(self.rng_state)


def _generator(state: Any) -> np.random.Generator:
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise ValueError(f"rng_state must name a bit generator in {BIT_GENERATORS}, got {name!r}")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = state
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ValueError(f"rng_state is not a valid {name} state: {exc!s:.200}") from None
    return np.random.Generator(bit_generator)


def _split(value: Any, path: str, arrays: Arrays, depth: int = 0) -> Any:
    """JSON-able copy of ``value``; arrays go to ``arrays`` and leave a reference behind."""
    if depth > MAX_DEPTH:  # also stops a structure that contains itself
        raise ValueError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, np.ndarray):
        arrays[path] = value
        return {_TENSOR: path}
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key == _TENSOR:
                raise TypeError(f"{path}: keys must be strings other than {_TENSOR!r}, got {key!r}")
            # JSON-pointer escapes keep tensor names unique when keys hold "/".
            escaped = key.replace("~", "~0").replace("/", "~1")
            out[key] = _split(item, f"{path}/{escaped}", arrays, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_split(item, f"{path}/{i}", arrays, depth + 1) for i, item in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{path}: cannot store a {type(value).__name__} in a checkpoint")


def _join(value: Any, arrays: Arrays, used: set[str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {_TENSOR}:
            name = value[_TENSOR]
            if not isinstance(name, str) or name not in arrays or name in used:
                raise ModelFileError(f"reference to a missing or reused tensor {name!r:.60}")
            used.add(name)
            return arrays[name]
        return {key: _join(item, arrays, used) for key, item in value.items()}
    if isinstance(value, list):
        return [_join(item, arrays, used) for item in value]
    return value


def save_checkpoint(
    path: str | os.PathLike[str],
    params: Mapping[str, Any],
    optimizer_state: Mapping[str, Any],
    rng_state: np.random.Generator | Mapping[str, Any],
    position: Mapping[str, Any],
    history: Mapping[str, Any],
    *,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically; a crash leaves the previous checkpoint or this one.

    Parameters
    ----------
    path : str or path-like
    params : mapping of str to array
        The parameters, e.g. ``network.params``; floating arrays, all finite.
    optimizer_state : mapping
        Arrays (e.g. Adam's moments) and JSON scalars (e.g. the step count).
    rng_state : numpy.random.Generator or its ``bit_generator.state`` dict
    position : mapping
        Where training stands, e.g. ``{"epoch": 3, "batch": 10}``.
    history : mapping
        E.g. ``{"loss": [...], "val_loss": [...]}``.
    extra : mapping, optional
        Anything else JSON-able (e.g. the settings, to check them on resume).

    Returns
    -------
    Path
    """
    if isinstance(rng_state, np.random.Generator):
        rng_state = rng_state.bit_generator.state
    _generator(rng_state)  # refuse now what could not be restored later
    arrays: Arrays = {}
    fields = {
        "params": params,
        "optimizer_state": optimizer_state,
        "rng_state": rng_state,
        "position": position,
        "history": history,
        "extra": {} if extra is None else extra,
    }
    for name, value in fields.items():
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a mapping, got {type(value).__name__}")
    for name, value in params.items():
        array = np.asarray(value)
        if array.dtype.kind != "f":
            raise TypeError(f"params[{name!r}] must be a floating array, got dtype {array.dtype}")
        if not np.isfinite(array).all():
            raise ValueError(f"params[{name!r}] contains NaN or infinity")
    params = {name: np.asarray(value) for name, value in params.items()}
    body = {name: _split(value, name, arrays) for name, value in fields.items() if name != "params"}
    body["params"] = _split(params, "params", arrays)
    return write_container(path, "checkpoint", arrays, {"checkpoint": body})


def load_checkpoint(
    path: str | os.PathLike[str], *, params_like: Mapping[str, Any] | None = None
) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or path-like
    params_like : mapping of str to array, optional
        If given (e.g. ``network.params``), the checkpoint's parameters must have
        exactly these names, shapes and dtypes.

    Raises
    ------
    ModelFileError
        If the file is not a valid checkpoint, or does not match ``params_like``.
    """
    where = repr(os.fspath(path))
    arrays, meta = read_container(path, ("checkpoint",))
    body = meta.get("checkpoint")
    fields = ("params", "optimizer_state", "rng_state", "position", "history", "extra")
    if not isinstance(body, dict) or set(body) != set(fields):
        raise ModelFileError(f"{where}: the checkpoint must hold exactly the fields {fields}")
    used: set[str] = set()
    parts = {name: _join(body[name], arrays, used) for name in fields}
    if used != set(arrays):
        raise ModelFileError(f"{where}: unreferenced tensors {quote(sorted(set(arrays) - used))}")
    for name in fields:
        if not isinstance(parts[name], dict):
            raise ModelFileError(f"{where}: {name} is not a mapping")
    params = parts["params"]
    if not all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in params.values()):
        raise ModelFileError(f"{where}: every parameter must be a floating tensor")
    if params_like is not None:
        like = {name: np.asarray(value) for name, value in params_like.items()}
        if set(params) != set(like):
            raise ModelFileError(
                f"{where} does not match the model: it holds parameters {quote(sorted(params))}, "
                f"the model has {sorted(like)}"
            )
        for name, ref in like.items():
            got = params[name]
            if got.shape != ref.shape or got.dtype != ref.dtype:
                raise ModelFileError(
                    f"{where} does not match the model: parameter {name!r} is {got.dtype} "
                    f"{got.shape} in the file, {ref.dtype} {ref.shape} in the model"
                )
    try:
        _generator(parts["rng_state"])
    except ValueError as exc:
        raise ModelFileError(f"{where}: {exc}") from None
    return Checkpoint(**parts)
