"""The documentation site builds with warnings as errors, and its examples run."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    page
    for page in sorted((ROOT / "docs").rglob("*.md"))
    if "```python" in page.read_text()  # the scaling page's come from the README (tested there)
]


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="the site needs the [docs] extra")
    pytest.importorskip("mkdocstrings", reason="the site needs the [docs] extra")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    api = (site / "api" / "network" / "index.html").read_text()
    assert "loss_and_grads" in api and "dEdW" in api  # built from the docstrings
    estimators = " ".join((site / "api" / "estimators" / "index.html").read_text().split())
    inherited = ["fit", "partial_fit", "save", "load", "score", "get_params", "set_params"]
    assert all(f'id="chainrule.estimators.MLPRegressor.{m}"' in estimators for m in inherited)
    assert all(f'id="chainrule.estimators.MLPClassifier.{m}"' in estimators for m in inherited)
    # Each constructor parameter, from the docstrings composed at import (shared entries).
    regressor = estimators[estimators.index('id="chainrule.estimators.MLPRegressor"') :]
    assert "{parameters}" not in estimators
    assert all(f"<code>{p}</code>" in regressor for p in ("loss", "power_t", "max_fun", "dtype"))
    assert "Differences from scikit-learn" in (site / "index.html").read_text()
    scaling = (site / "guide" / "scaling" / "index.html").read_text()
    assert "open_memmap" in scaling and "Incremental" in scaling  # the README snippets
    assert "fonts.googleapis" not in (site / "index.html").read_text()  # works offline


@pytest.mark.parametrize(
    "page", PAGES, ids=[p.relative_to(ROOT / "docs").as_posix() for p in PAGES]
)
def test_page_examples_run(page, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    for module in ("sklearn", "onnxruntime"):
        if any(module in block for block in blocks):
            pytest.importorskip(module, reason=f"the example needs {module}")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(block, str(page), "exec"), {"__name__": "__main__"})


def test_site_dir_is_ignored():
    assert "site/" in (ROOT / ".gitignore").read_text().split()
