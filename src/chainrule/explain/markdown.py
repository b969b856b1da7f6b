"""The explanation as Markdown, every formula in LaTeX inside a ```` ```math ```` fence.

GitHub's Markdown rewrites ``\\,``, ``\\\\`` and ``_..._`` pairs inside one-line
``$$ ... $$`` before the maths renderer sees them, and strips inline ``<svg>``. So each
display equation is a fenced ```` ```math ```` block (GitHub, GitLab and markdown-it with
a maths plugin hand its content to the renderer unchanged), and the diagrams are
linked ``.svg`` files written beside the Markdown (``diagram=`` and ``graph=`` name them).

Examples
--------
>>> from chainrule import explain, seed_example
>>> seed = seed_example()
>>> md = explain(seed.network, seed.x, seed.y, lr=seed.lr, title=seed.title).render("markdown")
>>> print(md.splitlines()[0])
# One training step of the seed notebook's 2-2-1 sigmoid network
>>> i = md.index("### Pre-activation of layer 1")
>>> print(md[i:].split("```math")[3].splitlines()[1][:55])
\\mathit{inL1} = \\begin{bmatrix} 0.5 & 0.1 \\end{bmatrix}
>>> "$$" in md or "<svg" in md
False
"""

from __future__ import annotations

import numpy as np

from ..trace import Trace
from .derivation import Derivation, Step
from .diagnostics import summary
from .error_table import error_rows
from .expr import Expr, Mat, Op, Sym, number

WAYS = ("General formula", "Matrix form, with shapes", "With the numbers")


def eq(expr: Expr) -> str:
    """One display equation, a fenced ```` ```math ```` block."""
    return f"```math\n{expr.latex()}\n```"


def _step(step: Step, precision: int) -> list[str]:
    out = [f"### {step.label}" if step.label == step.key else f"### {step.label} ({step.key})", ""]
    for way, expr in zip(WAYS, (step.general, step.matrix, step.numbers), strict=True):
        out += [f"{way}:", "", eq(expr), ""]
    if step.local:
        out += ["Local derivatives, at first use:", ""]
        out += [line for expr in step.local for line in (eq(expr), "")]
    if step.per_instance:
        out += ["Per instance, then combined:", ""]
        out += [line for expr in step.per_instance for line in (eq(expr), "")]
    if step.scalars:
        out += ["Entry by entry:", ""]
        out += [line for expr in step.scalars for line in (eq(expr), "")]
    out += [f"> **Note.** {note}\n" for note in step.notes]
    if step.numeric is not None:
        out += [
            "Check: each entry beside its central-difference estimate",
            "",
            "| entry | analytic | central difference |",
            "| --- | ---: | ---: |",
        ]
        analytic = np.asarray(step.value, dtype=float)
        numeric = np.asarray(step.numeric, dtype=float).reshape(analytic.shape)
        for index in np.ndindex(*analytic.shape):
            name = f"{step.key}[{','.join(str(i + 1) for i in index)}]"
            out.append(
                f"| {name} | {number(analytic[index], precision)} | "
                f"{number(numeric[index], precision)} |"
            )
        out.append("")
    return out


def render(
    derivation: Derivation,
    trace: Trace,
    *,
    diagram: str | None = None,
    graph: str | None = None,
) -> str:
    """Render a derivation as Markdown.

    Parameters
    ----------
    derivation : Derivation
    trace : Trace
        Unused beyond the derivation; kept so that every renderer takes the same arguments.
    diagram, graph : str, optional
        Relative paths of the network diagram and the computational graph (``.svg``
        files written beside the Markdown), linked as images; omitted when None.
    """
    d, p = derivation, derivation.precision
    out = [f"# One training step of {d.title}", "", "**Conventions in force**", ""]
    out += [f"- {line}" for line in d.conventions]
    out += [
        "- Indices count from 1, as the layers do; in a batch the first is the instance.",
        f"- Level: {d.level}"
        + (" (formulas and values; no entry-by-entry expansion)" if d.level == "summary" else ""),
        "",
        "**Notation**",
        "",
        "| name | symbol | also written |",
        "| --- | --- | --- |",
    ]
    out += [f"| {name} | `{symbol.text()}` | {words} |" for name, symbol, words in d.legend]
    out.append("")
    if diagram:
        out += ["## Diagram", "", f"![Network diagram of the step]({diagram})", ""]
    if graph:
        out += ["## Computational graph", "", f"![Computational graph of the step]({graph})", ""]
    out += ["## Given", ""]
    out += [
        line for name, value in d.given for line in (eq(Op("=", [Sym(name), Mat(value, p)])), "")
    ]
    for section in d.sections:
        out += [f"## {section.title}", ""]
        for step in section.steps:
            out += _step(step, p)
    word = "Batch error" if d.n_samples > 1 else "Error"
    out += [
        "## Error before and after the update",
        "",
        f"| {word} | value |",
        "| --- | ---: |",
        f"| before | {number(d.error_before, p)} |",
        f"| after | {number(d.error_after, p)} |",
        "",
    ]
    if len(d.errors) > 2:
        out += [
            f"## Error over {len(d.errors) - 1} steps",
            "",
            "| step | error |",
            "| ---: | ---: |",
        ]
        rows, note = error_rows(d.errors)
        out += [f"| {i} | {number(e, p)} |" for i, e in rows]
        out += ["", note, ""] if note else [""]
    out += ["## Diagnostics", ""]
    out += [f"- {line}" for line in summary(d.diagnostics)]
    out.append("")
    return "\n".join(out)
