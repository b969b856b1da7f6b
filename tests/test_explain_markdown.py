"""The Markdown explanation: a golden file for the seed, and every number read back.

The golden file ``tests/golden/seed_explain.md`` was checked by hand against the seed
notebook's printed values (listed in ``SEED_VALUES`` below, copied from the notebook)
and against a hand computation of the update (``W1 - 0.5 * dEdW1`` and so on). After a
deliberate change of the layout, regenerate it with::

    python -c "from chainrule import explain, seed_example; s = seed_example(); print(explain(
        s.network, s.x, s.y, lr=s.lr, title=s.title).render('markdown'), end='')" \
        > tests/golden/seed_explain.md

and check the numbers again; ``test_golden_file_holds_the_seed_numbers`` guards them.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pytest

from chainrule import Network, Trace, explain, seed_example, train_step

from .explain_parsing import close, factors, matrices, parse_number, result, steps

GOLDEN = Path(__file__).parent / "golden" / "seed_explain.md"

# The seed notebook's printed values (np.set_printoptions(precision=6)).
SEED_VALUES = {
    "inL1": [[1.099, 1.13]],
    "outL1": [[0.750073, 0.755839]],
    "inL2": [[1.07789]],
    "outL2": [[0.746095]],
    "dEdOutL2": [[-0.153905]],
    "dEdInL2": [[-0.029155]],
    "dEdW2": [[-0.021869], [-0.022037]],
    "dEdB2": [[-0.029155]],
    "dEdOutL1": [[0.011662, -0.014578]],
    "dEdInL1": [[0.002186, -0.00269]],
    "dEdW1": [[0.001093, -0.001345], [0.000219, -0.000269]],
    "dEdB1": [[0.002186, -0.00269]],
}
SEED_ERROR_BEFORE, SEED_ERROR_AFTER = 0.011843, 0.010953


def seed_markdown() -> str:
    seed = seed_example()
    return explain(seed.network, seed.x, seed.y, lr=seed.lr, title=seed.title).render("markdown")


def test_markdown_matches_the_golden_file():
    expected = GOLDEN.read_text(encoding="utf-8")
    actual = seed_markdown()
    if actual != expected:
        diff = "\n".join(
            difflib.unified_diff(expected.splitlines(), actual.splitlines(), "golden", "now", n=1)
        )
        pytest.fail(f"the seed's Markdown differs from {GOLDEN.name}:\n{diff[:4000]}")


def test_golden_file_holds_the_seed_numbers():
    found = steps(GOLDEN.read_text(encoding="utf-8"))
    for key, value in SEED_VALUES.items():
        numbers = found[key]["equations"][2]
        assert np.array_equal(result(numbers), np.array(value)), key
    text = GOLDEN.read_text(encoding="utf-8")
    assert f"| before | {SEED_ERROR_BEFORE} |" in text
    assert f"| after | {SEED_ERROR_AFTER} |" in text
    # sigmoid'(inL) from the seed's outputs, a * (1 - a), rounded as printed.
    assert np.allclose(matrices(found["dEdInL1"]["equations"][2])[1], [[0.187464, 0.184546]])
    # The update, by hand: W - 0.5 * dEdW with the seed's rounded gradients (+- 1e-6).
    W1_new = np.array([[0.15, 0.2], [0.24, 0.3]]) - 0.5 * np.array(SEED_VALUES["dEdW1"])
    assert np.allclose(result(found["W1_new"]["equations"][2]), W1_new, atol=1e-6)
    b2_new = 1 - 0.5 * SEED_VALUES["dEdB2"][0][0]
    assert np.allclose(result(found["b2_new"]["equations"][2]), [[b2_new]], atol=1e-6)


def _traced(network: Network, X, y, lr: float, reduction: str = "mean") -> Trace:
    trace = Trace()
    train_step(network.copy(), X, y, lr=lr, reduction=reduction, tracer=trace)
    return trace


def _fprime(name: str, A: np.ndarray) -> np.ndarray:
    # Restated here, independently of chainrule.activations.
    return {"sigmoid": A * (1 - A), "tanh": 1 - A**2}[name]


def _torch_grads(network: Network, X, y, reduction: str) -> dict[str, np.ndarray]:
    torch = pytest.importorskip("torch")
    params = {
        name: torch.tensor(np.asarray(value), dtype=torch.float64, requires_grad=True)
        for name, value in network.params.items()
    }
    A = torch.tensor(np.atleast_2d(X), dtype=torch.float64)
    for k, layer in enumerate(network.layers, start=1):
        Z = A @ params[f"W{k}"] + params[f"b{k}"]
        A = {"sigmoid": torch.sigmoid, "tanh": torch.tanh}[layer.activation.name](Z)
    target = torch.tensor(np.asarray(y, dtype=float).reshape(A.shape), dtype=torch.float64)
    e = 0.5 * ((target - A) ** 2).sum(dim=1)
    (e.mean() if reduction == "mean" else e.sum()).backward()
    return {name: p.grad.numpy() for name, p in params.items()}


def _check_markdown_against_engine(network, X, y, lr, reduction="mean", precision=6):
    trace = _traced(network, X, y, lr, reduction)
    explanation = explain(network, X, y, lr=lr, reduction=reduction)
    found = steps(explanation.render("markdown", precision=precision))
    L = network.n_layers
    acts = [layer.activation.name for layer in network.layers]

    def value(name: str) -> np.ndarray:
        return np.atleast_2d(np.asarray(trace[name], dtype=float))

    operands = {}
    for k in range(1, L + 1):
        below = "x" if k == 1 else f"outL{k - 1}"
        operands[f"inL{k}"] = [value(below), value(f"W{k}"), value(f"b{k}")]
        operands[f"outL{k}"] = [value(f"inL{k}")]
        operands[f"dEdInL{k}"] = [value(f"dEdOutL{k}"), _fprime(acts[k - 1], value(f"outL{k}"))]
        # one instance: the outer product as a column times a row; a batch: below.T @ dZ
        single = value("x").shape[0] == 1
        operands[f"dEdW{k}"] = [value(below).T if single else value(below), value(f"dEdInL{k}")]
        # one instance: dEdBk = dEdInLk = [...]; a batch: the rows of dEdInLk added up
        operands[f"dEdB{k}"] = [] if single else [row[None] for row in value(f"dEdInL{k}")]
        operands[f"W{k}_new"] = [value(f"W{k}"), value(f"dEdW{k}")]
        operands[f"b{k}_new"] = [value(f"b{k}"), value(f"dEdB{k}")]
        operands[f"dEdOutL{k}"] = (
            [value(f"outL{L}"), value("y")]
            if k == L
            else [value(f"dEdInL{k + 1}"), value(f"W{k + 1}")]
        )
    checked = 0
    for key, expected in operands.items():
        numbers = found[key]["equations"][2]
        printed = matrices(numbers)
        assert close(result(numbers), value(key), precision), key
        for got, want in zip(printed[:-1], expected, strict=True):
            assert close(got, want, precision), (key, got, want)
        checked += 1
    assert checked == 8 * L
    # The analytic gradients and their central differences against PyTorch autograd.
    grads = _torch_grads(network, X, y, reduction)
    for k in range(1, L + 1):
        for name, key in ((f"W{k}", f"dEdW{k}"), (f"b{k}", f"dEdB{k}")):
            want = np.atleast_2d(grads[name])
            assert close(result(found[key]["equations"][2]), want, precision), key
            numeric = [parse_number(row.split("|")[3]) for row in found[key]["checks"]]
            # A central difference is itself only good to about 1e-9 here.
            err = np.abs(np.array(numeric).reshape(want.shape) - want)
            assert np.all(err <= 0.5 * 10.0**-precision + 1e-9), key
    # Error before and after, as the engine gives them.
    E_key = "E" if trace.n_samples > 1 else "e"
    assert close(np.array([[result(found[E_key]["equations"][2])[0, -1]]]),
                 np.atleast_2d(np.sum(trace[E_key])), precision)  # fmt: skip
    return trace, found


def test_seed_markdown_numbers_match_the_engine():
    seed = seed_example()
    _check_markdown_against_engine(seed.network, seed.x, seed.y, seed.lr)


def _random_net() -> Network:
    return Network.from_sizes([3, 4, 3, 2], ["tanh", "sigmoid", "sigmoid"], random_state=7)


def test_random_three_layer_markdown_numbers_match_the_engine():
    rng = np.random.default_rng(3)
    net = _random_net()
    x, y = rng.normal(size=3), rng.uniform(size=2)
    trace, found = _check_markdown_against_engine(net, x, y, lr=0.3)
    # Entry by entry: every factor of every weight's chain, and their product.
    for k in range(1, 4):
        below = "x" if k == 1 else f"outL{k - 1}"
        A_prev = np.asarray(trace[below])[0]
        dA, A = np.asarray(trace[f"dEdOutL{k}"])[0], np.asarray(trace[f"outL{k}"])[0]
        fp = _fprime(["tanh", "sigmoid", "sigmoid"][k - 1], A)
        entries = found[f"dEdW{k}"]["entries"]
        n_in, n_out = np.asarray(trace[f"W{k}"]).shape
        assert len(entries) == n_in * n_out
        for line, (i, j) in zip(entries, np.ndindex(n_in, n_out), strict=True):
            nums, total = factors(line)
            assert close(np.array(nums), np.array([dA[j], fp[j], A_prev[i]]), 6), line
            assert abs(np.prod(nums) - total) <= 2e-6, line
            assert close(np.array(total), np.asarray(trace[f"dEdW{k}"])[i, j], 6), line


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_random_three_layer_batch_markdown_numbers_match_the_engine(reduction):
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(3, 3)), rng.uniform(size=(3, 2))
    trace, found = _check_markdown_against_engine(_random_net(), X, y, 0.3, reduction)
    # Per-instance gradients, restated: instance s's own de[s]/dW3 = outL2[s].T @ delta3[s].
    scale = 1 / 3 if reduction == "mean" else 1.0
    A_prev, dZ = np.asarray(trace["outL2"]), np.asarray(trace["dEdInL3"]) / scale
    lines = found["dEdW3"]["equations"][3:]
    assert ("3 * dEdInL3[s]" in lines[0]) == (reduction == "mean")
    for s in range(3):
        assert close(result(lines[1 + s]), np.outer(A_prev[s], dZ[s]), 6)
    combined = lines[4]
    assert (r"\tfrac{1}{3}" in combined) == (reduction == "mean")
    assert close(result(combined), np.asarray(trace["dEdW3"]), 6)
