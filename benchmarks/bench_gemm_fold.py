"""Why fit does not fold plain SGD into BLAS gemm's ``beta``: a measurement.

Usage (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/bench_gemm_fold.py             # 5 repeats
    python benchmarks/bench_gemm_fold.py --repeats 9

The SGD step of a weight matrix, ``W <- W - lr * A_prev.T @ dZ``, can be one BLAS call,
``gemm(alpha=-lr, a, b, beta=1, c=W)``, which never writes the gradient out. NumPy does
not expose ``alpha``/``beta``; SciPy's ``scipy.linalg.blas`` does. This script times,
for the three weight matrices of the reference workload (784-256-128-10, batches of
128, float32, 469 batches of an epoch):

- ``numpy``: ``np.matmul(A.T, dZ, out=G)`` then ``W -= G`` (what fit does, ``dZ``
  already carrying ``lr``);
- ``scipy gemm``: one ``sgemm`` per matrix with ``beta=1``, into ``W`` in place (all
  operands passed as Fortran-ordered views, so nothing is copied);
- ``mixed``: as fit would run with the fold: NumPy's forward products and SciPy's
  folded ones, alternating, as they would in a training step.

at 1 and 2 BLAS threads (threadpoolctl). NumPy and SciPy wheels each bundle their own
OpenBLAS with its own thread pool; when the two alternate with 2 threads, each pool's
idle workers spin while the other works, and on a 2-core machine the mixed loop slows
down many times over. That is the measured reason fit keeps NumPy's products only.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from scipy.linalg import blas
    from threadpoolctl import threadpool_info, threadpool_limits

    rng = np.random.default_rng(0)
    sizes, m, n_batches = (784, 256, 128, 10), 128, 469
    pairs = itertools.pairwise(sizes)
    Ws = [rng.standard_normal((a, b), dtype=np.float32) * 0.01 for a, b in pairs]
    As = [rng.standard_normal((m, a), dtype=np.float32) for a in sizes[:-1]]
    dZs = [rng.standard_normal((m, b), dtype=np.float32) * 1e-6 for b in sizes[1:]]
    Gs = [np.empty_like(W) for W in Ws]
    Zs = [np.empty((m, b), np.float32) for b in sizes[1:]]
    gemm = blas.get_blas_funcs("gemm", dtype=np.float32)

    def numpy_step() -> None:
        for A, dZ, W, G in zip(As, dZs, Ws, Gs, strict=True):
            np.matmul(A.T, dZ, out=G)
            W -= G

    def scipy_step() -> None:
        for A, dZ, W in zip(As, dZs, Ws, strict=True):
            # W.T is W in Fortran order: W.T <- W.T - dZ.T @ A, no copy of any operand.
            gemm(-1.0, dZ.T, A.T, beta=1.0, c=W.T, trans_b=1, overwrite_c=1)

    def mixed_step() -> None:
        for A, W, Z in zip(As, Ws, Zs, strict=True):
            np.matmul(A, W, out=Z)
        scipy_step()

    # The fold really is in place: the result is written into W.
    before = Ws[0].copy()
    gemm(-1.0, dZs[0].T, As[0].T, beta=1.0, c=Ws[0].T, trans_b=1, overwrite_c=1)
    assert not np.array_equal(before, Ws[0]), "scipy copied W: the fold would be lost"
    np.testing.assert_allclose(Ws[0], before - As[0].T @ dZs[0], rtol=1e-5, atol=1e-6)

    libs = [i["filepath"].rsplit("/", 1)[-1] for i in threadpool_info() if i["user_api"] == "blas"]
    print(f"BLAS libraries loaded: {', '.join(libs)}")
    print(f"{'threads':>7} {'variant':>12} {'ms / epoch':>11}")
    for threads in (1, 2):
        with threadpool_limits(threads):
            times: dict[str, list[float]] = {"numpy": [], "scipy gemm": [], "mixed": []}
            fns = {"numpy": numpy_step, "scipy gemm": scipy_step, "mixed": mixed_step}
            for _ in range(args.repeats):
                for name, fn in fns.items():
                    start = time.perf_counter()
                    for _ in range(n_batches):
                        fn()
                    times[name].append(time.perf_counter() - start)
            for name, values in times.items():
                print(f"{threads:>7} {name:>12} {statistics.median(values) * 1e3:11.1f}")


if __name__ == "__main__":
    main()
