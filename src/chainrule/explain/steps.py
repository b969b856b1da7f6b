"""The steps of a derivation, and the builder's helpers and its update steps.

A :class:`Step` is one traced quantity shown three ways (general formula, matrix form
with shapes, numbers substituted) plus its entry-by-entry expansion. The forward and
error steps are made in :mod:`~chainrule.explain.forward`, the backward steps in
:mod:`~chainrule.explain.backward`; :mod:`~chainrule.explain.derivation`
puts them all together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..trace import Trace
from .expr import D, Expr, Mat, Num, Op, Sym, Word
from .notation import Shaped, Sum, T, frac

MAX_SCALAR_NEURONS = 10
"""Networks with at most this many neurons (inputs not counted) get the scalar expansion."""
MAX_SCALAR_INSTANCES = 4
"""... and batches of at most this many instances (each entry sums over the instances)."""
MAX_LISTED_INSTANCES = 8
"""Per-instance gradients are listed one by one for batches of at most this many."""
MAX_JACOBIAN_OUTPUTS = 5
"""The softmax Jacobian is written out with its numbers for at most this many outputs."""

SOFTMAX_NOTE = (
    "Softmax is not element-wise: every output depends on every input (through the sum "
    "in the denominator), so its derivative is a Jacobian matrix, not one number per unit."
)
OLD_WEIGHTS_NOTE = (
    "The weights here are those before this step's update: every gradient is computed "
    "first, and only then are the parameters changed."
)
BIAS_SUM_NOTE = (
    "The bias gradient of a batch is a sum over the instances (each instance adds its "
    "delta), not one instance's delta."
)


@dataclass(frozen=True)
class Step:
    """One traced quantity, derived three ways.

    Attributes
    ----------
    key : str
        Its name in the trace, e.g. ``"dEdW2"``.
    label : str
        The text explanation's label, e.g. ``"Input to layer 1"``.
    value : numpy.ndarray
        As shown: one row for a single instance, else the traced shape.
    general, matrix, numbers : Expr
        The formula in symbols, with shapes, and with the numbers substituted.
    scalars : tuple of Expr
        One line per entry (small networks only).
    per_instance : tuple of Expr
        For a batch: each instance's share and the reduction that combines them.
    numeric : numpy.ndarray or None
        The central-difference estimate of a parameter gradient.
    local : tuple of Expr
        The local derivatives this step uses for the first time, with their numbers
        (``sigmoid'(inL1[1]) = outL1[1] * (1 - outL1[1]) = ...``, ``dinL2[1]/dW2[1,1] =
        outL1[1]``, the softmax Jacobian, a second route to the same value).
    notes : tuple of str
        Short notes where learners typically go wrong, shown where they apply.
    """

    key: str
    label: str
    value: np.ndarray
    general: Expr
    matrix: Expr
    numbers: Expr
    scalars: tuple[Expr, ...] = ()
    per_instance: tuple[Expr, ...] = ()
    numeric: np.ndarray | None = None
    local: tuple[Expr, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A titled group of steps (a layer's forward pass, a layer's backward pass, ...)."""

    title: str
    steps: list[Step]


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in np.shape(value))


