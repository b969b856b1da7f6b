"""PyTorch interop: a Network as a ``torch.nn.Sequential`` and back.

PyTorch is not a dependency of chainrule; these functions import it when called.
A chainrule layer ``A = f(A_prev @ W + b)`` is a ``torch.nn.Linear`` (whose ``weight``
is ``W.T``, shape ``(n_out, n_in)``) followed by the activation's module; identity
layers have no activation module.

Examples
--------
>>> import numpy as np
>>> from chainrule import from_torch, seed_example, to_torch
>>> net = seed_example().network
>>> module = to_torch(net)
>>> module
Sequential(
  (0): Linear(in_features=2, out_features=2, bias=True)
  (1): Sigmoid()
  (2): Linear(in_features=2, out_features=1, bias=True)
  (3): Sigmoid()
)
>>> back = from_torch(module)
>>> bool(np.array_equal(back.params["W1"], net.params["W1"]))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import require
from ..activations import Activation, LeakyReLU, get_activation
from ..layers import Dense
from ..network import Network


def _torch() -> Any:
    return require("torch", None, "PyTorch interop")


def _module_for(activation: Activation) -> Any | None:
    nn = _torch().nn
    name = activation.name
    if name == "identity":
        return None
    if name == "leaky_relu":
        return nn.LeakyReLU(activation.alpha)
    if name == "softplus":
        # PyTorch's default switches to z itself above 20; chainrule never does.
        return nn.Softplus(threshold=1000.0)
    if name == "softmax":
        return nn.Softmax(dim=-1)
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[name]()


def to_torch(network: Any) -> Any:
    """An equivalent ``torch.nn.Sequential`` (same dtype, copied weights).

    ``network`` is a Network or a fitted MLPClassifier / MLPRegressor, whose trained
    network (``network_``) is converted: the module gives the output layer's values
    (a classifier's probabilities of the positive class or of each class).
    """
    torch = _torch()
    if not isinstance(network, Network) and isinstance(getattr(network, "network_", None), Network):
        network = network.network_
    if not isinstance(network, Network):
        raise TypeError(
            f"network must be a chainrule Network or a fitted estimator, got "
            f"{type(network).__name__}"
        )
    dtype = torch.float64 if network.dtype == np.float64 else torch.float32
    modules = []
    for layer in network.layers:
        linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.W.T)))
            linear.bias.copy_(torch.from_numpy(np.array(layer.b)))
        modules.append(linear)
        activation = _module_for(layer.activation)
        if activation is not None:
            modules.append(activation)
    return torch.nn.Sequential(*modules)


def _activation_of(module: Any, index: int) -> Activation:
    nn = _torch().nn
    if isinstance(module, nn.LeakyReLU):
        return LeakyReLU(float(module.negative_slope))
    if isinstance(module, nn.Softmax):
        if module.dim not in (-1, 1):
            raise ValueError(f"module {index}: Softmax must act on dim=-1 or 1, got {module.dim}")
        return get_activation("softmax")
    if isinstance(module, nn.Softplus):
        if module.beta != 1:
            raise ValueError(f"module {index}: Softplus with beta={module.beta} is not supported")
        return get_activation("softplus")
    simple = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.Identity: "identity"}
    for cls, name in simple.items():
        if type(module) is cls:
            return get_activation(name)
    supported = "Linear, Sigmoid, Tanh, ReLU, LeakyReLU, Softplus, Softmax, Identity"
    raise ValueError(
        f"module {index} ({type(module).__name__}) is not supported; supported: {supported}"
    )


def from_torch(module: Any) -> Network:
    """Read a ``torch.nn.Sequential`` of ``Linear`` layers and supported activations.

    Each ``Linear`` starts a layer; the activation module after it (if any) is that
    layer's activation. Anything else raises ``ValueError`` naming the module.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
    layers: list[Dense] = []
    pending: tuple[np.ndarray, np.ndarray] | None = None
    for index, child in enumerate(module):
        if isinstance(child, torch.nn.Linear):
            if pending is not None:
                layers.append(Dense(*pending, "identity"))
            W = child.weight.detach().cpu().numpy().T.copy()
            if W.dtype not in (np.float32, np.float64):
                raise ValueError(
                    f"module {index}: Linear weights must be float32 or float64, got {W.dtype}"
                )
            b = (
                child.bias.detach().cpu().numpy().copy()
                if child.bias is not None
                else np.zeros(child.out_features, dtype=W.dtype)
            )
            pending = (W, b)
        else:
            activation = _activation_of(child, index)
            if pending is None:
                raise ValueError(
                    f"module {index} ({type(child).__name__}) must follow a Linear layer"
                )
            layers.append(Dense(*pending, activation))
            pending = None
    if pending is not None:
        layers.append(Dense(*pending, "identity"))
    if not layers:
        raise ValueError("module holds no Linear layer")
    return Network(layers)
