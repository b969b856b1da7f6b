"""Input checks shared by the public entry points.

Every check raises ``ValueError`` or ``TypeError`` naming the argument, what was
expected and what was given, before any state changes. Arrays from other array
libraries (anything with ``__array_namespace__``, e.g. PyTorch tensors) pass through
unconverted so that the engine can run on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

Array = Any
"""Any array-API array: a NumPy array by default, a PyTorch tensor or a CuPy array too."""

REDUCTIONS = ("mean", "sum")


def is_foreign_array(value: object) -> bool:
    """Whether ``value`` is an array of another array library (not NumPy)."""
    if isinstance(value, np.ndarray | np.generic):
        return False
    # PyTorch tensors have no __array_namespace__; array_api_compat knows them anyway.
    from array_api_compat import is_array_api_obj

    return hasattr(value, "__array_namespace__") or is_array_api_obj(value)


def to_numpy(array: Array) -> np.ndarray:
    """``array`` as a NumPy array: itself, or a copy on the host of a device array (a
    PyTorch tensor, a CuPy array)."""
    if isinstance(array, np.ndarray):
        return array
    from array_api_compat import to_device

    return np.asarray(to_device(array, "cpu"))


def as_float_array(value: object, name: str, dtype: Any = None) -> Array:
    """Convert ``value`` to a floating array, rejecting strings, objects and ragged lists.

    Integers and booleans become float64 (or ``dtype``); floating arrays keep their
    dtype unless ``dtype`` is given.
    """
    if is_foreign_array(value):
        return value
    if isinstance(value, str | bytes):
        raise TypeError(f"{name} must be numeric, got a {type(value).__name__}: {value!r:.40}")
    if type(value).__module__.startswith("scipy.sparse"):
        # np.asarray would wrap it in a 0-d object array, as if it were ragged lists.
        raise TypeError(
            f"{name} must be a dense array, got a scipy.sparse {type(value).__name__} of shape "
            f"{value.shape}; convert it with {name}.toarray() if it fits in memory"
        )
    try:
        array = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of numbers: {exc}") from None
    if array.dtype == object and array.ndim == 0:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    if array.dtype == object:
        raise TypeError(
            f"{name} must be numeric, got an object array (ragged lists or mixed types?)"
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if dtype is not None:
        target = np.dtype(dtype)
        # Narrowing (float64 to float32) turns values beyond the target's range into
        # infinity with an overflow warning: name the value instead.
        with np.errstate(over="ignore"):
            converted = array.astype(target, copy=False)
        if (
            target.kind == "f"
            and array.dtype.kind == "f"
            and target.itemsize < array.dtype.itemsize
        ):
            _check_range(array, converted, name)
        return converted
    if array.dtype.kind != "f" or array.dtype.itemsize < 4:
        return array.astype(np.float64)
    return array


def _check_range(array: np.ndarray, converted: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if a finite value of ``array`` became infinite in ``converted``."""
    with np.errstate(over="ignore", invalid="ignore"):
        if converted.size == 0 or np.isfinite(np.add.reduce(converted, axis=None)):
            return  # the common case: one pass, no allocation the size of the data
    lost = np.isfinite(array) & ~np.isfinite(converted)
    if lost.any():
        value = float(array[lost].flat[0])
        raise ValueError(
            f"{name}: value {value:.6g} is outside {converted.dtype.name}'s range "
            f"(largest magnitude {float(np.finfo(converted.dtype).max):.6g}); scale the data "
            "or use float64"
        )


