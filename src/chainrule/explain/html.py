"""The explanation as one self-contained HTML file: MathML for the maths, inline SVG.

The page needs no network and no script: the styles are inline, the formulas are
MathML (rendered natively by current browsers) and the diagram is an inline SVG.

Examples
--------
>>> from chainrule import explain, seed_example
>>> seed = seed_example()
>>> page = explain(seed.network, seed.x, seed.y, lr=seed.lr).render("html")
>>> page.startswith("<!DOCTYPE html>") and "<script" not in page and "http://" not in page.replace(
...     'xmlns="http://www.w3.org/', "")
True
"""

from __future__ import annotations

from html import escape

import numpy as np

from ..trace import Trace
from .derivation import Derivation, Step
from .diagnostics import summary
from .error_table import error_rows
from .expr import Expr, Mat, Op, Sym, number
from .graph import graph_fits, render_graph
from .notation import math_block
from .svg import render_svg

STYLE = """
.chainrule { font-family: Georgia, serif; max-width: 75em; margin: 1em auto; color: #222;
  line-height: 1.4; padding: 0 1em; }
.chainrule h1 { font-size: 1.6em; } .chainrule h2 { border-bottom: 1px solid #ccc; }
.chainrule h3 { font-size: 1.05em; margin-bottom: 0.2em; }
.chainrule math[display="block"] { overflow-x: auto; overflow-y: hidden; padding: 0.3em 0;
  margin: 0 0 0.3em 1em; }
.chainrule .way { color: #555; font-size: 0.9em; margin: 0.2em 0 0 0; }
.chainrule table { border-collapse: collapse; margin: 0.4em 0 0.8em 1em; }
.chainrule td, .chainrule th { border: 1px solid #ccc; padding: 0.15em 0.6em; text-align: right; }
.chainrule .flag { color: #a04000; }
.chainrule details { margin-left: 1em; }
.chainrule summary { cursor: pointer; color: #555; font-size: 0.9em; }
.chainrule .note { background: #fff8e6; border-left: 3px solid #e0a020; padding: 0.2em 0.6em;
  margin: 0.3em 0 0.3em 1em; font-size: 0.92em; }
.chainrule table.legend td, .chainrule table.legend th { text-align: left; }
.chainrule svg { max-width: 100%; height: auto; }
"""


def _eq(expr: Expr) -> str:
    return math_block(expr)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _step(step: Step, precision: int) -> list[str]:
    label = step.label if step.label == step.key else f"{step.label} ({step.key})"
    out = [f'<h3 id="{escape(step.key)}">{escape(label)}</h3>']
    ways = ("General formula", "Matrix form, with shapes", "With the numbers")
    for way, expr in zip(ways, (step.general, step.matrix, step.numbers), strict=True):
        out += [f'<p class="way">{way}:</p>', _eq(expr)]
    if step.local:
        out.append('<details open="open"><summary>Local derivatives, at first use</summary>')
        out += [_eq(e) for e in step.local]
        out.append("</details>")
    if step.per_instance:
        out.append("<details><summary>Per instance, then combined</summary>")
        out += [_eq(e) for e in step.per_instance]
        out.append("</details>")
    if step.scalars:
        out.append("<details><summary>Entry by entry</summary>")
        out += [_eq(e) for e in step.scalars]
        out.append("</details>")
    out += [f'<p class="note"><strong>Note.</strong> {escape(note)}</p>' for note in step.notes]
    if step.numeric is not None:
        analytic = np.asarray(step.value, dtype=float)
        numeric = np.asarray(step.numeric, dtype=float).reshape(analytic.shape)
        rows = [
            (
                f"{step.key}[{','.join(str(i + 1) for i in index)}]",
                number(analytic[index], precision),
                number(numeric[index], precision),
            )
            for index in np.ndindex(*analytic.shape)
        ]
        out += [
            '<p class="way">Check: each entry beside its central-difference estimate:</p>',
            _table(("entry", "analytic", "central difference"), rows),
        ]
    return out


def render(
    derivation: Derivation, trace: Trace, *, standalone: bool = True, graph: bool = True
) -> str:
    """Render a derivation as HTML: a whole page, or a ``<div>`` for a notebook.

    The network diagram is always embedded; ``graph`` also embeds the computational
    graph (for networks of up to :data:`~chainrule.explain.graph.MAX_GRAPH_NEURONS` neurons).
    """
    graph = graph and graph_fits(trace)
    d, p = derivation, derivation.precision
    title = f"One training step of {d.title}"
    out = [f'<div class="chainrule"><style>{STYLE}</style>', f"<h1>{escape(title)}</h1>"]
    out.append("<p><strong>Conventions in force</strong></p><ul>")
    out += [f"<li>{escape(line)}</li>" for line in d.conventions]
    out += [
        "<li>Indices count from 1, as the layers do; in a batch the first is the instance.</li>",
        f"<li>Level: {escape(d.level)}; click a <em>details</em> line to open or close it.</li>",
        "</ul>",
        '<details open="open"><summary>Notation</summary><table class="legend">',
        "<tr><th>name</th><th>symbol</th><th>also written</th></tr>",
        *(
            f"<tr><td>{escape(name)}</td><td><math>{symbol.mathml()}</math></td>"
            f"<td>{escape(words)}</td></tr>"
            for name, symbol, words in d.legend
        ),
        "</table></details>",
        "<h2>Diagram</h2>",
        render_svg(trace),
    ]
    if graph:
        out += ["<h2>Computational graph</h2>", render_graph(trace)]
    out += ["<h2>Given</h2>"]
    out += [_eq(Op("=", [Sym(name), Mat(value, p)])) for name, value in d.given]
    for section in d.sections:
        out.append(f"<h2>{escape(section.title)}</h2>")
        for step in section.steps:
            out += _step(step, p)
    word = "Batch error" if d.n_samples > 1 else "Error"
    out += [
        "<h2>Error before and after the update</h2>",
        _table(
            (word, "value"),
            [("before", number(d.error_before, p)), ("after", number(d.error_after, p))],
        ),
    ]
    if len(d.errors) > 2:
        out.append(f"<h2>Error over {len(d.errors) - 1} steps</h2>")
        rows, note = error_rows(d.errors)
        out.append(_table(("step", "error"), [(str(i), number(e, p)) for i, e in rows]))
        out += [f"<p>{escape(note)}</p>"] if note else []
    out.append("<h2>Diagnostics</h2><ul>")
    lines = summary(d.diagnostics)
    out += [
        f'<li class="{"flag" if line in d.diagnostics.findings else ""}">{escape(line)}</li>'
        for line in lines
    ]
    out.append("</ul></div>")
    body = "\n".join(out)
    if not standalone:
        return body
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
