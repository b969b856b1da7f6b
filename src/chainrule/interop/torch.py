"""PyTorch interop: a Network as a ``torch.nn.Sequential`` and back.

PyTorch is not a dependency of chainrule; these functions import it when called.
A chainrule layer ``A = f(A_prev @ W + b)`` is a ``torch.nn.Linear`` (whose ``weight``
is ``W.T``, shape ``(n_out, n_in)``) followed by the activation's module (identity
layers have none) and, for a layer with dropout, ``torch.nn.Dropout(rate)``: both are
inverted dropout on the layer's output, so the modules agree in evaluation mode and
scale the kept units alike in training mode (their random masks differ).

Softplus is ``torch.nn.Softplus(beta=1, threshold=40)``. PyTorch computes
``log1p(exp(z))`` up to the threshold and ``z`` above it; chainrule's stable
``max(z, 0) + log1p(exp(-|z|))`` equals ``z`` to the last bit above 17 (float32) or 37
(float64), and ``exp(z)`` overflows only above 88 (float32), so with 40 the two agree
for every finite input in both dtypes.

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

# Above it PyTorch's Softplus returns z; see the module's description for why 40.
SOFTPLUS_THRESHOLD = 40.0
# The lowest threshold read back: above 20 the switch to z moves the value by at most
# log1p(exp(-20)), about 2e-9.
MIN_SOFTPLUS_THRESHOLD = 20.0


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
        return nn.Softplus(beta=1.0, threshold=SOFTPLUS_THRESHOLD)
    if name == "softmax":
        return nn.Softmax(dim=-1)
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[name]()


def to_torch(network: Any) -> Any:
    """An equivalent ``torch.nn.Sequential`` (same dtype, copied weights).

    ``network`` is a Network or a fitted MLPClassifier / MLPRegressor, whose trained
    network (``network_``) is converted: the module gives the output layer's values
    (a classifier's probabilities of the positive class or of each class; a
    ``loss="poisson"`` regressor's log-predictions, whose ``exp`` is ``predict``).
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
        if layer.dropout:
            modules.append(torch.nn.Dropout(layer.dropout))
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
        if module.threshold < MIN_SOFTPLUS_THRESHOLD:
            raise ValueError(
                f"module {index}: Softplus(threshold={module.threshold}) returns z above its "
                f"threshold, which differs from softplus by up to log(2) near 0; a threshold "
                f">= {MIN_SOFTPLUS_THRESHOLD:g} is supported"
            )
        return get_activation("softplus")
    simple = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.Identity: "identity"}
    for cls, name in simple.items():
        if type(module) is cls:
            return get_activation(name)
    supported = "Linear, Sigmoid, Tanh, ReLU, LeakyReLU, Softplus, Softmax, Identity, Dropout"
    raise ValueError(
        f"module {index} ({type(module).__name__}) is not supported; supported: {supported}"
    )


def _linear_arrays(linear: Any, index: int) -> tuple[np.ndarray, np.ndarray]:
    """``(W, b)`` of a ``Linear`` module, checked before NumPy sees them."""
    torch = _torch()
    dtype = linear.weight.dtype
    if dtype not in (torch.float32, torch.float64):
        # NumPy has no bfloat16, and float16 would lose the precision chainrule computes in.
        raise ValueError(
            f"module {index}: Linear weights must be float32 or float64, got "
            f"{str(dtype).removeprefix('torch.')}; convert the module first with .float() or "
            ".double()"
        )
    W = linear.weight.detach().cpu().numpy().T.copy()
    if linear.bias is None:
        return W, np.zeros(linear.out_features, dtype=W.dtype)
    if linear.bias.dtype != dtype:
        raise ValueError(
            f"module {index}: Linear bias must have the weights' dtype {dtype}, "
            f"got {linear.bias.dtype}"
        )
    return W, linear.bias.detach().cpu().numpy().copy()


def from_torch(module: Any) -> Network:
    """Read a ``torch.nn.Sequential`` of ``Linear`` layers, activations and ``Dropout``.

    Each ``Linear`` starts a layer; the activation module after it (if any) is that
    layer's activation, and a ``Dropout`` after those the layer's dropout rate. Anything
    else (another module, a module out of that order, weights neither float32 nor
    float64) raises ``ValueError`` naming the module by its index.
    """
    torch = _torch()
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
    layers: list[Dense] = []
    # The layer being read: weights, then maybe an activation, then maybe a dropout rate.
    pending: dict[str, Any] | None = None

    def finish() -> None:
        if pending is not None:
            W, b = pending["arrays"]
            activation = pending.get("activation", "identity")
            try:
                layers.append(Dense(W, b, activation, dropout=pending.get("dropout", 0.0)))
            except ValueError as exc:
                raise ValueError(f"module {pending['index']}: {exc}") from None

    for index, child in enumerate(module):
        name = type(child).__name__
        if isinstance(child, nn.Linear):
            finish()
            pending = {"arrays": _linear_arrays(child, index), "index": index}
        elif type(child) is nn.Dropout:
            if pending is None or "dropout" in pending:
                raise ValueError(
                    f"module {index} (Dropout) must follow a Linear layer or its activation"
                )
            pending["dropout"], pending["dropout_index"] = float(child.p), index
        else:
            activation = _activation_of(child, index)
            if pending is None or "activation" in pending or "dropout" in pending:
                raise ValueError(
                    f"module {index} ({name}) must follow a Linear layer (one activation per "
                    "layer, before its Dropout)"
                )
            pending["activation"] = activation
    if pending is not None and "dropout" in pending:
        raise ValueError(
            f"module {pending['dropout_index']} (Dropout) follows the output layer; chainrule "
            "applies dropout to hidden layers only"
        )
    finish()
    if not layers:
        raise ValueError("module holds no Linear layer")
    return Network(layers)