def check_finite(array: Array, name: str) -> None:
    """Raise ``ValueError`` if ``array`` holds NaN or infinity."""
    if isinstance(array, np.ndarray):
        # A sum propagates NaN and infinities in one pass, and unlike isfinite(array) it
        # allocates nothing the size of the data. Only if it is not finite (which a sum of
        # huge finite values can also be) do min and max decide.
        with np.errstate(over="ignore", invalid="ignore"):
            finite = array.size == 0 or bool(np.isfinite(np.add.reduce(array, axis=None)))
        if not finite:
            finite = bool(np.isfinite(array.min()) and np.isfinite(array.max()))
    else:
        from array_api_compat import array_namespace

        xp = array_namespace(array)
        finite = bool(xp.all(xp.isfinite(array)))
    if not finite:
        where = ""
        if isinstance(array, np.ndarray) and array.ndim:  # the error path: a mask is affordable
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            value = float(array[index])
            if array.ndim == 2:
                where = f" ({value} at row {index[0]}, column {index[1]})"
            else:
                where = f" ({value} at index {index[0] if array.ndim == 1 else index})"
        raise ValueError(f"{name} contains NaN or infinity; all values must be finite{where}")


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` if it is ``"mean"`` or ``"sum"``, else raise ``ValueError``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def check_positive(value: object, name: str, *, integer: bool = False) -> Any:
    """Return ``value`` if it is a positive finite number (an ``int`` if ``integer``)."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        what = "a positive integer" if integer else "a positive number"
        raise TypeError(f"{name} must be {what}, got {value!r} ({type(value).__name__})")
    if not np.isfinite(value) or value <= 0:
        what = "a positive integer" if integer else "a positive finite number"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return value


def check_non_negative(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number >= 0, got {value!r:.40} ({type(value).__name__})")
    if not 0 <= value < np.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_bool(value: object, name: str) -> bool:
    """Return ``value`` if it is True or False (NumPy's too), else raise ``TypeError``:
    a string such as ``"no"`` would otherwise count as true."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r:.40}")
    return bool(value)


def shape_of(array: Array) -> tuple[int, ...]:
    """The shape of any array as a tuple of ints."""
    return tuple(int(n) for n in array.shape)


# -- a network's input: X, y, parameters by name (Network.check_X and friends) ---------------
# NumPy input is converted to the network's dtype; arrays of other array libraries pass
# through unconverted, so that the engine can run on them.


def as_input(X: Any, dtype: Any) -> Array:
    """``X`` as an array (of ``dtype`` for NumPy), so that its shape can be read safely."""
    return as_float_array(X, "X", dtype=None if is_foreign_array(X) else dtype)


def check_X(X: Any, dtype: Any, W1_shape: tuple[int, ...]) -> Array:
    """``X`` as a 2-D ``(n_samples, n_features)`` array of ``dtype``, finite.

    ``W1_shape`` is layer 1's weight shape ``(n_features, n_out)``; a 1-D ``X`` is one
    instance.
    """
    X = as_input(X, dtype)
    shape = shape_of(X)
    if len(shape) == 1:
        X = X[None, :]
    elif len(shape) != 2:
        raise ValueError(
            f"X must be 1-D (one instance) or 2-D (n_samples, n_features), got shape {shape}"
        )
    if X.shape[0] == 0:
        raise ValueError("X is empty: it has 0 instances")
    if X.shape[1] != W1_shape[0]:
        raise ValueError(
            f"X has {X.shape[1]} features per instance, but layer 1 (W1, shape "
            f"{tuple(W1_shape)}) expects {W1_shape[0]}"
        )
    check_finite(X, "X")
    return X


def check_y(
    y: Any, n_samples: int, dtype: Any, n_layers: int, n_out: int, single: bool = False
) -> Array:
    """``y`` as a 2-D ``(n_samples, n_out)`` array of ``dtype``, finite.

    ``n_out`` is the output layer's size (layer ``n_layers``). Also accepted:
    ``(n_samples,)`` when ``n_out == 1``; for one instance (``single``), ``(n_out,)`` or a
    scalar when ``n_out == 1``.
    """
    y = as_float_array(y, "y", dtype=None if is_foreign_array(y) else dtype)
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
            f"output layer (b{n_layers} has {n_out} outputs), got shape {shape}"
        )
    check_finite(y, "y")
    return y


def check_params(params: Any, current: Mapping[str, Array], dtype: Any) -> dict[str, Array]:
    """New values for the parameters ``current`` (names, shapes, finite), copied, as ``dtype``."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of names to arrays, got {params!r:.40}")
    unknown = sorted(set(params) - set(current))
    if unknown:
        raise ValueError(f"unknown parameter names {unknown}; known: {list(current)}")
    new = {}
    for name, value in params.items():
        if is_foreign_array(current[name]) and not is_foreign_array(value):
            # NumPy values for a device network (a PyTorch one): moved to its device
            from array_api_compat import array_namespace, device

            like = current[name]
            value = array_namespace(like).asarray(
                as_float_array(value, name), dtype=like.dtype, device=device(like)
            )
        # a device network's own arrays (a PyTorch tensor) keep their library's dtype
        array = as_float_array(value, name, dtype=None if is_foreign_array(value) else dtype)
        if shape_of(array) != shape_of(current[name]):
            raise ValueError(
                f"{name} must have shape {shape_of(current[name])}, got {shape_of(array)}"
            )
        check_finite(array, name)
        new[name] = array.copy() if isinstance(array, np.ndarray) else array
    return new


def check_param_names(names: Iterable[str], known: Iterable[str], action: str) -> set[str]:
    """``names`` as a set, if each is among ``known``; ``action`` is for the error message."""
    names, known = set(names), list(known)
    unknown = sorted(names - set(known))
    if unknown:
        raise ValueError(f"cannot {action} unknown parameters {unknown}; known: {known}")
    return names
