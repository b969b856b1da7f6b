"""Grading a learner's answers: right, wrong, carried over, missing, and the mistake's name.

The quantities are checked in the order a step computes them. Each answer is compared
with the exact value first; if it differs, with the value that follows from the
learner's *own* earlier answers (then it is "carried": a slip made earlier, not counted
again); if it differs from that too, the quantity is recomputed under every
:data:`~chainrule.learn.grading_mistakes.MISTAKES` entry, from the learner's own
earlier values, and each one that gives the answer is named, with the chain-rule
factor it changes.

Examples
--------
>>> from chainrule.learn import Exercise
>>> ex = Exercise.seed(blank="deltas")
>>> report = ex.grade({"dEdOutL2": [-0.153905], "dEdInL2": [-0.153905]})
>>> [(mark.name, mark.status) for mark in report.marks][:3]
[('dEdOutL2', 'right'), ('dEdInL2', 'wrong'), ('dEdOutL1', 'missing')]
>>> report.marks[1].mistakes[0].title
"f'(inL) forgotten"
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np

from ..trace import Trace
from .grading_mistakes import MISTAKES, Mistake, formula, recompute, split

STATUSES = ("right", "wrong", "carried", "missing")


@dataclass(frozen=True)
class Tolerance:
    """How close an answer must be: every entry within ``atol + rtol * |exact|``.

    Parameters
    ----------
    rtol : float
        Relative tolerance, in [0, 1); the default 0.5 % accepts answers worked by hand
        with four significant digits kept along the way.
    atol : float
        Absolute tolerance, >= 0, for entries that are (nearly) zero.
    """

    rtol: float = 5e-3
    atol: float = 1e-6

    def __post_init__(self) -> None:
        for name, value, low in (("rtol", self.rtol, 0.0), ("atol", self.atol, 0.0)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"tolerance {name} must be a number, got {value!r}")
            if not (math.isfinite(value) and value >= low) or (name == "rtol" and not value < 1):
                what = "in [0, 1)" if name == "rtol" else ">= 0 and finite"
                raise ValueError(f"tolerance {name} must be {what}, got {value!r}")
        if self.rtol == 0 and self.atol == 0:
            raise ValueError("tolerance rtol and atol cannot both be 0")

    def close(self, given: np.ndarray, exact: np.ndarray) -> bool:
        """Whether ``given`` has ``exact``'s shape and every entry is close enough."""
        given, exact = np.asarray(given, dtype=float), np.asarray(exact, dtype=float)
        if given.shape != exact.shape or not np.all(np.isfinite(given)):
            return False
        return bool(np.all(np.abs(given - exact) <= self.atol + self.rtol * np.abs(exact)))

    def __str__(self) -> str:
        percent = f"{self.rtol * 100:g}%"
        return f"every entry within {percent} of the exact value, or within {self.atol:g} of it"


def as_answer(name: str, value: Any) -> np.ndarray:
    """A learner's answer as a float array; raises naming the quantity if it is not numbers."""
    if isinstance(value, str | bytes | Mapping):
        raise TypeError(
            f"the answer for {name} must be a number or a list of numbers, got {value!r}"
        )
    try:
        array = np.asarray(value, dtype=float)
    except (ValueError, TypeError):
        raise ValueError(
            f"the answer for {name} must be a number or a (nested) list of numbers of equal "
            f"lengths, got {value!r:.80}"
        ) from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"the answer for {name} must be finite numbers, got {value!r:.80}")
    return array


