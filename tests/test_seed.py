"""The seed notebook, reproduced: every value it prints, and the CLI's walk-through.

Two independent references:

- ``NOTEBOOK``: the lines the notebook printed (with ``np.set_printoptions(precision=6)``),
  copied from its output cells;
- ``notebook_values()``: the notebook's own code, restated here in float64 (with the
  notebook's shape slips fixed), to check every value to 1e-12.
"""

from __future__ import annotations

import re
import subprocess
import sys
from itertools import pairwise

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main

# The notebook's printed output, in order (cells 7 to 13).
NOTEBOOK = [
    "Input to layer 1:  [1.099 1.13 ]",
    "Output of layer 1:  [0.750073 0.755839]",
    "Input to layer 2:  [1.07789]",
    "Output of layer 2:  [0.746095]",
    "Error:  [0.011843]",
    "dEdOutL2:  [-0.153905]",
    "dEdInL2:  [-0.029155]",
    "dEdW2:  [[-0.021869]\n [-0.022037]]",
    "dEdB2:  [-0.029155]",
    "dEdOutL1:  [[ 0.011662 -0.014578]]",
    "dEdInL1:  [[ 0.002186 -0.00269 ]]",
    "dEdW1:  [[ 0.001093 -0.001345]\n [ 0.000219 -0.000269]]",
    "dEdB1:  [[ 0.002186 -0.00269 ]]",
    "Error before:  [0.011843]",
    "Error afterL:  [[0.010953]]",
]

# Where chainrule's line differs from the notebook's on purpose: per-instance rows and
# b1's gradient keep their 1-D shape (the notebook's w2.T broadcast turned them into 1x2
# matrices), and the label typo "afterL" is fixed. The numbers are the same.
FIXED_SHAPES = {
    "dEdOutL1:  [[ 0.011662 -0.014578]]": "dEdOutL1:  [ 0.011662 -0.014578]",
    "dEdInL1:  [[ 0.002186 -0.00269 ]]": "dEdInL1:  [ 0.002186 -0.00269 ]",
    "dEdB1:  [[ 0.002186 -0.00269 ]]": "dEdB1:  [ 0.002186 -0.00269 ]",
    "Error afterL:  [[0.010953]]": "Error after:  [0.010953]",
}

NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]\d+)?")


def numbers(text: str) -> list[float]:
    return [float(n) for n in NUMBER.findall(text.split(":", 1)[1])]


def notebook_values() -> dict[str, np.ndarray]:
    """The notebook's computation, restated in plain float64 NumPy."""

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    def sigmoid_derivative(v):
        return sigmoid(v) * (1 - sigmoid(v))

    x, y, lr = np.array([0.5, 0.1]), 0.9, 0.5
    w1 = np.array([[0.15, 0.2], [0.24, 0.3]])
    b1 = np.array([1.0, 1.0])
    w2 = np.array([[-0.4], [0.5]])
    b2 = np.array([1.0])
    v = {}
    v["inL1"] = x @ w1 + b1
    v["outL1"] = sigmoid(v["inL1"])
    v["inL2"] = v["outL1"] @ w2 + b2
    v["outL2"] = sigmoid(v["inL2"])
    v["e"] = 0.5 * np.power(y - v["outL2"], 2)
    v["dEdOutL2"] = v["outL2"] - y
    v["dEdInL2"] = v["dEdOutL2"] * sigmoid_derivative(v["inL2"])
    v["dEdW2"] = v["outL1"].reshape(2, 1) * v["dEdInL2"]
    v["dEdB2"] = v["dEdInL2"]
    v["dEdOutL1"] = (v["dEdInL2"] * w2.T)[0]
    v["dEdInL1"] = v["dEdOutL1"] * sigmoid_derivative(v["inL1"])
    v["dEdW1"] = x.reshape(2, 1) @ v["dEdInL1"].reshape(1, 2)
    v["dEdB1"] = v["dEdInL1"]
    v["W1_new"], v["b1_new"] = w1 - lr * v["dEdW1"], b1 - lr * v["dEdB1"]
    v["W2_new"], v["b2_new"] = w2 - lr * v["dEdW2"], b2 - lr * v["dEdB2"]
    outL1 = sigmoid(x @ v["W1_new"] + v["b1_new"])
    outL2 = sigmoid(outL1 @ v["W2_new"] + v["b2_new"])
    v["e_new"] = 0.5 * np.power(y - outL2, 2)
    return v


def seed_trace() -> cr.Trace:
    seed = cr.seed_example()
    trace = cr.Trace()
    cr.train_step(seed.network, seed.x, seed.y, lr=seed.lr, loss=seed.loss, tracer=trace)
    return trace


def test_sigmoid_derivative_matches_the_notebook():
    assert cr.sigmoid_derivative(1.13) == 0.18454645770996225
    with np.printoptions(precision=6):
        assert str(cr.sigmoid_derivative(np.array([1, 2, 3]))) == "[0.196612 0.104994 0.045177]"


@pytest.mark.parametrize("name", list(notebook_values()))
def test_every_value_to_1e12_against_an_independent_computation(name):
    expected = notebook_values()[name]
    value = np.asarray(seed_trace()[name])
    if value.ndim == 2 and value.shape[0] == 1 and name[0] in "ideo":  # per-instance rows
        value = value[0]
    assert value.shape == expected.shape
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-15)


def test_parameter_shapes_never_drift():
    seed = cr.seed_example()
    shapes = {name: p.shape for name, p in seed.network.params.items()}
    for _ in range(3):
        cr.train_step(seed.network, seed.x, seed.y, lr=seed.lr)
    assert {name: p.shape for name, p in seed.network.params.items()} == shapes
    assert shapes == {"W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}


def test_error_falls_as_in_the_notebook():
    trace = seed_trace()
    assert round(float(trace["E"]), 6) == 0.011843
    assert round(float(trace["E_new"]), 6) == 0.010953


def explain_output(capsys, *args: str) -> str:
    assert main(["explain", *args]) == 0
    return capsys.readouterr().out


def test_cli_prints_the_notebook_line_by_line(capsys):
    out = explain_output(capsys)
    # Multi-line values (matrices) continue on lines that start with a space.
    entries = re.split(r"\n(?! )", out)
    position = 0
    for line in NOTEBOOK:
        ours = FIXED_SHAPES.get(line, line)
        assert ours in entries[position:], f"missing or out of order: {ours!r}"
        index = entries.index(ours, position)
        assert numbers(entries[index]) == numbers(line)
        position = index + 1


def test_cli_prints_every_number_of_the_notebook(capsys):
    out = explain_output(capsys)
    printed = {float(n) for n in NUMBER.findall(out)}
    for line in NOTEBOOK:
        for number in numbers(line):
            assert number in printed


def test_precision_option(capsys):
    out = explain_output(capsys, "--precision", "3")
    assert "Output of layer 1:  [0.75  0.756]" in out
    assert "Error:  [0.012]" in out


def test_steps_option_shows_the_error_falling(capsys):
    out = explain_output(capsys, "--steps", "5")
    table = out[out.index("Error over 5 steps") :].splitlines()[2:]
    errors = [float(row.split()[1]) for row in table]
    assert len(errors) == 6
    assert errors[:2] == [0.011843, 0.010953]
    assert all(a > b for a, b in pairwise(errors))


def test_python_m_chainrule_runs_the_same_walk_through():
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain"], capture_output=True, text=True, check=True
    )
    assert "Output of layer 2:  [0.746095]" in result.stdout
    assert "Error after:  [0.010953]" in result.stdout
