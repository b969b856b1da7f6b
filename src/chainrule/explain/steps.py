"""The steps of a derivation and the builder that makes the forward, error and update steps.

A :class:`Step` is one traced quantity shown three ways (general formula, matrix form
with shapes, numbers substituted) plus its entry-by-entry expansion. The backward
steps are made in :mod:`~chainrule.explain.backward`; :mod:`~chainrule.explain.derivation`
puts them all together.

Examples
--------
>>> from chainrule import Trace, seed_example, train_step
>>> seed = seed_example()
>>> trace = Trace()
>>> _ = train_step(seed.network, seed.x, seed.y, lr=seed.lr, tracer=trace)
>>> inl1, outl1 = Builder(trace, precision=6, scalars=None).forward(1)
>>> print(inl1.matrix.text())
inL1(1x2) = x(1x2) @ W1(2x2) + b1(2)
>>> print(outl1.scalars[0].text())
outL1[1] = sigmoid(inL1[1]) = sigmoid(1.099) = 0.750073
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..trace import Trace
from .expr import D, Expr, Mat, Num, Op, Sym, Word
from .formulas import loss_error
from .notation import HALF, Call, Pow, Shaped, Sum, T, frac

MAX_SCALAR_NEURONS = 10
"""Networks with at most this many neurons (inputs not counted) get the scalar expansion."""
MAX_SCALAR_INSTANCES = 4
"""... and batches of at most this many instances (each entry sums over the instances)."""
MAX_LISTED_INSTANCES = 8
"""Per-instance gradients are listed one by one for batches of at most this many."""


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

    # -- forward ------------------------------------------------------------------
    def forward(self, k: int) -> list[Step]:
        below, act = self.below(k), self.acts[k - 1].name
        A_prev, W, b = (np.asarray(self.t[n], float) for n in (below, f"W{k}", f"b{k}"))
        Z = np.asarray(self.t[f"inL{k}"], float)
        A = np.asarray(self.t[f"outL{k}"], float)
        zs, as_ = [], []
        for s, j in self.entries(Z.shape):
            terms: list[Expr] = [
                Op("*", [Sym(below, self.idx(s, i)), Sym(f"W{k}", (i + 1, j + 1))])
                for i in range(W.shape[0])
            ]
            nums: list[Expr] = [
                Op("*", [self.num(A_prev[s, i]), self.num(W[i, j])]) for i in range(W.shape[0])
            ]
            zs.append(
                Op(
                    "=",
                    [
                        Sym(f"inL{k}", self.idx(s, j)),
                        Op("+", [*terms, Sym(f"b{k}", (j + 1,))]),
                        Op("+", [*nums, self.num(b[j])]),
                        self.num(Z[s, j]),
                    ],
                )
            )
            as_.append(
                Op(
                    "=",
                    [
                        Sym(f"outL{k}", self.idx(s, j)),
                        Call(act, Sym(f"inL{k}", self.idx(s, j))),
                        Call(act, self.num(Z[s, j])),
                        self.num(A[s, j]),
                    ],
                )
            )
        inl = self.step(
            f"inL{k}",
            f"Input to layer {k}",
            Op("=", [Sym(f"inL{k}"), Op("+", [Op("@", [Sym(below), Sym(f"W{k}")]), Sym(f"b{k}")])]),
            Op(
                "=",
                [
                    self.shaped(f"inL{k}"),
                    Op(
                        "+",
                        [
                            Op("@", [self.shaped(below), self.shaped(f"W{k}", W)]),
                            self.shaped(f"b{k}", b),
                        ],
                    ),
                ],
            ),
            Op("+", [Op("@", [self.mat(self.row(below)), self.mat(W)]), self.mat(b)]),
            zs,
        )
        outl = self.step(
            f"outL{k}",
            f"Output of layer {k}",
            Op("=", [Sym(f"outL{k}"), Call(act, Sym(f"inL{k}"))]),
            Op("=", [self.shaped(f"outL{k}"), Call(act, self.shaped(f"inL{k}"))]),
            Call(act, self.mat(self.row(f"inL{k}"))),
            as_,
        )
        return [inl, outl]

    # -- error ----------------------------------------------------------------------
    def error(self) -> list[Step]:
        L, y = self.L, np.asarray(self.t["y"], float)
        yhat = np.asarray(self.t[f"outL{L}"], float)
        m = y.shape[1]
        general = loss_error(
            self.loss, lambda j: Sym(f"outL{L}", (j,)), lambda j: Sym("y", (j,)), m, True
        )
        general = general if general is not None else Word(self.loss.error_formula)
        lines = []
        for s in range(self.n):
            nums = loss_error(
                self.loss,
                lambda j, s=s: self.num(yhat[s, j - 1]),
                lambda j, s=s: self.num(y[s, j - 1]),
                m,
            )
            parts: list[Expr] = [Sym("e", () if self.single else (s + 1,))]
            parts += [nums] if nums is not None else []
            lines.append(Op("=", [*parts, self.num(self.t["e"][s])]))
        e = self.t["e"]
        step = Step(
            "e",
            "Error",
            np.asarray(e, float),
            Op("=", [Sym("e"), general]),
            Op(
                "=",
                [
                    Shaped(Sym("e"), (self.n,)),
                    self.error_matrix_form(L),
                ],
            ),
            lines[0] if self.single else Op("=", [Sym("e"), self.mat(e)]),
            tuple(lines) if not self.single else (),
        )
        steps = [step]
        if not self.single:
            E = float(np.asarray(self.t["E"]))
            steps.append(
                Step(
                    "E",
                    f"Batch error E = {self.reduction}(e)",
                    np.asarray(E),
                    Op("=", [Sym("E"), self.scaled(sum_over_instances(Sym("e", ("s",))))]),
                    Op("=", [Sym("E"), self.scaled(Call("sum", Shaped(Sym("e"), (self.n,))))]),
                    Op(
                        "=",
                        [
                            Sym("E"),
                            self.scaled(Op("+", [self.num(v) for v in e])),
                            self.num(E),
                        ],
                    ),
                )
            )
        return steps

    def error_matrix_form(self, L: int) -> Expr:
        """``e`` for all instances at once: row sums of the squares, or the loss in words."""
        if self.loss.name == "half_squared_error":
            diff = Op("-", [self.shaped("y"), self.shaped(f"outL{L}")])
            return Op("*", [HALF, Call("rowsum", Pow(diff, 2))])
        return Word(f"{self.loss.error_formula.replace('yhat', f'outL{L}')}, one per instance")

    def reduction_factor(self) -> list[Expr]:
        return [frac(1, self.n)] if self.reduction == "mean" and not self.single else []

    def scaled(self, expr: Expr) -> Expr:
        """``expr`` times the mean's 1/n, where the mean of a batch applies."""
        factor = self.reduction_factor()
        return Op(" ", [*factor, expr]) if factor else expr

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
