"""The command line: options, spec files and bad input (one clear line, exit status 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chainrule.cli import main
from chainrule.datasets import SEED_SPEC


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        status = main(list(args))
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_spec_file_for_another_network(tmp_path, capsys):
    spec = {"sizes": [3, 4, 2, 1], "activations": ["relu", "tanh", "sigmoid"], "seed": 0,
            "x": [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]], "y": [1, 0], "lr": 0.1,
            "loss": "binary_cross_entropy", "reduction": "sum"}  # fmt: skip
    path = tmp_path / "net.json"
    path.write_text(json.dumps(spec))
    status, out, _ = run(capsys, "explain", "--spec", str(path))
    assert status == 0
    for line in ("Input to layer 3:", "dEdW3:", "dEdB1:", "Batch error E = sum(e):"):
        assert line in out
    assert "reduction='sum'" in out


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({**SEED_SPEC, "x": [0.5]}, "X has 1 features per instance, but layer 1"),
        ({**SEED_SPEC, "loss": "hinge"}, "unknown loss 'hinge'; known:"),
        ({**SEED_SPEC, "y": float("inf")}, "field 'y' contains NaN or infinity"),
    ],
)
def test_bad_spec_prints_one_line_and_exits_2(tmp_path, capsys, spec, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    status, out, err = run(capsys, "explain", "--spec", str(path))
    assert status == 2 and out == ""
    assert err.startswith("chainrule: error: spec file") and message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["explain", "--steps", "0"], ["explain", "--precision", "x"]])
def test_bad_options_exit_2(capsys, args):
    status, _, err = run(capsys, *args)
    assert status == 2 and "error" in err


def test_no_traceback_from_the_console_script(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("x = [0.5, 0.1]\ny = 0.9\nlr = 0.5\nsizes = [2, 0, 1]\n")
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--spec", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "sizes[1] must be a positive integer, got 0" in result.stderr


def test_version_and_help(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.startswith("chainrule ")
    status, out, _ = run(capsys)
    assert status == 0 and "explain" in out
