"""Parts of ``chainrule bench``: tracing set-ups, the memory of a fit, the machine, the tables."""

from __future__ import annotations

import importlib
import os
import platform
import statistics
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from ..datasets.catalog import seed_example
from ..losses import get_loss
from ..optimizers import SGD, Adam
from ..training.update import Workspace
from . import seed_step, workload

FLOOR_NAME = "matmul floor (8 products)"

# (name, limit, how the value is computed from the results): the limit is one number, one
# per BLAS thread count ({"1": ..., "2": ...}; more threads take the largest count's), or
# None for a ratio reported without a target. Issue 17's targets: the engine close to the
# floor of its matrix products, and ahead of PyTorch by 30 %.
Limit = float | dict[str, float] | None
TARGETS: list[tuple[str, Limit, str, str]] = [
    ("engine / matmul floor", {"1": 1.15, "2": 1.4}, "chainrule engine (fit)", FLOOR_NAME),
    ("engine Adam / matmul floor", 1.6, "chainrule engine, Adam", FLOOR_NAME),
    ("engine / NumPy loop", 1.0, "chainrule engine (fit)", "NumPy loop (hand-written)"),
    # The same loop with fit's input check and divergence guard: what the engine's own
    # code costs against NumPy written by hand doing the same work.
    (
        "engine / NumPy loop, fit's checks",
        None,
        "chainrule engine (fit)",
        "NumPy loop, fit's checks",
    ),
    ("engine / PyTorch", 0.7, "chainrule engine (fit)", "PyTorch CPU"),
    ("engine / scikit-learn float32", None, "chainrule engine (fit)", "scikit-learn MLPClassifier"),
    ("MLPClassifier / engine", 1.05, "chainrule MLPClassifier", "chainrule engine (fit)"),
    ("engine Adam / PyTorch Adam", 0.7, "chainrule engine, Adam", "PyTorch CPU, Adam"),
    (
        "engine / engine on NumPy kernels",
        None,
        "chainrule engine (fit)",
        "chainrule engine, NumPy kernels",
    ),
]
STEP_TARGETS = [  # the median of ABBA-paired ratios, the lean step over the other
    ("seed step / notebook step", 1.0, "chainrule lean step (Workspace) / notebook NumPy step"),
    ("seed step / PyTorch step", 0.2, "chainrule lean step (Workspace) / PyTorch autograd step"),
]
# Epoch targets that compare the engine with another implementation also get a bound: the
# same ratio with the floor (the 8 matrix products alone) in the engine's place, which no
# implementation can beat. A bound above its limit means the target cannot be met in that
# run by any amount of work outside the matrix products.
FLOOR = FLOOR_NAME
ENGINES = ("chainrule engine (fit)", "chainrule engine, Adam")
STEAL_WARNING = 0.02  # a steal share above this is reported under the tables
TRACE_TARGETS = [  # the median of paired ratios, tracer=None over no hooks
    ("tracing off / no hooks, seed", 1.02, "seed", None),
    ("tracing off / no hooks, batch", 1.02, "batch", None),
]


def tracing_setups(w: workload.Workload) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """The engine's forward and backward with ``tracer=None`` and with no hooks at all, on
    the seed instance and on one batch of the workload: ``{case: (tracer_none, no_hooks)}``
    (time them with :func:`~chainrule.bench.seed_step.paired_ratios`)."""
    seed = seed_example()
    X, y = seed.network.check_Xy(seed.x, seed.y)
    net = workload.network(w)
    Xb, yb = w.X[: w.batch], w.Y[: w.batch]
    ce, hse = get_loss("cross_entropy"), get_loss(seed.loss)
    return {
        "seed": (
            seed_step.traced_off(seed.network, X, y, hse),
            seed_step.hookless(seed.network, X, y, hse),
        ),
        "batch": (seed_step.traced_off(net, Xb, yb, ce), seed_step.hookless(net, Xb, yb, ce)),
    }


