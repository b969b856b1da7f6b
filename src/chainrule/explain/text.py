"""The text explanation: the seed notebook's walk-through, for any traced step.

Lines that print a value read exactly as the notebook's ``print`` calls do with
``np.set_printoptions(precision=6)``, e.g. ``Input to layer 1:  [1.099 1.13 ]``; the line
above each (starting with ``#``) gives the formula that produced it. For one instance,
per-instance quantities are shown as a row (shape ``(n,)``); parameters and their
gradients always keep their own shapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..trace import Trace
from .error_table import error_rows

if TYPE_CHECKING:
    from .derivation import Derivation


def fmt(value: Any, precision: int = 6) -> str:
    """Format like NumPy's ``print`` with ``np.set_printoptions(precision=precision)``."""
    # array2string, not str: str() of a 0-d array ignores the precision.
    return np.array2string(np.asarray(value), precision=precision)


def _row(trace: Trace, name: str) -> Any:
    """A per-instance quantity: one row for a single instance, the matrix for a batch."""
    value = np.asarray(trace[name])
    return value[0] if trace.n_samples == 1 and value.ndim == 2 else value


def conventions(trace: Trace) -> list[str]:
    """The settings in force, stated so a reader can compare with a textbook."""
    info = trace.info
    loss = info["loss"]
    n = trace.n_samples
    acts = ", ".join(a.name for a in info["activations"])
    sizes = [int(trace["x"].shape[1])] + [int(trace[f"b{k}"].shape[0]) for k in _layers(trace)]
    reduction = info["reduction"]
    batch = (
        f"{n} instance{'s' if n > 1 else ''}; the batch error E is the {reduction} of the "
        f"per-instance errors e (reduction={reduction!r})"
    )
    frozen = info["frozen"]
    update = f"plain gradient descent, lr = {info['lr']:g}; " + (
        f"kept fixed (frozen): {', '.join(frozen)}" if frozen else "every weight and bias updated"
    )
    return [
        f"Network: {'-'.join(map(str, sizes))}, activations {acts}, dtype {trace['x'].dtype}",
        f"Loss: {loss.name}, E = {loss.error_formula} per instance",
        f"Batch: {batch}",
        f"Update: {update}",
    ]


def _layers(trace: Trace) -> range:
    return range(1, int(trace.info["n_layers"]) + 1)


def _derived(derivation: Derivation | None, key: str) -> list[str]:
    """The lines (all starting with ``#``) that derive value ``key``: three ways, then entries."""
    if derivation is None:
        return []
    try:
        step = derivation.step(key)
    except KeyError:
        return []
    lines = [
        f"#   in symbols:   {step.general.text()}",
        f"#   with shapes:  {step.matrix.text()}",
        f"#   with numbers: {step.numbers.text()}",
    ]
    lines += [f"#     {expr.text()}" for expr in (*step.per_instance, *step.scalars)]
    if step.numeric is not None:
        from .expr import Mat

        numeric = Mat(step.numeric, derivation.precision).text()
        lines.append(f"#   central difference: {numeric}")
    return lines


def _checks(derivation: Derivation) -> list[str]:
    from .diagnostics import summary

    out = ["", "Checks"]
    if derivation.checks:
        out.append("# analytic gradient beside its central-difference estimate (float64, eps 1e-6)")
        for name, (analytic, numeric) in derivation.checks.items():
            diff = float(np.max(np.abs(np.asarray(analytic) - np.asarray(numeric))))
            grad = f"dEd{name.upper() if name[0] == 'b' else name}"
            out.append(f"#   {grad}: max |analytic - numeric| = {diff:.2e}")
    out.append("# Diagnostics")
    out += [f"#   {line}" for line in summary(derivation.diagnostics)]
    return out


