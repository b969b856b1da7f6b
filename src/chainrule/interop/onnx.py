"""ONNX export of a Network, built with the ``onnx`` package (extra ``[onnx]``).

The graph takes ``X`` of shape ``(n_samples, n_features)`` (any number of rows) and
gives ``Y``, the network's output ``(n_samples, n_out)``, in the network's dtype. Each
layer is ``MatMul -> Add -> activation``, with the operators ``Sigmoid``, ``Tanh``,
``Relu``, ``LeakyRelu`` and ``Softmax(axis=-1)``; softplus is written out in its stable
form ``Relu(z) + Log(1 + Exp(-Abs(z)))`` (onnxruntime has no float64 ``Softplus``, and
its float32 one overflows for large ``z``).

Examples
--------
>>> import tempfile, pathlib
>>> from chainrule import export_onnx, seed_example
>>> path = pathlib.Path(tempfile.mkdtemp()) / "seed.onnx"
>>> export_onnx(seed_example().network, path)
>>> path.stat().st_size > 0
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require
from ..io.atomic import atomic_write
from ..network import Network

OPSET = 17
OPERATORS = {
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "Relu",
    "leaky_relu": "LeakyRelu",
    "softmax": "Softmax",
}


def network_graph(network: Network, input_name: str = "X", output_name: str = "Y") -> Any:
    """The network as an ONNX ``GraphProto`` (for embedding in a larger graph)."""
    onnx = require("onnx", "onnx", "ONNX export")
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    elem = onnx.TensorProto.DOUBLE if network.dtype == np.float64 else onnx.TensorProto.FLOAT
    nodes, initializers = [], []
    current = input_name
    for k, layer in enumerate(network.layers, start=1):
        initializers += [
            numpy_helper.from_array(np.asarray(layer.W), name=f"W{k}"),
            numpy_helper.from_array(np.asarray(layer.b), name=f"b{k}"),
        ]
        nodes.append(helper.make_node("MatMul", [current, f"W{k}"], [f"XW{k}"]))
        name = layer.activation.name
        last = k == network.n_layers
        z = output_name if last and name == "identity" else f"inL{k}"
        nodes.append(helper.make_node("Add", [f"XW{k}", f"b{k}"], [z]))
        current = z
        if name != "identity":
            a = output_name if last else f"outL{k}"
            attributes: dict[str, Any] = {}
            if name == "leaky_relu":
                attributes["alpha"] = layer.activation.alpha
            if name == "softmax":
                attributes["axis"] = -1
            if name == "softplus":
                nodes += _softplus_nodes(z, a, k, initializers, network.dtype)
            else:
                nodes.append(helper.make_node(OPERATORS[name], [z], [a], **attributes))
            current = a
    return helper.make_graph(
        nodes,
        "chainrule_network",
        [helper.make_tensor_value_info(input_name, elem, ["n_samples", network.n_features])],
        [helper.make_tensor_value_info(output_name, elem, ["n_samples", network.n_outputs])],
        initializer=initializers,
    )


def _softplus_nodes(z: str, a: str, k: int, initializers: list, dtype: Any) -> list:
    """``a = Relu(z) + Log(1 + Exp(-Abs(z)))``, which never overflows."""
    onnx = require("onnx", "onnx", "ONNX export")
    make = onnx.helper.make_node
    one = f"one{k}"
    initializers.append(onnx.numpy_helper.from_array(np.ones((), dtype=dtype), name=one))
    steps = [("Abs", [z]), ("Neg", None), ("Exp", None), ("Add", [None, one]), ("Log", None)]
    nodes, previous = [], z
    for i, (op, inputs) in enumerate(steps):
        out = f"softplus{k}_{i}"
        args = [previous] if inputs is None else [previous if x is None else x for x in inputs]
        nodes.append(make(op, args, [out]))
        previous = out
    nodes += [
        make("Relu", [z], [f"softplus{k}_relu"]),
        make("Add", [f"softplus{k}_relu", previous], [a]),
    ]
    return nodes


def export_onnx(model: Any, path: str | Path) -> None:
    """Write ``model`` as an ONNX file at ``path``; the graph passes ``onnx.checker``.

    The file is written atomically (:func:`chainrule.io.atomic.atomic_write`).

    Parameters
    ----------
    model : Network, MLPClassifier or MLPRegressor
        A Network gives the output ``Y``; a fitted classifier gives ``label`` and
        ``probabilities`` and a regressor ``variable``, as skl2onnx's converters do
        (see :mod:`chainrule.interop.onnx_estimators`).
    path : str or Path
        Written atomically (a crash leaves no half-written file).
    """
    onnx = require("onnx", "onnx", "ONNX export")
    if isinstance(model, Network):
        graph = network_graph(model)
    elif _is_estimator(model):
        from .onnx_estimators import estimator_graph

        graph = estimator_graph(model)
    else:
        raise TypeError(
            "model must be a chainrule Network, MLPClassifier or MLPRegressor, "
            f"got {type(model).__name__}"
        )
    proto = onnx.helper.make_model(
        graph,
        producer_name="chainrule",
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
    )
    onnx.checker.check_model(proto, full_check=True)
    atomic_write(Path(path), proto.SerializeToString())


def _is_estimator(model: Any) -> bool:
    # Checked by module, so that exporting a Network never imports scikit-learn.
    return type(model).__module__.startswith("chainrule.estimators.")
