"""The reference epoch outside chainrule: the matrix-product floor, NumPy, PyTorch, scikit-learn.

Each function returns ``(seconds, weights)`` as in :mod:`chainrule.bench.workload`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..checks import check_finite
from .workload import LR, Workload, fit_one_epoch, mlp_settings


def floor(w: Workload) -> tuple[float, list]:
    """The 8 matrix products of each batch alone (3 forward, 3 ``dW``, 2 ``dA``), into
    preallocated buffers, on contiguous slices: the time no implementation can beat."""
    Ws = [W.copy() for W, _ in w.weights]
    B, n = w.batch, w.n_rows
    A = [np.empty((B, W.shape[1]), np.float32) for W in Ws]
    dA = [np.empty((B, W.shape[1]), np.float32) for W in Ws]
    G = [np.empty_like(W) for W in Ws]
    L = len(Ws)
    start = time.perf_counter()
    for s in range(0, n, B):
        m = min(B, n - s)
        prev = w.X[s : s + m]
        for k in range(L):
            np.matmul(prev, Ws[k], out=A[k][:m])
            prev = A[k][:m]
        delta = A[-1][:m]
        for k in range(L - 1, -1, -1):
            np.matmul((w.X[s : s + m] if k == 0 else A[k - 1][:m]).T, delta, out=G[k])
            if k:
                np.matmul(delta, Ws[k].T, out=dA[k - 1][:m])
                delta = dA[k - 1][:m]
    return time.perf_counter() - start, []


def numpy_loop(w: Workload, checked: bool = False) -> tuple[float, list]:
    """A minimal hand-written NumPy loop, as one would write it in a notebook.

    ``checked`` adds the two checks that chainrule's ``fit`` makes and the notebook's loop
    does not: ``X`` scanned once for NaN and infinity (:func:`chainrule.checks.check_finite`,
    fit's own), and each batch's steps ``lr * g`` checked (one dot product each) before
    any weight changes, so that the updates wait for the last product.
    """
    Ws = [W.copy() for W, _ in w.weights]
    bs = [b.copy() for _, b in w.weights]
    lr, L = np.float32(LR["sgd"]), len(Ws)
    start = time.perf_counter()
    if checked:
        check_finite(w.X, "X")
    for s in range(0, w.n_rows, w.batch):
        rows = w.order[s : s + w.batch]
        X, Y = w.X[rows], w.Y[rows]
        As = [X]
        for k in range(L):
            Z = As[-1] @ Ws[k] + bs[k]
            As.append(np.maximum(Z, 0) if k < L - 1 else Z)
        Z = As[-1] - As[-1].max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        dZ = (P - Y) / len(rows)
        steps = []
        for k in range(L - 1, -1, -1):
            dW, db = As[k].T @ dZ, dZ.sum(axis=0)
            if k:
                dZ = (dZ @ Ws[k].T) * (As[k] > 0)
            if checked:
                steps.append((k, lr * dW, lr * db))
            else:
                Ws[k] -= lr * dW
                bs[k] -= lr * db
        if checked:
            flats = [a.reshape(-1) for _, dW, db in steps for a in (dW, db)]
            if not math.isfinite(sum(float(np.dot(f, f)) for f in flats)):
                raise FloatingPointError(f"the steps of batch {s // w.batch} are not finite")
            for k, dW, db in steps:
                Ws[k] -= dW
                bs[k] -= db
    return time.perf_counter() - start, list(zip(Ws, bs, strict=True))


def torch_loop(w: Workload, optimizer: str = "sgd", device: str = "cpu") -> tuple[float, list]:
    """PyTorch: the same layers, loss, optimizer, initial weights and order.

    On the CPU by default; on another ``device`` (``"cuda"``) the model and the data are
    moved there before the clock starts, and the clock is read after a synchronisation.
    """
    import torch

    layers: list = []
    for k, (W, b) in enumerate(w.weights):
        linear = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear] if k == len(w.weights) - 1 else [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers).to(device)
    if optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=LR["sgd"])
    else:
        opt = torch.optim.Adam(model.parameters(), lr=LR["adam"])
    loss_fn = torch.nn.CrossEntropyLoss()
    X, labels = torch.from_numpy(w.X).to(device), torch.from_numpy(w.labels).to(device)
    order = torch.from_numpy(w.order).to(device)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else _no_sync
    sync()
    start = time.perf_counter()
    for s in range(0, w.n_rows, w.batch):
        rows = order[s : s + w.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(X[rows]), labels[rows])
        loss.backward()
        opt.step()
    sync()
    seconds = time.perf_counter() - start
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    return seconds, [
        (m.weight.detach().cpu().numpy().T.copy(), m.bias.detach().cpu().numpy().copy())
        for m in linears
    ]


def _no_sync() -> None:
    """The CPU's work is done when its calls return."""


def sklearn_mlp(w: Workload) -> tuple[float, list]:
    """scikit-learn's ``MLPClassifier``: float32 input, plain SGD, no L2, one epoch."""
    from sklearn.neural_network import MLPClassifier

    return fit_one_epoch(MLPClassifier(**mlp_settings(w), shuffle=True), w)
