"""Where the reference epoch's time goes, piece by piece, next to scikit-learn's.

Usage (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/profile_epoch.py               # 7 rounds, 1 and 2 BLAS threads
    python benchmarks/profile_epoch.py --rounds 3 --threads 2

The reference workload of ``chainrule bench`` (60,000 x 784 float32, 784-256-128-10
ReLU, softmax cross-entropy, batches of 128, one shuffled epoch of plain SGD at lr
0.01), built up one stage at a time, each stage a whole epoch over the same batches:

1. ``floor``: the 8 matrix products of each batch alone, on contiguous slices;
2. ``gather``: only the shuffled copy of each batch into the workspace's buffers;
3. ``check input``: only the one-time check of ``X`` and ``y`` (finite, shapes);
4. ``gather + forward + backward``: a :class:`~chainrule.training.update.Workspace`'s loss and
   steps ``lr * g``, no update (with the fused kernels where numba is installed, as fit);
5. ``... + update``: the same plus ``p -= lr * g`` for every parameter;
6. ``fit``: :func:`chainrule.training.fit` itself (adds the input check, the
   divergence guard and the loop); then fit on the NumPy kernels (``CHAINRULE_KERNELS=numpy``)
   and fit with Adam;
7. ``scikit-learn``: ``MLPClassifier`` with the same settings, one epoch.

Rounds are interleaved; the table shows medians, each stage's time over the floor
and over scikit-learn's. The last column is what the scikit-learn target compares: fit's
time over scikit-learn's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from chainrule.bench import others, workload
from chainrule.kernels import fused_kernels
from chainrule.training.update import Workspace


def _stages(w: workload.Workload) -> dict[str, Callable[[], float]]:
    lr = workload.LR["sgd"]

    def loop(update: bool, compute: bool = True) -> float:
        net = workload.network(w)
        ws = Workspace(net, "cross_entropy", w.batch, fused=fused_kernels())
        params = [(layer.W, layer.b) for layer in net.layers]
        start = time.perf_counter()
        for s in range(0, w.n_rows, w.batch):
            Xb, yb = ws.gather(w.X, w.Y, w.order[s : s + w.batch])
            if not compute:
                continue
            _, steps = ws.loss_and_grads(Xb, yb, scale=lr)
            if update:
                for k, (W, b) in enumerate(params, start=1):
                    W -= steps[f"W{k}"]
                    b -= steps[f"b{k}"]
        return time.perf_counter() - start

    def check_input() -> float:
        net = workload.network(w)
        start = time.perf_counter()
        net.check_Xy(w.X, w.Y)
        return time.perf_counter() - start

    stages = {
        "floor (8 products)": lambda: others.floor(w)[0],
        "gather": lambda: loop(False, compute=False),
        "check input": check_input,
        "gather + forward + backward": lambda: loop(False),
        "... + update": lambda: loop(True),
        "fit": lambda: workload.engine(w)[0],
        "fit, NumPy kernels": lambda: workload.engine_numpy_kernels(w)[0],
        "fit, Adam": lambda: workload.engine(w, "adam")[0],
    }
    try:
        import sklearn  # noqa: F401

        stages["scikit-learn"] = lambda: others.sklearn_mlp(w)[0]
    except ImportError:
        pass
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    w = workload.make_workload()
    stages = _stages(w)
    for threads in (int(t) for t in args.threads.split(",")):
        times: dict[str, list[float]] = {name: [] for name in stages}
        with threadpool_limits(threads):
            for _ in range(args.rounds):
                for name, stage in stages.items():
                    times[name].append(stage())
        median = {name: statistics.median(v) for name, v in times.items()}
        floor, sk = median["floor (8 products)"], median.get("scikit-learn")
        print(f"\n{threads} BLAS thread(s), median of {args.rounds} rounds")
        print(f"{'stage':30} {'seconds':>8} {'x floor':>8} {'x sklearn':>10}")
        for name, seconds in median.items():
            versus = f"{seconds / sk:10.2f}" if sk else f"{'-':>10}"
            print(f"{name:30} {seconds:8.3f} {seconds / floor:8.2f} {versus}")


if __name__ == "__main__":
    main()
