"""The reference workload and one epoch of it in each implementation compared.

The workload: ``n_rows x 784`` float32 synthetic inputs, 10 classes, a 784-256-128-10
ReLU network with a softmax cross-entropy, mini-batches of 128, one shuffled epoch of
plain SGD at lr 0.01 (or Adam at lr 0.001).

Every implementation starts from the same initial weights and visits the batches in
the same order, except scikit-learn's, whose API draws its own (its loss is compared
loosely). Each returns ``(seconds, weights)``: the time of the epoch alone, and the
trained weights as NumPy ``[(W1, b1), ...]`` for the loss check.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..kernels import KERNELS_ENV
from ..network import Network
from ..optimizers import SGD, Adam
from ..training.loop import fit

LR = {"sgd": 0.01, "adam": 0.001}


@dataclass
class Workload:
    """Data, initial weights and batch order shared by every implementation."""

    X: np.ndarray  # (n_rows, n_features) float32
    labels: np.ndarray  # (n_rows,) int64
    Y: np.ndarray  # (n_rows, n_classes) float32, one-hot
    sizes: list[int]
    batch: int
    seed: int
    weights: list[tuple[np.ndarray, np.ndarray]]  # initial (W, b) per layer
    order: np.ndarray  # the epoch's row order (what fit draws with random_state=seed)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])


def make_workload(
    n_rows: int = 60_000,
    sizes: tuple[int, ...] = (784, 256, 128, 10),
    batch: int = 128,
    seed: int = 0,
) -> Workload:
    """Synthetic classes (Gaussian clusters) and the initial state that chainrule's
    ``MLPClassifier(random_state=seed)`` would draw: Glorot weights, then the order."""
    data_rng = np.random.default_rng(12345)
    n_classes, n_features = sizes[-1], sizes[0]
    labels = data_rng.integers(0, n_classes, n_rows)
    centers = data_rng.standard_normal((n_classes, n_features), dtype=np.float32)
    X = data_rng.standard_normal((n_rows, n_features), dtype=np.float32)
    X += centers[labels]
    Y = np.eye(n_classes, dtype=np.float32)[labels]
    rng = np.random.default_rng(seed)  # as the estimator: build the network, then shuffle
    net = Network.from_sizes(
        list(sizes), ["relu"] * (len(sizes) - 2) + ["softmax"], random_state=rng, dtype=np.float32
    )
    weights = [(layer.W.copy(), layer.b.copy()) for layer in net.layers]
    return Workload(X, labels, Y, list(sizes), batch, seed, weights, rng.permutation(n_rows))


def network(w: Workload) -> Network:
    """A fresh chainrule network holding the initial weights."""
    acts = ["relu"] * (len(w.sizes) - 2) + ["softmax"]
    return Network.from_weights(
        [W for W, _ in w.weights], [b for _, b in w.weights], acts, dtype=np.float32
    )


def loss_of(w: Workload, weights: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """The mean cross-entropy of ``weights`` on the whole data set, in float64."""
    A = w.X.astype(np.float64)
    for k, (W, b) in enumerate(weights):
        A = A @ W.astype(np.float64) + b
        if k < len(weights) - 1:
            A = np.maximum(A, 0)
    A -= A.max(axis=1, keepdims=True)
    log_p = A - np.log(np.exp(A).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(w.labels)), w.labels].mean())


def _weights(net: Network) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(layer.W.copy(), layer.b.copy()) for layer in net.layers]


def engine(w: Workload, optimizer: str = "sgd") -> tuple[float, list]:
    """chainrule's engine: ``training.fit`` for one epoch."""
    net = network(w)
    opt = SGD(lr=LR["sgd"]) if optimizer == "sgd" else Adam(lr=LR["adam"])
    rng = _replay(w)
    start = time.perf_counter()
    one_epoch(net, w, opt, rng)
    return time.perf_counter() - start, _weights(net)


def engine_numpy_kernels(w: Workload) -> tuple[float, list]:
    """chainrule's engine on the NumPy kernels (``CHAINRULE_KERNELS=numpy``): what the
    fused kernels gain (the same as :func:`engine` where numba is not installed)."""
    before = os.environ.get(KERNELS_ENV)
    os.environ[KERNELS_ENV] = "numpy"
    try:
        return engine(w)
    finally:
        if before is None:
            del os.environ[KERNELS_ENV]
        else:
            os.environ[KERNELS_ENV] = before


def one_epoch(net: Network, w: Workload, optimizer: Any, random_state: Any) -> None:
    """One epoch of chainrule's ``fit`` on the workload (softmax cross-entropy)."""
    fit(
        net,
        w.X,
        w.Y,
        loss="cross_entropy",
        optimizer=optimizer,
        epochs=1,
        batch_size=w.batch,
        random_state=random_state,
    )


def mlp_settings(w: Workload) -> dict[str, Any]:
    """The ``MLPClassifier`` settings of the workload, for chainrule's and scikit-learn's:
    plain SGD, no L2, one epoch."""
    return {
        "hidden_layer_sizes": tuple(w.sizes[1:-1]),
        "solver": "sgd",
        "momentum": 0.0,
        "learning_rate_init": LR["sgd"],
        "alpha": 0.0,
        "tol": 0.0,
        "max_iter": 1,
        "batch_size": w.batch,
        "random_state": w.seed,
    }


def fit_one_epoch(clf: Any, w: Workload) -> tuple[float, list]:
    """Time ``clf.fit`` on the workload; its weights after the epoch."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch: "did not converge" is expected
        clf.fit(w.X, w.labels)
    return time.perf_counter() - start, list(zip(clf.coefs_, clf.intercepts_, strict=True))


def _replay(w: Workload) -> np.random.Generator:
    """A generator whose next permutation is ``w.order`` (the estimator's, after its init)."""
    rng = np.random.default_rng(w.seed)
    Network.from_sizes(w.sizes, "relu", random_state=rng, dtype=np.float32)  # the init draws
    return rng


def estimator(w: Workload) -> tuple[float, list]:
    """chainrule's ``MLPClassifier``: validation, encoding and the fit, all timed."""
    from ..estimators.mlp import MLPClassifier

    return fit_one_epoch(MLPClassifier(**mlp_settings(w)), w)
