"""More formula nodes: function calls, transposes, shapes, sums, fractions, powers.

See :mod:`chainrule.explain.expr` for the base nodes. Each prints itself as plain text,
LaTeX and MathML.

Examples
--------
>>> from chainrule.explain.expr import Sym
>>> from chainrule.explain.notation import Shaped, T
>>> Shaped(T(Sym("x")), (2, 1)).latex()
'\\\\underset{2 \\\\times 1}{x^{\\\\top}}'
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from .expr import Expr, Mat, Num, Sym


@dataclass(frozen=True)
class Call(Expr):
    """A function applied to an argument, e.g. ``sigmoid'(inL2)``."""

    name: str
    arg: Expr

    def text(self) -> str:
        return f"{self.name}({self.arg.text()})"

    def latex(self) -> str:
        name = self.name.replace("_", r"\_").replace("'", "")
        prime = "'" if self.name.endswith("'") else ""
        return rf"\mathrm{{{name}}}{prime}\left({self.arg.latex()}\right)"

    def mathml(self) -> str:
        return (
            f"<mrow><mi mathvariant='normal'>{escape(self.name)}</mi>"
            f"<mo>(</mo>{self.arg.mathml()}<mo>)</mo></mrow>"
        )


@dataclass(frozen=True)
class T(Expr):
    """The transpose of a matrix."""

    arg: Expr

    def text(self) -> str:
        return f"{self.arg.text()}.T"

    def latex(self) -> str:
        return rf"{self.arg.latex()}^{{\top}}"

    def mathml(self) -> str:
        return f"<msup>{self.arg.mathml()}<mo>⊤</mo></msup>"


@dataclass(frozen=True)
class Shaped(Expr):
    """A quantity with its shape written beneath it (the matrix form with shapes)."""

    arg: Expr
    shape: tuple[int, ...]

    def _shape(self, sep: str) -> str:
        return sep.join(str(n) for n in self.shape)

    def text(self) -> str:
        return f"{self.arg.text()}({self._shape('x')})"

    def latex(self) -> str:
        shape = self._shape(r" \times ")
        return rf"\underset{{{shape}}}{{{self.arg.latex()}}}"

    def mathml(self) -> str:
        shape = "<mo>×</mo>".join(f"<mn>{n}</mn>" for n in self.shape)
        return f"<munder>{self.arg.mathml()}<mrow>{shape}</mrow></munder>"


@dataclass(frozen=True)
class Sum(Expr):
    """A sum over an index, e.g. ``sum_i (...)``."""

    index: str
    body: Expr

    def text(self) -> str:
        return f"sum_{self.index} {self.body.text()}"

    def latex(self) -> str:
        return rf"\sum_{{{self.index}}} {self.body.latex()}"

    def mathml(self) -> str:
        return (
            f"<mrow><munder><mo>∑</mo><mi>{escape(self.index)}</mi></munder>"
            f"{self.body.mathml()}</mrow>"
        )


@dataclass(frozen=True)
class Raw(Expr):
    """A fixed piece of notation given in all three forms, e.g. one half."""

    plain: str
    tex: str
    mml: str

    def text(self) -> str:
        return self.plain

    def latex(self) -> str:
        return self.tex

    def mathml(self) -> str:
        return self.mml


@dataclass(frozen=True)
class Pow(Expr):
    """``base ** exponent`` for a small whole exponent."""

    base: Expr
    exponent: int

    def text(self) -> str:
        base = self.base.text()
        simple = isinstance(self.base, Atom) and not self.base.negative
        return f"{base}**{self.exponent}" if simple else f"({base})**{self.exponent}"

    def latex(self) -> str:
        return rf"\left({self.base.latex()}\right)^{{{self.exponent}}}"

    def mathml(self) -> str:
        inner = f"<mrow><mo>(</mo>{self.base.mathml()}<mo>)</mo></mrow>"
        return f"<msup>{inner}<mn>{self.exponent}</mn></msup>"


@dataclass(frozen=True)
class Frac(Expr):
    """A quotient of two formulas."""

    top: Expr
    bottom: Expr

    def text(self) -> str:
        top, bottom = self.top.text(), self.bottom.text()
        # a single name, number, array or call needs no parentheses; anything else does
        top = top if isinstance(self.top, Atom) else f"({top})"
        bottom = (
            bottom
            if isinstance(self.bottom, Atom) and not self.bottom.negative
            else (f"({bottom})")
        )
        return f"{top} / {bottom}"

    def latex(self) -> str:
        return rf"\frac{{{self.top.latex()}}}{{{self.bottom.latex()}}}"

    def mathml(self) -> str:
        return f"<mfrac><mrow>{self.top.mathml()}</mrow><mrow>{self.bottom.mathml()}</mrow></mfrac>"


Atom = (Sym, Num, Mat, Call)
"""Nodes that print as one unit in plain text (no parentheses needed around them)."""


def math_block(expr: Expr) -> str:
    """``expr`` as a display ``<math>`` element."""
    return f'<math display="block">{expr.mathml()}</math>'


HALF = Raw("1/2", r"\tfrac{1}{2}", "<mfrac><mn>1</mn><mn>2</mn></mfrac>")


def frac(numerator: int, denominator: int) -> Raw:
    """A constant fraction such as ``1/4``."""
    return Raw(
        f"{numerator}/{denominator}",
        rf"\tfrac{{{numerator}}}{{{denominator}}}",
        f"<mfrac><mn>{numerator}</mn><mn>{denominator}</mn></mfrac>",
    )


MINUS = Raw("-", "-", "<mo>−</mo>")
