"""Peak memory of prediction on a memmap: chunk by chunk against every row at once.

Usage (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/bench_predict_out_of_core.py                 # 2e6 x 10 float32
    python benchmarks/bench_predict_out_of_core.py --rows 200000   # quicker

``X`` (float32, ``(n, 10)``; 80 MB for 2e6 rows) is written to a temporary ``.npy``
file, deleted at the end. Each run is a fresh Python process that opens it with
``numpy.load(mmap_mode="r")`` and predicts with a 10-100-3 softmax network in float64
(scikit-learn's default width): ``Network.predict`` (chunk by chunk), or, as prediction
did before, one forward pass over every row (``network.forward(np.asarray(X, float64))``).
It reports the growth of the peak resident set size (``VmHWM`` after less ``VmRSS``
before), the peak of Python's traced allocations (``tracemalloc``) and the output's size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

N_FEATURES, WIDTH, N_CLASSES, CHUNK = 10, 100, 3, 200_000


def status_kib(field: str) -> float:
    """A field of /proc/self/status (Linux), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(x_path: str, whole: bool) -> None:
    """One prediction; prints a JSON line with its peaks in MiB."""
    import tracemalloc

    from chainrule import Network

    net = Network.from_sizes([N_FEATURES, WIDTH, N_CLASSES], ["relu", "softmax"], random_state=0)
    X = np.load(x_path, mmap_mode="r")
    before = status_kib("VmRSS")
    tracemalloc.start()
    A = net.forward(np.asarray(X, dtype=np.float64))[0] if whole else net.predict(X)
    traced = tracemalloc.get_traced_memory()[1]
    rss = status_kib("VmHWM") - before
    print(
        json.dumps(
            {"rss_mib": rss / 1024, "traced_mib": traced / 2**20, "out_mib": A.nbytes / 2**20}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--whole", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.whole)
        return
    folder = Path(tempfile.mkdtemp(prefix="chainrule_predict_"))
    try:
        path = folder / "X.npy"
        X = np.lib.format.open_memmap(path, "w+", np.float32, (args.rows, N_FEATURES))
        rng = np.random.default_rng(0)
        for start in range(0, args.rows, CHUNK):
            stop = min(start + CHUNK, args.rows)
            X[start:stop] = rng.normal(size=(stop - start, N_FEATURES)).astype(np.float32)
        X.flush()
        del X
        for label, extra in (("chunked (predict)", []), ("all rows at once", ["--whole"])):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path), *extra],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(
                f"{args.rows} x {N_FEATURES} float32 memmap, {label}: peak RSS growth "
                f"{r['rss_mib']:.0f} MiB, traced peak {r['traced_mib']:.0f} MiB "
                f"(output {r['out_mib']:.0f} MiB)"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
