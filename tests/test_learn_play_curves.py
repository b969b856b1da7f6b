"""Training curves of a small example: ``training_curves``, their plot, ``explain --plot``,
and the long error tables summarised."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
import torch

from chainrule import Network, explain, seed_example
from chainrule.cli import main
from chainrule.explain.error_table import EDGE, MAX_ROWS, error_rows
from chainrule.learn import TrainingCurves, plot_training_curves, training_curves


@pytest.mark.parametrize(
    ("reduction", "freeze_biases", "l2"),
    [("mean", False, 0.0), ("sum", True, 0.0), ("mean", True, 0.0), ("mean", False, 0.05)],
)
def test_errors_are_the_explained_runs(reduction, freeze_biases, l2):
    rng = np.random.default_rng(3)
    net = Network.from_sizes([3, 4, 2], ["tanh", "sigmoid"], random_state=3)
    x, y = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    kwargs = {"lr": 0.4, "reduction": reduction, "steps": 25, "freeze_biases": freeze_biases}
    kwargs["l2"] = l2
    curves = training_curves(net, x, y, **kwargs)
    explained = explain(net, x, y, **kwargs, gradcheck=False)
    assert curves.errors.tolist() == explained.errors  # the same steps, bit for bit
    assert curves.steps == 25 and set(curves.gradient_norms) == {"W1", "b1", "W2", "b2"}
    assert all(v.shape == (25,) for v in curves.gradient_norms.values())
    if freeze_biases:  # a frozen bias keeps its gradient (reported, not applied)
        assert np.all(curves.gradient_norms["b1"] > 0)


def torch_curves(net: Network, x, y, lr: float, steps: int, reduction: str, l2: float = 0.0):
    """The same plain gradient descent in PyTorch, by autograd: errors and ||dE/dWk||."""
    Ws = [torch.tensor(layer.W, requires_grad=True) for layer in net.layers]
    bs = [torch.tensor(layer.b, requires_grad=True) for layer in net.layers]
    X, Y = torch.tensor(np.atleast_2d(x)), torch.tensor(np.atleast_2d(y))
    acts = [
        torch.tanh if layer.activation.name == "tanh" else torch.sigmoid for layer in net.layers
    ]
    errors, norms = [], {f"W{k}": [] for k in range(1, len(Ws) + 1)}
    for step in range(steps + 1):
        A = X
        for W, b, f in zip(Ws, bs, acts, strict=True):
            A = f(A @ W + b)
        e = 0.5 * ((Y - A) ** 2).sum(dim=1)
        E = e.mean() if reduction == "mean" else e.sum()
        E = E + 0.5 * l2 * sum((W**2).sum() for W in Ws)
        errors.append(E.item())
        if step == steps:
            break
        E.backward()
        with torch.no_grad():
            for k, (W, b) in enumerate(zip(Ws, bs, strict=True), start=1):
                norms[f"W{k}"].append(torch.linalg.norm(W.grad).item())
                W -= lr * W.grad
                b -= lr * b.grad
                W.grad = None
                b.grad = None
    return np.array(errors), {k: np.array(v) for k, v in norms.items()}


@pytest.mark.parametrize(("reduction", "l2"), [("mean", 0.0), ("sum", 0.0), ("mean", 0.1)])
def test_errors_and_gradient_norms_agree_with_pytorch_autograd(reduction, l2):
    net = Network.from_sizes([2, 3, 3, 1], ["tanh", "sigmoid", "sigmoid"], random_state=7)
    x = np.array([[0.5, 0.1], [-0.3, 0.8], [1.0, -1.0]])
    y = np.array([[0.9], [0.1], [0.5]])
    curves = training_curves(net, x, y, lr=0.8, steps=40, reduction=reduction, l2=l2)
    errors, norms = torch_curves(net, x, y, 0.8, 40, reduction, l2)
    np.testing.assert_allclose(curves.errors, errors, rtol=1e-10)
    for name, values in norms.items():
        np.testing.assert_allclose(curves.gradient_norms[name], values, rtol=1e-10)


def test_a_deep_sigmoid_network_shows_its_gradients_vanish():
    # f'(z) <= 1/4 for sigmoid: each layer further down gets a smaller gradient.
    net = Network.from_sizes([4, 4, 4, 4, 4, 1], "sigmoid", random_state=0)
    rng = np.random.default_rng(0)
    curves = training_curves(net, rng.normal(size=(8, 4)), rng.uniform(size=8), lr=0.5, steps=5)
    first = [curves.gradient_norms[f"W{k}"][0] for k in range(1, 6)]
    assert first == sorted(first) and first[0] < first[-1] / 100


def test_the_network_itself_is_not_trained():
    seed = seed_example()
    before = {k: v.copy() for k, v in seed.network.params.items()}
    training_curves(seed.network, seed.x, seed.y, lr=seed.lr, steps=10)
    assert all(np.array_equal(before[k], v) for k, v in seed.network.params.items())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"network": [1]}, TypeError, "network must be a Network, got list"),
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": 2.5}, TypeError, "steps"),
        ({"lr": -1.0}, ValueError, "lr"),
        ({"freeze_biases": 1}, TypeError, "freeze_biases must be True or False, got 1"),
    ],
)
def test_bad_input_is_named(kwargs, error, message):
    seed = seed_example()
    args = {"network": seed.network, "lr": 0.5, "steps": 3, **kwargs}
    network = args.pop("network")
    with pytest.raises(error, match=re.escape(message)):
        training_curves(network, seed.x, seed.y, **args)
    with pytest.raises(TypeError, match="curves must be TrainingCurves, got dict"):
        plot_training_curves({"errors": [1.0]})


def test_the_plot_draws_the_error_and_every_layers_gradient_norm(tmp_path):
    pytest.importorskip("matplotlib")
    net = Network.from_sizes([2, 3, 3, 1], "sigmoid", random_state=1)
    curves = training_curves(net, [0.5, 0.1], 0.9, lr=0.5, steps=60)
    path = tmp_path / "curves.png"
    fig = curves.plot()
    error_ax, grad_ax = fig.axes
    np.testing.assert_array_equal(error_ax.lines[0].get_ydata(), curves.errors)
    assert [line.get_label() for line in grad_ax.lines] == [
        "||dEdW1|| (layer 1)",
        "||dEdW2|| (layer 2)",
        "||dEdW3|| (layer 3)",
    ]
    for k, line in enumerate(grad_ax.lines, start=1):
        np.testing.assert_array_equal(line.get_ydata(), curves.gradient_norms[f"W{k}"])
    assert error_ax.get_yscale() == "log" and grad_ax.get_yscale() == "log"
    plot_training_curves(curves, path)
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_cli_explain_plot_writes_the_curves(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "plots" / "new"
    assert main(["explain", "--steps", "50", "--plot", str(out)]) == 0
    assert (out / "training-curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "Error over 50 steps" in capsys.readouterr().out


def test_cli_explain_plot_refuses_a_file_before_writing_anything(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("x")
    assert main(["explain", "--steps", "5", "--plot", str(target)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--plot must name a directory" in captured.err


def test_cli_explain_plot_names_the_extra_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    assert main(["explain", "--plot", str(tmp_path / "p")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "pip install 'chainrule[plot]'" in captured.err
    with pytest.raises(ImportError, match=re.escape("pip install 'chainrule[plot]'")):
        plot_training_curves(TrainingCurves(np.ones(2), {"W1": np.ones(1)}))


@pytest.mark.parametrize("n_steps", [41, 42, 99, 100, 101, 1234, 10_000, 54_321])
def test_long_runs_show_at_most_41_rows_with_both_ends(n_steps):
    errors = [float(s) for s in range(n_steps + 1)]
    rows, note = error_rows(errors)
    steps = [s for s, _ in rows]
    assert len(rows) <= MAX_ROWS and steps == sorted(set(steps))
    assert steps[: EDGE + 1] == list(range(EDGE + 1))
    assert steps[-EDGE:] == list(range(n_steps - EDGE + 1, n_steps + 1))
    assert all(errors[s] == e for s, e in rows)
    assert note.startswith(f"{len(rows)} of {n_steps + 1} rows shown")


def test_short_runs_show_every_row():
    errors = [1.0 / (s + 1) for s in range(MAX_ROWS)]
    assert error_rows(errors) == (list(enumerate(errors)), "")


def test_cli_explain_steps_10000_prints_a_summary(capsys):
    assert main(["explain", "--steps", "10000"]) == 0
    out = capsys.readouterr().out
    table = out.split("Error over 10000 steps\n", 1)[1].splitlines()
    rows = [line for line in table if re.fullmatch(r"\s*\d+  \S+", line)]
    assert 20 < len(rows) <= MAX_ROWS
    assert rows[0].split()[0] == "0" and rows[-1].split()[0] == "10000"
    assert table[len(rows) + 1].startswith(f"# {len(rows)} of 10001 rows shown")


@pytest.mark.parametrize("fmt", ["markdown", "html", "latex"])
def test_every_format_summarises_a_long_run(fmt):
    seed = seed_example()
    text = explain(seed.network, seed.x, seed.y, lr=seed.lr, steps=500).render(fmt)
    assert "of 501 rows shown: steps 0 to 10, each multiple of 50" in text
    assert text.count("0.0119") < 5  # not every one of the 501 rows
