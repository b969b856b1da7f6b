"""Deprecated alias of :mod:`chainrule.interop.torch`, kept for one release."""

import warnings

from .interop import torch as _moved

warnings.warn(
    "chainrule.torch_interop moved to chainrule.interop.torch; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
