"""Deprecated alias of :mod:`chainrule.training.guard`, kept for one release."""

import warnings

from .training import guard as _moved

warnings.warn(
    "chainrule.guards moved to chainrule.training.guard; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
