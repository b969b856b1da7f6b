"""The example files under examples/ are what the command line writes today, and the
README's Explanations section shows what the explanation prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chainrule import explain, seed_example
from chainrule.cli import main

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
REGENERATE = """chainrule explain --format markdown --output examples/seed.md \\
    --diagram examples/seed.svg --graph examples/seed-graph.svg
chainrule explain --format html --output examples/seed.html --diagram examples/seed.svg \\
    --graph examples/seed-graph.svg
chainrule explain --format html --level summary --output examples/seed-summary.html"""


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("seed.html", ["--format", "html"]),
        ("seed-summary.html", ["--format", "html", "--level", "summary"]),
        ("seed.md", ["--format", "markdown"]),
    ],
)
def test_example_is_current(tmp_path, name, argv):
    out = tmp_path / name
    d, g = tmp_path / "seed.svg", tmp_path / "seed-graph.svg"
    assert (
        main(["explain", *argv, "--output", str(out), "--diagram", str(d), "--graph", str(g)]) == 0
    )
    assert (EXAMPLES / name).read_text(encoding="utf-8") == out.read_text(encoding="utf-8"), (
        f"examples/{name} is stale; regenerate with\n{REGENERATE}"
    )
    for made in (d, g):
        assert (EXAMPLES / made.name).read_text(encoding="utf-8") == made.read_text(
            encoding="utf-8"
        )


def test_the_markdown_example_links_the_diagrams_beside_it():
    md = (EXAMPLES / "seed.md").read_text(encoding="utf-8")
    assert "](seed.svg)" in md and "](seed-graph.svg)" in md and "<svg" not in md


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Explanations")
    return text[start : text.index("\n## ", start)]  # up to the next section


def test_the_readme_shows_the_text_as_printed_today():
    seed = seed_example()
    derived = explain(seed.network, seed.x, seed.y, lr=seed.lr).render("text", derive=True)
    blocks = re.findall(r"```text\n(.*?)```", _readme_section(), re.S)
    assert blocks
    for block in blocks:
        for line in block.splitlines():
            assert line in derived.splitlines(), line


def test_the_readme_names_the_new_parts():
    section = _readme_section()
    for words in ("--graph", "--level summary", "l2", "```math", "local derivative",
                  "Nielsen", "audit", "examples/seed-graph.svg"):  # fmt: skip
        assert words in section, words
