"""chainrule: neural networks built on explicit, readable backpropagation."""

from ._version import __version__
from .activations import ACTIVATIONS, Activation, get_activation, sigmoid, sigmoid_derivative
from .datasets.catalog import seed_example
from .datasets.spec import Example, load_spec, spec_from_dict
from .errors import DivergenceError, ModelFileError
from .explain import Explanation, explain
from .explain.run import trace_html, trace_markdown
from .gradcheck import GradCheckReport, check_gradients
from .interop.onnx import export_onnx
from .interop.torch import from_torch, to_torch
from .io.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .io.files import load, save
from .layers import Dense, DenseCache
from .learn import Exercise, play
from .losses import LOSSES, Loss, get_loss
from .network import Network
from .optimizers import SGD, Adam, AdamW, Optimizer
from .step import train_step
from .trace import Trace, Tracer, register_renderer
from .training.callbacks import History
from .training.guard import check_params_finite, check_step_finite
from .training.loop import fit

# The engine's Trace shows in Jupyter through the explanations, which it must not import.
register_renderer("html", trace_html)
register_renderer("markdown", trace_markdown)

# The estimators need scikit-learn (an optional extra): imported on first use, and kept
# out of __all__ so that ``from chainrule import *`` works without it.
_LAZY = {"MLPClassifier": "estimators", "MLPRegressor": "estimators"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "SGD",
    "Activation",
    "Adam",
    "AdamW",
    "Checkpoint",
    "Dense",
    "DenseCache",
    "DivergenceError",
    "Example",
    "Exercise",
    "Explanation",
    "GradCheckReport",
    "History",
    "Loss",
    "ModelFileError",
    "Network",
    "Optimizer",
    "Trace",
    "Tracer",
    "__version__",
    "check_gradients",
    "check_params_finite",
    "check_step_finite",
    "explain",
    "export_onnx",
    "fit",
    "from_torch",
    "get_activation",
    "get_loss",
    "load",
    "load_checkpoint",
    "load_spec",
    "play",
    "save",
    "save_checkpoint",
    "seed_example",
    "sigmoid",
    "sigmoid_derivative",
    "spec_from_dict",
    "to_torch",
    "train_step",
]
