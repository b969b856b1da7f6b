"""Deprecated alias of :mod:`chainrule.training.sources`, kept for one release."""

import warnings

from .training import sources as _moved

warnings.warn(
    "chainrule.batches moved to chainrule.training.sources; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
