"""``chainrule bench``: the reference epoch in every implementation, round-robin, in one process.

Every round runs each implementation once per BLAS thread count (pinned with
threadpoolctl, and ``torch.set_num_threads``); the table shows medians over rounds,
samples per second and ratios, then the performance targets (each epoch target the
median over rounds of the two times' ratio within a round; the seed network's steps and
the tracing hooks compared in alternating, ABBA, pairs of short timings), then the seed
network's step times, the cost of the tracing hooks and the memory of a fit. Each engine
target is shown with its bound (the floor in the engine's place), and the header states
how much CPU time the host stole during the rounds (Linux's ``/proc/stat``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import others, report, seed_step, workload

EPOCH: dict[str, Callable[[workload.Workload], tuple[float, list]]] = {
    "matmul floor (8 products)": others.floor,
    "chainrule engine (fit)": workload.engine,
    "chainrule MLPClassifier": workload.estimator,
    "NumPy loop (hand-written)": others.numpy_loop,
    "NumPy loop, fit's checks": lambda w: others.numpy_loop(w, checked=True),
    "PyTorch CPU": others.torch_loop,
    "scikit-learn MLPClassifier": others.sklearn_mlp,
    "chainrule engine, Adam": lambda w: workload.engine(w, "adam"),
    "chainrule engine, NumPy kernels": workload.engine_numpy_kernels,
    "PyTorch CPU, Adam": lambda w: others.torch_loop(w, "adam"),
}
STEP_PAIRS = 20  # per round and comparison, as TRACE_PAIRS
TRACE_PAIRS = 40  # per round and case; pairs of about 3 ms timings: about 0.5 s a round
NEEDS = {"PyTorch CPU": "torch", "PyTorch CPU, Adam": "torch"}
NEEDS.update({"chainrule MLPClassifier": "sklearn", "scikit-learn MLPClassifier": "sklearn"})
LEAN, VALIDATED = "chainrule lean step (Workspace)", "chainrule train_step (validated)"


def _available(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _pin(threads: int) -> Any:
    from threadpoolctl import threadpool_limits

    if _available("torch"):
        import torch

        torch.set_num_threads(threads)
    return threadpool_limits(threads)


def run(
    *, n_rows: int, sizes: Sequence[int], rounds: int, threads: Sequence[int], seed_steps: int
) -> dict[str, Any]:
    """Run every measurement; return the results as a JSON-ready dict."""
    w = workload.make_workload(n_rows, tuple(sizes))
    impls = {k: f for k, f in EPOCH.items() if k not in NEEDS or _available(NEEDS[k])}
    skipped = sorted(set(EPOCH) - set(impls))
    times: dict[str, dict[str, list[float]]] = {str(t): {k: [] for k in impls} for t in threads}
    losses: dict[str, float] = {}
    steps = {
        "notebook NumPy step": seed_step.notebook_step,
        LEAN: seed_step.lean_step,
        VALIDATED: seed_step.validated_step,
    }
    if _available("torch"):
        steps["PyTorch autograd step"] = seed_step.torch_step
    step_times: dict[str, list[float]] = {k: [] for k in steps}
    step_pairs: dict[str, list[float]] = {k: [] for k in steps if k not in (LEAN, VALIDATED)}
    tracing = report.tracing_setups(w)
    with _pin(1):  # calls per timing: about 3 ms (>= 2 ms on a busy machine) each
        trace_calls = {case: max(map(seed_step.calls_for, fns)) for case, fns in tracing.items()}
    trace_times: dict[str, list[float]] = {
        f"{case}, {variant}": [] for case in tracing for variant in ("tracer=None", "no hooks")
    }
    trace_pairs: dict[str, list[float]] = {case: [] for case in tracing}
    cpu_before = report.cpu_times()
    for r in range(rounds):
        for t in threads:
            with _pin(t):
                for name, fn in impls.items():
                    seconds, weights = fn(w)
                    times[str(t)][name].append(seconds)
                    if r == 0 and t == threads[0] and weights:
                        losses[name] = workload.loss_of(w, weights)
        with _pin(1):
            for name, make in steps.items():
                step_times[name].append(seed_step.per_step(make(), seed_steps))
            lean = steps[LEAN]()
            for other in step_pairs:  # each step a few microseconds: ABBA pairs, as below
                fn = steps[other]()
                calls = max(seed_step.calls_for(lean), seed_step.calls_for(fn))
                step_pairs[other] += seed_step.paired_ratios(lean, fn, calls, STEP_PAIRS)[2]
            for case, (traced, hookless) in tracing.items():  # ns differences: ABBA pairs
                on, off, ratios = seed_step.paired_ratios(
                    traced, hookless, trace_calls[case], TRACE_PAIRS
                )
                trace_times[f"{case}, tracer=None"] += on
                trace_times[f"{case}, no hooks"] += off
                trace_pairs[case] += ratios
    steal = report.steal_share(cpu_before, report.cpu_times())
    with _pin(threads[-1]):
        memory = report.memory(w)
    median = statistics.median
    return {
        "workload": {
            "n_rows": n_rows,
            "sizes": list(sizes),
            "batch": w.batch,
            "dtype": "float32",
            "lr_sgd": workload.LR["sgd"],
            "lr_adam": workload.LR["adam"],
        },
        "rounds": rounds,
        "machine": report.machine(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "epoch_seconds": {t: {k: median(v) for k, v in d.items()} for t, d in times.items()},
        "epoch_seconds_all": times,
        "loss_after_epoch": losses,
        "initial_loss": workload.loss_of(w, w.weights),
        "seed_step_seconds": {k: median(v) for k, v in step_times.items()},
        "seed_step_ratio": {f"{LEAN} / {k}": median(v) for k, v in step_pairs.items()},
        "tracing_seconds": {k: median(v) for k, v in trace_times.items()},
        "tracing_ratio": {k: median(v) for k, v in trace_pairs.items()},
        "memory": memory,
        "steal": steal,
        "skipped": skipped,
    }


RESULTS = "bench_epoch.json"


def add_arguments(
    parser: argparse.ArgumentParser, default_output: str = "benchmarks/results"
) -> None:
    """The benchmark's options (shared by ``chainrule bench``, whose results go to the
    current folder by default, and the script, to the repository's benchmarks/results)."""
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 round: a smoke test")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds, >= 1 (default 7; quick 1)"
    )
    parser.add_argument("--rows", type=int, default=None, help="rows, >= 2 (default 60000)")
    parser.add_argument(
        "--threads", default="1,2", help="BLAS thread counts, each >= 1 (default 1,2)"
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        default=default_output,
        help=f"the folder of the JSON results, {RESULTS} (or a .json file name) "
        f"(default: {default_output})",
    )


