"""Worksheets and answer keys in every format, as a reader gets them: LaTeX compiled by
pdflatex, HTML rendered by headless Chromium (offline), Markdown with its diagram."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from chainrule.learn import Exercise

from .test_explain_browser import CHROMIUM, chromium, console_messages, png_pixels

PDFLATEX = shutil.which("pdflatex")
EXERCISES = {
    "seed": lambda: Exercise.seed(),
    "batch": lambda: Exercise.random(5, 3, blank="deltas,gradients"),
}


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (texlive-latex-base)")
@pytest.mark.parametrize("which", sorted(EXERCISES))
@pytest.mark.parametrize("part", ["worksheet", "answer_key"])
def test_latex_compiles(which, part, tmp_path):
    tex = getattr(EXERCISES[which](), part)("latex")
    (tmp_path / "doc.tex").write_text(tex, encoding="utf-8")
    run = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 5_000


def test_latex_worksheet_blanks_are_question_marks():
    tex = Exercise.seed(blank="dEdW1").worksheet("latex")
    assert r"\mathit{dEdW1} = \begin{bmatrix} ? & ? \\ ? & ? \end{bmatrix}" in tex
    assert tex.rstrip().endswith(r"\end{document}")


def test_markdown_worksheet_has_the_diagram_with_blanks():
    md = Exercise.seed(blank="forward,error").worksheet("markdown")
    svg = md[md.index("<svg") : md.index("</svg>")]
    assert ">?<" in svg and "nan" not in svg  # the outputs are to be worked out
    assert "E = ?" in svg and "0.0118" not in md  # and so is the error
    given = Exercise.seed(blank="gradients").worksheet("markdown")
    assert "E = 0.0118" in given[given.index("<svg") : given.index("</svg>")]
    assert "0.15" in svg and "-0.4" in svg  # the weights are given
    assert "\n\n" not in svg  # an HTML block in Markdown ends at a blank line


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("which", sorted(EXERCISES))
def test_html_worksheet_renders_offline_without_errors(which, tmp_path):
    ex = EXERCISES[which]()
    page = tmp_path / "worksheet.html"
    page.write_text(ex.worksheet("html"), encoding="utf-8")
    run = chromium(page, tmp_path, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_messages(run.stderr) == []
    dom = run.stdout
    assert "<math" in dom and "<svg" in dom
    assert len(re.findall(r"<mi>\?</mi>", dom)) >= len(ex.blanks)
    assert "chainrule-worksheet" in dom  # the problem, kept in a comment
    shot = tmp_path / "worksheet.png"
    chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=900,1400")
    pixels = png_pixels(shot)
    assert (pixels.sum(axis=2) < 3 * 200).mean() > 0.01  # drawn, not blank
    blue = ((pixels[:, :, 2] > 150) & (pixels[:, :, 0] < 120)).sum()
    assert blue > 100  # the diagram's edges


def test_html_worksheet_is_self_contained():
    page = Exercise.seed().worksheet("html")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page.lower()
    assert "http://" not in page.replace('xmlns="http://www.w3.org/', "")
    assert "https://" not in page
