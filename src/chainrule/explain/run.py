"""Run the traced step(s) that an explanation shows, and render them in any format."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np

from ..checks import check_positive
from ..gradcheck import check_gradients
from ..losses import Loss, get_loss
from ..network import Network
from ..step import train_step
from ..trace import Trace
from .derivation import LEVELS, Derivation, build
from .graph import render_graph
from .html import render as render_html
from .latex import render as render_latex
from .markdown import render as render_markdown
from .svg import render_svg
from .text import render_text

FORMATS = ("text", "markdown", "latex", "html")
MAX_GRADCHECK_PARAMS = 2000
"""Networks with at most this many parameters get central differences by default."""


@dataclass
class Explanation:
    """A traced first step, the error over all steps, and how to render them.

    Attributes
    ----------
    trace : Trace
        Every quantity of the first step, under the seed's names.
    errors : list of float
        The batch loss before step 1, after step 1, ..., after step ``steps``.
    title : str
    checks : dict
        ``{"W1": (analytic, numeric), ...}``: each analytic gradient of the first step
        beside its central-difference estimate (:func:`chainrule.check_gradients`).
    scalars : bool or None
        Write out every weight's chain of factors; None: only for small networks.
    """

    trace: Trace
    errors: list[float] = field(default_factory=list)
    title: str = ""
    checks: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    scalars: bool | None = None

    def derivation(self, precision: int = 6, level: str = "full") -> Derivation:
        """The steps every format shows; see :mod:`chainrule.explain.derivation`."""
        return build(
            self.trace,
            self.errors,
            title=self.title,
            precision=precision,
            checks=self.checks,
            scalars=self.scalars,
            level=level,
        )

    def render(
        self,
        format: str = "text",
        precision: int = 6,
        *,
        derive: bool = False,
        level: str = "full",
        diagram: str | None = None,
        graph: str | None = None,
    ) -> str:
        """The explanation as ``text`` (the notebook's look), ``markdown``, ``latex`` or ``html``.

        Parameters
        ----------
        format : {"text", "markdown", "latex", "html"}
        precision : int
            Digits after the decimal point.
        derive : bool
            Text only: follow each of the notebook's lines with ``#`` lines that derive
            it (general formula, shapes, numbers, every entry) and close with the checks
            and diagnostics. The other formats always show the derivation.
        level : {"full", "summary"}
            ``summary``: the formulas and values, without the entry-by-entry expansion,
            the local derivatives and the per-instance lines.
        diagram, graph : str, optional
            Markdown only: the relative paths of the network diagram and the
            computational graph (``.svg`` files written beside the Markdown, see
            :meth:`diagram` and :meth:`graph`), linked as images.
        """
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {format!r}")
        if isinstance(precision, bool) or not isinstance(precision, int) or precision < 0:
            raise ValueError(f"precision must be a whole number >= 0, got {precision!r}")
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
        for name, link in (("diagram", diagram), ("graph", graph)):
            if link is not None and (not isinstance(link, str) or not link.endswith(".svg")):
                raise ValueError(f"{name} must be the path of an .svg file, got {link!r}")
        if format == "text":
            derivation = self.derivation(precision, level) if derive else None
            return render_text(
                self.trace,
                self.errors,
                precision=precision,
                title=self.title,
                derivation=derivation,
            )
        derivation = self.derivation(precision, level)
        if format == "markdown":
            return render_markdown(derivation, self.trace, diagram=diagram, graph=graph)
        if format == "latex":
            return render_latex(derivation, self.trace)
        return render_html(derivation, self.trace)

    def diagram(self, view: str = "both", precision: int = 4) -> str:
        """An SVG diagram of the network: ``forward``, ``backward`` or ``both`` views."""
        return render_svg(self.trace, view=view, precision=precision)

    def graph(self, precision: int = 4) -> str:
        """The computational graph (SVG), one node per operation; see :mod:`.graph`."""
        return render_graph(self.trace, precision=precision)

    def __str__(self) -> str:
        return self.render()

    def _repr_html_(self) -> str:
        return render_html(self.derivation(), self.trace, standalone=False)

    def _repr_markdown_(self) -> str:
        return self.render("markdown")


STEP_KEYS = ("loss", "reduction", "lr", "n_layers", "activations", "frozen")


def _is_step(trace: Trace) -> bool:
    """Whether ``trace`` holds a whole training step (from :func:`chainrule.train_step`)."""
    return all(key in trace.info for key in STEP_KEYS) and "E_new" in trace


def trace_html(trace: Trace) -> str:
    """A trace as HTML: its derivation for a training step, else a table of its values."""
    if _is_step(trace):
        return Explanation(trace)._repr_html_()

    rows = "".join(
        f"<tr><th>{escape(name)}</th><td><pre>{escape(_fmt(value))}</pre></td></tr>"
        for name, value in trace.items()
    )
    return f"<table>{rows}</table>"


def trace_markdown(trace: Trace) -> str:
    """A trace as Markdown: its derivation for a training step, else a list of its values."""
    if _is_step(trace):
        return Explanation(trace)._repr_markdown_()
    return "\n".join(
        f"- `{name}`: `{_fmt(value)}`".replace("\n", " ") for name, value in trace.items()
    )


def _fmt(value: Any) -> str:
    with np.printoptions(precision=6):
        return str(np.asarray(value))


def explain(
    network: Network,
    x: Any,
    y: Any,
    *,
    lr: float,
    loss: str | Loss = "half_squared_error",
    reduction: str = "mean",
    steps: int = 1,
    title: str = "",
    freeze_biases: bool = False,
    scalars: bool | None = None,
    gradcheck: bool | None = None,
    l2: float = 0.0,
) -> Explanation:
    """Trace one gradient-descent step of ``network`` on ``(x, y)`` and explain it.

    The network itself is not changed: the steps run on a copy. Its frozen parameters
    (:meth:`Network.freeze`) stay fixed, and so do all biases with ``freeze_biases``.

    Parameters
    ----------
    network : Network
    x : array-like, shape (n_samples, n_features) or (n_features,)
        One instance, or a mini-batch whose per-instance deltas are shown.
    y : array-like, shape (n_samples, n_out), (n_out,) or a scalar
    lr : float
        Learning rate of plain gradient descent.
    loss : str or Loss
        ``half_squared_error`` (the seed's 1/2 sum of squares), ``mean_squared_error``, ...
    reduction : {"mean", "sum"}
        How the per-instance errors of a batch combine.
    steps : int
        Steps to take; the explanation details the first and tabulates the error of all.
    title : str
        What the network is, for the heading.
    freeze_biases : bool
        Keep every bias fixed (a common textbook convention).
    scalars : bool, optional
        Write out the chain of factors for every weight; by default for networks of up
        to 10 neurons and batches of up to 4 instances.
    gradcheck : bool, optional
        Put the central-difference estimate beside each gradient; by default for
        networks of up to :data:`MAX_GRADCHECK_PARAMS` parameters (it costs two forward
        passes per parameter).
    l2 : float
        L2 regularization: the penalty ``l2/2 * sum_k ||Wk||^2`` joins the error and
        ``l2 * Wk`` each weight's gradient (see :func:`chainrule.train_step`).

    Examples
    --------
    >>> from chainrule import explain, seed_example
    >>> seed = seed_example()
    >>> text = str(explain(seed.network, seed.x, seed.y, lr=seed.lr))
    >>> "Input to layer 1:  [1.099 1.13 ]" in text
    True
    """
    check_positive(steps, "steps", integer=True)
    check_positive(lr, "lr")
    if isinstance(l2, bool) or not isinstance(l2, int | float) or not 0 <= l2 < float("inf"):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
    if not isinstance(freeze_biases, bool):
        raise TypeError(f"freeze_biases must be True or False, got {freeze_biases!r}")
    for name, flag in (("scalars", scalars), ("gradcheck", gradcheck)):
        if flag is not None and not isinstance(flag, bool):
            raise TypeError(f"{name} must be True, False or None, got {flag!r}")
    loss = get_loss(loss)
    work = network.copy()
    if freeze_biases:
        work.freeze(*(f"b{k}" for k in range(1, work.n_layers + 1)))
    if gradcheck is None:
        gradcheck = sum(int(np.size(p)) for p in work.params.values()) <= MAX_GRADCHECK_PARAMS
    checks = {}
    if gradcheck:
        report = check_gradients(work, loss, x, y, reduction=reduction)
        checks = {name: (r.analytic, r.numeric) for name, r in report.results.items()}
        if l2:  # the penalty's gradient l2 * Wk, exact, on both sides
            for name, (analytic, numeric) in list(checks.items()):
                if name.startswith("W"):
                    extra = l2 * np.asarray(work.params[name], dtype=float)
                    checks[name] = (np.asarray(analytic) + extra, np.asarray(numeric) + extra)
    trace = Trace()
    kw = {"lr": lr, "loss": loss, "reduction": reduction, "l2": l2}
    errors = [train_step(work, x, y, tracer=trace, **kw)]
    for _ in range(steps - 1):
        errors.append(train_step(work, x, y, **kw))
    penalty = (
        0.5
        * l2
        * sum(
            float(np.sum(np.asarray(work.params[f"W{k}"], dtype=float) ** 2))
            for k in range(1, work.n_layers + 1)
        )
    )
    errors.append(float(work.loss(x, y, loss, reduction)) + penalty)
    return Explanation(trace=trace, errors=errors, title=title, checks=checks, scalars=scalars)
