"""A tiny formula tree that prints itself as plain text, LaTeX and MathML.

Every formula of an explanation is built once, as a tree of these nodes, and each
renderer asks it for its own notation. The numbers inside are formatted by one
function, :func:`number`, so the formats cannot disagree.

Examples
--------
>>> from chainrule.explain.expr import D, Num, Op, Sym
>>> chain = Op("=", [D("E", Sym("W2", (1, 1))), Op("*", [Num(-0.153905), Num(0.75)])])
>>> chain.text()
'dE/dW2[1,1] = (-0.153905) * 0.75'
>>> chain.latex()
'\\\\frac{\\\\partial E}{\\\\partial \\\\mathit{W2}_{1,1}} = (-0.153905) \\\\cdot 0.75'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np


def number(value: float, precision: int = 6) -> str:
    """A number with ``precision`` digits after the point, trailing zeros dropped.

    Values too small to show a digit at that precision are written in scientific
    notation, so a vanishing gradient never reads as a plain zero.

    >>> number(0.15), number(1.0), number(-0.0291549), number(3.2e-9), number(1e-9)
    ('0.15', '1', '-0.029155', '3.2e-09', '1e-09')
    """
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value != 0 and abs(value) < 0.5 * 10.0**-precision:
        text = np.format_float_scientific(value, precision=max(precision - 1, 1), trim="-")
        return text.replace(".e", "e")
    text = np.format_float_positional(value, precision=precision, unique=False, trim="-")
    return "0" if text in ("-0", "0") else text


def _latex_number(text: str) -> str:
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


class Expr:
    """A formula node; subclasses print themselves in three notations."""

    def text(self) -> str:
        """Plain text, as in the text explanation."""
        raise NotImplementedError

    def latex(self) -> str:
        """LaTeX math (no surrounding ``$``)."""
        raise NotImplementedError

    def mathml(self) -> str:
        """MathML presentation markup, the content of a ``<math>`` element."""
        raise NotImplementedError

    @property
    def negative(self) -> bool:
        """Whether the node prints with a leading minus (then products put it in parentheses)."""
        return False


def _index_text(index: tuple[int | str, ...]) -> str:
    return ",".join(str(i) for i in index)


def _split_new(name: str) -> tuple[str, bool]:
    """``W1_new`` is written W1 with a superscript "new" in LaTeX and MathML."""
    return (name[:-4], True) if name.endswith("_new") else (name, False)


def latex_escape(text: str) -> str:
    """Escape the characters LaTeX treats specially in running text (OT1 fonts: no ``<``)."""
    special = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#",
               "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
               "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
               "|": r"\textbar{}"}  # fmt: skip
    return "".join(special.get(c, c) for c in text)


def _index_mathml(i: int | str) -> str:
    return f"<mn>{i}</mn>" if isinstance(i, int) else f"<mi>{escape(i)}</mi>"


@dataclass(frozen=True)
class Sym(Expr):
    """A named quantity, e.g. ``inL2``, or one entry of it, ``W2[1,2]`` (counted from 1)."""

    name: str
    index: tuple[int | str, ...] = ()

    def text(self) -> str:
        return f"{self.name}[{_index_text(self.index)}]" if self.index else self.name

    def latex(self) -> str:
        name, new = _split_new(self.name)
        base = name if len(name) == 1 else rf"\mathit{{{name}}}"
        base = rf"{base}^{{\mathrm{{new}}}}" if new else base
        return f"{base}_{{{_index_text(self.index)}}}" if self.index else base

    def mathml(self) -> str:
        name, new = _split_new(self.name)
        base = f"<mi>{escape(name)}</mi>"
        if new:
            base = f"<msup>{base}<mi mathvariant='normal'>new</mi></msup>"
        if not self.index:
            return base
        index = "<mo>,</mo>".join(_index_mathml(i) for i in self.index)
        return f"<msub>{base}<mrow>{index}</mrow></msub>"


@dataclass(frozen=True)
class Num(Expr):
    """A number, printed by :func:`number`."""

    value: float
    precision: int = 6

    def text(self) -> str:
        return number(self.value, self.precision)

    def latex(self) -> str:
        return _latex_number(number(self.value, self.precision))

    def mathml(self) -> str:
        return _mn(number(self.value, self.precision))

    @property
    def negative(self) -> bool:
        return number(self.value, self.precision).startswith("-")


@dataclass(frozen=True)
class Mat(Expr):
    """An array of numbers: 1-D as a row vector, 2-D as a matrix."""

    values: Any
    precision: int = 6

    def _rows(self) -> list[list[str]]:
        array = np.asarray(self.values, dtype=float)
        array = array.reshape(1, -1) if array.ndim < 2 else array
        return [[number(v, self.precision) for v in row] for row in array]

    def text(self) -> str:
        rows = ["[" + " ".join(row) + "]" for row in self._rows()]
        return rows[0] if np.ndim(self.values) < 2 else "[" + " ".join(rows) + "]"

    def latex(self) -> str:
        rows = [" & ".join(_latex_number(v) for v in row) for row in self._rows()]
        return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"

    def mathml(self) -> str:
        rows = "".join(
            "<mtr>" + "".join(f"<mtd>{_mn(v)}</mtd>" for v in row) + "</mtr>"
            for row in self._rows()
        )
        return f'<mrow><mo>[</mo><mtable columnspacing="0.6em">{rows}</mtable><mo>]</mo></mrow>'


def _mn(text: str) -> str:
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = f"<msup><mn>10</mn><mn>{int(exponent)}</mn></msup>"
        return f"<mrow><mn>{mantissa}</mn><mo>×</mo>{power}</mrow>"
    return f"<mn>{text}</mn>"


@dataclass(frozen=True)
class Word(Expr):
    """Words inside a formula, e.g. ``(mean over 4 instances)``."""

    words: str

    def text(self) -> str:
        return self.words

    def latex(self) -> str:
        return rf"\text{{{latex_escape(self.words)}}}"

    def mathml(self) -> str:
        return f"<mtext>{escape(self.words)}</mtext>"


@dataclass(frozen=True)
class D(Expr):
    """A partial derivative ``d top / d bottom``; ``top`` may be a plain name like ``E``."""

    top: Expr | str
    bottom: Expr | str

    def _parts(self) -> tuple[Expr, Expr]:
        top = Sym(self.top) if isinstance(self.top, str) else self.top
        bottom = Sym(self.bottom) if isinstance(self.bottom, str) else self.bottom
        return top, bottom

    def text(self) -> str:
        top, bottom = self._parts()
        return f"d{top.text()}/d{bottom.text()}"

    def latex(self) -> str:
        top, bottom = self._parts()
        return rf"\frac{{\partial {top.latex()}}}{{\partial {bottom.latex()}}}"

    def mathml(self) -> str:
        top, bottom = self._parts()
        return (
            f"<mfrac><mrow><mo>∂</mo>{top.mathml()}</mrow>"
            f"<mrow><mo>∂</mo>{bottom.mathml()}</mrow></mfrac>"
        )


# operator: (text, LaTeX, MathML)
OPERATORS = {
    "=": (" = ", " = ", "="),
    "+": (" + ", " + ", "+"),
    "-": (" - ", " - ", "−"),
    "*": (" * ", r" \cdot ", "·"),
    "⊙": (" * ", r" \odot ", "⊙"),
    "@": (" @ ", r" \, ", "\u2062"),
    "≈": (" ~ ", r" \approx ", "≈"),
    "<-": (" <- ", r" \leftarrow ", "←"),
    "/": (" / ", " / ", "/"),
    " ": (" ", " ", "\u2062"),
    ",": (", ", ", ", ","),
}


@dataclass(frozen=True)
class Op(Expr):
    """Items joined by an infix operator; negative numbers in products get parentheses."""

    op: str
    items: list[Expr]

    def _item(self, item: Expr, notation: str) -> str:
        inner = getattr(item, notation)()
        wrap = (self.op in "*⊙@-/ " and item.negative and item is not self.items[0]) or (
            self.op in "*⊙@" and item.negative
        )
        wrap = wrap or (self.op in "*⊙@/ " and isinstance(item, Op) and item.op in "+-")
        # a - (b + c): a sum or difference after a minus keeps its parentheses
        later = item is not self.items[0]
        wrap = wrap or (self.op == "-" and later and isinstance(item, Op) and item.op in "+-")
        if not wrap:
            return inner
        if notation == "mathml":
            return f"<mrow><mo>(</mo>{inner}<mo>)</mo></mrow>"
        return f"({inner})"

    def text(self) -> str:
        return OPERATORS[self.op][0].join(self._item(i, "text") for i in self.items)

    def latex(self) -> str:
        return OPERATORS[self.op][1].join(self._item(i, "latex") for i in self.items)

    def mathml(self) -> str:
        # A matrix product is juxtaposition; a little space keeps shapes beneath apart.
        sep = '<mspace width="0.35em"/>' if self.op == "@" else f"<mo>{OPERATORS[self.op][2]}</mo>"
        return "<mrow>" + sep.join(self._item(i, "mathml") for i in self.items) + "</mrow>"
