"""Deprecated alias of :mod:`chainrule.io.atomic`, kept for one release."""

import warnings

from .io import atomic as _moved

warnings.warn(
    "chainrule.atomic moved to chainrule.io.atomic; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
