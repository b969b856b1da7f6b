"""The forward steps of a derivation: inLk and outLk for every layer, then the error.

Examples
--------
>>> from chainrule import Trace, seed_example, train_step
>>> seed = seed_example()
>>> trace = Trace()
>>> _ = train_step(seed.network, seed.x, seed.y, lr=seed.lr, tracer=trace)
>>> inl1, outl1 = ForwardBuilder(trace, precision=6, scalars=None).forward(1)
>>> print(inl1.matrix.text())
inL1(1x2) = x(1x2) @ W1(2x2) + b1(2)
>>> print(outl1.scalars[0].text())
outL1[1] = sigmoid(inL1[1]) = sigmoid(1.099) = 0.750073
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .expr import Expr, Num, Op, Sym, Word
from .formulas import loss_error
from .notation import HALF, Call, Frac, Pow, Shaped
from .steps import SOFTMAX_NOTE, Builder, Step, sum_over_instances


class ForwardBuilder(Builder):
    """A :class:`~chainrule.explain.steps.Builder` that makes the forward and error steps."""

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
            as_.append(self.activation_entry(k, s, j, Z, A))
        inl = self.step(
            f"inL{k}",
            f"Pre-activation of layer {k}, the input to its activation",
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
        if not self.acts[k - 1].elementwise:
            outl = replace(outl, notes=(SOFTMAX_NOTE,))
        return [inl, outl]

    def activation_entry(self, k: int, s: int, j: int, Z: np.ndarray, A: np.ndarray) -> Expr:
        """``outLk[j] = f(inLk[j])`` of instance ``s``; softmax over the whole row, with its sum."""
        act, at = self.acts[k - 1].name, self.idx(s, j)
        out, inl = Sym(f"outL{k}", at), Sym(f"inL{k}", at)
        if self.acts[k - 1].elementwise:
            return Op("=", [out, Call(act, inl), Call(act, self.num(Z[s, j])), self.num(A[s, j])])
        row = range(Z.shape[1])

        def exp(v: Expr) -> Expr:
            return Call("exp", v)

        sym_sum = Op("+", [exp(Sym(f"inL{k}", self.idx(s, i))) for i in row])
        num_sum = Op("+", [exp(self.num(Z[s, i])) for i in row])
        exps = np.exp(np.asarray(Z[s], float))
        return Op(
            "=",
            [
                out,
                Frac(exp(inl), sym_sum),
                Frac(exp(self.num(Z[s, j])), num_sum),
                Frac(self.num(exps[j]), self.num(exps.sum())),
                self.num(A[s, j]),
            ],
        )

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
        if not self.single or self.l2:
            steps.append(self.batch_error(np.asarray(e, float)))
        return steps

    def batch_error(self, e: np.ndarray) -> Step:
        """E from the per-instance errors e (and the L2 penalty, when there is one)."""
        E = float(np.asarray(self.t["E"]))
        data_sym: Expr = (
            Sym("e") if self.single else self.scaled(sum_over_instances(Sym("e", ("s",))))
        )
        data_shape: Expr = (
            Shaped(Sym("e"), (1,))
            if self.single
            else self.scaled(Call("sum", Shaped(Sym("e"), (self.n,))))
        )
        data_num: Expr = (
            self.num(e[0]) if self.single else self.scaled(Op("+", [self.num(v) for v in e]))
        )
        local: list[Expr] = []
        if self.l2:
            l2 = self.num(self.l2)
            norms = [Pow(Call("norm", Sym(f"W{k}")), 2) for k in self.layers]
            penalty_sym = Op("*", [Frac(Sym("l2"), Num(2)), Op("+", norms)])
            squares = []
            for k in self.layers:
                W = np.asarray(self.t[f"W{k}"], float)
                squares.append(float(np.sum(W * W)))
                terms = [Pow(self.num(w), 2) for w in W.reshape(-1)]
                line: list[Expr] = [Pow(Call("norm", Sym(f"W{k}")), 2), Op("+", terms)]
                local.append(Op("=", [*line, self.num(squares[-1])]))
            data_sym = Op("+", [data_sym, penalty_sym])
            data_shape = Op("+", [data_shape, penalty_sym])
            data_num = Op(
                "+",
                [data_num, Op("*", [Frac(l2, Num(2)), Op("+", [self.num(q) for q in squares])])],
            )
        label = f"Batch error E = {self.reduction}(e)" if not self.single else "Error E"
        if self.l2:
            label += " + L2 penalty"
        notes = (
            ("The L2 penalty l2/2 * sum_k ||Wk||^2 (biases excluded) is part of E: it is why "
             "each weight gradient below gets the extra term l2 * Wk.",)
            if self.l2 else ()
        )  # fmt: skip
        return Step(
            "E",
            label,
            np.asarray(E),
            Op("=", [Sym("E"), data_sym]),
            Op("=", [Sym("E"), data_shape]),
            Op("=", [Sym("E"), data_num, self.num(E)]),
            scalars=tuple(local) if self.scalars else (),
            notes=notes,
        )

    def error_matrix_form(self, L: int) -> Expr:
        """``e`` for all instances at once: row sums of the squares, or the loss in words."""
        if self.loss.name == "half_squared_error":
            diff = Op("-", [self.shaped("y"), self.shaped(f"outL{L}")])
            return Op("*", [HALF, Call("rowsum", Pow(diff, 2))])
        return Word(f"{self.loss.error_formula.replace('yhat', f'outL{L}')}, one per instance")
