"""The README's "## Ecosystem" examples run as written (one per step of the scaling road)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def blocks(path: Path, heading: str) -> list[str]:
    text = path.read_text()
    section = text[text.index(heading) :]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def run_block(code: str, where: Path, monkeypatch) -> str:
    monkeypatch.chdir(where)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README ecosystem", "exec"), {"__name__": "__main__"})
    return out.getvalue()


README_BLOCKS = blocks(ROOT / "README.md", "## Ecosystem")
NEEDS = [("sklearn",), ("sklearn",), ("sklearn", "dask_ml", "distributed"), ("sklearn", "onnx")]


def test_the_section_has_the_examples_this_test_expects():
    assert len(README_BLOCKS) == len(NEEDS)


@pytest.mark.parametrize("index", range(len(NEEDS)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    for module in NEEDS[index]:
        pytest.importorskip(module, reason=f"the example needs {module}")
    out = run_block(README_BLOCKS[index], tmp_path, monkeypatch)
    expected = {0: r"train accuracy 0\.9\d", 1: r"R\^2 0\.\d\d", 2: r"accuracy 0\.9\d\nbest "}
    if index in expected:
        assert re.search(expected[index], out), out
