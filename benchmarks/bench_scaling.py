"""How chainrule's overhead over the matrix products shrinks as the work per batch grows.

Usage (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/bench_scaling.py            # the sweep below, under a minute idle
    python benchmarks/bench_scaling.py --quick    # 3 small points: does it run?

Two sweeps, one epoch of plain SGD (lr 0.01, batch 128, float32, softmax cross-entropy),
BLAS pinned to 1 thread (threadpoolctl), median of 3 rounds, each point timing
chainrule's ``fit`` against the 8 matrix products of each batch alone (the floor):

- width: a 784-w-w-10 ReLU network for w = 64, 128, ..., 4096, with as many rows
  (between 1024 and 60000) as about 1e10 multiply-adds per epoch allow;
- rows: a 64-64-64-10 network on 10^3, 10^4, 10^5 and 10^6 rows.

Writes benchmarks/results/bench_scaling.json (git-ignored) and bench_scaling.png.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from threadpoolctl import threadpool_limits

from chainrule.bench import others, workload
from chainrule.kernels import fused_kernels


def _point(sizes: tuple[int, ...], n_rows: int, rounds: int) -> dict:
    w = workload.make_workload(n_rows, sizes)
    engine, floor = [], []
    for _ in range(rounds):  # interleaved, so that load on the machine hits both alike
        engine.append(workload.engine(w)[0])
        floor.append(others.floor(w)[0])
    e, f = statistics.median(engine), statistics.median(floor)
    print(
        f"{'-'.join(map(str, sizes)):>18} {n_rows:>8} rows: engine {e:8.3f} s, "
        f"floor {f:8.3f} s, ratio {e / f:5.2f}",
        flush=True,
    )
    batches = -(-n_rows // 128)
    return {
        "sizes": list(sizes),
        "n_rows": n_rows,
        "engine_s": e,
        "floor_s": f,
        "ratio": e / f,
        "engine_ms_per_batch": 1e3 * e / batches,
        "floor_ms_per_batch": 1e3 * f / batches,
    }


def _rows_for(width: int, budget: float = 1e10) -> int:
    per_row = 3 * (784 * width + width * width + 10 * width)  # forward, dW and dA
    return int(min(60_000, max(1024, budget // per_row)) // 128 * 128)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="three small points")
    parser.add_argument("--output", default="benchmarks/results/bench_scaling")
    parser.add_argument("--widths", default=None, help="e.g. 64,256,1024 (a reduced grid)")
    parser.add_argument("--rows", default=None, help="e.g. 1000,100000 (a reduced grid)")
    parser.add_argument("--rounds", type=int, default=None, help="default 3; quick 1")
    args = parser.parse_args()
    widths = [64, 256] if args.quick else [64, 128, 256, 512, 1024, 2048, 4096]
    rows = [1000, 5000] if args.quick else [1000, 10_000, 100_000, 1_000_000]
    widths = [int(v) for v in args.widths.split(",")] if args.widths else widths
    rows = [int(v) for v in args.rows.split(",")] if args.rows else rows
    rounds = (1 if args.quick else 3) if args.rounds is None else args.rounds
    with threadpool_limits(1):
        by_width = [
            _point((784, wd, wd, 10), _rows_for(wd, 1e9 if args.quick else 1e10), rounds)
            for wd in widths
        ]
        by_rows = [_point((64, 64, 64, 10), n, rounds) for n in rows]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = {
        "threads": 1,
        "rounds": rounds,
        "kernels": "fused (numba)" if fused_kernels() else "NumPy",
        "width": by_width,
        "rows": by_rows,
    }
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    _plot(results, out.with_suffix(".png"))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.png')}")
    return 0


def _plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, key, x_of, label in (
        (axes[0], "width", lambda p: p["sizes"][1], "hidden width w (784-w-w-10)"),
        (axes[1], "rows", lambda p: p["n_rows"], "rows (64-64-64-10)"),
    ):
        points = results[key]
        xs = [x_of(p) for p in points]
        per_batch = key == "width"  # rows vary along the width sweep: time per batch
        unit = "ms per batch of 128" if per_batch else "seconds per epoch"
        engine = [p["engine_ms_per_batch"] if per_batch else p["engine_s"] for p in points]
        floor = [p["floor_ms_per_batch"] if per_batch else p["floor_s"] for p in points]
        ax.plot(xs, engine, "o-", label="chainrule fit")
        ax.plot(xs, floor, "s--", label="matrix products alone")
        ax.set_xscale("log", base=2 if key == "width" else 10)
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel(unit)
        twin = ax.twinx()
        ratios = [p["ratio"] for p in points]
        twin.plot(xs, ratios, "k:", marker="^", label="fit / floor")
        for x, r in zip(xs, ratios, strict=True):  # the overhead, written at each point
            twin.annotate(f"{r:.2f}x", (x, r), textcoords="offset points", xytext=(0, 6))
        twin.set_ylabel("fit / floor (dotted)")
        twin.set_ylim(1.0, max(3.0, max(p["ratio"] for p in points) * 1.1))
        ax.legend(loc="upper left")
    fig.suptitle(
        f"One epoch of SGD, batch 128, float32, 1 BLAS thread, {results['kernels']} kernels"
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
