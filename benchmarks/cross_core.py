"""What each element-wise pass of a batch costs next to the matrix products, at 1 and 2 threads.

Usage (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/cross_core.py              # 6 ABBA pairs per pass, 1 and 2 BLAS threads
    python benchmarks/cross_core.py --pairs 10 --threads 2

The reference epoch's 8 matrix products (as the floor of ``make bench``: 60,000 x 784
float32, 784-256-128-10, batches of 128) run with one more pass over memory at a time:

- ``gather``: the batch copied from shuffled rows into a buffer, as fit does, instead of
  a contiguous slice of ``X``;
- ``bias + ReLU``: ``Z += b; max(Z, 0)`` after each hidden layer's product;
- ``ReLU mask``: ``dA *= A > 0`` after each hidden ``dA`` product;
- ``update W1``: ``W1 -= dW1`` right after its product (the largest parameter, 800 KB);
- ``guard dot``: the sum of squares of every ``dW`` (``dW . dW``) after its product.

Each pass is timed against the products alone in alternating (ABBA) pairs of whole
epochs, and reported in microseconds per batch: the median of the pairs' differences.
With one BLAS thread a pass costs what its memory traffic costs. With two, each product
leaves half of its output in the other core's cache, and the pass, on one core, must
fetch those lines (and a write must take them back) before the next product hands them
out again: the same pass costs several times more. That is the gap between the engine
and the floor at 2 threads, and the hand-written NumPy loop and PyTorch pay it too.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from chainrule.bench import workload

PASSES = ("gather", "bias + ReLU", "ReLU mask", "update W1", "guard dot")


def epoch(w: workload.Workload, extra: str | None) -> float:
    """Seconds of one epoch of the 8 products, plus the pass ``extra`` (None: none)."""
    Ws = [W.copy() for W, _ in w.weights]
    bs = [b for _, b in w.weights]
    B, L = w.batch, len(Ws)
    A = [np.empty((B, W.shape[1]), np.float32) for W in Ws]
    dA = [np.empty((B, W.shape[1]), np.float32) for W in Ws]
    G = [np.empty_like(W) for W in Ws]
    Xb = np.empty((B, w.X.shape[1]), np.float32)
    small = np.float32(1e-3)  # keeps the weights finite where W1 is updated
    start = time.perf_counter()
    for s in range(0, w.n_rows - B + 1, B):  # whole batches only: every buffer full
        if extra == "gather":
            X = np.take(w.X, w.order[s : s + B], axis=0, out=Xb)
        else:
            X = w.X[s : s + B]
        prev = X
        for k in range(L):
            np.dot(prev, Ws[k], out=A[k])
            if extra == "bias + ReLU" and k < L - 1:
                np.add(A[k], bs[k], out=A[k])
                np.maximum(A[k], 0, out=A[k])
            prev = A[k]
        delta = A[-1]
        delta *= small
        for k in range(L - 1, -1, -1):
            np.dot((X if k == 0 else A[k - 1]).T, delta, out=G[k])
            if extra == "update W1" and k == 0:
                Ws[0] -= G[0]
            if extra == "guard dot":
                flat = G[k].reshape(-1)
                float(np.dot(flat, flat))
            if k:
                np.dot(delta, Ws[k].T, out=dA[k - 1])
                if extra == "ReLU mask":
                    dA[k - 1] *= A[k - 1] > 0
                delta = dA[k - 1]
    return time.perf_counter() - start


def marginal(w: workload.Workload, extra: str, pairs: int) -> list[float]:
    """Microseconds per batch that ``extra`` adds, one value per ABBA pair."""
    batches = w.n_rows // w.batch
    costs = []
    for _ in range(pairs):
        a1, b1, b2, a2 = epoch(w, None), epoch(w, extra), epoch(w, extra), epoch(w, None)
        costs.append(((b1 + b2) - (a1 + a2)) / 2 / batches * 1e6)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=6, help="ABBA pairs per pass (default 6)")
    parser.add_argument("--threads", default="1,2", help="BLAS thread counts (default 1,2)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    w = workload.make_workload()
    counts = [int(t) for t in args.threads.split(",")]
    results: dict[int, dict[str, list[float]]] = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for threads in counts:
            with threadpool_limits(threads):
                epoch(w, None)  # warm up
                floor = statistics.median(epoch(w, None) for _ in range(3))
                results[threads] = {p: marginal(w, p, args.pairs) for p in PASSES}
            per_batch = floor * 1e6 / (w.n_rows // w.batch)
            print(f"{threads} thread(s): the products alone take {per_batch:.0f} us a batch")
    header = "".join(f" {f'{t} thr':>9}" for t in counts)
    print(f"\n{'pass (us per batch, median of pairs)':38}{header}   (spread of the pairs)")
    for p in PASSES:
        values = "".join(f" {statistics.median(results[t][p]):9.1f}" for t in counts)
        spread = "; ".join(f"{min(results[t][p]):.0f} to {max(results[t][p]):.0f}" for t in counts)
        print(f"{p:38}{values}   ({spread})")


if __name__ == "__main__":
    main()