def output_file(output: str) -> Path:
    """The results file for ``--output``: a folder's bench_epoch.json, or a .json file."""
    path = Path(output)
    return path if path.suffix == ".json" else path / RESULTS


def run_from_args(args: argparse.Namespace) -> int:
    """Run with parsed options, print the tables and write the JSON."""
    quick = args.quick
    rounds = (1 if quick else 7) if args.rounds is None else args.rounds
    n_rows = (512 if quick else 60_000) if args.rows is None else args.rows
    sizes = (64, 32, 16, 10) if quick else (784, 256, 128, 10)
    try:
        threads = [int(t) for t in args.threads.split(",")]
    except ValueError:
        raise ValueError(
            f"--threads must list whole numbers like 1,2, got {args.threads!r}"
        ) from None
    if rounds < 1 or n_rows < 2 or min(threads) < 1:
        raise ValueError(
            f"--rounds, --rows and --threads must be positive (rows >= 2), got "
            f"rounds={rounds}, rows={n_rows}, threads={threads}"
        )
    results = run(
        n_rows=n_rows,
        sizes=sizes,
        rounds=rounds,
        threads=threads,
        seed_steps=200 if quick else 5000,
    )
    print(report.render(results))
    out = output_file(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


def main(argv: Sequence[str] | None = None, default_output: str = "benchmarks/results") -> int:
    """The script's entry point: parse the options and run."""
    parser = argparse.ArgumentParser(prog="bench_epoch.py", description=__doc__)
    add_arguments(parser, default_output)
    return run_from_args(parser.parse_args(argv))
