"""The loss and activation formulas of a derivation, as :mod:`~chainrule.explain.expr` trees.

Each function takes the operands as formula nodes, so the same function gives the
formula in symbols (called with :class:`~chainrule.explain.expr.Sym`) and with the
numbers substituted (called with :class:`~chainrule.explain.expr.Num`).

Examples
--------
>>> from chainrule.explain.expr import Num, Sym
>>> from chainrule.explain.formulas import loss_gradient
>>> from chainrule.losses import get_loss
>>> loss_gradient(get_loss("half_squared_error"), Sym("outL2", (1,)), Sym("y", (1,)), 1).text()
'outL2[1] - y[1]'
>>> loss_gradient(get_loss("mse"), Num(0.75), Num(0.9), 2).text()
'2/2 * (0.75 - 0.9)'
>>> loss_gradient(get_loss("mse"), Num(0.75), Num(0.9), 1).text()
'2 * (0.75 - 0.9)'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..losses import Loss
from .expr import Expr, Num, Op
from .notation import HALF, MINUS, Call, Frac, Pow, Raw, Sum, frac

Entry = Callable[[Any], Expr]
"""An entry of a row by output index ``j`` (from 1, or the letter ``"j"``): a symbol or a number."""


def loss_gradient(loss: Loss, yhat: Expr, y: Expr, n_out: int) -> Expr | None:
    """dE/dyhat_j of one instance for the built-in losses (None for any other loss)."""
    diff = Op("-", [yhat, y])
    if loss.name == "half_squared_error":
        return diff
    if loss.name == "mean_squared_error":
        return Op("*", [frac(2, n_out) if n_out > 1 else Num(2), diff])
    if loss.name == "binary_cross_entropy":
        return Frac(diff, Op("*", [yhat, Op("-", [Num(1), yhat])]))
    if loss.name == "cross_entropy":
        return Op(" ", [MINUS, Frac(y, yhat)])
    return None


def loss_error(
    loss: Loss, yhat: Entry, y: Entry, n_out: int, symbolic: bool = False
) -> Expr | None:
    """The error e of one instance over its ``n_out`` outputs (None for an unknown loss).

    With ``symbolic``, a sum over ``j`` in symbols; else each output written out.
    """

    def total(term: Callable[[Any], Expr]) -> Expr:
        if symbolic:
            return Sum("j", term("j"))
        terms = [term(j) for j in range(1, n_out + 1)]
        return terms[0] if len(terms) == 1 else Op("+", terms)

    if loss.name in ("half_squared_error", "mean_squared_error"):
        squares = total(lambda j: Pow(Op("-", [y(j), yhat(j)]), 2))
        mean = Raw(
            "1/n_out",
            r"\tfrac{1}{n_\mathrm{out}}",
            "<mfrac><mn>1</mn><msub><mi>n</mi><mi>out</mi></msub></mfrac>",
        )
        if loss.name == "mean_squared_error" and n_out == 1:
            return squares  # the mean of one output is that output's square
        factor = (
            HALF if loss.name == "half_squared_error" else (mean if symbolic else frac(1, n_out))
        )
        return Op("*", [factor, squares])
    if loss.name == "binary_cross_entropy":
        terms = total(
            lambda j: Op(
                "+",
                [
                    Op("*", [y(j), Call("log", yhat(j))]),
                    Op("*", [Op("-", [Num(1), y(j)]), Call("log", Op("-", [Num(1), yhat(j)]))]),
                ],
            )
        )
        if isinstance(terms, Op) and terms.op == "+":
            return Op(" ", [MINUS, terms])  # a sum after the minus gets its own parentheses
        return Op(
            " ",
            [MINUS, Raw("(", r"\left(", "<mo>(</mo>"), terms, Raw(")", r"\right)", "<mo>)</mo>")],
        )
    if loss.name == "cross_entropy":
        terms = total(lambda j: Op("*", [y(j), Call("log", yhat(j))]))
        if isinstance(terms, Op) and terms.op == "+":
            return Op(" ", [MINUS, terms])  # a sum after the minus gets its own parentheses
        return Op(
            " ",
            [MINUS, Raw("(", r"\left(", "<mo>(</mo>"), terms, Raw(")", r"\right)", "<mo>)</mo>")],
        )
    return None
