"""Worksheets and answer keys as Markdown, LaTeX and HTML, with the problem embedded.

A worksheet states the problem (conventions, the given values, a diagram in HTML and
Markdown), lists every quantity of the step in order with the blanks drawn as ``?``
matrices of the right shape, and ends with a template of the answers file. Its
problem (spec, blanks, tolerance) is embedded as JSON, in a comment the reader does not
see, so that ``chainrule check`` can recompute everything from the worksheet alone;
:func:`extract` reads it back.

The answer key is the explanation of the step (:func:`chainrule.explain`): every
quantity derived three ways, entry by entry. The formulas, matrices, diagram and page
style are :mod:`chainrule.explain`'s, so a worksheet and its key look alike.

Examples
--------
>>> from chainrule.learn import Exercise
>>> sheet = Exercise.seed(blank="dEdW1").worksheet()
>>> print(sheet.splitlines()[0])
# Worksheet: one training step of the seed notebook's 2-2-1 sigmoid network
>>> extract(sheet)["blank"]
['dEdW1']
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

import numpy as np

from ..datasets.spec import Example
from ..explain import explain
from ..explain.expr import Expr, Mat, Op, Sym, latex_escape
from ..explain.html import STYLE
from ..explain.latex import PREAMBLE
from ..explain.notation import Raw, math_block
from ..explain.svg import render_svg
from ..explain.text import conventions
from ..trace import Trace
from .grading_mistakes import split

FORMATS = ("markdown", "latex", "html")
MARKER = "chainrule-worksheet"
MEANINGS = {
    "inL": "input to layer {k}: {below} @ W{k} + b{k}",
    "outL": "output of layer {k}: f(inL{k})",
    "e": "error of each instance",
    "E": "batch error",
    "dEdOutL": "dE/doutL{k}",
    "dEdInL": "dE/dinL{k}, the delta of layer {k}",
    "dEdW": "dE/dW{k}",
    "dEdB": "dE/db{k}",
    "W_new": "W{k} after the update",
    "b_new": "b{k} after the update",
}
NAMES = [
    "inLk = outL(k-1) @ Wk + bk (x for k = 1) and outLk = f(inLk): the forward pass, one row "
    "per instance",
    "e: the error of each instance; E: the batch error; dEdOutLk, dEdInLk, dEdWk, dEdBk: the "
    "partial derivatives of E; Wk_new, bk_new: the parameters after the update",
    "Wk has shape (inputs, outputs) and bk (outputs,); indices count from 1",
]


def _section(name: str) -> str:
    kind, k = split(name)
    if kind in ("inL", "outL"):
        return f"Forward pass: layer {k}"
    if kind in ("e", "E"):
        return "Error"
    if kind.endswith("_new"):
        return "Updating parameters"
    return f"Backpropagation: layer {k}"


def meaning(name: str) -> str:
    """What quantity ``name`` is, in words."""
    kind, k = split(name)
    below = "x" if k == 1 else f"outL{k - 1}"
    text = MEANINGS[kind].format(k=k, below=below)
    return text[0].upper() + text[1:]


def shown(trace: Trace, name: str) -> np.ndarray:
    """A value as a worksheet shows it: one instance's per-instance values as one row."""
    value = np.asarray(trace[name], dtype=float)
    per_instance = name in ("x", "y") or name.startswith(("inL", "outL", "dEdOutL", "dEdInL"))
    return value[0] if per_instance and trace.n_samples == 1 and value.ndim == 2 else value


def blank_matrix(shape: tuple[int, ...]) -> Raw:
    """A matrix of ``?`` of ``shape``, in the three notations."""
    if shape == ():
        return Raw("?", "?", "<mi>?</mi>")
    rows, cols = (1, shape[0]) if len(shape) == 1 else shape
    tex = r" \\ ".join(" & ".join(["?"] * cols) for _ in range(rows))
    mml = "".join("<mtr>" + "<mtd><mi>?</mi></mtd>" * cols + "</mtr>" for _ in range(rows))
    plain = "[" + " ".join("[" + " ".join(["?"] * cols) + "]" for _ in range(rows)) + "]"
    return Raw(
        plain,
        r"\begin{bmatrix} " + tex + r" \end{bmatrix}",
        f'<mrow><mo>[</mo><mtable columnspacing="1em">{mml}</mtable><mo>]</mo></mrow>',
    )


def _line(trace: Trace, name: str, blank: bool, precision: int) -> Expr:
    value = shown(trace, name)
    right: Expr = blank_matrix(value.shape) if blank else Mat(value, precision)
    return Op("=", [Sym(name), right])


def _shape_words(shape: tuple[int, ...]) -> str:
    if len(shape) < 2:
        count = int(np.prod(shape))
        return "a number" if shape == () else f"{count} value{'s' if count != 1 else ''}"
    return " x ".join(str(n) for n in shape)


