"""An arithmetic audit of explanations, written apart from the renderers' code.

Every equation an explanation prints is read back from the output text of each format
(text ``--derive``, Markdown, LaTeX, HTML with MathML), turned into one plain notation,
and each part made only of numbers is evaluated here with NumPy. Two neighbouring
numeric parts of an equation (``a = b``) must agree within the printed rounding: each
printed number stands for any value within half a unit of its last place (at the
explanation's precision), and that uncertainty is carried through the evaluation by
nudging every operand by its half-unit.

The plain notation is NumPy-like: ``[a b]`` a row, ``[[a b] [c d]]`` a matrix, ``@`` the
matrix product, ``*`` element by element, ``**`` a power, ``.T`` a transpose and function
calls (``sigmoid``, ``softmax``, ``exp``, ``sum``, ...). The activation functions and
their derivatives are implemented here again, from their textbook definitions.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# -- the functions an explanation may apply, written out independently -----------------


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.atleast_1d(z)
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "sigmoid": _sigmoid,
    "sigmoid'": lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
    "tanh": np.tanh,
    "tanh'": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: np.maximum(z, 0.0),
    "relu'": lambda z: (np.asarray(z) > 0).astype(float),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "softplus'": _sigmoid,
    "identity": lambda z: np.asarray(z, dtype=float),
    "identity'": lambda z: np.ones_like(np.asarray(z, dtype=float)),
    "softmax": _softmax,
    "exp": np.exp,
    "log": np.log,
    "sum": lambda a: np.sum(a),
    "outer": lambda a, b: np.outer(a, b),
    "diag": lambda a: np.diag(np.ravel(a)),
    "max": lambda a, b: np.maximum(a, b),
}
LEAKY_SLOPE = 0.01  # the default leaky ReLU, the only one the audited networks use
FUNCTIONS["leaky_relu"] = lambda z: np.where(np.asarray(z) > 0, z, LEAKY_SLOPE * np.asarray(z))
FUNCTIONS["leaky_relu'"] = lambda z: np.where(np.asarray(z) > 0, 1.0, LEAKY_SLOPE)

# -- the plain notation: tokens, a parser, an evaluator ---------------------------------

TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:e-?\d+)?)|(?P<name>[A-Za-z_][A-Za-z_0-9]*'?)"
    r"|(?P<op>\*\*|\.T|[-+*/@(),\[\]]))"
)


class SymbolicError(Exception):
    """The part holds a symbol (a name that is not a function): it is not checked."""


@dataclass
class Leaf:
    value: float
    half_unit: float


@dataclass
class Parser:
    text: str
    precision: int
    leaves: list[Leaf] = field(default_factory=list)
    tokens: list[tuple[str, str]] = field(default_factory=list)
    pos: int = 0

    def __post_init__(self) -> None:
        i, text = 0, self.text.strip()
        while i < len(text):
            m = TOKEN.match(text, i)
            if not m or m.end() == i:
                raise SymbolicError(f"cannot read {text[i : i + 20]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            i = m.end()
            while i < len(text) and text[i] == " ":
                i += 1

    # grammar: sum := prod (('+'|'-') prod)* ; prod := unary (('*'|'/'|'@') unary)*
    # unary := '-' unary | power ; power := post ('**' unary)? ; post := atom ('.T')*
    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise SymbolicError("unexpected end")
        tok = self.tokens[self.pos]
        if expected is not None and tok[1] != expected:
            raise SymbolicError(f"expected {expected!r}, got {tok[1]!r}")
        self.pos += 1
        return tok

    def parse(self) -> Callable[[np.ndarray], np.ndarray]:
        node = self.sum()
        if self.pos != len(self.tokens):
            raise SymbolicError(f"left over: {self.tokens[self.pos :]}")
        return node

    def sum(self):
        node = self.prod()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            rhs = self.prod()
            node = (lambda a, b: lambda v: a(v) + b(v))(node, rhs) if op == "+" else (
                lambda a, b: lambda v: a(v) - b(v))(node, rhs)  # fmt: skip
        return node

    def prod(self):
        node = self.unary()
        while self.peek() in ("*", "/", "@"):
            op = self.take()[1]
            rhs = self.unary()
            fn = {"*": np.multiply, "/": np.divide, "@": _matmul}[op]
            node = (lambda a, b, f: lambda v: f(a(v), b(v)))(node, rhs, fn)
        return node

    def unary(self):
        if self.peek() == "-":
            self.take()
            inner = self.unary()
            return lambda v: -inner(v)
        return self.power()

    def power(self):
        node = self.post()
        if self.peek() == "**":
            self.take()
            exponent = self.unary()
            return lambda v: np.power(node(v), exponent(v))
        return node

    def post(self):
        node = self.atom()
        while self.peek() == ".T":
            self.take()
            node = (lambda a: lambda v: np.transpose(a(v)))(node)
        return node

    def number(self, text: str):
        if "e" in text:
            _mantissa, exponent = text.split("e")
            half = 0.5 * 10.0 ** (int(exponent) - max(self.precision - 1, 1))
        else:
            half = 0.5 * 10.0**-self.precision
        self.leaves.append(Leaf(float(text), half))
        i = len(self.leaves) - 1
        return lambda v: v[i]

    def array(self):
        self.take("[")
        items = []
        while self.peek() != "]":
            if self.peek() == "[":
                items.append(self.array())
            else:
                sign = -1.0 if self.peek() == "-" else 1.0
                if sign < 0:
                    self.take()
                kind, text = self.take()
                if kind != "num":
                    raise SymbolicError(f"not a number in an array: {text!r}")
                leaf = self.number(text)
                items.append((lambda f, s: lambda v: s * f(v))(leaf, sign))
        self.take("]")
        return lambda v: np.array([item(v) for item in items], dtype=float)

    def atom(self):
        kind, text = self.tokens[self.pos] if self.pos < len(self.tokens) else ("", "")
        if text == "[":
            return self.array()
        if text == "(":
            self.take()
            node = self.sum()
            self.take(")")
            return node
        if kind == "num":
            self.take()
            return self.number(text)
        if kind == "name":
            if text not in FUNCTIONS or self.tokens[self.pos + 1 : self.pos + 2] != [("op", "(")]:
                raise SymbolicError(text)
            self.take()
            self.take("(")
            args = [self.sum()]
            while self.peek() == ",":
                self.take()
                args.append(self.sum())
            self.take(")")
            fn = FUNCTIONS[text]
            return lambda v: fn(*(a(v) for a in args))
        raise SymbolicError(f"unexpected {text!r}")


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


@dataclass
class Part:
    """One numeric part of an equation, ready to evaluate with nudged operands."""

    fn: Callable[[np.ndarray], np.ndarray]
    leaves: list[Leaf]

    def value(self, nudge: np.ndarray | None = None) -> np.ndarray:
        v = np.array([leaf.value for leaf in self.leaves])
        return np.asarray(self.fn(v if nudge is None else v + nudge), dtype=float)


def numeric_part(text: str, precision: int) -> Part | None:
    """The part as a function of its printed operands, or None if it names a symbol."""
    try:
        p = Parser(text, precision)
        return Part(p.parse(), p.leaves)
    except (SymbolicError, IndexError):
        return None


def _spread(part: Part) -> np.ndarray:
    """How far the part can move when each operand moves within its printed rounding."""
    base = part.value()
    total = np.zeros_like(base)
    for i, leaf in enumerate(part.leaves):
        moved = []
        for sign in (1.0, -1.0):
            nudge = np.zeros(len(part.leaves))
            nudge[i] = sign * leaf.half_unit
            with np.errstate(all="ignore"):
                moved.append(np.abs(part.value(nudge) - base))
        total = total + np.nan_to_num(np.maximum(*moved), nan=np.inf)
    return total


def agree(left: Part, right: Part) -> tuple[bool, str]:
    """Whether two parts are equal within the spread of their printed operands."""
    try:
        with np.errstate(all="ignore"):
            a, b = left.value(), right.value()
    except ValueError as exc:  # shapes that do not fit: a false line too
        return False, str(exc)
    if a.size != b.size:
        return False, f"sizes differ: {a.shape} vs {b.shape}"
    a, b = a.reshape(-1), b.reshape(-1)
    tol = (_spread(left).reshape(-1) + _spread(right).reshape(-1)) * 1.01
    tol = tol + 1e-12 * (1 + np.abs(a))
    ok = bool(np.all(np.abs(a - b) <= tol))
    return ok, "" if ok else f"{a} vs {b} (tolerance {tol})"


# -- each format's equations in the plain notation --------------------------------------


@dataclass
class Equation:
    plain: str
    kind: str  # "numbers" (the step's line with numbers), "entry" or "other"
    source: str


def text_equations(text: str) -> list[Equation]:
    """The ``#`` lines of ``--derive`` text that hold equations."""
    out = []
    kind = "other"
    for line in text.splitlines():
        body = line.lstrip("#").strip()
        if not line.startswith("#"):
            kind = "other"
            continue
        if body.startswith("with numbers:"):
            out.append(Equation(body.split(":", 1)[1], "numbers", line))
            kind = "entry"
        elif body.startswith(("in symbols:", "with shapes:")):
            kind = "other"
        elif " = " in body and line.startswith("#     "):
            out.append(Equation(body, kind, line))
    return out


