"""Pieces of the fit loop kept out of its way: metrics, checks, the split and the progress bar."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._validation import Array, as_float_array, check_finite
from .losses import Loss
from .network import Network

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


def get_metrics(metrics: Sequence[str] | Mapping[str, Metric]) -> dict[str, Metric]:
    """The metric functions by name: built-in names or a mapping given as is."""
    if isinstance(metrics, Mapping):
        return dict(metrics)
    found = {}
    for name in metrics:
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
        found[name] = METRICS[name]
    return found


def check_sample_weight(sample_weight: Any, n_samples: int, dtype: Any) -> Array | None:
    """Validate ``sample_weight``: shape (n_samples,), finite, >= 0, positive sum."""
    if sample_weight is None:
        return None
    w = as_float_array(sample_weight, "sample_weight", dtype=dtype)
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {w.shape}")
    check_finite(w, "sample_weight")
    if (w < 0).any() or not w.sum() > 0:
        raise ValueError("sample_weight must be >= 0 with a positive sum")
    return w


def random_split(
    X: Array, y: Array, w: Array | None, fraction: float, rng: np.random.Generator
) -> tuple[tuple[Array, Array, Array | None], tuple[Array, Array]]:
    """Hold out a random ``fraction`` of the rows for validation."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction!r}")
    n = X.shape[0]
    n_val = round(n * fraction)
    if not 1 <= n_val < n:
        raise ValueError(f"validation_split={fraction} leaves no training or validation data")
    order = rng.permutation(n)
    val, train = order[:n_val], order[n_val:]
    return (X[train], y[train], None if w is None else w[train]), (X[val], y[val])


def progress(epochs: int, verbose: int) -> Any:
    """A tqdm progress bar over epochs for ``verbose=1`` (else None)."""
    if verbose != 1:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            "verbose=1 shows a progress bar, which needs tqdm: pip install 'chainrule[progress]'"
            " (or pass verbose=0 or 2)"
        ) from None
    return tqdm(total=epochs, unit="epoch", leave=True)


def evaluate(
    network: Network,
    loss: Loss,
    metric_fns: dict[str, Metric],
    logs: dict[str, float],
    X: Array | None,
    y: Array,
    X_val: Array | None,
    y_val: Array | None,
) -> None:
    """Add the validation loss and the metrics (inference mode) to ``logs``."""
    if metric_fns and X is not None:
        A = network.forward(X)[0]
        for name, fn in metric_fns.items():
            logs[name] = fn(y, A)
    if X_val is not None:
        A_val, caches = network.forward(X_val)
        logs["val_loss"] = float(np.mean(network.instance_errors(y_val, caches, loss)))
        for name, fn in metric_fns.items():
            logs[f"val_{name}"] = fn(y_val, A_val)


def report(bar: Any, verbose: int, epoch: int, logs: dict[str, float]) -> None:
    """Show one epoch's logs on the bar or, for ``verbose=2``, as a line."""
    shown = {k: f"{v:.4g}" for k, v in logs.items()}
    if bar is not None:
        bar.set_postfix(shown, refresh=False)
        bar.update(1)
    elif verbose >= 2:
        print(f"epoch {epoch + 1}: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