def render_text(
    trace: Trace,
    errors: list[float] | None = None,
    precision: int = 6,
    title: str = "",
    derivation: Derivation | None = None,
) -> str:
    """Render a traced step as the notebook's walk-through.

    Parameters
    ----------
    trace : Trace
        From :func:`chainrule.train_step` with a tracer.
    errors : list of float, optional
        The batch loss before each step and after the last; a table when longer than 2.
    precision : int
        Digits after the decimal point, as ``np.set_printoptions(precision=...)``.
    title : str
        What the network is, for the heading.
    derivation : Derivation, optional
        If given, each value line is followed by ``#`` lines deriving it three ways
        (symbols, shapes, numbers), entry by entry, and a section of checks closes.
    """
    p = precision
    layers = _layers(trace)
    L = layers[-1]
    loss = trace.info["loss"]
    acts = trace.info["activations"]
    out: list[str] = [f"chainrule: one training step of {title or 'a network'}"]
    out += conventions(trace)

    out += ["", "Given", f"x:  {fmt(_row(trace, 'x'), p)}", f"y:  {fmt(_row(trace, 'y'), p)}"]
    for k in layers:
        out += [f"W{k}:  {fmt(trace[f'W{k}'], p)}", f"b{k}:  {fmt(trace[f'b{k}'], p)}"]

    out += ["", "Forward pass"]
    for k in layers:
        below = "x" if k == 1 else f"outL{k - 1}"
        out += [
            f"# inL{k} = {below} @ W{k} + b{k}",
            f"Input to layer {k}:  {fmt(_row(trace, f'inL{k}'), p)}",
            *_derived(derivation, f"inL{k}"),
            f"# outL{k} = {acts[k - 1].name}(inL{k})",
            f"Output of layer {k}:  {fmt(_row(trace, f'outL{k}'), p)}",
            *_derived(derivation, f"outL{k}"),
        ]

    yhat = f"outL{L}"
    out += ["", "Error calculation", f"# e = {loss.error_formula.replace('yhat', yhat)}"]
    out.append(f"Error:  {fmt(trace['e'], p)}")
    out += _derived(derivation, "e")
    if trace.n_samples > 1:
        out.append(f"Batch error E = {trace.info['reduction']}(e):  {fmt(trace['E'], p)}")
        out += _derived(derivation, "E")

    fused = loss.fused(acts[-1])
    for k in range(L, 0, -1):
        below = "x" if k == 1 else f"outL{k - 1}"
        if k == L:
            d_out = f"dE/d{yhat} = {loss.gradient_formula.replace('yhat', yhat)}"
        else:
            d_out = f"dEdInL{k + 1} @ W{k + 1}.T"
        if k == L and fused:
            d_in = f"outL{L} - y ({acts[-1].name} and {loss.name} combined)"
        elif acts[k - 1].elementwise:
            d_in = f"dEdOutL{k} * {acts[k - 1].name}'(inL{k})"
        else:
            d_in = f"dEdOutL{k} times the Jacobian of {acts[k - 1].name} at inL{k}"
        out += [
            "",
            f"Backpropagation layer {k}",
            f"# dEdOutL{k} = {d_out}",
            f"dEdOutL{k}:  {fmt(_row(trace, f'dEdOutL{k}'), p)}",
            *_derived(derivation, f"dEdOutL{k}"),
            f"# dEdInL{k} = {d_in}",
            f"dEdInL{k}:  {fmt(_row(trace, f'dEdInL{k}'), p)}",
            *_derived(derivation, f"dEdInL{k}"),
            f"# dEdW{k} = {below}.T @ dEdInL{k}",
            f"dEdW{k}:  {fmt(trace[f'dEdW{k}'], p)}",
            *_derived(derivation, f"dEdW{k}"),
            f"# dEdB{k} = dEdInL{k} summed over the instances",
            f"dEdB{k}:  {fmt(trace[f'dEdB{k}'], p)}",
            *_derived(derivation, f"dEdB{k}"),
        ]
    if trace.info["reduction"] == "mean" and trace.n_samples > 1:
        out.append(f"# (dEdOutL{L} includes the factor 1/{trace.n_samples} of the mean)")

    out += ["", "Updating parameters", "# Wk <- Wk - lr * dEdWk;  bk <- bk - lr * dEdBk"]
    for k in layers:
        for name in (f"W{k}", f"b{k}"):
            note = "  (frozen: unchanged)" if name in trace.info["frozen"] else ""
            out.append(f"{name}:  {fmt(trace[f'{name}_new'], p)}{note}")
            out += _derived(derivation, f"{name}_new")

    out += ["", f"Error before:  {fmt(trace['e'], p)}", f"Error after:  {fmt(trace['e_new'], p)}"]
    if trace.n_samples > 1:
        out += [
            f"Batch error before:  {fmt(trace['E'], p)}",
            f"Batch error after:  {fmt(trace['E_new'], p)}",
        ]
    if errors is not None and len(errors) > 2:
        width = len(str(len(errors) - 1))
        out += ["", f"Error over {len(errors) - 1} steps", f"{'step':>{max(width, 4)}}  error"]
        rows, note = error_rows(errors)
        for step, error in rows:
            out.append(f"{step:>{max(width, 4)}}  {fmt(error, p)}")
        out += [f"# {note}"] if note else []
    if derivation is not None:
        out += _checks(derivation)
    return "\n".join(out) + "\n"