def _sections(quantities: list[str]) -> list[tuple[str, list[str]]]:
    """The sections in order, each with its quantities."""
    out: list[tuple[str, list[str]]] = []
    for name in quantities:
        title = _section(name)
        if not out or out[-1][0] != title:
            out.append((title, []))
        out[-1][1].append(name)
    return out


def _given(trace: Trace) -> list[tuple[str, np.ndarray]]:
    names = ["x", "y"] + [
        name for k in range(1, int(trace.info["n_layers"]) + 1) for name in (f"W{k}", f"b{k}")
    ]
    return [(name, shown(trace, name)) for name in names]


def answers_template(trace: Trace, blanks: list[str]) -> list[str]:
    """The lines of an answers file to fill in (TOML), each blank with its shape."""
    lines = ["# Fill in the numbers and remove the # in front of each line you answer."]
    for name in blanks:
        value = shown(trace, name)
        zeros = json.dumps(np.zeros(value.shape).tolist()).replace("0.0", "?")
        lines.append(f"# {name} = {zeros}")
    return lines


def answers_toml(values: dict[str, np.ndarray], precision: int = 6) -> str:
    """An answers file (TOML) holding ``values``, rounded to ``precision`` digits."""
    return "".join(
        f"{name} = {json.dumps(np.round(np.asarray(v, dtype=float), precision).tolist())}\n"
        for name, v in values.items()
    )


