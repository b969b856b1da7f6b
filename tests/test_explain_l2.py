"""L2 regularization: in train_step, in spec files, on the command line and in the explanation.

The penalty ``l2/2 * sum_k ||Wk||^2`` joins the error and ``l2 * Wk`` each weight's
gradient. The numbers are checked against PyTorch autograd, central differences and
scikit-learn's own MLP step (logistic units, log-loss, ``alpha``), whose penalty is
``alpha/(2 n) * sum ||W||^2``, so ``l2 = alpha / n``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import Network, Trace, explain, seed_example, train_step
from chainrule.cli import main
from chainrule.datasets.spec import spec_from_dict


def _batch():
    rng = np.random.default_rng(11)
    net = Network.from_sizes([3, 4, 2], ["tanh", "sigmoid"], random_state=11)
    return net, rng.normal(size=(4, 3)), rng.uniform(size=(4, 2))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_l2_step_matches_pytorch_autograd(reduction):
    torch = pytest.importorskip("torch")
    net, X, y = _batch()
    l2 = 0.05
    params = {k: torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=True)
              for k, v in net.params.items()}  # fmt: skip
    A = torch.tensor(X)
    for k, f in ((1, torch.tanh), (2, torch.sigmoid)):
        A = f(A @ params[f"W{k}"] + params[f"b{k}"])
    e = 0.5 * ((torch.tensor(y) - A) ** 2).sum(dim=1)
    E = (e.mean() if reduction == "mean" else e.sum()) + l2 / 2 * sum(
        (params[f"W{k}"] ** 2).sum() for k in (1, 2)
    )
    E.backward()
    trace = Trace()
    got = train_step(net, X, y, lr=0.1, reduction=reduction, l2=l2, tracer=trace)
    assert got == pytest.approx(float(E.detach()), rel=1e-12)
    for k in (1, 2):
        np.testing.assert_allclose(trace[f"dEdW{k}"], params[f"W{k}"].grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(trace[f"dEdB{k}"], params[f"b{k}"].grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(
            trace[f"dEdW{k}"] - trace[f"dEdW{k}_data"], l2 * trace[f"W{k}"], rtol=1e-12
        )
    assert float(trace["E"]) == pytest.approx(float(trace["E_data"]) + float(trace["penalty"]))


def test_l2_gradient_matches_central_differences_and_frozen_weights_stay():
    net, X, y = _batch()
    net.freeze("W1")
    l2 = 0.2

    def E(params):
        work = net.copy()
        work.params.update(params) if hasattr(work.params, "update") else None
        for name, value in params.items():
            work.params[name][...] = value
        penalty = l2 / 2 * sum(float(np.sum(work.params[f"W{k}"] ** 2)) for k in (1, 2))
        return float(work.loss(X, y)) + penalty

    trace = Trace()
    before = {k: np.array(v) for k, v in net.params.items()}
    train_step(net, X, y, lr=0.1, l2=l2, tracer=trace)
    W2 = before["W2"]
    numeric = np.zeros_like(W2)
    for idx in np.ndindex(*W2.shape):
        for sign in (1, -1):
            moved = W2.copy()
            moved[idx] += sign * 1e-6
            numeric[idx] += sign * E({**before, "W2": moved}) / 2e-6
    np.testing.assert_allclose(trace["dEdW2"], numeric, atol=1e-8)
    np.testing.assert_array_equal(net.params["W1"], before["W1"])  # frozen: unchanged
    np.testing.assert_allclose(net.params["W2"], W2 - 0.1 * trace["dEdW2"])


def test_zero_l2_changes_nothing_and_bad_l2_is_refused():
    seed = seed_example()
    plain, zero = Trace(), Trace()
    train_step(seed.network.copy(), seed.x, seed.y, lr=0.5, tracer=plain)
    train_step(seed.network.copy(), seed.x, seed.y, lr=0.5, l2=0, tracer=zero)
    assert list(plain) == list(zero) and "penalty" not in zero
    for bad in (-0.1, float("inf"), float("nan"), "0.1", True):
        with pytest.raises(ValueError, match="l2 must be a finite number >= 0, got"):
            train_step(seed.network.copy(), seed.x, seed.y, lr=0.5, l2=bad)
        with pytest.raises(ValueError, match="l2 must be a finite number >= 0"):
            explain(seed.network, seed.x, seed.y, lr=0.5, l2=bad)


def test_scikit_learns_mlp_step_with_alpha_is_explained():
    sklearn = pytest.importorskip("sklearn.neural_network")
    X = np.array([[0.5, 0.1], [0.9, -0.4], [-0.3, 0.8]])
    y = np.array([1, 0, 1])
    alpha, lr = 0.3, 0.5
    clf = sklearn.MLPClassifier(
        hidden_layer_sizes=(2,), activation="logistic", solver="sgd", alpha=alpha,
        batch_size=3, learning_rate_init=lr, momentum=0.0, nesterovs_momentum=False,
        shuffle=False, random_state=0,
    )  # fmt: skip
    clf.partial_fit(X, y, classes=[0, 1])  # only to build it: its weights are set next
    W = [np.array([[0.15, 0.2], [0.24, 0.3]]), np.array([[-0.4], [0.5]])]
    b = [np.array([1.0, 1.0]), np.array([1.0])]
    clf.coefs_, clf.intercepts_ = [w.copy() for w in W], [v.copy() for v in b]
    clf.partial_fit(X, y)  # one step of plain SGD on the whole batch
    net = Network.from_weights(W, b, ["sigmoid", "sigmoid"])
    ex = explain(net, X, y.reshape(-1, 1).astype(float), lr=lr, loss="binary_cross_entropy",
                 l2=alpha / len(X))  # fmt: skip
    assert float(ex.trace["E"]) == pytest.approx(clf.loss_, rel=1e-12)
    for k in (1, 2):
        np.testing.assert_allclose(ex.trace[f"W{k}_new"], clf.coefs_[k - 1], rtol=1e-12)
        np.testing.assert_allclose(ex.trace[f"b{k}_new"], clf.intercepts_[k - 1], rtol=1e-12)
    text = ex.render("text", derive=True)
    assert "L2 penalty l2/2 * sum_k ||Wk||^2 with l2 = 0.1" in text
    assert "# dEdW1 = x.T @ dEdInL1 + l2 * W1" in text
    d = ex.derivation()
    assert (
        d.step("E").general.text() == "E = 1/3 * sum_s e[s] + l2 / 2 * (norm(W1)**2 + norm(W2)**2)"
    )
    assert "+ l2 * W2" in d.step("dEdW2").general.text()
    assert any(
        e.text().startswith("norm(W1)**2 = 0.15**2 + 0.2**2 + 0.24**2 + 0.3**2 = 0.2101")
        for e in d.step("E").scalars
    )  # 0.0225 + 0.04 + 0.0576 + 0.09, by hand


def test_l2_from_a_spec_file_and_the_command_line(tmp_path, capsys):
    data = {"x": [0.5, 0.1], "y": 0.9, "lr": 0.5, "l2": 0.01,
            "layers": [{"W": [[0.15, 0.2], [0.24, 0.3]], "b": [1, 1], "activation": "sigmoid"},
                       {"W": [[-0.4], [0.5]], "b": [1], "activation": "sigmoid"}]}  # fmt: skip
    assert spec_from_dict(data).l2 == 0.01
    with pytest.raises(ValueError, match="field 'l2' must be a finite number >= 0, got -1"):
        spec_from_dict({**data, "l2": -1})
    spec = tmp_path / "l2.json"
    spec.write_text(json.dumps(data), encoding="utf-8")
    assert main(["explain", "--spec", str(spec)]) == 0
    out = capsys.readouterr().out
    # E = e + 0.01/2 * (0.15^2 + 0.2^2 + 0.24^2 + 0.3^2 + 0.4^2 + 0.5^2), by hand
    penalty = 0.005 * (0.0225 + 0.04 + 0.0576 + 0.09 + 0.16 + 0.25)
    assert "L2 penalty" in out and f"{0.011843 + penalty:.6f}"[:7] in out
    assert main(["explain", "--spec", str(spec), "--l2", "0"]) == 0
    assert "L2 penalty" not in capsys.readouterr().out
