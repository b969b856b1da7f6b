"""Model files for the estimators: ``chainrule.save(clf, path)``, ``chainrule.load(path)``.

An estimator file is a chainrule model file (see :mod:`chainrule.io`) of kind
``mlp_classifier`` or ``mlp_regressor``. The tensors are the network's (``W1``,
``b1``, ...) and the optimizer's state (``optimizer_state/m/W1``, ..., so that
``partial_fit`` continues after a load exactly as before the save). The JSON
description holds:

- ``params``: the hyper-parameters (``get_params()``); tuples, dtypes and a
  ``class_weight`` dict are tagged so that they come back as they were; a
  ``random_state`` that is a generator object is stored as None;
- ``network``: the network's architecture (as for a saved Network);
- ``fitted``: ``classes_`` (strings, integers, booleans or floats, with their dtype),
  the label binarizer's state, ``n_features_in_``, ``feature_names_in_``,
  ``loss_curve_``, ``validation_scores_``, ``n_iter_``, ``t_`` and the other fitted
  numbers, and the :class:`~chainrule.training.callbacks.History`.

Loading checks every value and its consistency with the network; anything amiss
raises :class:`~chainrule.errors.ModelFileError` naming the field. The
hyper-parameters go through the checks ``fit`` makes
(:func:`chainrule.estimators.settings.check_all`), then are compared with the stored
network: hidden sizes, activations, dtype and dropout rates (and the classes with its
outputs). Nothing is unpickled or evaluated.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import ModelFileError
from ..io.checkpoint import _join, _split
from ..io.files import _network_from_state, _network_to_state, register_kind
from ..training.callbacks import STOP_REASONS, History
from ..training.resume import checked_rate_cuts
from .settings import check_all

KINDS = {"MLPClassifier": "mlp_classifier", "MLPRegressor": "mlp_regressor"}
_PREFIX = "optimizer_state"
_LABEL_DTYPE = re.compile(r"^(?:<U([0-9]{1,4})|bool|object|u?int(?:8|16|32|64)|float(?:32|64))$")
_OUTPUTS = {
    "multiclass": ("softmax", "cross_entropy", "softmax"),
    "binary": ("sigmoid", "binary_cross_entropy", "logistic"),
    "multilabel-indicator": ("sigmoid", "binary_cross_entropy", "logistic"),
}
_ADDED = {"power_t", "max_fun", "loss"}  # hyper-parameters added after the first files
_COUNTS = ("n_features_in_", "n_outputs_", "n_layers_", "n_iter_", "t_")
_NUMBERS = ("best_validation_score_", "best_loss_", "loss_")


# -- values to JSON and back ---------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A JSON value from a NumPy scalar or a Python one; anything else is refused."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in an estimator file")


def _encode_param(name: str, value: Any) -> Any:
    if isinstance(value, tuple | list):
        items = [_plain(v) for v in value]
        return {"tuple": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {"dict": [[_plain(k), _plain(v)] for k, v in value.items()]}
    if isinstance(value, type | np.dtype):
        return {"dtype": np.dtype(value).name}
    if name == "random_state" and not isinstance(value, int | np.integer | type(None)):
        return None  # a generator object: its state is not a hyper-parameter
    return _plain(value)


def _decode_param(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"tuple"} and isinstance(value["tuple"], list):
            return tuple(_decode_param(v) for v in value["tuple"])
        if set(value) == {"dict"} and isinstance(value["dict"], list):
            pairs = value["dict"]
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ModelFileError("invalid dict parameter")
            return {_scalar(k): _scalar(v) for k, v in pairs}
        if set(value) == {"dtype"} and value["dtype"] in ("float32", "float64"):
            return np.dtype(value["dtype"]).type
        raise ModelFileError(f"invalid parameter value {value!r:.80}")
    if isinstance(value, list):
        return [_scalar(v) for v in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ModelFileError(f"expected a JSON scalar, got {value!r:.80}")


def _encode_labels(labels: np.ndarray) -> dict[str, Any]:
    dtype = labels.dtype
    values = labels.tolist()
    if dtype.kind == "O" and not all(isinstance(v, str | int | bool) for v in values):
        raise TypeError("classes_ must be strings, integers, booleans or floats to be saved")
    if not _LABEL_DTYPE.match(dtype.str if dtype.kind == "U" else dtype.name):
        raise TypeError(f"classes_ of dtype {dtype} cannot be saved")
    return {"dtype": dtype.str if dtype.kind == "U" else dtype.name, "values": values}


def _decode_labels(entry: Any, what: str) -> np.ndarray:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "values"}:
        raise ModelFileError(f"{what}: expected a dtype and values")
    dtype, values = entry["dtype"], entry["values"]
    match = _LABEL_DTYPE.match(dtype) if isinstance(dtype, str) else None
    if match is None or not isinstance(values, list):
        raise ModelFileError(f"{what}: invalid dtype {dtype!r:.40}")
    if dtype.startswith("<U"):
        ok = all(isinstance(v, str) and len(v) <= int(match.group(1)) for v in values)
    elif dtype == "object":
        ok = all(isinstance(v, str | int | bool) for v in values)
    elif dtype == "bool":
        ok = all(isinstance(v, bool) for v in values)
    else:
        kind = float if dtype.startswith("float") else int
        ok = all(isinstance(v, kind) and not isinstance(v, bool) for v in values)
    if not ok:
        raise ModelFileError(f"{what}: values do not fit dtype {dtype}")
    try:
        array = np.array(values, dtype=dtype)
    except (OverflowError, ValueError) as exc:
        raise ModelFileError(f"{what}: {exc}") from None
    if array.ndim != 1:
        raise ModelFileError(f"{what}: expected a flat list")
    return array


def _floats(value: Any, what: str, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        return [float(v) for v in value]
    raise ModelFileError(f"{what}: expected a list of numbers")


# -- the estimator kinds -------------------------------------------------------------------
def _to_state(est: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    if not hasattr(est, "network_"):
        raise ValueError(f"this {type(est).__name__} is not fitted yet; call fit before save")
    arrays, network = _network_to_state(est.network_)
    state = {k: v for k, v in est._optimizer_state.items() if not k.startswith("_")}
    optimizer_state = _split(state, _PREFIX, arrays)
    history = est.history_
    fitted: dict[str, Any] = {name: getattr(est, name) for name in (*_COUNTS, *_NUMBERS)}
    fitted.update(
        out_activation_=est.out_activation_,
        loss_curve_=[float(v) for v in est.loss_curve_],
        validation_scores_=est.validation_scores_,
        history={
            "history": history.history,
            "epochs": history.epochs,
            "best_epoch": history.best_epoch,
            "stop_reason": history.stop_reason,
            "restored_best": history.restored_best,
            "skipped_batches": [list(b) for b in history.skipped_batches],
            "rate_cuts": [list(cut) for cut in history.rate_cuts],
        },
    )
    if hasattr(est, "_no_improvement_count"):  # early stopping's count, for a warm start
        fitted["no_improvement_count"] = est._no_improvement_count
    if hasattr(est, "feature_names_in_"):
        fitted["feature_names_in_"] = _encode_labels(np.asarray(est.feature_names_in_))
    if hasattr(est, "classes_"):
        binarizer = est._label_binarizer
        fitted["classes_"] = _encode_labels(np.asarray(est.classes_))
        fitted["y_type_"] = binarizer.y_type_
    description = {
        "estimator": type(est).__name__,
        "params": {k: _encode_param(k, v) for k, v in est.get_params(deep=False).items()},
        "network": network,
        "optimizer_state": optimizer_state,
        "fitted": fitted,
    }
    return arrays, description


def _from_state(cls: type, arrays: dict[str, np.ndarray], description: Any) -> Any:
    if not isinstance(description, dict) or description.get("estimator") != cls.__name__:
        raise ModelFileError(f"not a {cls.__name__} description")
    for key in ("params", "network", "fitted", "optimizer_state"):
        if key not in description:
            raise ModelFileError(f"the description has no {key!r}")
    params, fitted = description["params"], description["fitted"]
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise ModelFileError("params and fitted must be JSON objects")
    est = cls()
    known = est.get_params(deep=False)
    # Files written before these parameters existed: they take their defaults (those
    # the files' models were trained with).
    if set(params) | (_ADDED & set(known)) != set(known) or not set(params) <= set(known):
        raise ModelFileError(
            f"expected the parameters {sorted(known)}, got {sorted(params)!r:.200}"
        )
    est.set_params(**{k: _decode_param(v) for k, v in params.items()})
    opt_arrays = {k: v for k, v in arrays.items() if k.startswith(f"{_PREFIX}/")}
    net_arrays = {k: v for k, v in arrays.items() if k not in opt_arrays}
    network = _network_from_state(net_arrays, description["network"])
    _check_params(est, network, legacy="dropout" not in description["network"])
    used: set[str] = set()
    state = _join(description["optimizer_state"], opt_arrays, used)
    if used != set(opt_arrays) or not isinstance(state, dict):
        raise ModelFileError("the optimizer state does not match its tensors")
    if "velocity" in state and "velocity_lr" not in state and "lr" in state:
        # Files from before SklearnSGD: their velocity is counted in the current rate.
        state["velocity_lr"] = state["lr"]
    for name in _COUNTS:
        value = fitted.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ModelFileError(f"{name} must be a count, got {value!r:.40}")
    count = fitted.get("no_improvement_count", 0)  # absent: an L-BFGS fit or an older file
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ModelFileError(f"no_improvement_count must be a count, got {count!r:.40}")
    for name in _NUMBERS:
        value = fitted.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ModelFileError(f"{name} must be a number or null, got {value!r:.40}")
    if fitted["n_features_in_"] != network.n_features or fitted["n_outputs_"] != network.n_outputs:
        raise ModelFileError("n_features_in_ and n_outputs_ do not match the network")
    if fitted["n_layers_"] != network.n_layers + 1:
        raise ModelFileError("n_layers_ does not match the network")
    out = network.layers[-1].activation.name
    if hasattr(cls, "predict_proba"):
        classes = _decode_labels(fitted.get("classes_"), "classes_")
        y_type = fitted.get("y_type_")
        if y_type not in _OUTPUTS:
            raise ModelFileError(f"invalid y_type_ {y_type!r:.40}")
        activation, loss, out_name = _OUTPUTS[y_type]
        n_out = 1 if y_type == "binary" else len(classes)
        if out != activation or network.n_outputs != n_out or len(classes) < 2:
            raise ModelFileError(f"the network's output does not fit {y_type} classes")
        if y_type != "multilabel-indicator" and len(np.unique(classes)) != len(classes):
            raise ModelFileError("classes_ must be distinct")
        from sklearn.preprocessing import LabelBinarizer

        binarizer = LabelBinarizer()
        binarizer.classes_, binarizer.y_type_, binarizer.sparse_input_ = classes, y_type, False
        est._label_binarizer, est.classes_, est._output = binarizer, classes, (activation, loss)
        est.out_activation_ = out_name
    else:
        if out != "identity":
            raise ModelFileError("a regressor's network must end with the identity")
        # poisson: the network gives the log of the prediction (scikit-learn's exp output)
        est.out_activation_ = "exp" if est.loss == "poisson" else "identity"
    if fitted.get("out_activation_") != est.out_activation_:
        raise ModelFileError("out_activation_ does not match the network")
    if "feature_names_in_" in fitted:
        names = _decode_labels(fitted["feature_names_in_"], "feature_names_in_")
        if names.dtype != object or len(names) != network.n_features:
            raise ModelFileError("feature_names_in_ must hold one string per feature")
        est.feature_names_in_ = names
    record = fitted.get("history")
    if not isinstance(record, dict) or not isinstance(record.get("history"), dict):
        raise ModelFileError("invalid history")
    best = record.get("best_epoch")
    skipped = record.get("skipped_batches")
    if (
        record.get("stop_reason") not in STOP_REASONS
        or not isinstance(record.get("restored_best"), bool)
        or not isinstance(record.get("epochs"), int)
        or (best is not None and not isinstance(best, int))
        or not isinstance(skipped, list)
        or not all(isinstance(b, list) and len(b) == 2 for b in skipped)
    ):
        raise ModelFileError("invalid history")
    try:
        rate_cuts = checked_rate_cuts(record)
    except ValueError as exc:
        raise ModelFileError(f"invalid history: {exc}") from None
    history = History(
        history={str(k): _floats(v, f"history {k!r:.40}") for k, v in record["history"].items()},
        epochs=record["epochs"],
        best_epoch=best,
        stop_reason=record["stop_reason"],
        restored_best=record["restored_best"],
        optimizer_state=state,
        skipped_batches=[(int(e), int(b)) for e, b in skipped],
        rate_cuts=rate_cuts,
    )
    est.network_ = network
    est._optimizer_state = state
    est.coefs_ = [layer.W for layer in network.layers]
    est.intercepts_ = [layer.b for layer in network.layers]
    for name in (*_COUNTS, *_NUMBERS):
        setattr(est, name, fitted[name])
    if "no_improvement_count" in fitted:
        est._no_improvement_count = fitted["no_improvement_count"]
    est.loss_curve_ = _floats(fitted.get("loss_curve_"), "loss_curve_")
    est.validation_scores_ = _floats(
        fitted.get("validation_scores_"), "validation_scores_", optional=True
    )
    est.history_ = history
    return est


def _check_params(est: Any, network: Any, legacy: bool) -> None:
    """The hyper-parameters, checked as ``fit`` checks them and against the stored network.

    ``legacy``: the file predates the networks' stored dropout rates; the estimator's
    rate built the network, so it is given back to the hidden layers.
    """
    try:
        settings = check_all(est)
        hidden = list(settings.hidden_layer_sizes)
        acts = list(settings.activations)
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"invalid hyper-parameter: {exc!s:.200}") from None
    for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
        if not isinstance(getattr(est, name), bool):
            raise ModelFileError(f"{name} must be true or false, got {getattr(est, name)!r:.40}")
    verbose = est.verbose
    if not isinstance(verbose, bool) and (not isinstance(verbose, int) or verbose < 0):
        raise ModelFileError(f"verbose must be true, false or a count, got {verbose!r:.40}")
    seed = est.random_state
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ModelFileError(f"random_state must be null or an integer >= 0, got {seed!r:.40}")
    if est.callbacks is not None:
        raise ModelFileError(f"callbacks must be null in a file, got {est.callbacks!r:.40}")
    if hidden != network.sizes[1:-1]:
        raise ModelFileError(
            f"hidden_layer_sizes {hidden!s:.60} does not match the stored network's "
            f"hidden layers {network.sizes[1:-1]!s:.60}"
        )
    stored = [layer.activation.name for layer in network.layers[:-1]]
    if acts != stored:
        raise ModelFileError(
            f"activation {est.activation!r:.60} does not match the stored network's {stored!s:.60}"
        )
    if est.dtype is not None and np.dtype(est.dtype) != np.dtype(network.dtype):
        raise ModelFileError(
            f"dtype {np.dtype(est.dtype).name} does not match the stored network's "
            f"{np.dtype(network.dtype).name}"
        )
    if legacy:
        for layer in network.layers[:-1]:
            layer.dropout = float(est.dropout)
    rates = [layer.dropout for layer in network.layers[:-1]]
    if rates != [float(est.dropout)] * len(hidden):
        raise ModelFileError(
            f"dropout {est.dropout!r:.40} does not match the stored network's rates {rates!s:.60}"
        )


def register(*classes: type) -> None:
    """Make the estimator classes savable with :func:`chainrule.save` (see the module)."""
    for cls in classes:
        register_kind(
            KINDS[cls.__name__],
            cls,
            _to_state,
            lambda arrays, description, cls=cls: _from_state(cls, arrays, description),
        )
