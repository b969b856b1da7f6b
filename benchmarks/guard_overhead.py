"""Cost of fit's divergence guard and of checkpointing, against scikit-learn, in one run.

Usage (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/guard_overhead.py            # 6000 rows, 7 repeats
    python benchmarks/guard_overhead.py --rows 60000 --repeats 3

A 784-256-128-10 ReLU/softmax network in float32 (MNIST's shape), Adam, batches of
32, one epoch over random data (the arithmetic, not the data, sets the time). Each
repeat times, in turn:

- ``guarded``: ``fit`` as shipped (one ``isfinite`` on the loss and one dot product
  per gradient every batch);
- ``unguarded``: the same with the guard's check replaced by a stub that says "fine";
- ``checkpointed``: as shipped, plus a checkpoint at the end of the epoch;
- ``sklearn``: scikit-learn's ``MLPClassifier.partial_fit`` for one epoch, same sizes.

BLAS runs on one thread (threadpoolctl). Reported: medians and the ratios. Whole
epochs are noisy on a shared machine, so the guard's cost is also measured directly:
the median time of one ``Guard.check`` on a real batch's loss and gradients, over the
median time of one batch's forward, backward and Adam update.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    import chainrule
    from chainrule.training import guard as _fit_guard

    rng = np.random.default_rng(0)
    X = rng.random((args.rows, 784), dtype=np.float32)
    labels = rng.integers(0, 10, args.rows)
    Y = np.eye(10, dtype=np.float32)[labels]

    def network() -> chainrule.Network:
        return chainrule.Network.from_sizes(
            [784, 256, 128, 10], ["relu", "relu", "softmax"], random_state=0, dtype="float32"
        )

    def one_epoch(**kwargs) -> float:
        net = network()
        start = time.perf_counter()
        chainrule.fit(net, X, Y, loss="ce", epochs=1, batch_size=32, random_state=0, **kwargs)
        return time.perf_counter() - start

    def unguarded() -> float:
        with mock.patch.object(_fit_guard.Guard, "check", lambda *a: _fit_guard.NORMAL):
            return one_epoch()

    def sklearn_epoch() -> float:
        clf = MLPClassifier((256, 128), batch_size=32, random_state=0)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.partial_fit(X, labels, classes=np.arange(10))
        return time.perf_counter() - start

    times: dict[str, list[float]] = {"guarded": [], "unguarded": [], "checkpointed": []}
    times["sklearn"] = []
    with threadpool_limits(1), tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.ckpt"
        for _ in range(args.repeats):
            times["guarded"].append(one_epoch())
            times["unguarded"].append(unguarded())
            times["checkpointed"].append(one_epoch(checkpoint=path))
            times["sklearn"].append(sklearn_epoch())
        check, step = _per_batch(network(), X[:32], Y[:32])
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"{args.rows} rows, batch 32, 784-256-128-10 float32, 1 BLAS thread, medians of "
        f"{args.repeats}:"
    )
    for name, value in median.items():
        print(f"  {name:13s} {value:.3f} s")
    print(f"guard overhead: guarded / unguarded = {median['guarded'] / median['unguarded']:.4f}")
    print(
        f"checkpoint:     checkpointed / guarded = {median['checkpointed'] / median['guarded']:.4f}"
    )
    print(
        f"per batch: guard check {check * 1e6:.1f} us, forward+backward+update "
        f"{step * 1e6:.1f} us, ratio {check / step:.4f}"
    )
    print(f"vs scikit-learn: guarded / sklearn = {median['guarded'] / median['sklearn']:.3f}")


def _per_batch(net, Xb, Yb) -> tuple[float, float]:
    """Median seconds of one guard check and of one training step, on one batch."""
    import chainrule
    from chainrule.training import guard as _fit_guard

    loss = chainrule.get_loss("ce")
    optimizer = chainrule.Adam()
    params = net.params
    state = optimizer.init(params)
    guard = _fit_guard.Guard(net, "raise", chainrule.History())
    checks, steps = [], []
    for _ in range(200):
        start = time.perf_counter()
        _, caches = net.forward(Xb)
        E, grads = net.backward(Yb, caches, loss)
        optimizer.update(params, grads, state)
        steps.append(time.perf_counter() - start)
        start = time.perf_counter()
        guard.check(E, grads, state["lr"], 0, 0)
        checks.append(time.perf_counter() - start)
    return statistics.median(checks), statistics.median(steps)


if __name__ == "__main__":
    main()