def embed(problem: dict[str, Any]) -> str:
    """The problem as one line of JSON that is safe inside an HTML comment and in LaTeX."""
    text = json.dumps(problem, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    # "--" and ">" would end an HTML comment early; they can only occur inside strings.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("--", "-\\u002d")


def extract(text: str) -> dict[str, Any]:
    """The problem embedded in a worksheet of any format."""
    start = text.rfind(MARKER)
    if start < 0:
        raise ValueError("it holds no chainrule worksheet problem (was it made by chainrule?)")
    body = start + len(MARKER)
    while body < len(text) and text[body] in " \t\r\n":
        body += 1
    try:
        data, _ = json.JSONDecoder().raw_decode(text, body)
    except ValueError as exc:
        raise ValueError(f"its embedded problem is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("its embedded problem is not a JSON object")
    return data


def _masked(trace: Trace, quantities: list[str], blanks: list[str]) -> Trace:
    """A copy of ``trace`` holding only what the worksheet shows; the rest unknown (NaN).

    Shown: ``x``, ``y``, the parameters and the quantities that are not blank (``E`` of
    one instance with ``e``). Everything else (the blanks, the error after the step) is
    NaN, so that the diagram cannot give an answer away.
    """
    known = {"x", "y", *(q for q in quantities if q not in blanks)}
    known |= {f"{p}{k}" for k in range(1, int(trace.info["n_layers"]) + 1) for p in "Wb"}
    if "e" in known:
        known.add("E")
    masked = Trace()
    masked.info = dict(trace.info)
    for name, value in trace.items():
        array = np.asarray(value, dtype=float)
        masked.record(name, array if name in known else np.full_like(array, np.nan))
    return masked


def diagram(trace: Trace, quantities: list[str], blanks: list[str]) -> str:
    """The forward view of explain's diagram, every value not shown drawn as ``?``."""
    with np.errstate(invalid="ignore"):
        svg = render_svg(_masked(trace, quantities, blanks), view="forward")
    return re.sub(r"\bnan\b", "?", svg)


def _intro(tolerance: str) -> list[str]:
    return [
        "Work out each blank (?) of one step of plain gradient descent, in the order shown; "
        "keep four significant digits or more.",
        f"An answer is right with {tolerance}.",
    ]


def _markdown(
    trace: Trace, quantities: list[str], blanks: list[str], tolerance: str, title: str, p: int
) -> list[str]:
    out = [f"# Worksheet: one training step of {title}", ""]
    out += [*_intro(tolerance), "", "**Conventions in force**", ""]
    out += [f"- {line}" for line in [*conventions(trace), *NAMES]]
    out += ["", "## Given", ""]
    out += [f"$$ {Op('=', [Sym(n), Mat(v, p)]).latex()} $$" for n, v in _given(trace)]
    out += ["", "## Diagram", "", diagram(trace, quantities, blanks).rstrip("\n"), ""]
    for section, names in _sections(quantities):
        out += [f"## {section}", ""]
        for name in names:
            blank = name in blanks
            tag = f" ({_shape_words(shown(trace, name).shape)}, to work out)" if blank else ""
            out += [
                f"{meaning(name)}{tag}:",
                "",
                f"$$ {_line(trace, name, blank, p).latex()} $$",
                "",
            ]
    out += [
        "## Your answers",
        "",
        "Write them in a file `answers.toml` and check them with "
        "`chainrule check WORKSHEET answers.toml`; answers may be given a few at a time.",
        "",
        "```toml",
        *answers_template(trace, blanks),
        "```",
        "",
    ]
    return out


def _latex(
    trace: Trace, quantities: list[str], blanks: list[str], tolerance: str, title: str, p: int
) -> list[str]:
    out = [
        PREAMBLE,
        r"\begin{document}",
        f"\\section*{{Worksheet: one training step of {latex_escape(title)}}}",
        *(latex_escape(line) + "\n" for line in _intro(tolerance)),
        r"\paragraph{Conventions in force.}",
        r"\begin{itemize}",
        *(f"\\item {latex_escape(line)}" for line in [*conventions(trace), *NAMES]),
        r"\end{itemize}",
        r"\subsection*{Given}",
    ]
    out += [f"\\[ {Op('=', [Sym(n), Mat(v, p)]).latex()} \\]" for n, v in _given(trace)]
    for section, names in _sections(quantities):
        out.append(f"\\subsection*{{{latex_escape(section)}}}")
        for name in names:
            blank = name in blanks
            tag = f" ({_shape_words(shown(trace, name).shape)}, to work out)" if blank else ""
            out += [
                latex_escape(f"{meaning(name)}{tag}:"),
                f"\\[ {_line(trace, name, blank, p).latex()} \\]",
            ]
    out += [
        r"\subsection*{Your answers}",
        latex_escape(
            "Write them in a file answers.toml and check them with "
            "chainrule check WORKSHEET answers.toml; answers may be given a few at a time:"
        ),
        r"\begin{verbatim}",
        *answers_template(trace, blanks),
        r"\end{verbatim}",
    ]
    return out


def _html_body(
    trace: Trace, quantities: list[str], blanks: list[str], tolerance: str, title: str, p: int
) -> list[str]:
    heading = f"Worksheet: one training step of {title}"
    out = [f'<div class="chainrule"><style>{STYLE}</style>', f"<h1>{escape(heading)}</h1>"]
    out += [f"<p>{escape(line)}</p>" for line in _intro(tolerance)]
    out.append("<p><strong>Conventions in force</strong></p><ul>")
    out += [f"<li>{escape(line)}</li>" for line in [*conventions(trace), *NAMES]]
    out += ["</ul>", "<h2>Diagram</h2>", diagram(trace, quantities, blanks), "<h2>Given</h2>"]
    out += [math_block(Op("=", [Sym(n), Mat(v, p)])) for n, v in _given(trace)]
    for section, names in _sections(quantities):
        out.append(f"<h2>{escape(section)}</h2>")
        for name in names:
            blank = name in blanks
            tag = f" ({_shape_words(shown(trace, name).shape)}, to work out)" if blank else ""
            out += [
                f'<p class="way" id="{escape(name)}">{escape(meaning(name) + tag)}:</p>',
                math_block(_line(trace, name, blank, p)),
            ]
    template = "\n".join(answers_template(trace, blanks))
    out += [
        "<h2>Your answers</h2>",
        "<p>Write them in a file <code>answers.toml</code> and check them with "
        "<code>chainrule check WORKSHEET answers.toml</code>; answers may be given a few at "
        "a time:</p>",
        f"<pre>{escape(template)}</pre>",
        "</div>",
    ]
    return out


def worksheet_fragment(
    trace: Trace, quantities: list[str], blanks: list[str], tolerance: str, title: str, p: int
) -> str:
    """The worksheet as a ``<div>`` for a notebook (no problem embedded)."""
    return "\n".join(_html_body(trace, quantities, blanks, tolerance, title, p))


def worksheet(
    trace: Trace,
    quantities: list[str],
    blanks: list[str],
    tolerance: str,
    title: str,
    precision: int,
    problem: dict[str, Any],
    format: str = "markdown",
) -> str:
    """The worksheet document in ``format``, with ``problem`` embedded for checking.

    Parameters
    ----------
    trace : Trace
        The exact step.
    quantities : list of str
        Every quantity of the step, in order.
    blanks : list of str
        Those drawn as ``?``.
    tolerance : str
        How close an answer must be, in words.
    title : str
    precision : int
        Digits after the point of the numbers shown.
    problem : dict
        The machine-readable problem (:meth:`Exercise.to_dict`).
    format : {"markdown", "latex", "html"}
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {format!r}")
    args = (trace, quantities, blanks, tolerance, title, precision)
    data = embed(problem)
    if format == "markdown":
        return "\n".join([*_markdown(*args), f"<!-- {MARKER} {data} -->", ""])
    if format == "latex":
        return "\n".join([*_latex(*args), f"% {MARKER} {data}", r"\end{document}", ""])
    heading = f"Worksheet: one training step of {title}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(heading)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"</head>\n<body>\n{chr(10).join(_html_body(*args))}\n"
        f"<!-- {MARKER} {data} -->\n</body>\n</html>\n"
    )


def answer_key(example: Example, title: str, precision: int, format: str = "markdown") -> str:
    """The answer key: the explanation of the step (every value derived), in ``format``."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {format!r}")
    explanation = explain(
        example.network,
        example.x,
        example.y,
        lr=example.lr,
        loss=example.loss,
        reduction=example.reduction,
        title=title,
    )
    return explanation.render(format, precision=precision)
