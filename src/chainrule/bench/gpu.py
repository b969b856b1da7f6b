"""The reference epoch on a GPU (or the CPU): chainrule's engine against PyTorch on one device.

``python benchmarks/bench_gpu.py`` (``make bench-gpu``). The workload is
:func:`chainrule.bench.workload.make_workload`'s: ``rows x 784`` float32 inputs, 10
classes, 784-256-128-10 ReLU (or 784-w-w-10 with ``--width w``), softmax cross-entropy,
batches of 128, one shuffled epoch of plain SGD at lr 0.01. Compared on one device, from
the same initial weights and in the same batch order:

- chainrule's engine on that device's arrays: a :class:`~chainrule.network.Network` built
  from PyTorch tensors (or CuPy arrays), and per batch ``forward``, ``backward`` and
  ``p -= lr * g`` for every parameter, all through the array-API namespace (``fit`` and
  its workspace are NumPy-only);
- plain PyTorch (:func:`chainrule.bench.others.torch_loop` on the device);
- chainrule's engine on CuPy arrays, when CuPy is installed and a CUDA device exists.

The data go to the device once, before the clock; the clock is read after a
synchronisation. One untimed warm-up round, then ``rounds`` rounds in alternating order;
medians of the times and of the per-round ratios. Every implementation must end at the
same loss (:func:`chainrule.bench.workload.loss_of`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from ..layers import Dense
from ..losses import get_loss
from ..network import Network
from .others import torch_loop
from .workload import LR, Workload, loss_of, make_workload

REFERENCE_SIZES = (784, 256, 128, 10)
ENGINE, TORCH, CUPY = "chainrule engine", "PyTorch", "chainrule engine (CuPy)"


@dataclass(frozen=True)
class Backend:
    """How to reach one device's arrays: ``put`` copies a NumPy array there, ``back``
    copies one home, ``sync`` waits for the device's queued work."""

    name: str
    put: Callable[[np.ndarray], Any]
    back: Callable[[Any], np.ndarray]
    sync: Callable[[], None]


def torch_backend(device: str) -> Backend:
    """PyTorch tensors on ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...)."""
    import torch

    def sync() -> None:
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)

    return Backend(
        f"torch:{device}",
        lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device, copy=True),
        lambda t: t.detach().cpu().numpy().copy(),
        sync,
    )


def cupy_backend() -> Backend:
    """CuPy arrays on the current CUDA device."""
    import cupy

    return Backend("cupy", cupy.asarray, cupy.asnumpy, lambda: cupy.cuda.Device().synchronize())


def engine_epoch(w: Workload, backend: Backend) -> tuple[float, list]:
    """One epoch of chainrule's engine on ``backend``'s arrays; ``(seconds, weights)``.

    The data, initial weights and order go to the device before the clock starts.
    """
    acts = ["relu"] * (len(w.sizes) - 2) + ["softmax"]
    net = Network(
        [
            Dense(backend.put(W), backend.put(b), act)
            for (W, b), act in zip(w.weights, acts, strict=True)
        ]
    )
    X, Y, order = backend.put(w.X), backend.put(w.Y), backend.put(w.order)
    xp = array_namespace(X)
    loss, lr, n = get_loss("cross_entropy"), LR["sgd"], w.n_rows
    backend.sync()
    start = time.perf_counter()
    for s in range(0, n, w.batch):
        rows = order[s : min(s + w.batch, n)]  # a stop past the end is not array-API
        _, caches = net.forward(xp.take(X, rows, axis=0))
        _, grads = net.backward(xp.take(Y, rows, axis=0), caches, loss)
        for name, p in net.params.items():
            p -= lr * grads[name]
    backend.sync()
    seconds = time.perf_counter() - start
    return seconds, [(backend.back(layer.W), backend.back(layer.b)) for layer in net.layers]