def _braced(text: str, start: int) -> tuple[str, int]:
    """The text inside the braces opening at ``start``, and the index after them."""
    assert text[start] == "{", text[start:]
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1 : i], i + 1
    raise ValueError(f"unbalanced braces in {text!r}")


def latex_to_plain(tex: str) -> str:
    """LaTeX maths (as an explanation writes it) in the plain notation."""
    tex = re.sub(r"(-?\d+(?:\.\d+)?) \\times 10\^\{(-?\d+)\}", r"\1e\2", tex)
    out, i = [], 0
    while i < len(tex):
        if tex.startswith((r"\frac", r"\tfrac", r"\dfrac"), i):
            i = tex.index("{", i)
            top, i = _braced(tex, i)
            bottom, i = _braced(tex, i)
            out.append(f" (({latex_to_plain(top)}) / ({latex_to_plain(bottom)})) ")
        elif tex.startswith(r"\begin{bmatrix}", i):
            end = tex.index(r"\end{bmatrix}", i)
            body = tex[i + len(r"\begin{bmatrix}") : end]
            rows = [r.strip() for r in body.split(r"\\")]
            cells = " ".join(
                "[" + " ".join(latex_to_plain(c).strip() for c in r.split("&")) + "]" for r in rows
            )
            out.append(f" [{cells}] ")
            i = end + len(r"\end{bmatrix}")
        elif tex.startswith(r"\mathrm{", i):
            name, i = _braced(tex, i + len(r"\mathrm"))
            name = name.replace(r"\_", "_")
            if tex.startswith("'", i):
                name, i = name + "'", i + 1
            out.append(name)
        elif tex.startswith(r"\operatorname{", i):
            name, i = _braced(tex, i + len(r"\operatorname"))
            out.append(name.replace(r"\_", "_"))
        elif tex.startswith(r"\text{", i):
            _, i = _braced(tex, i + len(r"\text"))
            out.append(" WORDS ")
        elif tex.startswith("^{", i):
            sup, i = _braced(tex, i + 1)
            out.append(".T" if sup.strip() == r"\top" else f"**({latex_to_plain(sup)})")
        elif tex.startswith("_{", i):
            _, i = _braced(tex, i + 1)
            out.append(" SYMBOL ")
        elif tex[i] == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            assert m
            word = m.group(1)
            i += m.end()
            out.append(
                {"cdot": " * ", "odot": " * ", "times": " * ", ",": " @ ", "left": "",
                 "right": "", "exp": " exp", "log": " log", ";": " ", "quad": " ",
                 "qquad": " ", "{": "(", "}": ")", "mathit": " SYMBOL", "sum": " SYMBOL ",
                 "approx": " = "}.get(word, f" SYMBOL{word} "))  # fmt: skip
        elif tex[i] in "{}":
            out.append(" ")
            i += 1
        else:
            out.append(tex[i])
            i += 1
    return "".join(out)


