"""The example files under examples/ are what the command line writes today."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainrule.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("seed.html", ["--format", "html"]),
        ("seed.md", ["--format", "markdown"]),
    ],
)
def test_example_is_current(tmp_path, name, argv):
    out = tmp_path / name
    assert main(["explain", *argv, "--output", str(out), "--diagram", str(tmp_path / "d.svg")]) == 0
    assert (EXAMPLES / name).read_text(encoding="utf-8") == out.read_text(encoding="utf-8"), (
        f"examples/{name} is stale: chainrule explain {' '.join(argv)} --output examples/{name}"
    )
    assert (EXAMPLES / "seed.svg").read_text(encoding="utf-8") == (tmp_path / "d.svg").read_text(
        encoding="utf-8"
    )
