"""The derivation every renderer reads: a list of steps, each shown three ways.

:func:`build` turns a :class:`~chainrule.trace.Trace` into a :class:`Derivation`. Each
:class:`Step` holds one traced quantity with its general formula (the chain rule in
symbols), its matrix form with shapes, the same formula with the numbers substituted
and, for small networks, the scalar expansion of every entry. The text, Markdown,
LaTeX and HTML renderers only lay these out, so the formats cannot disagree.

Every number comes from the trace; the only numbers computed here are the
activation derivatives ``f'(inLk)`` (from the traced ``inLk`` and ``outLk``) and, for a
batch, the per-instance gradients (each instance's share of the traced sum).

Indices in the scalar expansion count from 1, as the layers do: ``W2[1,2]`` joins
neuron 1 of layer 1 to neuron 2 of layer 2; for a batch the first index is the instance.

Examples
--------
>>> from chainrule import explain, seed_example
>>> seed = seed_example()
>>> d = explain(seed.network, seed.x, seed.y, lr=seed.lr).derivation()
>>> step = d.step("dEdW2")
>>> print(step.general.text())
dE/dW2 = dE/doutL2 * doutL2/dinL2 * dinL2/dW2
>>> for part in step.scalars[0].text().split(" = "):
...     print("=", part)
= dE/dW2[1,1]
= dE/doutL2[1] * doutL2[1]/dinL2[1] * dinL2[1]/dW2[1,1]
= (-0.153905) * 0.189437 * 0.750073
= -0.021869
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..trace import Trace
from .backward import BackwardBuilder
from .conventions import conventions
from .diagnostics import Diagnostics, diagnose
from .expr import Expr
from .legend import legend
from .steps import MAX_SCALAR_NEURONS, Section, Step

__all__ = ["LEVELS", "MAX_SCALAR_NEURONS", "Derivation", "Section", "Step", "build"]

LEVELS = ("full", "summary")


@dataclass
class Derivation:
    """Everything an explanation shows, in order, for any renderer."""

    title: str
    conventions: list[str]
    given: list[tuple[str, np.ndarray]]
    sections: list[Section]
    errors: list[float]
    precision: int
    n_samples: int
    sizes: list[int]
    activations: list[str]
    reduction: str
    diagnostics: Diagnostics
    error_before: float = 0.0
    error_after: float = 0.0
    checks: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    legend: list[tuple[str, Expr, str]] = field(default_factory=list)
    level: str = "full"

    def step(self, key: str) -> Step:
        """The step that derives trace quantity ``key``."""
        for section in self.sections:
            for step in section.steps:
                if step.key == key:
                    return step
        raise KeyError(f"no step derives {key!r}")

    def steps(self) -> list[Step]:
        """All steps in order."""
        return [step for section in self.sections for step in section.steps]


def build(
    trace: Trace,
    errors: list[float] | None = None,
    *,
    title: str = "",
    precision: int = 6,
    checks: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    scalars: bool | None = None,
    level: str = "full",
) -> Derivation:
    """Build the derivation of a traced step.

    Parameters
    ----------
    trace : Trace
        From :func:`chainrule.train_step` with a tracer.
    errors : list of float, optional
        Batch loss before each step and after the last.
    precision : int
        Digits after the decimal point of every number shown.
    checks : dict, optional
        ``{"W1": (analytic, numeric), ...}`` from :func:`chainrule.check_gradients`.
    scalars : bool, optional
        Write out every entry; by default only for networks of at most
        :data:`MAX_SCALAR_NEURONS` neurons.
    level : {"full", "summary"}
        ``summary``: the formulas and values only, without the entry-by-entry
        expansion, the local derivatives or the per-instance lines.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    b = BackwardBuilder(trace, precision, False if level == "summary" else scalars)
    checks = checks or {}
    sections = [Section(f"Forward pass: layer {k}", b.forward(k)) for k in b.layers]
    sections.append(Section("Error", b.error()))
    for k in range(b.L, 0, -1):
        steps = b.backward(k)
        steps = [
            _with_numeric(s, checks.get(f"W{k}" if s.key.startswith("dEdW") else f"b{k}"))
            if s.key in (f"dEdW{k}", f"dEdB{k}")
            else s
            for s in steps
        ]
        sections.append(Section(f"Backpropagation: layer {k}", steps))
    sections.append(Section("Updating parameters", b.update()))
    given = [("x", b.row("x")), ("y", b.row("y"))]
    for k in b.layers:
        given += [(f"W{k}", np.asarray(trace[f"W{k}"])), (f"b{k}", np.asarray(trace[f"b{k}"]))]
    if level == "summary":
        sections = [
            Section(sec.title, [replace(st, per_instance=(), local=()) for st in sec.steps])
            for sec in sections
        ]
    E_key = "E" if b.n > 1 or b.l2 else "e"
    return Derivation(
        title=title or "a network",
        conventions=conventions(trace),
        given=given,
        sections=sections,
        errors=list(errors or []),
        precision=precision,
        n_samples=b.n,
        sizes=b.sizes,
        activations=[a.name for a in b.acts],
        reduction=b.reduction,
        diagnostics=diagnose(trace),
        error_before=float(np.sum(trace[E_key])),
        error_after=float(np.sum(trace[f"{E_key}_new"])),
        checks=checks,
        legend=legend(b.L, single=b.single, l2=bool(b.l2)),
        level=level,
    )


def _with_numeric(step: Step, check: tuple[np.ndarray, np.ndarray] | None) -> Step:
    if check is None:
        return step
    return replace(step, numeric=np.asarray(check[1]))
