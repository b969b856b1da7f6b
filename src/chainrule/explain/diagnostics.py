"""What a teacher looks for in a traced step: saturated units, dead ReLUs, gradient sizes.

- A sigmoid or tanh unit is *saturated* on an instance when its derivative ``f'(inL)``
  is below ``saturation`` times the derivative's largest value (sigmoid: 1/4 at 0,
  tanh: 1 at 0): there the gradient through it nearly vanishes.
- A ReLU unit is *dead* on the batch when its input ``inL`` is <= 0 for every
  instance: it passes no gradient at all, so its weights cannot change.
- The gradient of each layer is measured by the Frobenius norm of ``dEdWk``. A layer
  whose norm is below ``vanishing`` times the largest layer norm is flagged as
  vanishing; a norm above ``exploding`` is flagged as exploding.

Examples
--------
>>> import numpy as np
>>> from chainrule import Network, Trace, train_step
>>> net = Network.from_weights([[[5.0, -5.0]], [[1.0], [1.0]]], [[0, 0], [0]], ["relu", "sigmoid"])
>>> trace = Trace()
>>> _ = train_step(net, [[-1.0], [-2.0]], [[1.0], [0.0]], lr=0.1, tracer=trace)
>>> print(diagnose(trace).findings[0])
layer 1, neuron 1: dead ReLU (inL1 <= 0 for all 2 instances; no gradient flows through it)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..trace import Trace

SATURATION = 0.1
VANISHING = 1e-3
EXPLODING = 1e3
PEAK_DERIVATIVE = {"sigmoid": 0.25, "tanh": 1.0}


@dataclass
class Diagnostics:
    """The findings on one traced step.

    Attributes
    ----------
    findings : list of str
        One sentence per flagged unit or layer; empty when nothing is flagged.
    gradient_norms : dict
        ``{"W1": ||dEdW1||, ...}``, layer by layer.
    flags : dict
        ``{(k, j): "saturated" | "dead"}`` for neuron ``j`` (from 1) of layer ``k``.
    """

    findings: list[str] = field(default_factory=list)
    gradient_norms: dict[str, float] = field(default_factory=dict)
    flags: dict[tuple[int, int], str] = field(default_factory=dict)
    thresholds: str = ""


def diagnose(
    trace: Trace,
    *,
    saturation: float = SATURATION,
    vanishing: float = VANISHING,
    exploding: float = EXPLODING,
) -> Diagnostics:
    """Flag saturated sigmoid/tanh units, dead ReLUs and vanishing or exploding gradients.

    Parameters
    ----------
    trace : Trace
        A traced step.
    saturation : float
        A unit is saturated where ``f'(inL) < saturation * max f'``.
    vanishing, exploding : float
        Thresholds on the per-layer gradient norm (relative to the largest, absolute).
    """
    result = Diagnostics(
        thresholds=f"saturated: f'(inL) < {saturation:g} x its peak; vanishing: "
        f"||dEdWk|| < {vanishing:g} x the largest layer's; exploding: ||dEdWk|| > {exploding:g}"
    )
    n_layers = int(trace.info["n_layers"])
    n = trace.n_samples
    for k in range(1, n_layers + 1):
        act = trace.info["activations"][k - 1]
        Z = np.asarray(trace[f"inL{k}"], dtype=float)
        A = np.asarray(trace[f"outL{k}"], dtype=float)
        if act.name in PEAK_DERIVATIVE:
            low = np.asarray(act.derivative(Z, A)) < saturation * PEAK_DERIVATIVE[act.name]
            for j in np.flatnonzero(low.any(axis=0)):
                count = int(low[:, j].sum())
                result.flags[(k, int(j) + 1)] = "saturated"
                result.findings.append(
                    f"layer {k}, neuron {j + 1}: saturated {act.name} on {count} of {n} "
                    f"instance{'s' if n > 1 else ''} (outL{k} = "
                    f"{np.format_float_positional(A[low[:, j], j][0], 4)}; "
                    f"{act.name}' is nearly 0 there)"
                )
        if act.name in ("relu",):
            for j in np.flatnonzero((Z <= 0).all(axis=0)):
                result.flags[(k, int(j) + 1)] = "dead"
                result.findings.append(
                    f"layer {k}, neuron {j + 1}: dead ReLU (inL{k} <= 0 for all {n} "
                    "instances; no gradient flows through it)"
                    if n > 1
                    else f"layer {k}, neuron {j + 1}: ReLU inactive on this instance "
                    f"(inL{k} <= 0, so relu' = 0 and no gradient flows through it on this "
                    "step; one instance cannot show whether it is dead on all inputs)"
                )
    norms = {
        f"W{k}": float(np.linalg.norm(np.asarray(trace[f"dEdW{k}"], dtype=float)))
        for k in range(1, n_layers + 1)
    }
    result.gradient_norms = norms
    largest = max(norms.values())
    for name, norm in norms.items():
        if norm > exploding:
            result.findings.append(
                f"layer {name[1:]}: exploding gradient, ||dEd{name}|| = {norm:.3g}"
            )
        elif largest > 0 and norm < vanishing * largest:
            result.findings.append(
                f"layer {name[1:]}: vanishing gradient, ||dEd{name}|| = {norm:.3g} is "
                f"{norm / largest:.2g} x the largest layer's ({largest:.3g})"
            )
    return result


def summary(diagnostics: Diagnostics) -> list[str]:
    """The diagnostics as plain sentences: the gradient norms, then every finding."""
    norms = ", ".join(
        f"||dEd{name}|| = {value:.3g}" for name, value in diagnostics.gradient_norms.items()
    )
    lines = [f"Gradient size per layer: {norms}"]
    lines += diagnostics.findings or [
        "No saturated units, dead ReLUs, vanishing or exploding gradients."
    ]
    lines.append(f"(Thresholds: {diagnostics.thresholds})")
    return lines