def markdown_equations(markdown: str) -> list[Equation]:
    """The display maths of a Markdown explanation (```math fences or $$ blocks)."""
    out, kind, block, fence = [], "other", None, None
    for line in markdown.splitlines():
        if block is not None:
            if line.strip() == fence:
                out.append(Equation(latex_to_plain(" ".join(block)), kind, " ".join(block)))
                block = None
                kind = "entry" if kind in ("numbers", "entry") else "other"
            else:
                block.append(line)
            continue
        if line.strip() in ("```math", "$$"):
            block, fence = [], "```" if line.strip() == "```math" else "$$"
        elif line.startswith("$$") and line.rstrip().endswith("$$") and len(line.strip()) > 4:
            out.append(Equation(latex_to_plain(line.strip()[2:-2]), kind, line))
            kind = "entry" if kind in ("numbers", "entry") else "other"
        elif line.startswith("With the numbers"):
            kind = "numbers"
        elif line.startswith("Entry by entry"):
            kind = "entry"
        elif line.startswith(("#", "General formula", "Matrix form", "Per instance")):
            kind = "other"
    return out


def latex_equations(document: str) -> list[Equation]:
    """The display maths of a LaTeX explanation: ``\\fiteq{...}`` or ``\\[ ... \\]``."""
    out, kind = [], "other"
    marker = re.compile(
        r"\\fiteq\{|\\\[|^(With the numbers|Entry by entry|General formula|Matrix form|"
        r"Per instance|Local derivatives|\\subsub)",
        re.M,
    )
    pos = 0
    while (m := marker.search(document, pos)) is not None:
        if m.group(1) is not None:
            kind = {"With the numbers": "numbers", "Entry by entry": "entry"}.get(
                m.group(1), "other"
            )
            pos = m.end()
            continue
        if m.group(0) == "\\[":
            end = document.index("\\]", m.end())
            body, pos = document[m.end() : end], end + 2
        else:
            body, pos = _braced(document, m.end() - 1)
        out.append(Equation(latex_to_plain(body), kind, body))
        kind = "entry" if kind in ("numbers", "entry") else "other"
    return out


