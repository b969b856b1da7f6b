"""The derivation every renderer reads: a list of steps, each shown three ways.

:func:`build` turns a :class:`~chainrule.trace.Trace` into a :class:`Derivation`. Each
:class:`Step` holds one traced quantity with its general formula (the chain rule in
symbols), its matrix form with shapes, the same formula with the numbers substituted
and, for small networks, the scalar expansion of every entry. The text, Markdown,
LaTeX and HTML renderers only lay these out, so the formats cannot disagree.

Every number comes from the trace; the only numbers computed here are the
activation derivatives ``f'(inLk)`` (from the traced ``inLk`` and ``outLk``) and, for a
batch, the per-instance gradients (each instance's share of the traced sum).

Indices in the scalar expansion count from 1, as the layers do: ``W2[1,2]`` joins
neuron 1 of layer 1 to neuron 2 of layer 2; for a batch the first index is the instance.

Examples
--------
>>> from chainrule import explain, seed_example
>>> seed = seed_example()
>>> d = explain(seed.network, seed.x, seed.y, lr=seed.lr).derivation()
>>> step = d.step("dEdW2")
>>> print(step.general.text())
dE/dW2 = dE/doutL2 * doutL2/dinL2 * dinL2/dW2
>>> print(step.scalars[0].text())
dE/dW2[1,1] = dE/doutL2[1] * doutL2[1]/dinL2[1] * dinL2[1]/dW2[1,1] = (-0.153905) * 0.189437 * 0.750073 = -0.021869
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..trace import Trace
from .diagnostics import Diagnostics, diagnose
from .expr import D, Expr, Mat, Num, Op, Shaped, Sym, T, Call, Word, frac
from .formulas import loss_error, loss_gradient

MAX_SCALAR_NEURONS = 10
"""Networks with at most this many neurons (inputs not counted) get the scalar expansion."""


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
    intro: str = ""


@dataclass
class Derivation:
    """Everything an explanation shows, in order, for any renderer."""

    title: str
    conventions: list[str]
    given: list[tuple[str, np.ndarray]]
    sections: list[Section]
    errors: list[float]
    precision: int
    n_samples: int
    sizes: list[int]
    activations: list[str]
    reduction: str
    diagnostics: Diagnostics
    error_before: float = 0.0
    error_after: float = 0.0
    checks: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def step(self, key: str) -> Step:
        """The step that derives trace quantity ``key``."""
        for section in self.sections:
            for step in section.steps:
                if step.key == key:
                    return step
        raise KeyError(f"no step derives {key!r}")

    def steps(self) -> list[Step]:
        """All steps in order."""
        return [step for section in self.sections for step in section.steps]


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in np.shape(value))


class _Builder:
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
        self.sizes = [int(trace["x"].shape[1])] + [int(trace[f"b{k}"].shape[0]) for k in self.layers]
        if scalars is None:
            scalars = sum(self.sizes[1:]) <= MAX_SCALAR_NEURONS
        self.scalars = scalars

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

    def step(self, key: str, label: str, general: Expr, matrix: Expr, numbers: Expr,
             scalars: list[Expr] | None = None, **kw: Any) -> Step:  # fmt: skip
        value = self.row(key) if key in self.t else np.asarray(kw.pop("value"))
        numbers = Op("=", [Sym(key), numbers, self.mat(value)])
        return Step(key, label, value, general, matrix, numbers,
                    tuple(scalars or []) if self.scalars else (), **kw)  # fmt: skip

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
            zs.append(Op("=", [
                Sym(f"inL{k}", self.idx(s, j)),
                Op("+", [*terms, Sym(f"b{k}", (j + 1,))]),
                Op("+", [*nums, self.num(b[j])]),
                self.num(Z[s, j]),
            ]))  # fmt: skip
            as_.append(Op("=", [
                Sym(f"outL{k}", self.idx(s, j)),
                Call(act, Sym(f"inL{k}", self.idx(s, j))),
                Call(act, self.num(Z[s, j])),
                self.num(A[s, j]),
            ]))  # fmt: skip
        inl = self.step(
            f"inL{k}", f"Input to layer {k}",
            Op("=", [Sym(f"inL{k}"), Op("+", [Op("@", [Sym(below), Sym(f"W{k}")]), Sym(f"b{k}")])]),
            Op("=", [self.shaped(f"inL{k}"), Op("+", [
                Op("@", [self.shaped(below), self.shaped(f"W{k}", W)]), self.shaped(f"b{k}", b)
            ])]),
            Op("+", [Op("@", [self.mat(self.row(below)), self.mat(W)]), self.mat(b)]),
            zs,
        )  # fmt: skip
        outl = self.step(
            f"outL{k}", f"Output of layer {k}",
            Op("=", [Sym(f"outL{k}"), Call(act, Sym(f"inL{k}"))]),
            Op("=", [self.shaped(f"outL{k}"), Call(act, self.shaped(f"inL{k}"))]),
            Call(act, self.mat(self.row(f"inL{k}"))),
            as_,
        )  # fmt: skip
        return [inl, outl]

    # -- error ----------------------------------------------------------------------
    def error(self) -> list[Step]:
        L, y = self.L, np.asarray(self.t["y"], float)
        yhat = np.asarray(self.t[f"outL{L}"], float)
        m = y.shape[1]
        general = loss_error(self.loss, lambda j: Sym(f"outL{L}", (j,)), lambda j: Sym("y", (j,)), m)
        general = general if general is not None else Word(self.loss.error_formula)
        lines = []
        for s in range(self.n):
            nums = loss_error(self.loss, lambda j, s=s: self.num(yhat[s, j - 1]),
                              lambda j, s=s: self.num(y[s, j - 1]), m)  # fmt: skip
            parts: list[Expr] = [Sym("e", () if self.single else (s + 1,))]
            parts += [nums] if nums is not None else []
            lines.append(Op("=", [*parts, self.num(self.t["e"][s])]))
        e = self.t["e"]
        step = Step(
            "e", "Error", np.asarray(e, float),
            Op("=", [Sym("e"), general]),
            Op("=", [Shaped(Sym("e"), (self.n,)), Word(f"one error per instance ({self.loss.name})")]),
            lines[0] if self.single else Op("=", [Sym("e"), self.mat(e)]),
            tuple(lines) if not self.single else (),
        )  # fmt: skip
        steps = [step]
        if not self.single:
            factor: Expr = frac(1, self.n) if self.reduction == "mean" else Word("")
            E = float(np.asarray(self.t["E"]))
            steps.append(Step(
                "E", f"Batch error E = {self.reduction}(e)", np.asarray(E),
                Op("=", [Sym("E"), Op(" ", [factor, Sum_s(Sym("e", ("s",)))])]),
                Op("=", [Sym("E"), Word(f"{self.reduction} of the {self.n} instance errors")]),
                Op("=", [Sym("E"), Op(" ", [factor, Op("+", [self.num(v) for v in e])]), self.num(E)]),
            ))  # fmt: skip
        return steps

    # -- backward -------------------------------------------------------------------
    def reduction_factor(self) -> list[Expr]:
        return [frac(1, self.n)] if self.reduction == "mean" and not self.single else []

    def scaled(self, expr: Expr) -> Expr:
        """``expr`` times the mean's 1/n, where the mean of a batch applies."""
        factor = self.reduction_factor()
        return Op(" ", [*factor, expr]) if factor else expr

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
            sym_grad = loss_gradient(self.loss, Sym(out), Sym("y"), m) or Word(self.loss.gradient_formula)
            general = Op("=", [D("E", out), self.scaled(sym_grad)])
            matrix = Op("=", [self.shaped(f"dEdOutL{k}"), self.scaled(Word(
                f"{self.loss.gradient_formula.replace('yhat', out)}, entry by entry"))])
            numbers: Expr = self.scaled(loss_gradient(
                self.loss, self.mat(self.row(out)), self.mat(self.row("y")), m) or Word(""))
            scal = []
            for s, j in self.entries(dA.shape):
                g = loss_gradient(self.loss, self.num(yhat[s, j]), self.num(y[s, j]), m)
                sg = loss_gradient(self.loss, Sym(out, self.idx(s, j)), Sym("y", self.idx(s, j)), m)
                parts = [self.scaled(e) for e in (sg, g) if e is not None]
                scal.append(Op("=", [Sym(f"dEdOutL{k}", self.idx(s, j)), *parts, self.num(dA[s, j])]))
            # fmt: skip
        else:
            W = np.asarray(self.t[f"W{k + 1}"], float)
            dZ_up = np.asarray(self.t[f"dEdInL{k + 1}"], float)
            general = Op("=", [D("E", out), Op("*", [D("E", f"inL{k + 1}"), D(f"inL{k + 1}", out)])])
            matrix = Op("=", [self.shaped(f"dEdOutL{k}"), Op("@", [
                self.shaped(f"dEdInL{k + 1}"), self.shaped(f"W{k + 1}", W, transpose=True)])])
            numbers = Op("@", [self.mat(self.row(f"dEdInL{k + 1}")), T(self.mat(W))])
            scal = []
            for s, j in self.entries(dA.shape):
                terms = [Op("*", [Sym(f"dEdInL{k + 1}", self.idx(s, m)), Sym(f"W{k + 1}", (j + 1, m + 1))])
                         for m in range(W.shape[1])]
                nums = [Op("*", [self.num(dZ_up[s, m]), self.num(W[j, m])]) for m in range(W.shape[1])]
                scal.append(Op("=", [Sym(f"dEdOutL{k}", self.idx(s, j)), Op("+", terms),
                                     Op("+", nums), self.num(dA[s, j])]))
            # fmt: skip
        steps.append(self.step(f"dEdOutL{k}", f"dEdOutL{k}", general, matrix, numbers, scal))
        # dE/dinLk
        fp = self.fprime(k)
        if fused:
            general = Op("=", [D("E", inl), self.scaled(Op("-", [Sym(out), Sym("y")]))])
            matrix = Op("=", [self.shaped(f"dEdInL{k}"), Word(f"{act.name} and {self.loss.name} combined")])
            numbers = self.scaled(Op("-", [self.mat(self.row(out)), self.mat(self.row("y"))]))
            scal = [Op("=", [Sym(f"dEdInL{k}", self.idx(s, j)), self.num(dZ[s, j])]) for s, j in self.entries(dZ.shape)]
        elif act.elementwise:
            general = Op("=", [D("E", inl), Op("*", [D("E", out), D(out, inl)])])
            matrix = Op("=", [self.shaped(f"dEdInL{k}"), Op("⊙", [
                self.shaped(f"dEdOutL{k}"), Call(f"{act.name}'", self.shaped(inl))])])
            numbers = Op("⊙", [self.mat(self.row(f"dEdOutL{k}")), self.mat(fp[0] if self.single else fp)])
            scal = [Op("=", [
                Sym(f"dEdInL{k}", self.idx(s, j)),
                Op("*", [Sym(f"dEdOutL{k}", self.idx(s, j)), Call(f"{act.name}'", Sym(inl, self.idx(s, j)))]),
                Op("*", [self.num(dA[s, j]), self.num(fp[s, j])]),
                self.num(dZ[s, j])]) for s, j in self.entries(dZ.shape)]
        else:
            general = Op("=", [D("E", inl), Op("*", [D("E", out), D(out, inl)])])
            matrix = Op("=", [self.shaped(f"dEdInL{k}"), Word(f"dEdOutL{k} times the Jacobian of {act.name}, per instance")])
            numbers = Word(f"outL{k} * (dEdOutL{k} - sum(dEdOutL{k} * outL{k}))")
            scal = [Op("=", [Sym(f"dEdInL{k}", self.idx(s, j)), self.num(dZ[s, j])]) for s, j in self.entries(dZ.shape)]
        # fmt: skip
        steps.append(self.step(f"dEdInL{k}", f"dEdInL{k}", general, matrix, numbers, scal))
        steps += self.param_grads(k, A_prev, dA, dZ, fp, fused or not act.elementwise)
        return steps

    def param_grads(self, k: int, A_prev: np.ndarray, dA: np.ndarray, dZ: np.ndarray,
                    fp: np.ndarray, short: bool) -> list[Step]:  # fmt: skip
        out, inl, below = f"outL{k}", f"inL{k}", self.below(k)
        steps = []
        for p, wname in (("W", f"W{k}"), ("b", f"b{k}")):
            key = f"dEdW{k}" if p == "W" else f"dEdB{k}"
            grad = np.asarray(self.t[key], float)
            chain = [D("E", inl)] if short else [D("E", out), D(out, inl)]
            general = Op("=", [D("E", wname), Op("*", [*chain, D(inl, wname)])])
            if p == "W":
                matrix = Op("=", [Shaped(Sym(key), _shape(grad)), Op("@", [
                    self.shaped(below, A_prev, transpose=True), Shaped(Sym(f"dEdInL{k}"), dZ.shape)])])
                numbers: Expr = Op("@", [T(self.mat(self.row(below))), self.mat(self.row(f"dEdInL{k}"))])
            else:
                matrix = Op("=", [Shaped(Sym(key), _shape(grad)), Word(f"dEdInL{k} summed over the instances")])
                numbers = self.mat(dZ[0]) if self.single else Op(" ", [Word("column sums of"), self.mat(dZ)])
            # fmt: skip
            scal = []
            for index in self.entries(grad.shape):
                i, j = index if p == "W" else (None, index[0])
                pidx = (i + 1, j + 1) if p == "W" else (j + 1,)
                sym_chain: list[Expr] = [
                    D("E", Sym(inl, (j + 1,)))] if short else [
                    D("E", Sym(out, (j + 1,))), D(Sym(out, (j + 1,)), Sym(inl, (j + 1,)))]
                sym_chain.append(D(Sym(inl, (j + 1,)), Sym(wname, pidx)))
                products: list[Expr] = []
                for s in range(self.n):
                    f = [self.num(dZ[s, j])] if short else [self.num(dA[s, j]), self.num(fp[s, j])]
                    f.append(self.num(A_prev[s, i]) if p == "W" else self.num(1))
                    products.append(Op("*", f))
                numbers_s = products[0] if self.single else Op("+", products)
                scal.append(Op("=", [D("E", Sym(wname, pidx)), Op("*", sym_chain), numbers_s, self.num(grad[index])]))
            # fmt: skip
            per_instance: list[Expr] = []
            if not self.single:
                shares = []
                for s in range(self.n):
                    share = np.outer(A_prev[s], dZ[s]) if p == "W" else dZ[s]
                    share = share / self.scale  # instance s's own gradient dE_s/dparam
                    shares.append(share)
                    what = f"outL{k - 1}[{s + 1}].T @ delta{k}[{s + 1}]" if k > 1 else f"x[{s + 1}].T @ delta{k}[{s + 1}]"
                    if p == "b":
                        what = f"delta{k}[{s + 1}]"
                    per_instance.append(Op("=", [Sym(f"dE{s + 1}/d{wname}"), Word(what), self.mat(share)]))
                combine: Expr = (Op(" ", [frac(1, self.n), Op("+", [Sym(f"dE{s + 1}/d{wname}") for s in range(self.n)])])
                                 if self.reduction == "mean" else Op("+", [Sym(f"dE{s + 1}/d{wname}") for s in range(self.n)]))
                per_instance.append(Op("=", [Sym(key), combine, self.mat(grad)]))
            # fmt: skip
            steps.append(self.step(key, key, general, matrix, numbers, scal, per_instance=tuple(per_instance)))
        return steps

    # -- update ---------------------------------------------------------------------
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
                    matrix: Expr = Op("=", [Shaped(Sym(key), _shape(new)), Shaped(Sym(name), _shape(old))])
                    scal = []
                else:
                    general = Op("=", [Sym(key), Op("-", [Sym(name), Op("*", [Sym("lr"), D("E", name)])])])
                    matrix = Op("=", [Shaped(Sym(key), _shape(new)), Op("-", [
                        Shaped(Sym(name), _shape(old)), Op("*", [Sym("lr"), Shaped(Sym(gname), _shape(grad))])])])
                    numbers = Op("-", [self.mat(old), Op("*", [self.num(lr), self.mat(grad)])])
                    scal = [Op("=", [Sym(key, tuple(i + 1 for i in index)), Op("-", [
                        self.num(old[index]), Op("*", [self.num(lr), self.num(grad[index])])]),
                        self.num(new[index])]) for index in self.entries(old.shape)]
                steps.append(Step(key, name, new, general, matrix,
                                  Op("=", [Sym(key), numbers, self.mat(new)]),
                                  tuple(scal) if self.scalars else ()))
                # fmt: skip
        return steps