def memory(w: workload.Workload) -> dict[str, Any]:
    """Peak memory traced during one epoch of fit, above what was allocated before it
    (the data included), against 2 x (model + optimizer state) + one batch's workspace."""
    result: dict[str, Any] = {"data_bytes": int(w.X.nbytes + w.Y.nbytes)}
    for name, opt in (("sgd", SGD(lr=workload.LR["sgd"])), ("adam", Adam(lr=workload.LR["adam"]))):
        net = workload.network(w)
        model = sum(int(p.nbytes) for p in net.params.values())
        state = 0 if name == "sgd" else 2 * model  # Adam's two moments
        ws = Workspace(net, "cross_entropy", w.batch).nbytes
        tracemalloc.start()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        workload.one_epoch(net, w, opt, 0)
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
        result[name] = {
            "peak_above_data_bytes": int(peak),
            "budget_bytes": int(2 * (model + state) + ws),
            "model_bytes": model,
            "optimizer_state_bytes": state,
            "workspace_bytes": int(ws),
        }
    return result


def cpu_times(path: str = "/proc/stat") -> tuple[int, int] | None:
    """``(steal, total)`` CPU time of all cores since boot, in clock ticks, from Linux's
    ``/proc/stat``; None where it cannot be read (another system).

    Steal is the time a virtual machine's cores were ready to run but the host ran
    something else: on a shared machine it slows every implementation, unevenly.
    """
    try:
        with open(path, encoding="utf-8") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return ticks[7], sum(ticks)


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of CPU time stolen by the host between two :func:`cpu_times` readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def machine() -> dict[str, Any]:
    """CPU model, cores, BLAS and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    from threadpoolctl import threadpool_info

    blas = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    versions = {"numpy": np.__version__, "python": platform.python_version()}
    for module in ("torch", "sklearn"):
        try:
            versions[module] = importlib.import_module(module).__version__
        except ImportError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "blas": blas, "versions": versions}


def _paired_ratio(times: dict[str, list[float]], a: str, b: str) -> float | None:
    """The median over rounds of ``a``'s time over ``b``'s in the same round: both ran
    within seconds of each other, so a round's load affects both (medians of each alone
    can come from different rounds)."""
    if a not in times or b not in times:
        return None
    return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True) if y > 0)


def limit_at(limit: Limit, threads: str) -> float | None:
    """A target's limit at ``threads`` BLAS threads (see :data:`TARGETS`)."""
    if isinstance(limit, dict):
        return limit.get(threads, limit[max(limit, key=int)])
    return limit


def targets(results: dict[str, Any], threads: str) -> list[tuple[str, float | None, float | None]]:
    """``(target, ratio, limit)`` for every performance target, epochs at ``threads``
    (limit None: a ratio reported without a target)."""
    epoch = results["epoch_seconds_all"][threads]
    rows = [
        (name, _paired_ratio(epoch, a, b), limit_at(limit, threads))
        for name, limit, a, b in TARGETS
    ]
    rows += [(name, bound, limit) for name, bound, limit in bounds(results, threads)]
    steps, trace = results["seed_step_ratio"], results["tracing_ratio"]
    rows += [(name, steps.get(key), limit) for name, limit, key in STEP_TARGETS]
    rows += [(name, trace.get(key), limit) for name, limit, key, _ in TRACE_TARGETS]
    return rows


def bounds(results: dict[str, Any], threads: str) -> list[tuple[str, float | None, float]]:
    """``(bound, ratio, limit)``: each engine target with the floor in the engine's place
    (paired by round as the targets), the best ratio any implementation could reach."""
    epoch = results["epoch_seconds_all"][threads]
    return [
        (f"bound: floor / {name.split(' / ', 1)[1]}", _paired_ratio(epoch, FLOOR, b), bound)
        for name, limit, a, b in TARGETS
        if a in ENGINES and b != FLOOR and (bound := limit_at(limit, threads)) is not None
    ]


def contended(results: dict[str, Any]) -> list[str]:
    """Thread counts whose floor was slower than with fewer threads: the machine was busy."""
    floors = {int(t): e[FLOOR] for t, e in results["epoch_seconds"].items()}
    return [str(t) for t in sorted(floors) if any(floors[t] > floors[u] for u in floors if u < t)]


