"""``chainrule explain``: formats, output files, the diagram, conventions and errors."""

from __future__ import annotations

import json

import pytest

from chainrule.cli import main

# The seed notebook's printed lines (np.set_printoptions(precision=6)).
NOTEBOOK_LINES = [
    "Input to layer 1:  [1.099 1.13 ]",
    "Output of layer 1:  [0.750073 0.755839]",
    "Input to layer 2:  [1.07789]",
    "Output of layer 2:  [0.746095]",
    "Error:  [0.011843]",
    "dEdOutL2:  [-0.153905]",
    "dEdInL2:  [-0.029155]",
    "dEdB2:  [-0.029155]",
    "Error before:  [0.011843]",
    "Error after:  [0.010953]",
]


def run(capsys, *argv):
    status = main(["explain", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_default_output_is_the_notebooks_look(capsys):
    status, out, _ = run(capsys)
    assert status == 0
    lines = out.splitlines()
    for line in NOTEBOOK_LINES:
        assert line in lines
    assert not any(line.startswith("#   ") for line in lines)  # no derivation lines


def test_derive_adds_only_comment_lines(capsys):
    _, plain, _ = run(capsys)
    _, derived, _ = run(capsys, "--derive")
    kept = [line for line in derived.splitlines() if not line.startswith("#   ")]
    extra = [line for line in kept if line not in plain.splitlines()]
    assert all(line in ("", "Checks") or line.startswith("# ") for line in extra), extra
    assert "#     dE/dW2[1,1] = " in derived


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [("markdown", "```math"), ("latex", r"\documentclass"), ("html", "<!DOCTYPE html>")],
)
def test_formats_to_stdout_and_to_a_file(capsys, tmp_path, fmt, marker):
    status, out, _ = run(capsys, "--format", fmt)
    assert status == 0 and marker in out and "0.746095" in out
    target = tmp_path / f"seed.{fmt}"
    status, out, _ = run(capsys, "--format", fmt, "--output", str(target))
    assert status == 0 and out == ""
    assert target.read_text(encoding="utf-8").count("0.746095") >= 1


def test_diagram_file(capsys, tmp_path):
    svg = tmp_path / "net.svg"
    status, out, _ = run(capsys, "--diagram", str(svg))
    assert status == 0 and "Input to layer 1:  [1.099 1.13 ]" in out
    assert svg.read_text(encoding="utf-8").startswith("<svg")


def test_conventions_from_the_command_line(capsys, tmp_path):
    _, out, _ = run(capsys, "--format", "markdown", "--freeze-biases", "--loss", "mse",
                    "--reduction", "sum", "--lr", "0.25")  # fmt: skip
    assert "kept fixed (frozen): b1, b2" in out
    assert "Loss: mean_squared_error" in out and "reduction='sum'" in out
    assert "lr = 0.25" in out
    spec = tmp_path / "batch.json"
    layers = [{"W": [[0.15, 0.2], [0.24, 0.3]], "b": [1, 1]}, {"W": [[-0.4], [0.5]], "b": [1]}]
    batch = {"x": [[0.5, 0.1], [0.2, 0.7]], "y": [[0.9], [0.1]], "lr": 0.5, "layers": layers}
    spec.write_text(json.dumps(batch))
    status, out, _ = run(capsys, "--spec", str(spec), "--steps", "3", "--derive")
    assert status == 0
    assert "Batch: 2 instances; the batch error E is the mean" in out
    assert "Error over 3 steps" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--diagram", "net.png"], "--diagram must name an .svg file"),
        (["--loss", "hinge"], "unknown loss 'hinge'"),
        (["--output", "/nonexistent-dir/x.md"], "--output: cannot write"),
        (["--spec", "missing.toml"], "cannot read spec file"),
    ],
)
def test_errors_exit_with_status_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert message in err


@pytest.mark.parametrize("argv", [["--lr", "0"], ["--lr", "x"], ["--format", "pdf"]])
def test_bad_option_values_exit_with_status_2(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(["explain", *argv])
    assert exc.value.code == 2


def test_spec_frozen_field_keeps_those_parameters(capsys, tmp_path):
    spec = tmp_path / "frozen.toml"
    spec.write_text(
        'x = [0.5, 0.1]\ny = 0.9\nlr = 0.5\nfrozen = ["b1"]\n'
        "[[layers]]\nW = [[0.15, 0.2], [0.24, 0.3]]\nb = [1, 1]\n"
        "[[layers]]\nW = [[-0.4], [0.5]]\nb = [1]\n",
        encoding="utf-8",
    )
    status, out, _ = run(capsys, "--spec", str(spec), "--format", "markdown")
    assert status == 0
    assert "kept fixed (frozen): b1" in out
    assert r"\mathit{b1}^{\mathrm{new}} = \mathit{b1} = \text{(kept fixed: frozen)}" in out
    assert r"\mathit{b1}^{\mathrm{new}} = \begin{bmatrix} 1 & 1 \end{bmatrix}" in out
    # b2 is still updated: 1 - 0.5 * (-0.029155) from the seed's gradient.
    assert r"\begin{bmatrix} 1.014578 \end{bmatrix}" in out
