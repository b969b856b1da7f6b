"""chainrule: neural networks built on explicit, readable backpropagation."""

from .activations import ACTIVATIONS, Activation, get_activation, sigmoid, sigmoid_derivative
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .datasets import seed_example
from .errors import DivergenceError, ModelFileError
from .explain import Explanation, explain
from .gradcheck import GradCheckReport, check_gradients
from .guards import check_params_finite, check_step_finite
from .io import load, save
from .layers import Dense, DenseCache
from .losses import LOSSES, Loss, get_loss
from .network import Network
from .spec import Example, load_spec, spec_from_dict
from .step import train_step
from .trace import Trace, Tracer

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Activation",
    "Checkpoint",
    "Dense",
    "DenseCache",
    "DivergenceError",
    "Example",
    "Explanation",
    "GradCheckReport",
    "Loss",
    "ModelFileError",
    "Network",
    "Trace",
    "Tracer",
    "__version__",
    "check_gradients",
    "check_params_finite",
    "check_step_finite",
    "explain",
    "get_activation",
    "get_loss",
    "load",
    "load_checkpoint",
    "load_spec",
    "save",
    "save_checkpoint",
    "seed_example",
    "sigmoid",
    "sigmoid_derivative",
    "spec_from_dict",
    "train_step",
]
