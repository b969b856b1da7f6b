"""ONNX graphs of the scikit-learn estimators, with skl2onnx's output names.

:class:`~chainrule.estimators.MLPClassifier` gives two outputs, as skl2onnx does with
``zipmap=False``: ``label`` (shape ``(n_samples,)``: int64 for integer classes, else the
classes' own type: float, bool or string; for multilabel targets an int64 0/1 matrix ``(n_samples,
n_labels)``) and ``probabilities`` (``(n_samples, n_classes)``, what ``predict_proba``
returns). :class:`~chainrule.estimators.MLPRegressor` gives ``variable``, shape
``(n_samples, n_outputs)`` (skl2onnx's name and shape; ``predict`` drops the second
axis for one output). The input is ``X``, in the network's dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import require


def _classes_tensor(classes: np.ndarray) -> np.ndarray:
    """``classes_`` as an array ONNX can hold: int64 for integers, objects for strings."""
    kind = classes.dtype.kind
    if kind in "bf":
        return classes
    if kind in "iu":
        return classes.astype(np.int64)
    if kind in "USO" and all(isinstance(c, str) for c in classes):
        return classes.astype(object)
    raise TypeError(
        f"ONNX export supports integer, float, bool or string class labels, got classes_ of dtype "
        f"{classes.dtype} ({classes[:3]!r}...)"
    )


def estimator_graph(estimator: Any) -> Any:
    """The fitted estimator's network followed by its label and probability nodes."""
    onnx = require("onnx", "onnx", "ONNX export")
    from .onnx import network_graph

    if not hasattr(estimator, "network_"):
        raise ValueError(f"{type(estimator).__name__} is not fitted; call fit before exporting")
    network = estimator.network_
    graph = network_graph(network, "X", "A")
    make, numpy_helper = onnx.helper.make_node, onnx.numpy_helper
    elem = graph.input[0].type.tensor_type.elem_type
    nodes, initializers = list(graph.node), list(graph.initializer)
    n_out = network.n_outputs

    def value_info(name: str, elem_type: int, shape: list) -> Any:
        return onnx.helper.make_tensor_value_info(name, elem_type, shape)

    if not hasattr(estimator, "classes_"):  # a regressor
        nodes.append(make("Identity", ["A"], ["variable"]))
        outputs = [value_info("variable", elem, ["n_samples", n_out])]
        return _graph(onnx, nodes, initializers, graph.input, outputs)

    multilabel = estimator._label_binarizer.y_type_ == "multilabel-indicator"
    half = numpy_helper.from_array(np.array(0.5, dtype=network.dtype), name="half")
    initializers.append(half)
    if multilabel:
        # predict: each label is on where its probability is above 0.5 (LabelBinarizer's rule)
        nodes += [
            make("Identity", ["A"], ["probabilities"]),
            make("Greater", ["A", "half"], ["on"]),
            make("Cast", ["on"], ["label"], to=onnx.TensorProto.INT64),
        ]
        shape = ["n_samples", n_out]
        outputs = [
            value_info("label", onnx.TensorProto.INT64, shape),
            value_info("probabilities", elem, shape),
        ]
        return _graph(onnx, nodes, initializers, graph.input, outputs)

    classes = _classes_tensor(np.asarray(estimator.classes_))
    initializers.append(numpy_helper.from_array(classes, name="classes"))
    if n_out == 1:
        # binary: probabilities [1 - p, p]; the label is classes_[p > 0.5]
        one = numpy_helper.from_array(np.array(1.0, dtype=network.dtype), name="one")
        initializers.append(one)
        nodes += [
            make("Sub", ["one", "A"], ["q"]),
            make("Concat", ["q", "A"], ["probabilities"], axis=1),
            make("Squeeze", ["A", "squeeze_axes"], ["p"]),
            make("Greater", ["p", "half"], ["on"]),
            make("Cast", ["on"], ["index"], to=onnx.TensorProto.INT64),
        ]
        axes = numpy_helper.from_array(np.array([1], dtype=np.int64), name="squeeze_axes")
        initializers.append(axes)
    else:
        # multiclass: the first class of highest probability, as numpy's argmax
        nodes += [
            make("Identity", ["A"], ["probabilities"]),
            make("ArgMax", ["A"], ["index"], axis=1, keepdims=0),
        ]
    nodes.append(make("Gather", ["classes", "index"], ["label"], axis=0))
    label_type = onnx.helper.np_dtype_to_tensor_dtype(classes.dtype)
    outputs = [
        value_info("label", label_type, ["n_samples"]),
        value_info("probabilities", elem, ["n_samples", len(classes)]),
    ]
    return _graph(onnx, nodes, initializers, graph.input, outputs)


def _graph(onnx: Any, nodes: list, initializers: list, inputs: Any, outputs: list) -> Any:
    return onnx.helper.make_graph(
        nodes, "chainrule_estimator", list(inputs), outputs, initializer=initializers
    )
