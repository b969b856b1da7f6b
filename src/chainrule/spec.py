"""Deprecated alias of :mod:`chainrule.datasets.spec`, kept for one release."""

import warnings

from .datasets import spec as _moved

warnings.warn(
    "chainrule.spec moved to chainrule.datasets.spec; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