def render(results: dict[str, Any]) -> str:
    """The tables, as plain text."""
    wl, n = results["workload"], results["workload"]["n_rows"]
    sizes = "-".join(str(s) for s in wl["sizes"])
    m = results["machine"]
    lines = [
        f"reference epoch: {n} rows, {sizes} ReLU/softmax-CE, batch {wl['batch']}, float32; "
        f"median of {results['rounds']} rounds",
        f"machine: {m['cpu']}, {m['cores']} cores, BLAS {', '.join(m['blas'])}; {results['date']}",
        f"CPU time stolen by the host during the rounds: {_percent(results.get('steal'))}",
        "",
        f"{'implementation':30} {'threads':>7} {'seconds':>8} {'samples/s':>10} "
        f"{'x floor':>8} {'engine/it':>9} {'loss after':>10}",
    ]
    losses = results["loss_after_epoch"]
    for t, epoch in results["epoch_seconds"].items():
        floor = epoch.get("matmul floor (8 products)")
        engine = epoch.get("chainrule engine (fit)")
        for name, s in epoch.items():
            engine_ref = epoch.get("chainrule engine, Adam") if "Adam" in name else engine
            loss = f"{losses[name]:.5f}" if name in losses else "-"
            lines.append(
                f"{name:30} {t:>7} {s:8.3f} {n / s:10.0f} {s / floor:8.2f} "
                f"{engine_ref / s:9.2f} {loss:>10}"
            )
    lines.append(f"(loss before the epoch: {results['initial_loss']:.5f})")
    lines += ["", f"{'seed 2-2-1 step':40} {'microseconds':>12}"]
    for name, s in results["seed_step_seconds"].items():
        lines.append(f"{name:40} {s * 1e6:12.1f}")
    lines += ["", f"{'forward + backward':40} {'microseconds':>12}"]
    for name, s in results["tracing_seconds"].items():
        lines.append(f"{name:40} {s * 1e6:12.1f}")
    mem = results["memory"]
    lines += ["", f"memory of one fit epoch above the data ({mem['data_bytes'] / 2**20:.1f} MiB):"]
    for opt in ("sgd", "adam"):
        r = mem[opt]
        lines.append(
            f"  {opt}: peak {r['peak_above_data_bytes'] / 2**20:.2f} MiB, budget "
            f"2 x (model + state) + workspace = {r['budget_bytes'] / 2**20:.2f} MiB"
        )
    counts = list(results["epoch_seconds"])
    header = "".join(f" {t + ' thr':>8}" for t in counts)
    lines += ["", f"{'target (median of per-round ratios)':36}{header} {'limit':>6}  met"]
    per_count = {t: targets(results, t) for t in counts}
    for i, (name, _, _) in enumerate(per_count[counts[0]]):
        values = [per_count[t][i][1] for t in counts]
        limits = [per_count[t][i][2] for t in counts]
        shown = "".join(f" {'-' if v is None else f'{v:.2f}':>8}" for v in values)
        met = [_verdict(name, v, lim) for v, lim in zip(values, limits, strict=True)]
        limit = "/".join(dict.fromkeys("-" if lim is None else f"{lim:.2f}" for lim in limits))
        lines.append(f"{name:36}{shown} {limit:>6}  {'/'.join(dict.fromkeys(met))}")
    for opt in ("sgd", "adam"):
        r = mem[opt]
        met = "yes" if r["peak_above_data_bytes"] <= r["budget_bytes"] else "NO"
        ratio, pad = r["peak_above_data_bytes"] / r["budget_bytes"], " " * 9 * (len(counts) - 1)
        lines.append(f"{'memory ' + opt + ' / budget':36} {ratio:8.2f}{pad} {1:6.2f}  {met}")
    lines.append(
        "(a bound puts the floor in the engine's place: above its limit, no implementation "
        "could meet that target in this run)"
    )
    busy = contended(results)
    if busy:
        lines.append(
            f"warning: the floor was slower with {', '.join(busy)} threads than with fewer: "
            "the cores were busy (other processes: each BLAS call then waits for a descheduled "
            "thread), so ratios at those thread counts measure the contention, not the code"
        )
    steal = results.get("steal")
    if steal is not None and steal > STEAL_WARNING:
        lines.append(
            f"warning: the host took {_percent(steal)} of this machine's CPU time during the "
            "rounds (other virtual machines): epochs vary more than usual, and a ratio of two "
            "implementations can move by as much"
        )
    if results["skipped"]:
        lines.append(f"skipped (missing package): {', '.join(results['skipped'])}")
    return "\n".join(lines)


def _verdict(name: str, value: float | None, limit: float | None) -> str:
    """A target is met or not; a bound leaves its target reachable or not."""
    if limit is None:
        return "(reported)"
    if value is None:
        return "n/a"
    if name.startswith("bound:"):
        return "reachable" if value <= limit else "UNREACHABLE"
    return "yes" if value <= limit else "NO"


def _percent(share: float | None) -> str:
    return "unknown (no /proc/stat)" if share is None else f"{100 * share:.1f} %"
