"""Deprecated alias of :mod:`chainrule.cli.train`, kept for one release."""

import warnings

from .cli import train as _moved

warnings.warn(
    "chainrule.cli_train moved to chainrule.cli.train; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
