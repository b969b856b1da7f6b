"""What an epoch logs besides its training loss: the metrics and the validation loss.

After each epoch the fit loop computes, in inference mode (no dropout), the metrics on
the training data (unless ``train_metrics=False``) and the validation loss and metrics
on the validation data, and adds them to the epoch's logs under ``<metric>``,
``val_loss`` and ``val_<metric>``.

Examples
--------
>>> import numpy as np
>>> from chainrule.training.logs import get_metrics
>>> accuracy = get_metrics(["accuracy"])["accuracy"]
>>> accuracy(np.array([[1.0], [0.0]]), np.array([[0.9], [0.7]]))
0.5
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..checks import Array, to_numpy
from ..losses import Loss
from ..names import lookup
from ..network import Network

Metric = Callable[[Array, Array], float]


def _accuracy(y: Array, A: Array) -> float:
    # One output: a probability thresholded at 0.5; several: the arg-max class.
    if A.shape[1] == 1:
        return float(np.mean((A[:, 0] >= 0.5) == (y[:, 0] >= 0.5)))
    return float(np.mean(np.argmax(A, axis=1) == np.argmax(y, axis=1)))


METRICS: dict[str, Metric] = {
    "accuracy": _accuracy,
    "mse": lambda y, A: float(np.mean((y - A) ** 2)),
    "mae": lambda y, A: float(np.mean(np.abs(y - A))),
}


def get_metrics(metrics: str | Sequence[str] | Mapping[str, Metric]) -> dict[str, Metric]:
    """The metric functions by name: one built-in name, several, or a mapping given as is."""
    if isinstance(metrics, Mapping):
        for name, fn in metrics.items():
            if not isinstance(name, str) or not callable(fn):
                raise TypeError(
                    "metrics as a mapping must map names (str) to functions f(y, A) -> float, "
                    f"got {name!r:.40} mapped to {type(fn).__name__}"
                )
        return dict(metrics)
    if isinstance(metrics, str):  # one name, not its letters
        metrics = [metrics]
    if not isinstance(metrics, Sequence):
        raise TypeError(
            f"metrics must be a name, a sequence of names or a mapping of name to function, "
            f"got {type(metrics).__name__}"
        )
    found = {}
    for name in metrics:
        metric = lookup(METRICS, name, "metric")
        found[name.lower()] = metric  # the history's key: the built-in name
    return found


def evaluate(
    network: Network,
    loss: Loss,
    metric_fns: dict[str, Metric],
    logs: dict[str, float],
    X: Array | None,
    y: Array | None,
    X_val: Array | None,
    y_val: Array | None,
) -> None:
    """Add the metrics on ``(X, y)`` and the validation loss and metrics to ``logs``.

    ``X`` (n_samples, n_features) is None when no training metrics are wanted, ``X_val``
    when there is no validation data.
    """
    # The metrics take NumPy arrays: a device network's outputs are copied to the host.
    if metric_fns and X is not None:
        A = to_numpy(network.forward(X)[0])
        for name, fn in metric_fns.items():
            logs[name] = fn(to_numpy(y), A)
    if X_val is not None:
        A_val, caches = network.forward(X_val)
        logs["val_loss"] = float(np.mean(to_numpy(network.instance_errors(y_val, caches, loss))))
        for name, fn in metric_fns.items():
            logs[f"val_{name}"] = fn(to_numpy(y_val), to_numpy(A_val))