class Builder:
    """Makes steps from a trace; one method per kind of step."""

    def __init__(self, trace: Trace, precision: int, scalars: bool | None) -> None:
        self.t = trace
        self.p = precision
        self.L = int(trace.info["n_layers"])
        self.n = trace.n_samples
        self.single = self.n == 1
        self.acts = trace.info["activations"]
        self.loss = trace.info["loss"]
        self.reduction = trace.info["reduction"]
        self.scale = 1.0 / self.n if self.reduction == "mean" else 1.0
        self.l2 = float(trace.info.get("l2", 0.0))
        self.sizes = [int(trace["x"].shape[1])] + [
            int(trace[f"b{k}"].shape[0]) for k in self.layers
        ]
        if scalars is None:
            scalars = sum(self.sizes[1:]) <= MAX_SCALAR_NEURONS and self.n <= MAX_SCALAR_INSTANCES
        self.scalars = scalars
        self.list_instances = self.n <= MAX_LISTED_INSTANCES

    @property
    def layers(self) -> range:
        return range(1, self.L + 1)

    # -- helpers ------------------------------------------------------------------
    def row(self, name: str) -> np.ndarray:
        """A per-instance quantity as shown: one row for one instance; parameters as they are."""
        value = np.asarray(self.t[name], dtype=float)
        per_instance = name in ("x", "y") or name.startswith(("inL", "outL", "dEdOutL", "dEdInL"))
        return value[0] if per_instance and self.single and value.ndim == 2 else value

    def below(self, k: int) -> str:
        return "x" if k == 1 else f"outL{k - 1}"

    def num(self, v: float) -> Num:
        return Num(float(v), self.p)

    def mat(self, v: Any) -> Mat:
        return Mat(np.asarray(v, dtype=float), self.p)

    def shaped(self, name: str, value: Any = None, transpose: bool = False) -> Expr:
        shape = _shape(self.t[name] if value is None else value)
        sym: Expr = T(Sym(name)) if transpose else Sym(name)
        return Shaped(sym, shape[::-1] if transpose else shape)

    def entries(self, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        return [tuple(int(i) for i in idx) for idx in np.ndindex(*shape)]

    def idx(self, s: int, j: int) -> tuple[int, ...]:
        """Index (1-based) of entry j of instance s in a per-instance quantity."""
        return (j + 1,) if self.single else (s + 1, j + 1)

    def step(
        self,
        key: str,
        label: str,
        general: Expr,
        matrix: Expr,
        numbers: Expr,
        scalars: list[Expr] | None = None,
        **kw: Any,
    ) -> Step:
        value = self.row(key)
        numbers = Op("=", [Sym(key), numbers, self.mat(value)])
        return Step(
            key,
            label,
            value,
            general,
            matrix,
            numbers,
            tuple(scalars or []) if self.scalars else (),
            **kw,
        )

    def fprime(self, k: int) -> np.ndarray:
        act = self.acts[k - 1]
        Z, A = np.asarray(self.t[f"inL{k}"], float), np.asarray(self.t[f"outL{k}"], float)
        return np.asarray(act.derivative(Z, A)) if act.elementwise else np.full_like(Z, np.nan)

    def reduction_factor(self) -> list[Expr]:
        return [frac(1, self.n)] if self.reduction == "mean" and not self.single else []

    def scaled(self, expr: Expr) -> Expr:
        """``expr`` times the mean's 1/n, where the mean of a batch applies."""
        factor = self.reduction_factor()
        return Op("*", [*factor, expr]) if factor else expr

    def mean_note(self) -> tuple[str, ...]:
        """Where the mean's 1/n enters (once, at the output layer's dEdOutL)."""
        if not self.reduction_factor():
            return ()
        return (
            f"The 1/{self.n} of the mean enters here, in dEdOutL{self.L}, and is carried by "
            "every gradient below it; the per-instance errors e themselves have no 1/n.",
        )

    def update(self) -> list[Step]:
        lr, frozen = float(self.t.info["lr"]), set(self.t.info["frozen"])
        steps = []
        for k in self.layers:
            for name, gname in ((f"W{k}", f"dEdW{k}"), (f"b{k}", f"dEdB{k}")):
                old = np.asarray(self.t[name], float)
                new = np.asarray(self.t[f"{name}_new"], float)
                grad = np.asarray(self.t[gname], float)
                key = f"{name}_new"
                if name in frozen:
                    general = Op("=", [Sym(key), Sym(name), Word("(kept fixed: frozen)")])
                    numbers: Expr = self.mat(old)
                    matrix: Expr = Op(
                        "=", [Shaped(Sym(key), _shape(new)), Shaped(Sym(name), _shape(old))]
                    )
                    scal = []
                else:
                    general = Op(
                        "=", [Sym(key), Op("-", [Sym(name), Op("*", [Sym("lr"), D("E", name)])])]
                    )
                    matrix = Op(
                        "=",
                        [
                            Shaped(Sym(key), _shape(new)),
                            Op(
                                "-",
                                [
                                    Shaped(Sym(name), _shape(old)),
                                    Op("*", [Sym("lr"), Shaped(Sym(gname), _shape(grad))]),
                                ],
                            ),
                        ],
                    )
                    numbers = Op("-", [self.mat(old), Op("*", [self.num(lr), self.mat(grad)])])
                    scal = [
                        Op(
                            "=",
                            [
                                Sym(key, tuple(i + 1 for i in index)),
                                Op(
                                    "-",
                                    [
                                        self.num(old[index]),
                                        Op("*", [self.num(lr), self.num(grad[index])]),
                                    ],
                                ),
                                self.num(new[index]),
                            ],
                        )
                        for index in self.entries(old.shape)
                    ]
                steps.append(
                    Step(
                        key,
                        name,
                        new,
                        general,
                        matrix,
                        Op("=", [Sym(key), numbers, self.mat(new)]),
                        tuple(scal) if self.scalars else (),
                    )
                )
        return steps


def sum_over_instances(body: Expr) -> Expr:
    """A sum over the instances ``s``."""
    return Sum("s", body)