def Sum_s(body: Expr) -> Expr:  # noqa: N802
    """A sum over the instances ``s``."""
    from .expr import Sum

    return Sum("s", body)


def build(
    trace: Trace,
    errors: list[float] | None = None,
    *,
    title: str = "",
    precision: int = 6,
    checks: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    scalars: bool | None = None,
) -> Derivation:
    """Build the derivation of a traced step.

    Parameters
    ----------
    trace : Trace
        From :func:`chainrule.train_step` with a tracer.
    errors : list of float, optional
        Batch loss before each step and after the last.
    precision : int
        Digits after the decimal point of every number shown.
    checks : dict, optional
        ``{"W1": (analytic, numeric), ...}`` from :func:`chainrule.check_gradients`.
    scalars : bool, optional
        Write out every entry; by default only for networks of at most
        :data:`MAX_SCALAR_NEURONS` neurons.
    """
    from .text import conventions

    b = _Builder(trace, precision, scalars)
    checks = checks or {}
    sections = [Section(f"Forward pass: layer {k}", b.forward(k)) for k in b.layers]
    sections.append(Section("Error", b.error()))
    for k in range(b.L, 0, -1):
        steps = b.backward(k)
        steps = [
            _with_numeric(s, checks.get(f"W{k}" if s.key.startswith("dEdW") else f"b{k}"))
            if s.key in (f"dEdW{k}", f"dEdB{k}") else s
            for s in steps
        ]  # fmt: skip
        sections.append(Section(f"Backpropagation: layer {k}", steps))
    sections.append(Section("Updating parameters", b.update()))
    given = [("x", b.row("x")), ("y", b.row("y"))]
    for k in b.layers:
        given += [(f"W{k}", np.asarray(trace[f"W{k}"])), (f"b{k}", np.asarray(trace[f"b{k}"]))]
    E_key = "E" if b.n > 1 else "e"
    return Derivation(
        title=title or "a network",
        conventions=conventions(trace),
        given=given,
        sections=sections,
        errors=list(errors or []),
        precision=precision,
        n_samples=b.n,
        sizes=b.sizes,
        activations=[a.name for a in b.acts],
        reduction=b.reduction,
        diagnostics=diagnose(trace),
        error_before=float(np.sum(trace[E_key])),
        error_after=float(np.sum(trace[f"{E_key}_new"])),
        checks=checks,
    )


def _with_numeric(step: Step, check: tuple[np.ndarray, np.ndarray] | None) -> Step:
    if check is None:
        return step
    from dataclasses import replace

    return replace(step, numeric=np.asarray(check[1]))
