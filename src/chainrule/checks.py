"""Input checks shared by the public entry points.

Every check raises ``ValueError`` or ``TypeError`` naming the argument, what was
expected and what was given, before any state changes. Arrays from other array
libraries (anything with ``__array_namespace__``, e.g. PyTorch tensors) pass through
unconverted so that the engine can run on them.
"""

from __future__ import annotations

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


def as_float_array(value: object, name: str, dtype: Any = None) -> Array:
    """Convert ``value`` to a floating array, rejecting strings, objects and ragged lists.

    Integers and booleans become float64 (or ``dtype``); floating arrays keep their
    dtype unless ``dtype`` is given.
    """
    if is_foreign_array(value):
        return value
    if isinstance(value, str | bytes):
        raise TypeError(f"{name} must be numeric, got a {type(value).__name__}: {value!r:.40}")
    try:
        array = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of numbers: {exc}") from None
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
        raise ValueError(f"{name} contains NaN or infinity; all values must be finite")


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


def shape_of(array: Array) -> tuple[int, ...]:
    """The shape of any array as a tuple of ints."""
    return tuple(int(n) for n in array.shape)
