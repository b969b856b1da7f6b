"""Deprecated alias of :mod:`chainrule.interop.onnx`, kept for one release."""

import warnings

from .interop import onnx as _moved

warnings.warn(
    "chainrule.onnx_export moved to chainrule.interop.onnx; this alias goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> object:
    return getattr(_moved, name)
