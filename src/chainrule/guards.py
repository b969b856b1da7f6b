"""Deprecated alias of :mod:`chainrule.training.guards`, kept for one release."""

import warnings

from .training import guards as _moved

warnings.warn(
    "chainrule.guards moved to chainrule.training.guards; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
