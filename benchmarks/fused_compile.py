"""What the fused kernels' compilation costs, and what numba's ``cache=True`` saves.

Usage (from the repository root, after ``pip install -e '.[test]'``, numba installed)::

    python benchmarks/fused_compile.py

Runs the same small fit (2,000 x 784 float32, 784-256-128-10 ReLU/softmax, Adam: every
fused kernel of the reference workload) twice in each of three fresh processes, all with
one new, empty numba cache folder (``NUMBA_CACHE_DIR``):

1. cold: the first process compiles every kernel and writes them to the cache;
2. warm: the second loads them from the cache;
3. NumPy: the third runs with ``CHAINRULE_KERNELS=numpy`` (nothing to compile).

In each process, the first fit's time minus the second's is the one-off cost (import,
compilation or loading); the table prints it with the import of numba itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

CHILD = """
import json, time
start = time.perf_counter()
from chainrule.kernels import fused_kernels
fused = fused_kernels()
imported = time.perf_counter() - start
from chainrule.bench import workload
from chainrule.optimizers import Adam
w = workload.make_workload(n_rows=2000)
times = []
for _ in range(2):
    net = workload.network(w)
    start = time.perf_counter()
    workload.one_epoch(net, w, Adam(lr=0.001), 0)
    times.append(time.perf_counter() - start)
print(json.dumps({"fused": fused, "import": imported, "first": times[0], "second": times[1]}))
"""


def _run(env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, CHAINRULE_KERNELS="fused")
        runs = {
            "cold cache (compiles)": _run(env),
            "warm cache (loads)": _run(env),
            "NumPy kernels": _run(dict(env, CHAINRULE_KERNELS="numpy")),
        }
    print(f"{'process':24} {'fused':>5} {'import s':>9} {'1st fit s':>10} {'2nd fit s':>10} "
          f"{'one-off s':>10}")  # fmt: skip
    for name, r in runs.items():
        print(
            f"{name:24} {r['fused']!s:>5} {r['import']:9.3f} {r['first']:10.3f} "
            f"{r['second']:10.3f} {r['first'] - r['second']:10.3f}"
        )


if __name__ == "__main__":
    main()
