"""Read the numbers back out of a Markdown explanation (a helper for the explain tests).

It knows only the Markdown layout: a step starts at a ``### ...`` heading whose last
word (or the word in parentheses) is the trace name, and its equations follow, each in
a fenced ```` ```math ```` block. Numbers are plain decimals or ``m \\times 10^{e}``; matrices are
``\\begin{bmatrix} a & b \\\\ c & d \\end{bmatrix}``.
"""

from __future__ import annotations

import re

import numpy as np

NUMBER = r"-?\d+(?:\.\d+)?(?: \\times 10\^\{-?\d+\})?"
MATRIX = re.compile(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}")


def parse_number(text: str) -> float:
    text = text.strip()
    if re.fullmatch(r"-?\d+(?:\.\d+)?e-?\d+", text):  # scientific, as in the tables
        return float(text)
    match = re.fullmatch(r"(-?\d+(?:\.\d+)?)(?: \\times 10\^\{(-?\d+)\})?", text)
    assert match, f"not a number: {text!r}"
    mantissa, exponent = match.groups()
    return float(mantissa) * (10.0 ** int(exponent) if exponent else 1.0)


def parse_matrix(body: str) -> np.ndarray:
    rows = [row.strip() for row in body.split(r"\\")]
    return np.array([[parse_number(v) for v in row.split("&")] for row in rows])


def matrices(equation: str) -> list[np.ndarray]:
    """Every bmatrix of an equation, in order, each 2-D."""
    return [parse_matrix(m) for m in MATRIX.findall(equation)]


def steps(markdown: str) -> dict[str, dict[str, list[str]]]:
    """``{trace name: {"equations": [...], "entries": [...], "checks": [...]}}``.

    The equations are those before "Entry by entry", in order (general formula, matrix
    form, numbers, then any per-instance lines); the entries those after it.
    """
    out: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    part = "equations"
    fence: list[str] | None = None
    for line in markdown.splitlines():
        if fence is not None:
            if line == "```":
                if current is not None and part != "local":
                    current[part].append(" ".join(fence))
                fence = None
            else:
                fence.append(line)
            continue
        if line == "```math":
            fence = []
        elif line.startswith("### "):
            heading = line[4:]
            key = heading[heading.rfind("(") + 1 : -1] if heading.endswith(")") else heading
            current = out.setdefault(key, {"equations": [], "entries": [], "checks": []})
            part = "equations"
        elif line.startswith("## "):
            current = None
        elif current is not None:
            if line.startswith("Entry by entry"):
                part = "entries"
            elif line.startswith("Local derivatives"):
                part = "local"
            elif line.startswith("Per instance"):
                part = "equations"
            elif line.startswith("$$"):
                current[part].append(line.strip("$ "))
            elif line.startswith("| ") and "[" in line:
                current["checks"].append(line)
    return out


def result(equation: str) -> np.ndarray:
    """The value after the last ``=`` of an equation (a matrix or a number), 2-D."""
    tail = equation.rsplit(" = ", 1)[1].strip()
    found = matrices(tail)
    return found[0] if found else np.array([[parse_number(tail)]])


def factors(entry: str) -> tuple[list[float], float]:
    """The numbers of an entry line's numeric part, ``a \\cdot b \\cdot c = d``."""
    *_, numeric, value = entry.split(" = ")
    nums = [
        parse_number(m) for m in re.findall(NUMBER, numeric.replace("(", " ").replace(")", " "))
    ]
    return nums, parse_number(value)


def close(printed: np.ndarray, true: np.ndarray, precision: int) -> bool:
    """Whether ``printed`` is ``true`` shown with ``precision`` digits (or 2 significant ones)."""
    printed, true = np.asarray(printed, float), np.asarray(true, float)
    if printed.shape != true.shape:
        return False
    tol = 0.5 * 10.0**-precision + 1e-12
    small = np.abs(true) < 0.5 * 10.0**-precision
    return bool(np.all(np.where(small, np.abs(printed - true) <= np.abs(true) * 1e-4 + 1e-300,
                                np.abs(printed - true) <= tol)))  # fmt: skip
