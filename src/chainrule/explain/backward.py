"""The backward steps of a derivation: dE/doutLk, dE/dinLk, dE/dWk and dE/dbk.

For one instance every entry is the product of the chain's factors; for a batch, a
sum over the instances ``s``, and each parameter gradient is also shown as the
per-instance gradients (with the per-instance deltas ``delta_k[s] = de[s]/dinLk[s]``)
and their mean or sum.

Examples
--------
>>> from chainrule import Trace, seed_example, train_step
>>> seed = seed_example()
>>> trace = Trace()
>>> _ = train_step(seed.network, seed.x, seed.y, lr=seed.lr, tracer=trace)
>>> steps = BackwardBuilder(trace, precision=6, scalars=None).backward(1)
>>> [step.key for step in steps]
['dEdOutL1', 'dEdInL1', 'dEdW1', 'dEdB1']
>>> print(steps[0].scalars[1].text())
dEdOutL1[2] = dEdInL2[1] * W2[2,1] = (-0.029155) * 0.5 = -0.014578
"""

from __future__ import annotations

import numpy as np

from .expr import D, Expr, Op, Sym, Word
from .formulas import loss_gradient
from .forward import ForwardBuilder
from .notation import Call, Shaped, T, frac
from .steps import MAX_LISTED_INSTANCES, Step, _shape, sum_over_instances


