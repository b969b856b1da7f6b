"""Deprecated alias of :mod:`chainrule.evaluation.plots`, kept for one release."""

import warnings

from .evaluation import plots as _moved

warnings.warn(
    "chainrule.plot moved to chainrule.evaluation.plots; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
