"""The formats render everywhere: Markdown that survives GitHub, LaTeX that compiles at any
width, the computational graph, and the command line's --graph, --level and Markdown files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from chainrule import Network, explain, seed_example
from chainrule.cli import main
from chainrule.explain.expr import Mat, Op, Sym

PDFLATEX = shutil.which("pdflatex")
SVG = "{http://www.w3.org/2000/svg}"


def seed_explanation(**kw):
    seed = seed_example()
    return explain(seed.network, seed.x, seed.y, lr=seed.lr, title=seed.title, **kw)


def softmax_batch():
    net = Network.from_sizes([2, 3, 3], ["relu", "softmax"], random_state=2)
    X = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]])
    return explain(net, X, np.eye(3)[[0, 2, 1]], lr=0.1, loss="cross_entropy", l2=0.01)


def all_equations(derivation):
    """Every formula a derivation holds, in the order the Markdown shows them."""
    out = [Op("=", [Sym(n), Mat(v, derivation.precision)]) for n, v in derivation.given]
    for step in derivation.steps():
        out += [step.general, step.matrix, step.numbers, *step.local, *step.per_instance]
        out += list(step.scalars)
    return out


# -- Markdown ------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [seed_explanation, softmax_batch])
def test_every_math_block_reaches_the_renderer_unchanged(make):
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (the test extra)")
    ex = make()
    md = ex.render("markdown", diagram="d.svg", graph="g.svg")
    tokens = markdown_it.MarkdownIt("commonmark").parse(md)
    fences = [t.content for t in tokens if t.type == "fence" and t.info == "math"]
    expected = [expr.latex() + "\n" for expr in all_equations(ex.derivation())]
    assert fences == expected
    # nothing for GitHub to eat: no $$ maths, no inline SVG, the diagrams linked as files
    assert "$$" not in md and "<svg" not in md
    assert not [t for t in tokens if t.type == "html_block"]
    inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
    images = [c.attrs["src"] for c in inline if c.type == "image"]
    assert images == ["d.svg", "g.svg"]


def test_the_math_check_catches_a_one_line_dollar_block():
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (the test extra)")
    # the old form: CommonMark reads \\ as an escaped backslash and _x_ as emphasis
    old = r"$$ \begin{bmatrix} a \\ b \end{bmatrix} x_1 + y_1 $$"
    tokens = markdown_it.MarkdownIt("commonmark").parse(old)
    assert not [t for t in tokens if t.type == "fence"]
    rendered = markdown_it.MarkdownIt("commonmark").render(old)
    assert r"\\" not in rendered  # the \\ row break did not survive


def test_markdown_from_the_command_line_links_its_diagrams(tmp_path):
    out = tmp_path / "seed.md"
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    assert (
        main(
            [
                "explain",
                "--format",
                "markdown",
                "--output",
                str(out),
                "--diagram",
                str(pictures / "d.svg"),
                "--graph",
                str(tmp_path / "g.svg"),
            ]
        )
        == 0
    )
    md = out.read_text(encoding="utf-8")
    assert "](pictures/d.svg)" in md and "](g.svg)" in md  # relative to the Markdown
    assert (pictures / "d.svg").read_text(encoding="utf-8").startswith("<svg")
    assert (tmp_path / "g.svg").read_text(encoding="utf-8").startswith("<svg")
    # without --diagram and --graph, nothing is linked and no other file is written
    alone = tmp_path / "alone"
    alone.mkdir()
    assert main(["explain", "--format", "markdown", "--output", str(alone / "a.md")]) == 0
    assert [p.name for p in alone.iterdir()] == ["a.md"]
    assert ".svg)" not in (alone / "a.md").read_text(encoding="utf-8")


# -- LaTeX ---------------------------------------------------------------------------------


def _compile(tex: str, tmp_path):
    (tmp_path / "doc.tex").write_text(tex, encoding="utf-8")
    run = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    log = (tmp_path / "doc.log").read_text(encoding="latin-1")
    return run, log


def overfull(log: str) -> list[float]:
    """How many points too wide each overfull box of a pdflatex log is."""
    return [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


WIDE = {
    "the seed": seed_explanation,
    "a softmax batch with L2": softmax_batch,
    "a layer of 11 units": lambda: explain(
        Network.from_sizes([3, 11, 2], ["tanh", "sigmoid"], random_state=1),
        np.linspace(-1, 1, 3), [0.2, 0.7], lr=0.1),
    "a layer of 16 units": lambda: explain(
        Network.from_sizes([16, 16, 3], ["relu", "softmax"], random_state=2),
        np.linspace(-1, 1, 16), [0, 1, 0], lr=0.1, loss="cross_entropy"),
    "a batch of 16": lambda: explain(
        Network.from_sizes([2, 3, 1], ["sigmoid", "sigmoid"], random_state=3),
        np.random.default_rng(3).normal(size=(16, 2)),
        np.random.default_rng(4).uniform(size=(16, 1)), lr=0.1),
}  # fmt: skip


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (texlive-latex-base)")
@pytest.mark.parametrize("name", list(WIDE))
def test_latex_compiles_at_any_width_and_fits_the_page(name, tmp_path):
    run, log = _compile(WIDE[name]().render("latex"), tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Extra alignment tab" not in log
    assert max(overfull(log), default=0.0) <= 3.0, overfull(log)


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (texlive-latex-base)")
def test_the_latex_checks_catch_an_overfull_line_and_too_many_columns(tmp_path):
    wide = " & ".join(["0.123456"] * 12)
    tex = (r"\documentclass{article}\usepackage{amsmath}\begin{document}"
           rf"\[ \begin{{bmatrix}} {wide} \end{{bmatrix}} \]"
           r"\[ x = 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 + 15 + 16 + 17 "
           r"+ 18 + 19 + 20 + 21 + 22 + 23 + 24 + 25 + 26 + 27 + 28 + 29 + 30 + 31 + 32 \]"
           r"\end{document}")  # fmt: skip
    run, log = _compile(tex, tmp_path)
    assert run.returncode != 0 or "Extra alignment tab" in log or max(overfull(log)) > 3


# -- the computational graph ---------------------------------------------------------------


def test_the_graph_has_one_node_per_operation_with_value_and_gradient():
    ex = seed_explanation()
    svg = ex.graph()
    root = ET.fromstring(svg)
    rects = root.findall(f"{SVG}rect")[1:]  # the first is the white background
    assert len(rects) == 1 + 5 * 2 + 2  # x; per layer W, b, @, +, f; the target and the loss
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for title in ("x @ W1", "inL1 = x @ W1 + b1", "outL1 = sigmoid(inL1)",
                  "outL1 @ W2", "loss: half_squared_error", "y (target)"):  # fmt: skip
        assert title in texts, title
    # the seed's numbers: inL2 = 1.0779 with dEdInL2 = -0.0292; outL2 = 0.7461, dEdOutL2 -0.1539
    assert "[1] 1.0779" in texts and "[1] 0.7461" in texts
    assert "grad -0.0292" in texts and "grad -0.1539" in texts and "grad 1" in texts
    # x @ W1 without the bias: 1.099 - 1 and 1.13 - 1; dE/dx = dEdInL1 @ W1.T
    assert "[1] 0.099" in texts and "[2] 0.13" in texts
    dx = np.asarray(ex.trace["dEdInL1"])[0] @ np.asarray(ex.trace["W1"]).T
    assert f"grad {np.format_float_positional(dx[0], 4, unique=False, trim='-')}" in texts
    assert "marker-end" in svg and "viewBox" in svg and "Legend:" in texts


def test_zero_gradients_are_grey_and_a_batch_says_which_instance():
    net = Network.from_weights([[[5.0, -5.0]], [[1.0], [1.0]]], [[0, 0], [0]], ["relu", "sigmoid"])
    svg = explain(net, [[1.0], [2.0]], [[1.0], [0.0]], lr=0.1).graph()
    root = ET.fromstring(svg)
    zero = [t for t in root.iter(f"{SVG}text") if t.text == "grad 0"]
    assert zero and all(t.get("fill") == "#8a8a8a" for t in zero)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert any("instance 1 of 2" in (t or "") for t in texts)
    diagram = ET.fromstring(explain(net, [[1.0], [2.0]], [[1.0], [0.0]], lr=0.1).diagram())
    grey = [t for t in diagram.iter(f"{SVG}line") if t.get("stroke") == "#8a8a8a"]
    assert grey  # the dead unit's zero weight gradients
    assert any("instance 1 of 2" in (t.text or "") for t in diagram.iter(f"{SVG}text"))


def test_a_network_too_big_for_the_graph_says_so():
    net = Network.from_sizes([2, 11, 1], ["tanh", "sigmoid"], random_state=0)
    svg = explain(net, [0.1, 0.2], [0.3], lr=0.1).graph()
    assert "drawn for networks of up to 10 neurons" in svg
    assert "<h2>Computational graph</h2>" not in explain(net, [0.1, 0.2], [0.3], lr=0.1).render(
        "html"
    )
    assert "<h2>Computational graph</h2>" in seed_explanation().render("html")


def test_graph_and_level_from_the_command_line(tmp_path, capsys):
    graph = tmp_path / "g.svg"
    assert main(["explain", "--graph", str(graph), "--level", "summary", "--derive"]) == 0
    out = capsys.readouterr().out
    assert graph.read_text(encoding="utf-8").startswith("<svg")
    assert "#   with numbers:" in out and "#   entry by entry:" not in out
    with pytest.raises(SystemExit):
        main(["explain", "--level", "brief"])
    assert main(["explain", "--graph", str(tmp_path / "g.png")]) == 2
    assert "--graph must name an .svg file" in capsys.readouterr().err


def test_the_diagram_draws_arrows_the_loss_the_targets_and_a_legend_and_scales():
    svg = seed_explanation().diagram()
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "y[1] = 0.9" in texts and "loss: half_squared_error" in texts
    assert "E = 0.0118" in texts and "dE/dE = 1" in texts  # the seed's error 0.011843
    assert "Legend" in texts and "exactly 0" in texts
    lines = root.findall(f"{SVG}line")
    assert sum(1 for line in lines if line.get("marker-end")) == 2 * (4 + 2 + 1)
    assert root.get("viewBox").startswith("0 0 ") and "max-width: 100%" in root.get("style")
