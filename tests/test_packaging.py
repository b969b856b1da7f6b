"""Packaging: ``python -m build`` makes an sdist and a wheel (built from the sdist) that
install into a fresh virtual environment, where ``chainrule --version`` runs.

The build runs without isolation (offline; it uses this environment's setuptools) on a
copy of the project. The fresh environment gets the wheel with ``--no-deps`` and sees
this environment's NumPy through a ``.pth`` file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import chainrule

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("build", reason="the packaging test needs 'build' (the [test] extra)")


def run(*args, cwd=None):
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_wheel_and_sdist_install_into_a_fresh_venv(tmp_path):
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", project / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE"):
        shutil.copy(ROOT / name, project / name)
    run(
        sys.executable,
        "-m",
        "build",
        "--no-isolation",
        "--outdir",
        str(tmp_path / "dist"),
        cwd=project,
    )
    version = chainrule.__version__
    wheel = tmp_path / "dist" / f"chainrule-{version}-py3-none-any.whl"
    sdist = tmp_path / "dist" / f"chainrule-{version}.tar.gz"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for needed in ("chainrule/py.typed", "chainrule/batches.py", "chainrule/explain/__init__.py"):
        assert needed in names
    assert {f"chainrule/learn/play.{ext}" for ext in ("js", "css", "html")} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    info = f"chainrule-{version}.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        assert "chainrule = chainrule.cli:main" in zf.read(entry_points).decode()
        # PEP 639: the license file in the wheel, and the SPDX expression in the metadata
        assert zf.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        metadata = zf.read(f"{info}/METADATA").decode()
    assert "License-Expression: MIT" in metadata.splitlines()
    assert "License-File: LICENSE" in metadata.splitlines()
    with tarfile.open(sdist) as tf:
        members = {m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md", "LICENSE", "src/chainrule/network.py"} <= members

    env = tmp_path / "env"
    run(sys.executable, "-m", "venv", str(env))
    python = env / "bin" / "python"
    run(str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel))
    # NumPy and array-api-compat come from this environment (no download).
    site = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    Path(site.strip(), "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    assert run(str(env / "bin" / "chainrule"), "--version").strip() == f"chainrule {version}"
    where = run(str(python), "-c", "import chainrule; print(chainrule.__file__)")
    assert Path(where.strip()).is_relative_to(env)  # the installed wheel, not src/
    out = run(str(env / "bin" / "chainrule"), "explain")
    assert "Error before:  [0.011843]" in out and "Error after:  [0.010953]" in out  # the seed
    # The page's script and styles are package data, read from the installed wheel.
    run(str(env / "bin" / "chainrule"), "play", "--output", str(tmp_path / "play.html"))
    assert "function trainStep(" in (tmp_path / "play.html").read_text(encoding="utf-8")


def test_license_is_mit_in_the_file_and_in_pyproject():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"  # an SPDX expression, not the old table
    assert project["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "Copyright (c) the chainrule authors" in text
    requires = project["build-system"]["requires"]
    assert requires == ["setuptools>=77"]  # the first setuptools that reads both fields
