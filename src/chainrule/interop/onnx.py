"""ONNX export of a Network or a fitted estimator, built with the ``onnx`` package (extra
``[onnx]``).

A :class:`~chainrule.network.Network`'s graph takes ``X`` of shape ``(n_samples,
n_features)`` (any number of rows) and gives ``Y``, the network's output ``(n_samples,
n_out)``, in the network's dtype. Each layer is ``MatMul -> Add -> activation``, with the
operators ``Sigmoid``, ``Tanh``, ``Relu`` and ``Softmax(axis=-1)``. Two activations are
written out in nodes instead:

- leaky ReLU as ``Where(z > 0, z, alpha * z)``, chainrule's own formula, with ``alpha`` a
  constant of the network's dtype (the ``LeakyRelu`` operator's ``alpha`` attribute is a
  float32, which would round a float64 network's slope);
- softplus in its stable form ``Relu(z) + Log(1 + Exp(-Abs(z)))`` (onnxruntime has no
  float64 ``Softplus``, and its float32 one overflows for large ``z``).

A fitted estimator's graph is its network followed by skl2onnx's outputs (input ``X``,
in the network's dtype). An :class:`~chainrule.estimators.MLPRegressor` gives
``variable``, shape ``(n_samples, n_outputs)`` (``predict`` drops the second axis for one
output; with ``loss="poisson"``, the ``Exp`` of the network's output). An
:class:`~chainrule.estimators.MLPClassifier` gives, as skl2onnx does with
``zipmap=False``:

- ``label``, shape ``(n_samples,)``: int64 for integer classes, else the classes' own
  type (float, bool or string); for multilabel targets an int64 0/1 matrix
  ``(n_samples, n_labels)``;
- ``probabilities``, ``(n_samples, n_classes)``: what ``predict_proba`` returns.

With ``zipmap=True`` it gives skl2onnx's default outputs instead: ``output_label`` (as
``label``, but int64 for bool and float classes, as skl2onnx casts them) and
``output_probability``, a sequence with one map ``{class: probability}`` per row (the
``ai.onnx.ml`` operator ``ZipMap``; its keys are int64 or strings, its values float32,
the only type ZipMap takes, so a float64 network's probabilities are cast).

The estimators are recognised by what they hold, not by their class (this module sits
below :mod:`chainrule.estimators`): a fitted estimator is an object whose ``network_``
is a Network; a classifier also has ``classes_``.

The model's IR version is the lowest that its operator sets need
(``onnx.helper.find_min_ir_version_for``, which reads ``onnx.helper.VERSION_TABLE``):
opset 17 needs IR 8 (onnx 1.12) and ``ai.onnx.ml`` 1 IR 3, so the files load in every
onnxruntime from 1.12 on, whatever onnx version wrote them.

Examples
--------
>>> import tempfile, pathlib
>>> from chainrule import export_onnx, seed_example
>>> path = pathlib.Path(tempfile.mkdtemp()) / "seed.onnx"
>>> export_onnx(seed_example().network, path)
>>> path.stat().st_size > 0
True
>>> onnx_model(seed_example().network).ir_version
8
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require
from ..io.atomic import atomic_write
from ..network import Network

OPSET = 17
ML_OPSET = 1  # the ai.onnx.ml operator set, for ZipMap
OPERATORS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "softmax": "Softmax"}


def _onnx() -> Any:
    return require("onnx", "onnx", "ONNX export")


class _Builder:
    """The nodes of a graph being built, and the constants they use.

    A constant becomes an initializer when a node first asks for it, so that the graph
    holds no initializer that no node reads (onnxruntime warns about those on every load).
    """

    def __init__(self) -> None:
        self.onnx = _onnx()
        self.nodes: list[Any] = []
        self.initializers: dict[str, Any] = {}

    def constant(self, name: str, value: np.ndarray) -> str:
        if name not in self.initializers:
            self.initializers[name] = self.onnx.numpy_helper.from_array(value, name=name)
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], **attributes))
        return output


def _add_network(g: _Builder, network: Network, input_name: str, output_name: str) -> None:
    """The layers' nodes, from ``input_name`` to ``output_name``."""
    dtype = network.dtype
    current = input_name
    for k, layer in enumerate(network.layers, start=1):
        W = g.constant(f"W{k}", np.asarray(layer.W))
        b = g.constant(f"b{k}", np.asarray(layer.b))
        name = layer.activation.name
        last = k == network.n_layers
        XW = g.node("MatMul", [current, W], f"XW{k}")
        z = g.node("Add", [XW, b], output_name if last and name == "identity" else f"inL{k}")
        if name == "identity":
            current = z
            continue
        a = output_name if last else f"outL{k}"
        if name == "leaky_relu":
            alpha = g.constant(f"alpha{k}", np.asarray(layer.activation.alpha, dtype=dtype))
            zero = g.constant("zero", np.zeros((), dtype=dtype))
            positive = g.node("Greater", [z, zero], f"positive{k}")
            scaled = g.node("Mul", [z, alpha], f"scaled{k}")
            current = g.node("Where", [positive, z, scaled], a)
        elif name == "softplus":
            one = g.constant("one", np.ones((), dtype=dtype))
            t = g.node("Abs", [z], f"softplus{k}_abs")
            t = g.node("Neg", [t], f"softplus{k}_neg")
            t = g.node("Exp", [t], f"softplus{k}_exp")
            t = g.node("Add", [t, one], f"softplus{k}_1p")
            t = g.node("Log", [t], f"softplus{k}_log")
            r = g.node("Relu", [z], f"softplus{k}_relu")
            current = g.node("Add", [r, t], a)
        else:
            attributes = {"axis": -1} if name == "softmax" else {}
            current = g.node(OPERATORS[name], [z], a, **attributes)


