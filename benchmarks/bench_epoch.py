"""The reference epoch in chainrule, NumPy, PyTorch and scikit-learn: ``make bench``.

Usage (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/bench_epoch.py            # 60000 rows, 5 rounds, 1 and 2 BLAS threads
    python benchmarks/bench_epoch.py --quick    # tiny sizes, 1 round: does it run?
    chainrule bench                             # the same, from the installed package

Writes benchmarks/results/bench_epoch.json (git-ignored). See chainrule.bench.run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from chainrule.bench.run import main

if __name__ == "__main__":
    # benchmarks/results of this repository, wherever the script is run from
    sys.exit(main(default_output=str(Path(__file__).resolve().parent / "results")))
