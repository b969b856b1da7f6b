"""The settings in force for a traced step, stated so that a reader can compare with a textbook.

Examples
--------
>>> from chainrule import Trace, seed_example, train_step
>>> seed = seed_example()
>>> trace = Trace()
>>> _ = train_step(seed.network, seed.x, seed.y, lr=seed.lr, tracer=trace)
>>> print(conventions(trace)[0])
Network: 2-2-1, activations sigmoid, sigmoid, dtype float64
"""

from __future__ import annotations

from ..trace import Trace


def conventions(trace: Trace) -> list[str]:
    """The settings in force, stated so a reader can compare with a textbook."""
    info = trace.info
    loss = info["loss"]
    n = trace.n_samples
    acts = ", ".join(a.name for a in info["activations"])
    sizes = [int(trace["x"].shape[1])] + [int(trace[f"b{k}"].shape[0]) for k in layers(trace)]
    reduction = info["reduction"]
    batch = (
        f"{n} instance{'s' if n > 1 else ''}; the batch error E is the {reduction} of the "
        f"per-instance errors e (reduction={reduction!r})"
    )
    frozen = info["frozen"]
    l2 = float(info.get("l2", 0.0))
    penalty = f"L2 penalty l2/2 * sum_k ||Wk||^2 with l2 = {l2:g}; " if l2 else ""
    update = f"plain gradient descent, lr = {info['lr']:g}; {penalty}" + (
        f"kept fixed (frozen): {', '.join(frozen)}" if frozen else "every weight and bias updated"
    )
    return [
        f"Network: {'-'.join(map(str, sizes))}, activations {acts}, dtype {trace['x'].dtype}",
        f"Loss: {loss.name}, E = {loss.error_formula} per instance",
        f"Batch: {batch}",
        f"Update: {update}",
    ]


def layers(trace: Trace) -> range:
    """The layers of a traced step, 1 to L."""
    return range(1, int(trace.info["n_layers"]) + 1)