def _tensor(name: str, elem_type: int, shape: list[Any]) -> Any:
    return _onnx().helper.make_tensor_value_info(name, elem_type, shape)


def _elem(network: Network) -> int:
    tensor = _onnx().TensorProto
    return tensor.DOUBLE if network.dtype == np.float64 else tensor.FLOAT


def network_graph(network: Network, input_name: str = "X", output_name: str = "Y") -> Any:
    """The network as an ONNX ``GraphProto`` (for embedding in a larger graph).

    Parameters
    ----------
    network : Network
    input_name, output_name : str
        The graph's input, shape ``(n_samples, n_features)``, and output, shape
        ``(n_samples, n_out)``, both in the network's dtype.
    """
    g = _Builder()
    _add_network(g, network, input_name, output_name)
    elem = _elem(network)
    return g.onnx.helper.make_graph(
        g.nodes,
        "chainrule_network",
        [_tensor(input_name, elem, ["n_samples", network.n_features])],
        [_tensor(output_name, elem, ["n_samples", network.n_outputs])],
        initializer=list(g.initializers.values()),
    )


def _classes_tensor(classes: np.ndarray, zipmap: bool = False) -> np.ndarray:
    """``classes_`` as an array ONNX can hold: int64 for integers, objects for strings.

    With ``zipmap``, bool and float classes become int64 too (ZipMap's keys are int64 or
    strings; skl2onnx casts them the same way). Float classes are whole numbers (the
    estimators refuse continuous targets), so the cast is exact.
    """
    kind = classes.dtype.kind
    if kind in "iu" or (zipmap and kind in "bf"):
        return classes.astype(np.int64)
    if kind in "bf":
        return classes
    if kind in "USO" and all(isinstance(c, str) for c in classes):
        return classes.astype(object)
    raise TypeError(
        f"ONNX export supports integer, float, bool or string class labels, got classes_ of dtype "
        f"{classes.dtype} ({classes[:3]!r}...)"
    )


def _estimator_graph(estimator: Any, zipmap: bool) -> Any:
    """The fitted estimator's network followed by its label and probability nodes."""
    network: Network = estimator.network_
    g = _Builder()
    onnx = g.onnx
    _add_network(g, network, "X", "A")
    elem, n_out = _elem(network), network.n_outputs
    inputs = [_tensor("X", elem, ["n_samples", network.n_features])]
    if not hasattr(estimator, "classes_"):  # a regressor
        if zipmap:
            kind = type(estimator).__name__
            raise ValueError(f"zipmap=True applies to classifiers, not to a {kind}")
        # MLPRegressor(loss="poisson") predicts exp of its network's output.
        exp = getattr(estimator, "out_activation_", None) == "exp"
        g.node("Exp" if exp else "Identity", ["A"], "variable")
        outputs = [_tensor("variable", elem, ["n_samples", n_out])]
        return _graph(g, inputs, outputs)

    label_name = "output_label" if zipmap else "label"
    INT64 = onnx.TensorProto.INT64
    half = np.array(0.5, dtype=network.dtype)
    multilabel = getattr(estimator, "out_activation_", None) == "logistic" and n_out > 1
    if multilabel:
        # predict: each label is on where its probability is above 0.5 (LabelBinarizer's rule)
        probabilities = g.node("Identity", ["A"], "probabilities")
        on = g.node("Greater", ["A", g.constant("half", half)], "on")
        g.node("Cast", [on], label_name, to=INT64)
        keys = np.arange(n_out, dtype=np.int64)
        label = _tensor(label_name, INT64, ["n_samples", n_out])
    else:
        classes = _classes_tensor(np.asarray(estimator.classes_), zipmap)
        keys = classes
        if n_out == 1:
            # binary: probabilities [1 - p, p]; the label is classes_[p > 0.5]
            q = g.node("Sub", [g.constant("one", np.ones((), dtype=network.dtype)), "A"], "q")
            probabilities = g.node("Concat", [q, "A"], "probabilities", axis=1)
            axes = g.constant("squeeze_axes", np.array([1], dtype=np.int64))
            p = g.node("Squeeze", ["A", axes], "p")
            on = g.node("Greater", [p, g.constant("half", half)], "on")
            index = g.node("Cast", [on], "index", to=INT64)
        else:
            # multiclass: the first class of highest probability, as numpy's argmax
            probabilities = g.node("Identity", ["A"], "probabilities")
            index = g.node("ArgMax", ["A"], "index", axis=1, keepdims=0)
        g.node("Gather", [g.constant("classes", classes), index], label_name, axis=0)
        label_type = onnx.helper.np_dtype_to_tensor_dtype(classes.dtype)
        label = _tensor(label_name, label_type, ["n_samples"])
    if not zipmap:
        return _graph(g, inputs, [label, _tensor(probabilities, elem, ["n_samples", len(keys)])])
    return _graph(g, inputs, [label, _zipmap(g, probabilities, keys, network.dtype)])