def fit_shape(given: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``given`` in ``like``'s shape when they differ only by axes of length 1.

    One instance's ``outL1`` may be written ``[0.75, 0.76]`` or ``[[0.75, 0.76]]``; a
    transposed matrix or a per-instance bias gradient keeps its own shape.
    """
    given, like = np.asarray(given), np.asarray(like)
    if given.shape != like.shape and np.squeeze(given).shape == np.squeeze(like).shape:
        return given.reshape(like.shape)
    return given


@dataclass(frozen=True)
class Mark:
    """The verdict on one quantity.

    Attributes
    ----------
    name : str
        The quantity, e.g. ``"dEdW1"``.
    status : {"right", "wrong", "carried", "missing"}
        ``carried``: wrong, but exactly what follows from the learner's earlier answers.
    exact : numpy.ndarray
    given : numpy.ndarray or None
    own : numpy.ndarray
        What follows from the learner's own earlier answers (the exact value when
        those were right).
    mistakes : tuple of Mistake
        The common mistakes that give the answer (for ``wrong`` only; may be empty).
    hint : str
        The chain-rule factor that differs (a named mistake) or the formula to redo.
    """

    name: str
    status: str
    exact: np.ndarray
    given: np.ndarray | None
    own: np.ndarray
    mistakes: tuple[Mistake, ...] = ()
    hint: str = ""

    def __str__(self) -> str:
        if self.status != "wrong":
            return f"{self.name}: {self.status}"
        named = " or ".join(m.title for m in self.mistakes)
        return f"{self.name}: wrong. {named + '. ' if named else ''}{self.hint}"

    def _repr_markdown_(self) -> str:
        return f"**{self.name}**: {str(self).split(': ', 1)[1]}"


@dataclass
class Report:
    """All the marks of one set of answers, in the order the step computes them."""

    marks: list[Mark] = field(default_factory=list)
    tolerance: Tolerance = field(default_factory=Tolerance)

    def names(self, status: str) -> list[str]:
        """The quantities with this status."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        return [mark.name for mark in self.marks if mark.status == status]

    @property
    def passed(self) -> bool:
        """At least one answer given, and every answer given is right."""
        return bool(self.names("right")) and not (self.names("wrong") or self.names("carried"))

    def mark(self, name: str) -> Mark:
        """The mark of quantity ``name``."""
        for mark in self.marks:
            if mark.name == name:
                return mark
        raise KeyError(f"{name!r} is not a blank of this worksheet")

    def _lines(self, precision: int = 6) -> list[tuple[str, str]]:
        """``(status, text)`` lines of the report; ``""`` for a wrong answer's detail lines."""
        lines = []
        if self.names("right"):
            lines.append(("right", ", ".join(self.names("right"))))
        for mark in self.marks:
            if mark.status != "wrong":
                continue
            named = " or ".join(m.title for m in mark.mistakes) if mark.mistakes else ""
            lines.append(("wrong", f"{mark.name}: {named + '. ' if named else ''}{mark.hint}"))
            with np.printoptions(precision=precision, suppress=True):
                lines.append(("", f"you gave {_compact(mark.given)}"))
                lines.append(("", f"exact    {_compact(mark.exact)}"))
        for status in ("carried", "missing"):
            if self.names(status):
                lines.append((status, ", ".join(self.names(status))))
        return lines

    def summary(self) -> str:
        """One line: how many answers are right, wrong, carried over and missing, and the
        mistakes named (each once, with how many answers it made wrong)."""
        counts = {status: len(self.names(status)) for status in STATUSES}
        text = (
            f"{counts['right']} right, {counts['wrong']} wrong, {counts['carried']} carried over "
            f"from an earlier answer, {counts['missing']} missing."
        )
        named: dict[str, int] = {}
        for mark in self.marks:
            if mark.status == "wrong":
                title = " or ".join(m.title for m in mark.mistakes) or "not a common mistake"
                named[title] = named.get(title, 0) + 1
        if named:
            text += (
                " Mistakes: "
                + "; ".join(
                    title + (f" ({count} answers)" if count > 1 else "")
                    for title, count in named.items()
                )
                + "."
            )
        return text

    def __str__(self) -> str:
        out = [f"Answers checked ({self.tolerance})."]
        for status, text in self._lines():
            out.append(f"  {status:<8} {text}" if status else f"             {text}")
        out.append(self.summary())
        if self.names("carried"):
            out.append(
                "Carried answers follow correctly from your own earlier values: fix the first "
                "wrong answer and they come right."
            )
        return "\n".join(out) + "\n"

    def _repr_markdown_(self) -> str:
        out = [f"**Answers checked** ({self.tolerance})", ""]
        for status, text in self._lines():
            out.append(f"- **{status}** {text}" if status else f"  - `{text.strip()}`")
        return "\n".join([*out, "", self.summary(), ""])

    def _repr_html_(self) -> str:
        colours = {"right": "#1e7b34", "wrong": "#b03a2e", "carried": "#9a6b00", "missing": "#555"}
        rows = []
        for status, text in self._lines():
            if status:
                rows.append(
                    f'<li><strong style="color:{colours[status]}">{status}</strong> '
                    f"{escape(text)}</li>"
                )
            else:
                rows.append(f"<li style='list-style:none'><code>{escape(text.strip())}</code></li>")
        return (
            f"<div><p><strong>Answers checked</strong> ({escape(str(self.tolerance))})</p>"
            f"<ul>{''.join(rows)}</ul><p>{escape(self.summary())}</p></div>"
        )


def _compact(value: np.ndarray | None) -> str:
    if value is None:
        return "(none)"
    value = np.asarray(value)
    # One row, as the worksheet shows one instance's values.
    return " ".join(str(value[0] if value.ndim == 2 and value.shape[0] == 1 else value).split())


