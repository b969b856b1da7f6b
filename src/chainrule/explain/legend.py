"""The notation legend: each name of an explanation beside its symbol and other sources' names.

Each row is ``(name, symbol, other names)``: the glossary name used throughout (``dEdInLk``),
its partial-derivative symbol as a formula node (so every format writes it in its own
notation), and what Nielsen's *Neural Networks and Deep Learning*, Mazur's *A Step by
Step Backpropagation Example*, CS231n and the code call it.

Examples
--------
>>> rows = legend(2, single=True, l2=False)
>>> name, symbol, others = rows[4]
>>> name, symbol.text()
('dEdInLk', 'dE/dinLk')
>>> print(others)
Nielsen's delta^l (the error of layer l); Mazur's dE_total/dnet; code dZ
"""

from __future__ import annotations

from .expr import D, Expr, Op, Sym, Word


def legend(n_layers: int, *, single: bool, l2: bool) -> list[tuple[str, Expr, str]]:
    """The legend's rows for a network of ``n_layers`` layers.

    Parameters
    ----------
    n_layers : int
        Layers with weights (k runs from 1 to n_layers).
    single : bool
        One instance (then e is the whole error) or a batch (e per instance, E the batch's).
    l2 : bool
        Whether an L2 penalty is part of E.
    """
    error = (
        "the error of the one instance; here E = e"
        if single
        else "the error of one instance s; the batch error E is their mean or sum"
    )
    if l2:
        error += ", plus the L2 penalty"
    return [
        ("inLk", Sym("inLk"), "the pre-activation (input to the activation) of layer k: "
         "Nielsen's z^l; Mazur's net; code Z"),
        ("outLk", Sym("outLk"), "the output (activation) of layer k: Nielsen's a^l; Mazur's "
         "out; code A; outL0 is the input x"),
        ("e, E", Op(",", [Sym("e"), Sym("E")]), error + "; Mazur's E_total"),
        ("dEdOutLk", D("E", "outLk"), "code dA; CS231n's dout"),
        ("dEdInLk", D("E", "inLk"), "Nielsen's delta^l (the error of layer l); Mazur's "
         "dE_total/dnet; code dZ"),
        ("dEdWk", D("E", "Wk"), "CS231n's dW; code dW"),
        ("dEdBk", D("E", "bk"), "CS231n's db; code db"),
        ("Wk[i,j]", Sym("Wk", ("i", "j")), "the weight from unit i of the layer below "
         f"(x for k = 1) to unit j of layer k (k = 1..{n_layers}); Nielsen writes w^l_jk the "
         "other way round, from unit k below to unit j"),
        ("lr", Word("lr"), "the learning rate (eta in Nielsen and Mazur)"),
    ]  # fmt: skip
