"""Deprecated alias of :mod:`chainrule.training.monitors`, kept for one release."""

import warnings

from .training import monitors as _moved

warnings.warn(
    "chainrule.monitors moved to chainrule.training.monitors; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
