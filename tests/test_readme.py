"""The README's quickstart runs and prints what its comment says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_quickstart_prints_the_seed_numbers():
    block = re.search(r"## Quickstart\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    lines = block.strip().splitlines()
    code = "\n".join(line for line in lines if not line.startswith("# "))
    expected = [line[2:] for line in lines if line.startswith("# ")]
    assert len(lines) - len(expected) <= 12
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README quickstart", "exec"), {})
    assert out.getvalue().splitlines() == expected
    # The numbers are the notebook's printed ones.
    assert expected == [
        "outL2 [[0.746095]]",
        "e [0.011843]",
        "dEdW1 [[0.001093, -0.001345], [0.000219, -0.000269]]",
        "e_new [0.010953]",
    ]
