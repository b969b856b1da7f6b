"""The explanation as a standalone LaTeX document that compiles with ``pdflatex``.

Only ``amsmath`` and ``graphicx`` are used (part of every LaTeX installation, Debian's
``texlive-latex-base`` included), with the default Computer Modern fonts, so nothing
has to be generated at compile time. Matrices may have any number of columns
(``MaxMatrixCols`` is raised past amsmath's 10), and every display equation is set in a
box that is scaled down to the line width when it would be wider: nothing overflows
the page, whatever the width of a layer or the size of a batch.

Examples
--------
>>> from chainrule import explain, seed_example
>>> seed = seed_example()
>>> tex = explain(seed.network, seed.x, seed.y, lr=seed.lr).render("latex")
>>> tex.startswith(r"\\documentclass") and tex.rstrip().endswith(r"\\end{document}")
True
"""

from __future__ import annotations

import numpy as np

from ..trace import Trace
from .derivation import Derivation, Step
from .diagnostics import summary
from .error_table import error_rows
from .expr import Expr, Mat, Op, Sym, latex_escape, number

PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage{amsmath}
\usepackage{graphicx}
\setcounter{MaxMatrixCols}{200}
\newsavebox{\eqbox}
% A display equation, scaled down to the line width when it is wider.
\newcommand{\fiteq}[1]{\par\smallskip\sbox{\eqbox}{$\displaystyle #1$}%
  \noindent\makebox[\linewidth][c]{\ifdim\wd\eqbox>\linewidth
  \resizebox{\linewidth}{!}{\usebox{\eqbox}}\else\usebox{\eqbox}\fi}\par\smallskip}
\setlength{\textwidth}{7in}
\setlength{\oddsidemargin}{-0.25in}
\setlength{\textheight}{9.2in}
\setlength{\topmargin}{-0.6in}
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
\allowdisplaybreaks
\renewcommand{\labelitemi}{$\bullet$}
"""


def _eq(expr: Expr) -> str:
    return f"\\fiteq{{{expr.latex()}}}"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    cols = "l" + "r" * (len(header) - 1)
    out = [r"\begin{tabular}{" + cols + "}", " & ".join(header) + r" \\ \hline"]
    out += [" & ".join(row) + r" \\" for row in rows]
    return [*out, r"\end{tabular}", ""]


def _step(step: Step, precision: int) -> list[str]:
    label = latex_escape(step.label if step.label == step.key else f"{step.label} ({step.key})")
    out = [f"\\subsubsection*{{{label}}}"]
    ways = ("General formula:", "Matrix form, with shapes:", "With the numbers:")
    for way, expr in zip(ways, (step.general, step.matrix, step.numbers), strict=True):
        out += [way, _eq(expr)]
    if step.local:
        out += ["Local derivatives, at first use:", *(_eq(e) for e in step.local)]
    if step.per_instance:
        out += ["Per instance, then combined:", *(_eq(e) for e in step.per_instance)]
    if step.scalars:
        out += [
            "Entry by entry:",
            r"\begin{small}",
            *(_eq(e) for e in step.scalars),
            r"\end{small}",
        ]
    out += [f"\\emph{{Note.}} {latex_escape(note)}\n" for note in step.notes]
    if step.numeric is not None:
        out.append("Check: each entry beside its central-difference estimate.\n")
        analytic = np.asarray(step.value, dtype=float)
        numeric = np.asarray(step.numeric, dtype=float).reshape(analytic.shape)
        rows = [
            (
                latex_escape(f"{step.key}[{','.join(str(i + 1) for i in index)}]"),
                f"${number(analytic[index], precision)}$",
                f"${number(numeric[index], precision)}$",
            )
            for index in np.ndindex(*analytic.shape)
        ]
        out += _table(("entry", "analytic", "central difference"), rows)
    return out


def render(derivation: Derivation, trace: Trace) -> str:
    """Render a derivation as a complete LaTeX document."""
    d, p = derivation, derivation.precision
    out = [
        PREAMBLE,
        r"\begin{document}",
        f"\\section*{{One training step of {latex_escape(d.title)}}}",
        r"\paragraph{Conventions in force.}",
        r"\begin{itemize}",
    ]
    out += [f"\\item {latex_escape(line)}" for line in d.conventions]
    out += [
        r"\item Indices count from 1, as the layers do; in a batch the first is the instance.",
        f"\\item Level: {d.level}.",
        r"\end{itemize}",
        r"\paragraph{Notation.}",
        r"\begin{itemize}",
        *(
            f"\\item {latex_escape(name)}, ${symbol.latex()}$: {latex_escape(words)}"
            for name, symbol, words in d.legend
        ),
        r"\end{itemize}",
        r"\subsection*{Given}",
    ]
    out += [_eq(Op("=", [Sym(name), Mat(value, p)])) for name, value in d.given]
    for section in d.sections:
        out.append(f"\\subsection*{{{latex_escape(section.title)}}}")
        for step in section.steps:
            out += _step(step, p)
    word = "Batch error" if d.n_samples > 1 else "Error"
    out.append(r"\subsection*{Error before and after the update}")
    out += _table(
        (word, "value"),
        [("before", number(d.error_before, p)), ("after", number(d.error_after, p))],
    )
    if len(d.errors) > 2:
        out.append(f"\\subsection*{{Error over {len(d.errors) - 1} steps}}")
        rows, note = error_rows(d.errors)
        out += _table(("step", "error"), [(str(i), number(e, p)) for i, e in rows])
        out += [latex_escape(note)] if note else []
    out += [r"\subsection*{Diagnostics}", r"\begin{itemize}"]
    out += [f"\\item {latex_escape(line)}" for line in summary(d.diagnostics)]
    out += [r"\end{itemize}", r"\end{document}", ""]
    return "\n".join(out)
