"""The reference epoch on a GPU: chainrule's engine against PyTorch, ``make bench-gpu``.

Usage (from the repository root)::

    python benchmarks/bench_gpu.py                  # cuda if PyTorch sees one, else cpu
    python benchmarks/bench_gpu.py --device cuda --width 4096   # 784-4096-4096-10
    python benchmarks/bench_gpu.py --device cpu --rows 2048 --rounds 1   # does it run?

Needs NumPy, array-api-compat and PyTorch (CuPy is used too when installed); chainrule
is imported from src/ when it is not installed. Writes
benchmarks/results/bench_gpu_<device>_<sizes>.json (git-ignored). See chainrule.bench.gpu.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from chainrule.bench.gpu import main
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from chainrule.bench.gpu import main

if __name__ == "__main__":
    sys.exit(main())
