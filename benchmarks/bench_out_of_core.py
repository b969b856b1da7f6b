"""Peak memory of out-of-core training: a 10^6-row memmap against a 10^5-row one.

Usage (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/bench_out_of_core.py               # 10^5 and 10^6 rows x 784, float32
    python benchmarks/bench_out_of_core.py --rows 20000 200000 --repeat 1   # quicker

The data (``X`` float32 ``(n, 784)`` and one-hot ``Y`` float32 ``(n, 10)``, about
3.2 GB for 10^6 rows) is written chunk by chunk to a temporary folder, which is deleted
at the end. Each run is a fresh Python process that opens the files with
``numpy.load(mmap_mode="r")`` and trains a 784-64-10 softmax network for one epoch
(batches of 256, Adam, shuffled) with :func:`chainrule.training.fit`. It reports

- the peak resident set size of the process (``VmHWM``, else ``ru_maxrss``), which
  also counts the pages of the memory-mapped file that the process holds, and
- the peak of Python's traced allocations (``tracemalloc``; NumPy's buffers included).

For comparison in the same run, the same training reads the 10^5-row data into memory
first (``np.array(X)``): what memory would be without the chunked reader. BLAS runs on
one thread (threadpoolctl). Each figure is the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

N_FEATURES, N_CLASSES, CHUNK = 784, 10, 20_000


def write_data(folder: Path, n_rows: int) -> tuple[Path, Path]:
    """Write ``X`` and one-hot ``Y`` as .npy memmaps, chunk by chunk (flat memory here too)."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=(N_FEATURES, N_CLASSES)).astype(np.float32)
    x_path, y_path = folder / f"X_{n_rows}.npy", folder / f"Y_{n_rows}.npy"
    X = np.lib.format.open_memmap(x_path, "w+", np.float32, (n_rows, N_FEATURES))
    Y = np.lib.format.open_memmap(y_path, "w+", np.float32, (n_rows, N_CLASSES))
    for start in range(0, n_rows, CHUNK):
        stop = min(start + CHUNK, n_rows)
        Xc = rng.normal(size=(stop - start, N_FEATURES)).astype(np.float32)
        X[start:stop] = Xc
        Y[start:stop] = np.eye(N_CLASSES, dtype=np.float32)[(Xc @ W).argmax(axis=1)]
        X.flush()
        Y.flush()
    del X, Y
    return x_path, y_path


def peak_rss_kib() -> float:
    """This process's peak resident size, in KiB.

    ``VmHWM`` of /proc/self/status where there is one: ``ru_maxrss`` survives ``exec``,
    so a child started by a parent that held the data would report the parent's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    scale = 1024 if sys.platform == "darwin" else 1  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def child(x_path: str, y_path: str, in_memory: bool) -> None:
    """One training run; prints a JSON line with its peaks."""
    import tracemalloc

    from threadpoolctl import threadpool_limits

    from chainrule import Network
    from chainrule.training import fit

    X = np.load(x_path, mmap_mode="r")
    Y = np.load(y_path, mmap_mode="r")
    tracemalloc.start()
    if in_memory:
        X, Y = np.array(X), np.array(Y)
    net = Network.from_sizes(
        [N_FEATURES, 64, N_CLASSES], ["relu", "softmax"], random_state=0, dtype=np.float32
    )
    with threadpool_limits(1):
        history = fit(net, X, Y, loss="cross_entropy", epochs=1, batch_size=256, random_state=0)
    _, traced_peak = tracemalloc.get_traced_memory()
    max_rss_kib = peak_rss_kib()
    print(
        json.dumps(
            {
                "rss_mib": max_rss_kib / 1024,
                "traced_mib": traced_peak / 2**20,
                "loss": history["loss"][-1],
            }
        )
    )


def measure(x_path: Path, y_path: Path, in_memory: bool, repeat: int) -> dict[str, float]:
    """Median peaks over ``repeat`` fresh processes."""
    runs = []
    for _ in range(repeat):
        args = [sys.executable, __file__, "--child", str(x_path), str(y_path)]
        out = subprocess.run(
            args + (["--in-memory"] if in_memory else []),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs=2, default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--in-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.in_memory)
        return
    folder = Path(tempfile.mkdtemp(prefix="chainrule_ooc_"))
    try:
        small, large = args.rows
        results = {}
        for n in (small, large):
            paths = write_data(folder, n)
            results[f"memmap {n} rows"] = measure(*paths, False, args.repeat)
            if n == small:
                results[f"in memory {n} rows"] = measure(*paths, True, args.repeat)
            for path in paths:
                path.unlink()
        print(f"{'run':<26} {'peak RSS MiB':>13} {'peak traced MiB':>16} {'loss':>8}")
        for name, r in results.items():
            print(f"{name:<26} {r['rss_mib']:>13.1f} {r['traced_mib']:>16.1f} {r['loss']:>8.4f}")
        a, b = results[f"memmap {small} rows"], results[f"memmap {large} rows"]
        print(
            f"ratio {large} / {small} rows (memmap): peak RSS {b['rss_mib'] / a['rss_mib']:.2f}, "
            f"traced {b['traced_mib'] / a['traced_mib']:.2f} (data grew {large / small:.0f}x)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
