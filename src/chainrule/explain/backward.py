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

from .expr import D, Expr, Num, Op, Sym, Word
from .formulas import loss_gradient
from .forward import ForwardBuilder
from .notation import Call, Pow, Shaped, Sum, T, frac
from .steps import (
    BIAS_SUM_NOTE,
    MAX_JACOBIAN_OUTPUTS,
    MAX_LISTED_INSTANCES,
    OLD_WEIGHTS_NOTE,
    SOFTMAX_NOTE,
    Step,
    _shape,
    sum_over_instances,
)


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
        if k == L:
            out_local: list[Expr] = []
            out_notes = self.mean_note()
        else:
            W = np.asarray(self.t[f"W{k + 1}"], float)
            out_local = [
                Op(
                    "=",
                    [
                        D(Sym(f"inL{k + 1}", (m + 1,)), Sym(out, (j + 1,))),
                        Sym(f"W{k + 1}", (j + 1, m + 1)),
                        self.num(W[j, m]),
                    ],
                )
                for j in range(W.shape[0])
                for m in range(W.shape[1])
            ]
            out_notes = (OLD_WEIGHTS_NOTE,)
        steps.append(
            self.step(
                f"dEdOutL{k}",
                f"dEdOutL{k}",
                general,
                matrix,
                numbers,
                scal,
                local=tuple(out_local) if self.scalars else (),
                notes=out_notes,
            )
        )
        # dE/dinLk
        fp = self.fprime(k)
        local: list[Expr] = []
        notes: list[str] = []
        if fused:
            general, matrix, numbers, scal, notes = self.fused_delta(k)
            notes += [] if act.elementwise else [SOFTMAX_NOTE]
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
            general, matrix, numbers, scal = self.jacobian_delta(k)
            notes = [SOFTMAX_NOTE]
        if act.elementwise:
            local += [self.derivative_line(k, s, j, fp) for s, j in self.entries(dZ.shape)]
            if act.name in ("relu", "leaky_relu"):
                notes.append(
                    f"{act.name}' is a mask: 1 where inL{k} > 0, "
                    + ("0" if act.name == "relu" else f"{self.alpha(k):g}")
                    + " elsewhere (taken as the lower value at exactly 0)."
                )
            if fused:
                local.append(self.elementwise_route(k, fp))
        elif self.sizes[k] <= MAX_JACOBIAN_OUTPUTS:
            local += self.jacobian_route(k)
        steps.append(
            self.step(
                f"dEdInL{k}",
                f"dEdInL{k}",
                general,
                matrix,
                numbers,
                scal,
                local=tuple(local) if self.scalars else (),
                notes=tuple(notes),
            )
        )
        steps += self.param_grads(k, A_prev, dA, dZ, fp, fused or not act.elementwise)
        return steps

    def alpha(self, k: int) -> float:
        return float(getattr(self.acts[k - 1], "alpha", 0.0))

    def derivative_line(self, k: int, s: int, j: int, fp: np.ndarray) -> Expr:
        """``f'(inLk[j])`` with its formula and numbers (the local derivative at first use)."""
        act = self.acts[k - 1].name
        at = self.idx(s, j)
        z = float(np.asarray(self.t[f"inL{k}"], float)[s, j])
        a = float(np.asarray(self.t[f"outL{k}"], float)[s, j])
        head = Call(f"{act}'", Sym(f"inL{k}", at))
        out = Sym(f"outL{k}", at)
        parts: list[Expr]
        if act == "sigmoid":
            parts = [
                Op("*", [out, Op("-", [Num(1), out])]),
                Op("*", [self.num(a), Op("-", [Num(1), self.num(a)])]),
            ]
        elif act == "tanh":
            parts = [Op("-", [Num(1), Pow(out, 2)]), Op("-", [Num(1), Pow(self.num(a), 2)])]
        elif act == "softplus":
            parts = [
                Call("sigmoid", Sym(f"inL{k}", at)),
                Call("sigmoid", self.num(z)),
            ]
        elif act == "identity":
            parts = []
        else:
            parts = [Call(f"{act}'", self.num(z))]
        return Op("=", [head, *parts, self.num(fp[s, j])])

    def fused_delta(self, k: int) -> tuple[Expr, Expr, Expr, list[Expr], list[str]]:
        """The short route of a fused pair: exactly what the engine computes.

        The engine computes softmax's ``outL * sum(y) - y``; ``check_targets`` refused
        rows that do not sum to 1 (up to rounding), so ``outL - y`` shows the same numbers.
        """
        out, inl = f"outL{k}", f"inL{k}"
        y, A = np.asarray(self.t["y"], float), np.asarray(self.t[out], float)
        dZ = np.asarray(self.t[f"dEdInL{k}"], float)
        act = self.acts[k - 1].name
        combined = f"{act} and {self.loss.name} combined"
        sym: Expr = Op("-", [Sym(out), Sym("y")])
        shaped: Expr = Op("-", [self.shaped(out), self.shaped("y")])
        numbers = self.scaled(Op("-", [self.mat(self.row(out)), self.mat(self.row("y"))]))
        why = (
            f"{combined}; sum(y) = 1 on every instance"
            if not self.acts[k - 1].elementwise
            else f"{combined}: sigmoid' = outL(1 - outL) cancels the loss's denominator"
        )
        general = Op("=", [D("E", inl), Op(" ", [self.scaled(sym), Word(f"({why})")])])
        matrix = Op("=", [self.shaped(f"dEdInL{k}"), self.scaled(shaped)])
        scal = []
        for s, j in self.entries(dZ.shape):
            at = self.idx(s, j)
            parts = [
                self.scaled(Op("-", [Sym(out, at), Sym("y", at)])),
                self.scaled(Op("-", [self.num(A[s, j]), self.num(y[s, j])])),
            ]
            scal.append(Op("=", [Sym(f"dEdInL{k}", at), *parts, self.num(dZ[s, j])]))
        return general, matrix, numbers, scal, []

    def jacobian_delta(self, k: int) -> tuple[Expr, Expr, Expr, list[Expr]]:
        """dEdInLk through softmax without a fused loss: outL * (dEdOutL - sum(dEdOutL * outL))."""
        out, inl = f"outL{k}", f"inL{k}"
        A = np.asarray(self.t[out], float)
        dA = np.asarray(self.t[f"dEdOutL{k}"], float)
        dZ = np.asarray(self.t[f"dEdInL{k}"], float)
        general = Op("=", [D("E", inl), Op("*", [D("E", out), D(out, inl)])])
        matrix = Op(
            "=",
            [
                self.shaped(f"dEdInL{k}"),
                Op(
                    "*",
                    [
                        self.shaped(out),
                        Op(
                            "-",
                            [
                                self.shaped(f"dEdOutL{k}"),
                                Word(f"rowsum(dEdOutL{k} * outL{k})"),
                            ],
                        ),
                    ],
                ),
            ],
        )
        if self.single:
            numbers: Expr = Op(
                "*",
                [
                    self.mat(A[0]),
                    Op(
                        "-",
                        [self.mat(dA[0]), Call("sum", Op("*", [self.mat(dA[0]), self.mat(A[0])]))],
                    ),
                ],
            )
        else:
            numbers = Word("entry by entry below")
        scal = []
        for s, j in self.entries(dZ.shape):
            at = self.idx(s, j)
            row = range(A.shape[1])
            sym_sum = Op(
                "+",
                [
                    Op("*", [Sym(f"dEdOutL{k}", self.idx(s, i)), Sym(out, self.idx(s, i))])
                    for i in row
                ],
            )
            num_sum = Op("+", [Op("*", [self.num(dA[s, i]), self.num(A[s, i])]) for i in row])
            scal.append(
                Op(
                    "=",
                    [
                        Sym(f"dEdInL{k}", at),
                        Op("*", [Sym(out, at), Op("-", [Sym(f"dEdOutL{k}", at), sym_sum])]),
                        Op("*", [self.num(A[s, j]), Op("-", [self.num(dA[s, j]), num_sum])]),
                        self.num(dZ[s, j]),
                    ],
                )
            )
        return general, matrix, numbers, scal

    def jacobian_route(self, k: int) -> list[Expr]:
        """The softmax Jacobian of each instance with numbers, and dEdOutL times it."""
        out, inl = f"outL{k}", f"inL{k}"
        A = np.asarray(self.t[out], float)
        dA = np.asarray(self.t[f"dEdOutL{k}"], float)
        dZ = np.asarray(self.t[f"dEdInL{k}"], float)
        lines: list[Expr] = [
            Op(
                "=",
                [
                    D(Sym(out, ("i",)), Sym(inl, ("j",))),
                    Op(
                        " ",
                        [
                            Op(
                                "*",
                                [
                                    Sym(out, ("i",)),
                                    Op("-", [Sym("delta", ("i", "j")), Sym(out, ("j",))]),
                                ],
                            ),
                            Word("(delta[i,j] is 1 where i is j, else 0)"),
                        ],
                    ),
                ],
            )
        ]
        for s in range(self.n):
            a = self.mat(A[s])
            J = np.diag(A[s]) - np.outer(A[s], A[s])
            name = f"J{k}" if self.single else f"J{k}[{s + 1}]"
            lines.append(
                Op(
                    "=",
                    [
                        Sym(name),
                        Op("-", [Call("diag", a), Call("outer", Op(",", [a, a]))]),
                        self.mat(J),
                    ],
                )
            )
            at = () if self.single else (s + 1,)
            lines.append(
                Op(
                    "=",
                    [
                        Sym(f"dEdInL{k}", at),
                        Op("@", [Sym(f"dEdOutL{k}", at), Sym(name)]),
                        Op("@", [self.mat(dA[s]), self.mat(J)]),
                        self.mat(dZ[s]),
                    ],
                )
            )
        return lines

    def elementwise_route(self, k: int, fp: np.ndarray) -> Expr:
        """The long route of sigmoid with binary cross-entropy, equal to the short one."""
        np.asarray(self.t[f"dEdOutL{k}"], float)
        dZ = np.asarray(self.t[f"dEdInL{k}"], float)
        act = self.acts[k - 1].name
        return Op(
            "=",
            [
                Sym(f"dEdInL{k}"),
                Op("⊙", [Sym(f"dEdOutL{k}"), Call(f"{act}'", Sym(f"inL{k}"))]),
                Op(
                    "⊙", [self.mat(self.row(f"dEdOutL{k}")), self.mat(fp[0] if self.single else fp)]
                ),
                self.mat(dZ[0] if self.single else dZ),
            ],
        )

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
            l2 = self.l2 if p == "W" else 0.0
            W = np.asarray(self.t[wname], float)
            chain = [D("E", inl)] if short else [D("E", out), D(out, inl)]
            general: Expr = Op("*", [*chain, D(inl, wname)])
            if l2:
                general = Op("+", [general, Op("*", [Sym("l2"), Sym(wname)])])
            general = Op("=", [D("E", wname), general])
            notes: tuple[str, ...] = ()
            if p == "W":
                product: Expr = Op(
                    "@",
                    [
                        self.shaped(below, A_prev, transpose=True),
                        Shaped(Sym(f"dEdInL{k}"), dZ.shape),
                    ],
                )
                if self.single:
                    # A column times a row: the outer product, shapes unambiguous.
                    numbers: Expr = Op(
                        "@", [self.mat(A_prev[0].reshape(-1, 1)), self.mat(dZ[0].reshape(1, -1))]
                    )
                else:
                    numbers = Op("@", [T(self.mat(A_prev)), self.mat(dZ)])
                if l2:
                    product = Op(
                        "+", [product, Op("*", [Sym("l2"), Shaped(Sym(wname), _shape(W))])]
                    )
                    numbers = Op("+", [numbers, Op("*", [self.num(l2), self.mat(W)])])
                matrix = Op("=", [Shaped(Sym(key), _shape(grad)), product])
            else:
                matrix = Op(
                    "=",
                    [
                        Shaped(Sym(key), _shape(grad)),
                        Sum("s", Shaped(Sym(f"dEdInL{k}", ("s",)), (dZ.shape[1],)))
                        if not self.single
                        else Shaped(Sym(f"dEdInL{k}"), (dZ.shape[1],)),
                    ],
                )
                numbers = (
                    Sym(f"dEdInL{k}") if self.single else Op("+", [self.mat(row) for row in dZ])
                )
                if not self.single:
                    notes = (BIAS_SUM_NOTE,)
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
                chain_e: Expr = (
                    Op("*", sym_chain) if self.single else sum_over_instances(Op("*", sym_chain))
                )
                products: list[Expr] = []
                for s in range(self.n):
                    f = [self.num(dZ[s, j])] if short else [self.num(dA[s, j]), self.num(fp[s, j])]
                    f.append(self.num(A_prev[s, i]) if p == "W" else self.num(1))
                    products.append(Op("*", f))
                numbers_s: Expr = products[0] if self.single else Op("+", products)
                if l2:
                    chain_e = Op("+", [chain_e, Op("*", [Sym("l2"), Sym(wname, pidx)])])
                    numbers_s = Op("+", [numbers_s, Op("*", [self.num(l2), self.num(W[index])])])
                scal.append(
                    Op("=", [D("E", Sym(wname, pidx)), chain_e, numbers_s, self.num(grad[index])])
                )
            local: list[Expr] = []
            if p == "W":
                for s in range(self.n):
                    for i in range(A_prev.shape[1]):
                        at_i = (i + 1,) if self.single else (s + 1, i + 1)
                        at_j = ("j",) if self.single else (s + 1, "j")
                        local.append(
                            Op(
                                "=",
                                [
                                    D(Sym(inl, at_j), Sym(wname, (i + 1, "j"))),
                                    Sym(below, at_i),
                                    self.num(A_prev[s, i]),
                                ],
                            )
                        )
            else:
                local.append(Op("=", [D(Sym(inl, ("j",)), Sym(wname, ("j",))), Num(1)]))
            per_instance = self.per_instance_lines(k, p, wname, key, A_prev, dZ, grad)
            steps.append(
                self.step(
                    key,
                    key,
                    general,
                    matrix,
                    numbers,
                    scal,
                    per_instance=tuple(per_instance),
                    local=tuple(local) if self.scalars else (),
                    notes=notes,
                )
            )
        return steps

    def per_instance_lines(
        self,
        k: int,
        p: str,
        wname: str,
        key: str,
        A_prev: np.ndarray,
        dZ: np.ndarray,
        grad: np.ndarray,
    ) -> list[Expr]:
        """For a batch: each instance's own gradient, then the mean or sum of them."""
        inl, below = f"inL{k}", self.below(k)
        lines: list[Expr] = []
        if self.single:
            return lines
        if not self.list_instances:
            return [
                Word(
                    f"(the {self.n} per-instance gradients are not listed: more than "
                    f"{MAX_LISTED_INSTANCES} instances; dEd{wname} is their {self.reduction})"
                )
            ]
        own = Word(
            f"{self.n} * dEdInL{k}[s] (the mean's 1/{self.n} taken out)"
            if self.reduction == "mean"
            else f"dEdInL{k}[s]"
        )
        lines.append(
            Op("=", [Sym(f"delta{k}", ("s",)), D(Sym("e", ("s",)), Sym(inl, ("s",))), own])
        )
        shares = []
        for s in range(self.n):
            # Instance s's own gradient: the trace's share without the mean's 1/n.
            share = (np.outer(A_prev[s], dZ[s]) if p == "W" else dZ[s]) / self.scale
            shares.append(share)
            delta = Sym(f"delta{k}", (s + 1,))
            what: Expr = (
                Call("outer", Op(",", [Sym(below, (s + 1,)), delta])) if p == "W" else delta
            )
            lines.append(Op("=", [D(Sym("e", (s + 1,)), wname), what, self.mat(share)]))
        total: Expr = Op("+", [self.mat(share) for share in shares])
        sym_total: Expr = Op("+", [D(Sym("e", (s + 1,)), wname) for s in range(self.n)])
        if self.reduction == "mean":
            total = Op("*", [frac(1, self.n), total])
            sym_total = Op("*", [frac(1, self.n), sym_total])
        if self.l2 and p == "W":
            W = np.asarray(self.t[wname], float)
            total = Op("+", [total, Op("*", [self.num(self.l2), self.mat(W)])])
            sym_total = Op("+", [sym_total, Op("*", [Sym("l2"), Sym(wname)])])
        lines.append(Op("=", [Sym(key), sym_total, total, self.mat(grad)]))
        return lines
