"""chainrule: neural networks built on explicit, readable backpropagation."""

from .activations import ACTIVATIONS, Activation, get_activation, sigmoid, sigmoid_derivative
from .datasets import seed_example
from .explain import Explanation, explain
from .gradcheck import GradCheckReport, check_gradients
from .layers import Dense, DenseCache
from .losses import LOSSES, Loss, get_loss
from .network import Network
from .onnx_export import export_onnx
from .spec import Example, load_spec, spec_from_dict
from .step import train_step
from .torch_interop import from_torch, to_torch
from .trace import Trace, Tracer

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Activation",
    "Dense",
    "DenseCache",
    "Example",
    "Explanation",
    "GradCheckReport",
    "Loss",
    "Network",
    "Trace",
    "Tracer",
    "__version__",
    "check_gradients",
    "explain",
    "export_onnx",
    "from_torch",
    "get_activation",
    "get_loss",
    "load_spec",
    "seed_example",
    "sigmoid",
    "sigmoid_derivative",
    "spec_from_dict",
    "to_torch",
    "train_step",
]