class BackwardBuilder(ForwardBuilder):
    """The builder of every step: forward, error, backward and update."""

    def backward(self, k: int) -> list[Step]:
        L, act = self.L, self.acts[k - 1]
        out, inl, below = f"outL{k}", f"inL{k}", self.below(k)
        dA = np.asarray(self.t[f"dEdOutL{k}"], float)
        dZ = np.asarray(self.t[f"dEdInL{k}"], float)
        A_prev = np.asarray(self.t[below], float)
        fused = k == L and self.loss.fused(act)
        steps = []
        # dE/doutLk
        if k == L:
            y, yhat = np.asarray(self.t["y"], float), np.asarray(self.t[out], float)
            m = y.shape[1]
            sym_grad = loss_gradient(self.loss, Sym(out), Sym("y"), m) or Word(
                self.loss.gradient_formula
            )
            general = Op("=", [D("E", out), self.scaled(sym_grad)])
            matrix = Op(
                "=",
                [
                    self.shaped(f"dEdOutL{k}"),
                    self.scaled(
                        loss_gradient(self.loss, self.shaped(out), self.shaped("y"), m)
                        or Word(
                            f"{self.loss.gradient_formula.replace('yhat', out)}, entry by entry"
                        )
                    ),
                ],
            )
            numbers: Expr = self.scaled(
                loss_gradient(self.loss, self.mat(self.row(out)), self.mat(self.row("y")), m)
                or Word("")
            )
            scal = []
            for s, j in self.entries(dA.shape):
                g = loss_gradient(self.loss, self.num(yhat[s, j]), self.num(y[s, j]), m)
                sg = loss_gradient(self.loss, Sym(out, self.idx(s, j)), Sym("y", self.idx(s, j)), m)
                parts = [self.scaled(e) for e in (sg, g) if e is not None]
                scal.append(
                    Op("=", [Sym(f"dEdOutL{k}", self.idx(s, j)), *parts, self.num(dA[s, j])])
                )
        else:
            W = np.asarray(self.t[f"W{k + 1}"], float)
            dZ_up = np.asarray(self.t[f"dEdInL{k + 1}"], float)
            general = Op(
                "=", [D("E", out), Op("*", [D("E", f"inL{k + 1}"), D(f"inL{k + 1}", out)])]
            )
            matrix = Op(
                "=",
                [
                    self.shaped(f"dEdOutL{k}"),
                    Op(
                        "@",
                        [
                            self.shaped(f"dEdInL{k + 1}"),
                            self.shaped(f"W{k + 1}", W, transpose=True),
                        ],
                    ),
                ],
            )
            numbers = Op("@", [self.mat(self.row(f"dEdInL{k + 1}")), T(self.mat(W))])
            scal = []
            for s, j in self.entries(dA.shape):
                terms = [
                    Op(
                        "*",
                        [Sym(f"dEdInL{k + 1}", self.idx(s, m)), Sym(f"W{k + 1}", (j + 1, m + 1))],
                    )
                    for m in range(W.shape[1])
                ]
                nums = [
                    Op("*", [self.num(dZ_up[s, m]), self.num(W[j, m])]) for m in range(W.shape[1])
                ]
                scal.append(
                    Op(
                        "=",
                        [
                            Sym(f"dEdOutL{k}", self.idx(s, j)),
                            Op("+", terms),
                            Op("+", nums),
                            self.num(dA[s, j]),
                        ],
                    )
                )
        steps.append(self.step(f"dEdOutL{k}", f"dEdOutL{k}", general, matrix, numbers, scal))
        # dE/dinLk
        fp = self.fprime(k)
        if fused:
            general = Op("=", [D("E", inl), self.scaled(Op("-", [Sym(out), Sym("y")]))])
            matrix = Op(
                "=", [self.shaped(f"dEdInL{k}"), Word(f"{act.name} and {self.loss.name} combined")]
            )
            numbers = self.scaled(Op("-", [self.mat(self.row(out)), self.mat(self.row("y"))]))
            scal = [
                Op("=", [Sym(f"dEdInL{k}", self.idx(s, j)), self.num(dZ[s, j])])
                for s, j in self.entries(dZ.shape)
            ]
        elif act.elementwise:
            general = Op("=", [D("E", inl), Op("*", [D("E", out), D(out, inl)])])
            matrix = Op(
                "=",
                [
                    self.shaped(f"dEdInL{k}"),
                    Op("⊙", [self.shaped(f"dEdOutL{k}"), Call(f"{act.name}'", self.shaped(inl))]),
                ],
            )
            numbers = Op(
                "⊙", [self.mat(self.row(f"dEdOutL{k}")), self.mat(fp[0] if self.single else fp)]
            )
            scal = [
                Op(
                    "=",
                    [
                        Sym(f"dEdInL{k}", self.idx(s, j)),
                        Op(
                            "*",
                            [
                                Sym(f"dEdOutL{k}", self.idx(s, j)),
                                Call(f"{act.name}'", Sym(inl, self.idx(s, j))),
                            ],
                        ),
                        Op("*", [self.num(dA[s, j]), self.num(fp[s, j])]),
                        self.num(dZ[s, j]),
                    ],
                )
                for s, j in self.entries(dZ.shape)
            ]
        else:
            general = Op("=", [D("E", inl), Op("*", [D("E", out), D(out, inl)])])
            matrix = Op(
                "=",
                [
                    self.shaped(f"dEdInL{k}"),
                    Word(f"dEdOutL{k} times the Jacobian of {act.name}, per instance"),
                ],
            )
            numbers = Word(f"outL{k} * (dEdOutL{k} - sum(dEdOutL{k} * outL{k}))")
            scal = [
                Op("=", [Sym(f"dEdInL{k}", self.idx(s, j)), self.num(dZ[s, j])])
                for s, j in self.entries(dZ.shape)
            ]
        steps.append(self.step(f"dEdInL{k}", f"dEdInL{k}", general, matrix, numbers, scal))
        steps += self.param_grads(k, A_prev, dA, dZ, fp, fused or not act.elementwise)
        return steps

    def param_grads(
        self,
        k: int,
        A_prev: np.ndarray,
        dA: np.ndarray,
        dZ: np.ndarray,
        fp: np.ndarray,
        short: bool,
    ) -> list[Step]:
        out, inl, below = f"outL{k}", f"inL{k}", self.below(k)
        steps = []
        for p, wname in (("W", f"W{k}"), ("b", f"b{k}")):
            key = f"dEdW{k}" if p == "W" else f"dEdB{k}"
            grad = np.asarray(self.t[key], float)
            chain = [D("E", inl)] if short else [D("E", out), D(out, inl)]
            general = Op("=", [D("E", wname), Op("*", [*chain, D(inl, wname)])])
            if p == "W":
                matrix = Op(
                    "=",
                    [
                        Shaped(Sym(key), _shape(grad)),
                        Op(
                            "@",
                            [
                                self.shaped(below, A_prev, transpose=True),
                                Shaped(Sym(f"dEdInL{k}"), dZ.shape),
                            ],
                        ),
                    ],
                )
                numbers: Expr = Op(
                    "@", [T(self.mat(self.row(below))), self.mat(self.row(f"dEdInL{k}"))]
                )
            else:
                matrix = Op(
                    "=",
                    [Shaped(Sym(key), _shape(grad)), Word(f"dEdInL{k} summed over the instances")],
                )
                numbers = (
                    self.mat(dZ[0])
                    if self.single
                    else Op(" ", [Word("column sums of"), self.mat(dZ)])
                )
            scal = []
            for index in self.entries(grad.shape):
                i, j = index if p == "W" else (None, index[0])
                pidx = (i + 1, j + 1) if p == "W" else (j + 1,)
                at = (j + 1,) if self.single else ("s", j + 1)
                sym_chain: list[Expr] = (
                    [D("E", Sym(inl, at))]
                    if short
                    else [D("E", Sym(out, at)), D(Sym(out, at), Sym(inl, at))]
                )
                sym_chain.append(D(Sym(inl, at), Sym(wname, pidx)))
                chain: Expr = (
                    Op("*", sym_chain) if self.single else sum_over_instances(Op("*", sym_chain))
                )
                products: list[Expr] = []
                for s in range(self.n):
                    f = [self.num(dZ[s, j])] if short else [self.num(dA[s, j]), self.num(fp[s, j])]
                    f.append(self.num(A_prev[s, i]) if p == "W" else self.num(1))
                    products.append(Op("*", f))
                numbers_s = products[0] if self.single else Op("+", products)
                scal.append(
                    Op("=", [D("E", Sym(wname, pidx)), chain, numbers_s, self.num(grad[index])])
                )
            per_instance: list[Expr] = []
            if not self.single and not self.list_instances:
                per_instance.append(
                    Word(
                        f"(the {self.n} per-instance gradients are not listed: more than "
                        f"{MAX_LISTED_INSTANCES} instances; dEd{wname} is their {self.reduction})"
                    )
                )
            elif not self.single:
                own = Word(
                    f"{self.n} * dEdInL{k}[s] (the mean's 1/{self.n} taken out)"
                    if self.reduction == "mean"
                    else f"dEdInL{k}[s]"
                )
                per_instance.append(
                    Op("=", [Sym(f"delta{k}", ("s",)), D(Sym("e", ("s",)), Sym(inl, ("s",))), own])
                )
                for s in range(self.n):
                    # Instance s's own gradient: the trace's share without the mean's 1/n.
                    share = (np.outer(A_prev[s], dZ[s]) if p == "W" else dZ[s]) / self.scale
                    delta = Sym(f"delta{k}", (s + 1,))
                    what: Expr = Op("@", [T(Sym(below, (s + 1,))), delta]) if p == "W" else delta
                    per_instance.append(
                        Op("=", [D(Sym("e", (s + 1,)), wname), what, self.mat(share)])
                    )
                combine: Expr = (
                    Op(
                        " ",
                        [
                            frac(1, self.n),
                            Op("+", [D(Sym("e", (s + 1,)), wname) for s in range(self.n)]),
                        ],
                    )
                    if self.reduction == "mean"
                    else Op("+", [D(Sym("e", (s + 1,)), wname) for s in range(self.n)])
                )
                per_instance.append(Op("=", [Sym(key), combine, self.mat(grad)]))
            steps.append(
                self.step(
                    key, key, general, matrix, numbers, scal, per_instance=tuple(per_instance)
                )
            )
        return steps
