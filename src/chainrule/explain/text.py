"""The text explanation: the seed notebook's walk-through, for any traced step.

Lines that print a value read exactly as the notebook's ``print`` calls do with
``np.set_printoptions(precision=6)``, e.g. ``Input to layer 1:  [1.099 1.13 ]``; the line
above each (starting with ``#``) gives the formula that produced it. For one instance,
per-instance quantities are shown as a row (shape ``(n,)``); parameters and their
gradients always keep their own shapes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..trace import Trace
from .conventions import conventions, layers
from .derivation import Derivation
from .diagnostics import summary
from .error_table import error_rows
from .expr import Mat


def fmt(value: Any, precision: int = 6) -> str:
    """Format like NumPy's ``print`` with ``np.set_printoptions(precision=precision)``."""
    # array2string, not str: str() of a 0-d array ignores the precision.
    # + 0.0 turns a negative zero (e.g. a ReLU's masked gradient) into 0: no "-0." printed.
    array = np.asarray(value)
    array = array + 0.0 if np.issubdtype(array.dtype, np.floating) else array
    return np.array2string(array, precision=precision)


def _row(trace: Trace, name: str) -> Any:
    """A per-instance quantity: one row for a single instance, the matrix for a batch."""
    value = np.asarray(trace[name])
    return value[0] if trace.n_samples == 1 and value.ndim == 2 else value


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
    if step.local:
        lines.append("#   local derivatives, at first use:")
        lines += [f"#     {expr.text()}" for expr in step.local]
    if step.per_instance or step.scalars:
        lines.append("#   per instance, then entry by entry:" if step.per_instance else
                     "#   entry by entry:")  # fmt: skip
    lines += [f"#     {expr.text()}" for expr in (*step.per_instance, *step.scalars)]
    lines += [f"#   note: {note}" for note in step.notes]
    if step.numeric is not None:
        numeric = Mat(step.numeric, derivation.precision).text()
        lines.append(f"#   central difference: {numeric}")
    return lines


def _checks(derivation: Derivation) -> list[str]:
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
    layer_range = layers(trace)
    L = layer_range[-1]
    loss = trace.info["loss"]
    acts = trace.info["activations"]
    out: list[str] = [f"chainrule: one training step of {title or 'a network'}"]
    out += conventions(trace)
    if derivation is not None:
        out.append("# Notation (the names used below, their symbols, and other sources' names):")
        for name, symbol, words in derivation.legend:
            shown = name if name == symbol.text() else f"{name} = {symbol.text()}"
            out.append(f"#   {shown}: {words}")

    out += ["", "Given", f"x:  {fmt(_row(trace, 'x'), p)}", f"y:  {fmt(_row(trace, 'y'), p)}"]
    for k in layer_range:
        out += [f"W{k}:  {fmt(trace[f'W{k}'], p)}", f"b{k}:  {fmt(trace[f'b{k}'], p)}"]

    out += ["", "Forward pass"]
    for k in layer_range:
        below = "x" if k == 1 else f"outL{k - 1}"
        out += [
            f"# inL{k} = {below} @ W{k} + b{k}  (the pre-activation: the input to layer {k}'s "
            "activation)",
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
    l2 = float(trace.info.get("l2", 0.0))
    if trace.n_samples > 1 or l2:
        label = (
            f"Batch error E = {trace.info['reduction']}(e)"
            if trace.n_samples > 1
            else ("Error E = e")
        )
        label += " + L2 penalty" if l2 else ""
        out.append(f"{label}:  {fmt(trace['E'], p)}")
        out += _derived(derivation, "E")

    fused = loss.fused(acts[-1])
    n = trace.n_samples
    mean = f"1/{n} * " if trace.info["reduction"] == "mean" and n > 1 else ""
    for k in range(L, 0, -1):
        below = "x" if k == 1 else f"outL{k - 1}"
        if k == L:
            d_out = f"dE/d{yhat} = {mean}({loss.gradient_formula.replace('yhat', yhat)})"
            d_out = d_out if mean else d_out.replace("(", "", 1)[:-1]
        else:
            d_out = f"dEdInL{k + 1} @ W{k + 1}.T  (W{k + 1} before its update)"
        if k == L and fused:
            # check_targets refused softmax targets whose rows do not sum to 1.
            cond = "; sum(y) = 1" if acts[-1].name == "softmax" else ""
            d_in = f"{mean}(outL{L} - y) ({acts[-1].name} and {loss.name} combined{cond})"
            d_in = d_in if mean else d_in.replace("(", "", 1).replace(") (", " (", 1)
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
            f"# dEdW{k} = "
            + (f"outer({below}, dEdInL{k})" if n == 1 else f"{below}.T @ dEdInL{k}")
            + (f" + l2 * W{k}" if l2 else ""),
            f"dEdW{k}:  {fmt(trace[f'dEdW{k}'], p)}",
            *_derived(derivation, f"dEdW{k}"),
            f"# dEdB{k} = dEdInL{k}" + (" summed over the instances" if n > 1 else ""),
            f"dEdB{k}:  {fmt(trace[f'dEdB{k}'], p)}",
            *_derived(derivation, f"dEdB{k}"),
        ]

    out += ["", "Updating parameters", "# Wk <- Wk - lr * dEdWk;  bk <- bk - lr * dEdBk"]
    for k in layer_range:
        for name in (f"W{k}", f"b{k}"):
            note = "  (frozen: unchanged)" if name in trace.info["frozen"] else ""
            out.append(f"{name}:  {fmt(trace[f'{name}_new'], p)}{note}")
            out += _derived(derivation, f"{name}_new")

    out += ["", f"Error before:  {fmt(trace['e'], p)}", f"Error after:  {fmt(trace['e_new'], p)}"]
    if trace.n_samples > 1 or l2:
        word = "Batch error" if trace.n_samples > 1 else "Error E"
        word += " (with the L2 penalty)" if l2 else ""
        out += [
            f"{word} before:  {fmt(trace['E'], p)}",
            f"{word} after:  {fmt(trace['E_new'], p)}",
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