def grade(
    trace: Trace,
    quantities: Iterable[str],
    blanks: Iterable[str],
    answers: Mapping[str, Any],
    tolerance: Tolerance,
) -> Report:
    """Grade ``answers`` to the ``blanks`` of the step recorded in ``trace``.

    Parameters
    ----------
    trace : Trace
        The exact step (from :func:`chainrule.train_step` with a tracer).
    quantities : iterable of str
        Every quantity of the step, in the order it computes them.
    blanks : iterable of str
        The ones the learner had to fill in; the others were given.
    answers : mapping of str to array-like
        The learner's values, by glossary name; some blanks may be left out.
    tolerance : Tolerance

    Returns
    -------
    Report
    """
    quantities, blanks = list(quantities), set(blanks)
    unknown = sorted(set(answers) - blanks)
    if unknown:
        raise ValueError(
            f"answers hold {unknown}, which are not blanks of this worksheet; "
            f"its blanks are {[q for q in quantities if q in blanks]}"
        )
    given = {name: as_answer(name, value) for name, value in answers.items()}
    info, n = trace.info, trace.n_samples
    mine: dict[str, np.ndarray] = {
        name: np.asarray(value) for name, value in trace.items() if name not in quantities
    }
    report = Report(tolerance=tolerance)
    for name in quantities:
        exact = np.asarray(trace[name])
        if name not in blanks:
            mine[name] = exact
            continue
        own = np.asarray(recompute(name, mine, info))
        if name not in given:
            report.marks.append(Mark(name, "missing", exact, None, own))
            mine[name] = own
            continue
        raw = given[name]
        answer = fit_shape(raw, exact)
        if tolerance.close(answer, exact):
            report.marks.append(Mark(name, "right", exact, answer, own))
            mine[name] = answer
            continue
        if not tolerance.close(own, exact) and tolerance.close(fit_shape(raw, own), own):
            # Worked right from earlier answers: carried if one of them was wrong, else
            # right (the earlier answers' rounding, each within tolerance, added up).
            slipped = any(mark.status in ("wrong", "carried") for mark in report.marks)
            report.marks.append(Mark(name, "carried" if slipped else "right", exact, answer, own))
            mine[name] = answer
            continue
        matches = []
        for mistake in MISTAKES.values():
            wrong = recompute(name, mine, info, mistake)
            if wrong is None:
                continue
            # Tolerances do not chain: a mistake that moves the value just within reach of
            # ``own`` may still move it out of reach of the exact value.
            changes = not tolerance.close(fit_shape(wrong, own), own) or not tolerance.close(
                fit_shape(wrong, exact), exact
            )
            if changes and tolerance.close(fit_shape(raw, wrong), wrong):
                matches.append(mistake)
        hint = (
            " ".join(m.explain(name, info, n) + "." for m in matches)
            if matches
            else _redo(name, mine, own, answer, info, n)
        )
        report.marks.append(Mark(name, "wrong", exact, answer, own, tuple(matches), hint))
        mine[name] = answer if _usable(name, answer, exact, mine) else own
    return report


def _usable(name: str, answer: np.ndarray, exact: np.ndarray, mine: Mapping[str, Any]) -> bool:
    """Whether later quantities can be worked from this (wrong) answer, as the learner would."""
    if answer.shape == exact.shape:
        return True
    kind, k = split(name)
    # Only the update uses a gradient: a transposed dEdW is turned back, and an unsummed
    # dEdB broadcasts over the instances (the seed notebook's drifting b1).
    if kind == "dEdW":
        return answer.shape == exact.T.shape
    return kind == "dEdB" and answer.shape == np.shape(mine[f"dEdInL{k}"])


def _redo(
    name: str,
    mine: Mapping[str, np.ndarray],
    own: np.ndarray,
    answer: np.ndarray,
    info: Mapping[str, Any],
    n: int,
) -> str:
    """The formula to redo, and for a delta the factor ``doutLk/dinLk`` the answer implies."""
    text = f"Redo {formula(name, info, n)}"
    kind, k = split(name)
    if answer.shape != own.shape:
        return f"{text}; it has shape {own.shape}, not {answer.shape}."
    if kind == "dEdInL" and info["activations"][k - 1].elementwise:
        dA = np.asarray(mine[f"dEdOutL{k}"], dtype=float)
        usable = np.abs(dA) > 1e-12
        if np.any(usable):
            with np.printoptions(precision=4, suppress=True):
                implied = np.where(usable, answer / np.where(usable, dA, 1.0), np.nan)
                right = np.where(usable, own / np.where(usable, dA, 1.0), np.nan)
                return (
                    f"{text}. Your answer implies doutL{k}/dinL{k} = {_compact(implied)}, "
                    f"but f'(inL{k}) = {_compact(right)}."
                )
    if kind == "dEdW" and np.shape(mine["x"])[0] == 1:
        # One instance: dEdWk[i, j] = below[i] * dEdInLk[j], so each column implies below.
        dZ = np.asarray(mine[f"dEdInL{k}"], dtype=float)[0]
        below = np.asarray(mine["x" if k == 1 else f"outL{k - 1}"], dtype=float)[0]
        j = int(np.argmax(np.abs(dZ)))
        if abs(dZ[j]) > 1e-12:
            with np.printoptions(precision=4, suppress=True):
                implied = answer[:, j] / dZ[j]
                return (
                    f"{text}. Column {j + 1} of your answer implies dinL{k}/dW{k} = "
                    f"{_compact(implied)}, but it is {'x' if k == 1 else f'outL{k - 1}'} = "
                    f"{_compact(below)}."
                )
    return f"{text}; from your earlier values that gives {_compact(np.round(own, 6))}."