def _zipmap(g: _Builder, probabilities: str, keys: np.ndarray, dtype: Any) -> Any:
    """skl2onnx's ``output_probability``: ``ZipMap`` of the (float32) probabilities."""
    onnx = g.onnx
    helper, FLOAT = onnx.helper, onnx.TensorProto.FLOAT
    if dtype == np.float64:
        probabilities = g.node("Cast", [probabilities], "probabilities_float", to=FLOAT)
    if keys.dtype == object:
        labels = {"classlabels_strings": [str(k) for k in keys]}
        key_type = onnx.TensorProto.STRING
    else:
        labels = {"classlabels_int64s": [int(k) for k in keys]}
        key_type = onnx.TensorProto.INT64
    g.nodes.append(
        helper.make_node(
            "ZipMap", [probabilities], ["output_probability"], domain="ai.onnx.ml", **labels
        )
    )
    value = helper.make_tensor_type_proto(FLOAT, shape=None)
    kind = helper.make_sequence_type_proto(helper.make_map_type_proto(key_type, value))
    return helper.make_value_info("output_probability", kind)


def _graph(g: _Builder, inputs: list, outputs: list) -> Any:
    return g.onnx.helper.make_graph(
        g.nodes, "chainrule_estimator", inputs, outputs, initializer=list(g.initializers.values())
    )


def _is_estimator(model: Any) -> bool:
    return callable(getattr(model, "fit", None)) and callable(getattr(model, "get_params", None))


def onnx_model(model: Any, *, zipmap: bool = False) -> Any:
    """The ONNX ``ModelProto`` that :func:`export_onnx` writes (checked, not written).

    Parameters
    ----------
    model : Network, MLPClassifier or MLPRegressor
        See :func:`export_onnx`.
    zipmap : bool
        A classifier's skl2onnx default outputs (``output_label``, ``output_probability``).

    Returns
    -------
    onnx.ModelProto
        Its ``ir_version`` is the lowest its operator sets allow.
    """
    onnx = _onnx()
    if not isinstance(zipmap, bool):
        raise TypeError(f"zipmap must be True or False, got {zipmap!r}")
    if isinstance(model, Network):
        if zipmap:
            raise ValueError("zipmap=True applies to a fitted classifier, not to a Network")
        graph = network_graph(model)
    elif isinstance(getattr(model, "network_", None), Network):
        graph = _estimator_graph(model, zipmap)
    elif _is_estimator(model) and type(model).__module__.startswith("chainrule."):
        raise ValueError(f"{type(model).__name__} is not fitted; call fit before exporting")
    else:
        kind = type(model)
        where = "" if kind.__module__ == "builtins" else f" (from {kind.__module__})"
        raise TypeError(
            "model must be a chainrule Network, MLPClassifier or MLPRegressor, "
            f"got {kind.__name__}{where}"
        )
    opsets = [onnx.helper.make_opsetid("", OPSET)]
    if zipmap:
        opsets.append(onnx.helper.make_opsetid("ai.onnx.ml", ML_OPSET))
    proto = onnx.helper.make_model(graph, producer_name="chainrule", opset_imports=opsets)
    # make_model stamps the installed onnx's newest IR version, which older runtimes refuse.
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model: Any, path: str | Path, *, zipmap: bool = False) -> None:
    """Write ``model`` as an ONNX file at ``path``; the graph passes ``onnx.checker``.

    Parameters
    ----------
    model : Network, MLPClassifier or MLPRegressor
        A Network gives the output ``Y``; a fitted classifier gives ``label`` and
        ``probabilities`` and a regressor ``variable``, as skl2onnx's converters do (see
        the module's description).
    path : str or Path
        Written atomically (:func:`chainrule.io.atomic.atomic_write`): a crash leaves no
        half-written file.
    zipmap : bool
        For a classifier, skl2onnx's default outputs instead: ``output_label`` and
        ``output_probability`` (one ``{class: probability}`` map per row).
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    proto = onnx_model(model, zipmap=zipmap)
    atomic_write(Path(path), proto.SerializeToString())
