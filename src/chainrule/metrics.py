"""Deprecated alias of :mod:`chainrule.evaluation.metrics`, kept for one release."""

import warnings

from .evaluation import metrics as _moved

warnings.warn(
    "chainrule.metrics moved to chainrule.evaluation.metrics; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