def default_device() -> str:
    """``"cuda"`` when PyTorch sees a CUDA device, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def device_name(device: str) -> str:
    """The GPU's name (``torch.cuda.get_device_name``) or the CPU's model name."""
    import torch

    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def implementations(device: str, cupy: bool) -> dict[str, Callable[[Workload], tuple]]:
    """The epochs compared on ``device``, by row name."""
    backend = torch_backend(device)
    impls: dict[str, Callable[[Workload], tuple]] = {
        ENGINE: lambda w: engine_epoch(w, backend),
        TORCH: lambda w: torch_loop(w, "sgd", device=device),
    }
    if cupy:
        impls[CUPY] = lambda w: engine_epoch(w, cupy_backend())
    return impls


def cupy_available() -> bool:
    """Whether CuPy is installed and sees a CUDA device."""
    if importlib.util.find_spec("cupy") is None:
        return False
    import cupy

    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except cupy.cuda.runtime.CUDARuntimeError:
        return False


def measure(w: Workload, impls: dict[str, Callable], rounds: int) -> dict[str, Any]:
    """A warm-up round, then ``rounds`` rounds, the order reversed every other round.

    Returns the times by name (one per round), the loss each ends at, and the
    per-round ratios of the engine to PyTorch.
    """
    names = list(impls)
    weights = {name: impls[name](w)[1] for name in names}  # warm-up, untimed
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            seconds, weights[name] = impls[name](w)
            times[name].append(seconds)
    ratios = {
        name: [a / b for a, b in zip(times[name], times[TORCH], strict=True)]
        for name in names
        if name != TORCH
    }
    return {
        "seconds": times,
        "loss_after_epoch": {name: loss_of(w, weights[name]) for name in names},
        "ratio_to_pytorch": ratios,
    }


def table(w: Workload, measured: dict[str, Any]) -> str:
    """The printed table: median seconds, samples/s, ratio to PyTorch and final loss."""
    head = f"{'seconds':>8} {'samples/s':>10} {'/ PyTorch':>10} {'loss after':>11}"
    lines = [f"{'implementation':26} {head}"]
    for name, times in measured["seconds"].items():
        seconds = statistics.median(times)
        ratios = measured["ratio_to_pytorch"].get(name)
        ratio = f"{statistics.median(ratios):10.2f}" if ratios else f"{'1.00':>10}"
        loss = measured["loss_after_epoch"][name]
        lines.append(f"{name:26} {seconds:8.3f} {w.n_rows / seconds:10.0f} {ratio} {loss:11.5f}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench_gpu.py",
        description="The reference epoch: chainrule's engine against PyTorch on one device.",
    )
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda if available)")
    parser.add_argument("--width", type=int, help="784-W-W-10 instead of 784-256-128-10")
    parser.add_argument("--rows", type=int, default=60_000, help="instances (default 60000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument(
        "--loss-rtol", type=float, default=1e-3, help="loss agreement required (default 1e-3)"
    )
    parser.add_argument("--no-cupy", action="store_true", help="skip CuPy even if installed")
    parser.add_argument("--output", type=Path, help="JSON file (default benchmarks/results/)")
    args = parser.parse_args(argv)
    for name in ("width", "rows", "rounds", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be a positive integer, got {value}")
    if not 0 < args.loss_rtol < 1:
        parser.error(f"--loss-rtol must be in (0, 1), got {args.loss_rtol}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run, print and save the comparison; 1 if the losses disagree, else 0."""
    import torch

    args = parse_args(argv)
    device = args.device or default_device()
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {device}: PyTorch sees no CUDA device")
    sizes = REFERENCE_SIZES if args.width is None else (784, args.width, args.width, 10)
    cupy = not args.no_cupy and torch.device(device).type == "cuda" and cupy_available()
    torch.set_num_threads(args.threads)
    w = make_workload(args.rows, sizes)
    with _blas_threads(args.threads):
        measured = measure(w, implementations(device, cupy), args.rounds)
    losses = measured["loss_after_epoch"]
    worst = max(abs(v - losses[TORCH]) / losses[TORCH] for v in losses.values())
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    name = device_name(device)
    print(f"{'-'.join(map(str, sizes))}, {w.n_rows} rows, batch {w.batch}, SGD lr {LR['sgd']}")
    print(f"device {device}: {name}; {when}; torch {torch.__version__}")
    print(f"median of {args.rounds} rounds after a warm-up; CPU threads {args.threads}")
    print(table(w, measured))
    print(
        f"(loss before the epoch: {loss_of(w, w.weights):.5f}; largest relative loss "
        f"difference to PyTorch: {worst:.1e}, allowed {args.loss_rtol:.0e})"
    )
    results = {
        "date": when,
        "device": device,
        "device_name": name,
        "torch": torch.__version__,
        "sizes": list(sizes),
        "rows": w.n_rows,
        "batch": w.batch,
        "rounds": args.rounds,
        "threads": args.threads,
        "initial_loss": loss_of(w, w.weights),
        **measured,
    }
    device_tag = device.replace(":", "")
    out = args.output or Path("benchmarks/results") / (
        f"bench_gpu_{device_tag}_{'-'.join(map(str, sizes))}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    if worst > args.loss_rtol:
        print(f"the implementations end at different losses: {losses}")
        return 1
    return 0


def _blas_threads(n: int) -> contextlib.AbstractContextManager:
    """NumPy's BLAS pinned to ``n`` threads (threadpoolctl), or as is without it."""
    if importlib.util.find_spec("threadpoolctl") is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(n)
