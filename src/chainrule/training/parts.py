"""Pieces of the fit loop kept out of its way: metrics, checks, the split and the progress bar."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np

from ..checks import Array, as_float_array, check_finite
from ..losses import Loss
from ..names import did_you_mean, lookup
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


def check_optimizer_state(given: Any, fresh: dict[str, Any]) -> dict[str, Any]:
    """``optimizer_state`` (an earlier fit's ``History.optimizer_state``), checked against
    a fresh state of this fit's optimizer: the same entries, and per-parameter arrays for
    the same parameters and shapes. Returned as is."""
    what = "the state of this fit's optimizer (History.optimizer_state of an earlier fit)"
    if not isinstance(given, dict):
        raise TypeError(f"optimizer_state must be {what}, a dict; got {type(given).__name__}")
    missing = sorted(set(fresh) - set(given))
    if missing:
        raise ValueError(
            f"optimizer_state must be {what}, with entries {sorted(fresh)}; it lacks {missing}"
        )
    for key, arrays in fresh.items():
        if not isinstance(arrays, dict):
            continue
        got = given[key]
        shapes = {name: np.shape(a) for name, a in arrays.items()}
        got_shapes = {n: np.shape(a) for n, a in got.items()} if isinstance(got, dict) else got
        if got_shapes != shapes:
            raise ValueError(
                f"optimizer_state[{key!r}] must hold one array per trainable parameter, "
                f"shapes {shapes}; got {got_shapes!r:.200}"
            )
    return given


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


def patience_ran_out(
    run: Any,
    value: float,
    epoch: int,
    params: dict[str, Array],
    history: Any,
    *,
    lower_is_better: bool,
    min_delta: float,
    patience: int,
    keep_best: bool,
) -> bool:
    """Early stopping after an epoch whose monitored quantity is ``value``: record a new
    best (and, with ``keep_best``, a copy of the weights) or count one more bad epoch;
    True when ``patience`` bad epochs in a row have passed (the history says why).

    ``run`` holds ``best``, ``bad_epochs`` and ``best_params`` across epochs (and across
    a resume: it is the checkpointed progress).
    """
    better = (
        run.best is None
        or (lower_is_better and value < run.best - min_delta)
        or (not lower_is_better and value > run.best + min_delta)
    )
    if better:
        run.best, run.bad_epochs, history.best_epoch = value, 0, epoch
        if keep_best:
            run.best_params = {k: np.array(v, copy=True) for k, v in params.items()}
        return False
    run.bad_epochs += 1
    if run.bad_epochs >= patience:
        history.stop_reason = "early_stopping"
        return True
    return False


def validation_set(
    network: Any,
    source: Any,
    validation_data: tuple[Any, Any] | None,
    validation_split: float,
    rng: np.random.Generator,
) -> tuple[Array | None, Array | None, Any]:
    """``(X_val, y_val, source)``: the checked ``validation_data``, or ``validation_split``
    of the rows drawn from ``source`` (which then holds the rest), or no validation."""
    from .sources import ArraySource

    if validation_data is not None:
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise TypeError(
                "validation_data must be a pair (X_val, y_val), got "
                + (f"{len(validation_data)} items" if isinstance(validation_data, tuple | list)
                   else type(validation_data).__name__)
            )  # fmt: skip
        X_val, y_val = network.check_Xy(*validation_data)
        return X_val, y_val, source
    if isinstance(validation_split, bool) or not isinstance(validation_split, Real):
        raise TypeError(f"validation_split must be a number in [0, 1), got {validation_split!r}")
    if validation_split:
        if not isinstance(source, ArraySource):
            raise ValueError("validation_split needs X in memory; pass validation_data instead")
        train, (X_val, y_val) = random_split(source.X, source.y, source.w, validation_split, rng)
        return X_val, y_val, ArraySource(*train)
    return None, None, source


def resolve_monitor(
    monitor: str | None, metric_fns: Mapping[str, Metric], validation: bool
) -> tuple[str, bool]:
    """The history key early stopping and plateau schedules follow (default ``val_loss``
    with validation data, else ``loss``), and whether lower is better (names with
    ``loss``)."""
    if monitor is not None and not isinstance(monitor, str):
        raise TypeError(f"monitor must be a name (str) or None, got {monitor!r:.40}")
    monitor = monitor or ("val_loss" if validation else "loss")
    if monitor.startswith("val_") and not validation:
        raise ValueError(f"monitor={monitor!r} needs validation_data or validation_split")
    known = ["loss", *metric_fns]
    known += [f"val_{k}" for k in known] if validation else []
    if monitor not in known:
        raise ValueError(
            f"monitor must be one of {known}, got {monitor!r}{did_you_mean(monitor, known)}"
        )
    return monitor, "loss" in monitor
