"""Other frameworks: PyTorch modules (:mod:`~chainrule.interop.torch`) and ONNX graphs
(:mod:`~chainrule.interop.onnx`)."""

from .onnx import export_onnx
from .torch import from_torch, to_torch

__all__ = ["export_onnx", "from_torch", "to_torch"]
