"""Deprecated alias of :mod:`chainrule.training.callbacks`, kept for one release."""

import warnings

from .training import callbacks as _moved

warnings.warn(
    "chainrule.monitors moved to chainrule.training.callbacks; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
