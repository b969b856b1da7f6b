"""Deprecated alias of :mod:`chainrule.io.checkpoint`, kept for one release."""

import warnings

from .io import checkpoint as _moved

warnings.warn(
    "chainrule.checkpoint moved to chainrule.io.checkpoint; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