def _mathml(node: ET.Element) -> str:
    tag = node.tag.split("}")[-1]
    kids = list(node)
    if tag in ("math", "mrow", "mstyle", "mpadded"):
        return "".join(_mathml(k) for k in kids)
    if tag == "mn":
        return (node.text or "").strip().replace("−", "-")
    if tag == "mi":
        text = (node.text or "").strip()
        return text if text in FUNCTIONS or text.rstrip("'") in FUNCTIONS else " SYMBOL "
    if tag == "mo":
        text = (node.text or "").strip()
        return {"·": " * ", "⊙": " * ", "×": " * ", "−": " - ", "\u2062": " * ",
                "⊤": ".T", "[": "", "]": "", "∑": " SYMBOL ", "∂": " SYMBOL ", "≈": " = ",
                "←": " SYMBOL "}.get(text, f" {text} ")  # fmt: skip
    if tag == "mspace":
        return " @ "
    if tag == "mtext":
        return " WORDS "
    if tag == "mfrac":
        return f" (({_mathml(kids[0])}) / ({_mathml(kids[1])})) "
    if tag == "msup":
        sup = _mathml(kids[1]).strip()
        base = _mathml(kids[0])
        if sup == ".T":
            return f"{base}.T"
        if base.strip() == "10":
            return f"10**({sup})"
        return f"{base}**({sup})"
    if tag in ("msub", "munder", "munderover", "mover"):
        return " SYMBOL "
    if tag == "mtable":
        rows = ["[" + " ".join(_mathml(td).strip() for td in tr) + "]" for tr in kids]
        return " [" + " ".join(rows) + "] "
    if tag in ("mtr", "mtd"):
        return "".join(_mathml(k) for k in kids)
    return " SYMBOL "


def html_equations(page: str) -> list[Equation]:
    """The MathML display equations of an HTML explanation."""
    out, kind = [], "other"
    pattern = re.compile(
        r'<math display="block">.*?</math>|<p class="way">([^<]*)</p>|<summary>([^<]*)</summary>'
        r"|<h3",
        re.S,
    )
    for m in pattern.finditer(page):
        if m.group(0).startswith("<math"):
            plain = _mathml(ET.fromstring(m.group(0)))
            # m × 10^e, as the numbers are written
            plain = re.sub(r"(-?\d+(?:\.\d+)?) \* 10\*\*\((-?\d+)\)", r"\1e\2", plain)
            out.append(Equation(plain, kind, m.group(0)))
            kind = "entry" if kind in ("numbers", "entry") else "other"
        else:
            label = (m.group(1) or m.group(2) or "").strip()
            kind = ("numbers" if label.startswith("With the numbers")
                    else "entry" if label.startswith("Entry by entry") else "other")  # fmt: skip
    return out


# -- the audit --------------------------------------------------------------------------


@dataclass
class Report:
    checked: int = 0
    failures: list[str] = field(default_factory=list)


def audit(equations: list[Equation], precision: int) -> Report:
    """Check every equation: neighbouring numeric parts agree, and nothing computed goes unchecked.

    A part is everything between two ``=``. A part that computes something (an operator
    or a function, not a bare number or array) must have a numeric neighbour to be
    checked against; one that has none counts as a failure, as does a "numbers" line
    with no numbers at all.
    """
    report = Report()
    for eq in equations:
        texts = eq.plain.split("=")
        parts = [numeric_part(text, precision) for text in texts]
        numeric = [(p, _literal(t)) for p, t in zip(parts, texts, strict=True) if p and p.leaves]
        if len(numeric) == 1 and not numeric[0][1]:
            report.failures.append(f"unchecked ({eq.kind}): {eq.source[:300]}")
            continue
        for (left, _), (right, _) in itertools.pairwise(numeric):
            ok, why = agree(left, right)
            report.checked += 1
            if not ok:
                report.failures.append(f"false: {eq.source[:300]} -- {why}")
    return report


def _literal(text: str) -> bool:
    """Whether a part is only a number or an array (nothing computed)."""
    return re.fullmatch(r"[\s\[\]()\-0-9.e]*", text) is not None
