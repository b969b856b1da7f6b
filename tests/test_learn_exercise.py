"""Worksheets and answer checking: exact answers graded right, every common mistake named
where it changes a value, one slip counted once, the same seed the same worksheet.

Expected values come from the seed notebook's printed numbers, from hand derivations in
plain NumPy, or from the engine's whole-network ``forward``/``backward`` run with the
mistake built into the network, independently of the per-quantity recomputation the
grader uses.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import Network, Trace
from chainrule.datasets.catalog import SEED_SPEC
from chainrule.layers import Dense
from chainrule.learn import MISTAKES, Exercise, Tolerance
from chainrule.learn.exercise_render import answers_toml
from chainrule.learn.grading import fit_shape
from chainrule.learn.grading_mistakes import simulate

BACKWARD = ("dEdOutL", "dEdInL", "dEdW", "dEdB")


def random_exercises(count: int) -> list[Exercise]:
    return [Exercise.random(seed, difficulty) for seed in range(count) for difficulty in (1, 2, 3)]


def engine_backward(ex: Exercise, network: Network, reduction: str | None = None, caches=None):
    """Every backward quantity of ``network`` (the engine's own backward) as a Trace."""
    example = ex.example
    X, Y = example.network.check_Xy(example.x, example.y)
    if caches is None:
        _, caches = example.network.forward(X)
    trace = Trace()
    network.backward(Y, caches, example.loss, reduction or example.reduction, trace)
    return trace


def assert_backward_equal(sim: dict, trace: Trace, n_layers: int) -> None:
    for k in range(1, n_layers + 1):
        for kind in BACKWARD:
            name = f"{kind}{k}"
            np.testing.assert_allclose(sim[name], trace[name], rtol=1e-12, atol=1e-15, err_msg=name)


# -- exact answers ------------------------------------------------------------------------
def test_exact_answers_of_200_random_worksheets_grade_all_right():
    exercises = random_exercises(67)[:200]
    assert len(exercises) == 200
    for ex in exercises:
        # The grader's per-quantity recomputation reproduces the engine's traced step.
        exact = simulate(ex.trace, ex.quantities)
        for name in ex.quantities:
            np.testing.assert_allclose(exact[name], ex.trace[name], rtol=1e-12, atol=1e-15)
        report = ex.grade(ex.answers())
        assert report.passed, str(report)
        assert report.names("right") == ex.blanks
        # The problem a worksheet embeds rebuilds the same step.
        again = Exercise.from_dict(json.loads(json.dumps(ex.to_dict())))
        for name in ex.quantities:
            np.testing.assert_array_equal(again.trace[name], ex.trace[name])


def test_exact_answers_rounded_as_the_worksheet_asks_grade_right():
    # Four significant digits, as the worksheet asks, is within the stated tolerance.
    for ex in random_exercises(10):
        rounded = {
            name: [float(f"{v:.4g}") for v in np.ravel(value)]
            for name, value in ex.answers().items()
        }
        answers = {
            name: np.reshape(rounded[name], np.shape(value)) for name, value in ex.answers().items()
        }
        assert ex.grade(answers).passed


def test_the_seed_worksheet_answers_are_the_notebooks_numbers():
    ex = Exercise.seed()
    notebook = {
        "inL1": [1.099, 1.13],
        "outL1": [0.750073, 0.755839],
        "inL2": [1.07789],
        "outL2": [0.746095],
        "e": [0.011843],
        "dEdOutL2": [-0.153905],
        "dEdInL2": [-0.029155],
        "dEdW2": [[-0.021869], [-0.022037]],
        "dEdB2": [-0.029155],
        "dEdOutL1": [0.011662, -0.014578],
        "dEdW1": [[0.001093, -0.001345], [0.000219, -0.000269]],
    }
    report = ex.grade(notebook)
    assert report.names("wrong") == [] and report.names("carried") == []
    assert report.names("right") == list(notebook)


# -- mistakes -----------------------------------------------------------------------------
def test_every_mistake_is_named_wherever_it_changes_a_value():
    named = dict.fromkeys(MISTAKES, 0)
    for ex in random_exercises(30):
        for key, mistake in MISTAKES.items():
            answers = simulate(ex.trace, ex.quantities, mistake)
            report = ex.grade(answers)
            for mark in report.marks:
                exact = np.asarray(ex.trace[mark.name])
                changed = not ex.tolerance.close(fit_shape(answers[mark.name], exact), exact)
                if not changed:
                    assert mark.status == "right", (key, mark)  # never claimed where unchanged
                elif mark.status == "wrong":
                    assert mistake in mark.mistakes, (key, mark.name, mark.hint)
                else:
                    # Carried from the learner's own earlier wrong value; or, with no wrong
                    # value before it, rounding within tolerance that added up.
                    assert mark.status in ("carried", "right"), (key, mark)
            wrong = [mark for mark in report.marks if mark.status != "right"]
            if wrong:
                assert wrong[0].status == "wrong" and mistake in wrong[0].mistakes
                named[key] += 1
    # Each mistake really was made (and named) in many of the 90 worksheets.
    assert min(named.values()) >= 10, named


@pytest.mark.parametrize("seed", range(6))
def test_mean_forgotten_is_the_engines_sum_reduction(seed):
    ex = next(
        e
        for s in range(seed * 50, seed * 50 + 50)
        if (e := Exercise.random(s, 3)).example.reduction == "mean"
    )
    sim = simulate(ex.trace, ex.quantities, MISTAKES["mean_forgotten"])
    net = ex.example.network
    assert_backward_equal(sim, engine_backward(ex, net, "sum"), net.n_layers)


@pytest.mark.parametrize("seed", range(6))
def test_fprime_forgotten_is_the_engine_through_identities(seed):
    ex = Exercise.random(seed, 3)
    net = ex.example.network
    identities = Network([Dense(layer.W, layer.b, "identity") for layer in net.layers])
    sim = simulate(ex.trace, ex.quantities, MISTAKES["fprime_forgotten"])
    assert_backward_equal(sim, engine_backward(ex, identities), net.n_layers)


@pytest.mark.parametrize("seed", range(6))
def test_updated_weights_is_the_engine_backward_after_the_update(seed):
    ex = Exercise.random(seed, 1)  # two layers: W2_new comes from the exact dEdW2
    net = ex.example.network.copy()
    X, _ = net.check_Xy(ex.example.x, ex.example.y)
    _, caches = net.forward(X)
    net.set_params({"W2": np.asarray(ex.trace["W2_new"])})
    sim = simulate(ex.trace, ex.quantities, MISTAKES["updated_weights"])
    assert_backward_equal(sim, engine_backward(ex, net, caches=caches), 2)


def test_W_not_transposed_is_the_engine_with_square_weights_transposed():
    checked = 0
    for ex in random_exercises(40):
        net = ex.example.network
        square = [k for k in range(2, net.n_layers + 1) if len(set(net.layers[k - 1].W.shape)) == 1]
        if not square:
            continue
        flipped = Network(
            [
                Dense(layer.W.T if k in square else layer.W, layer.b, layer.activation)
                for k, layer in enumerate(net.layers, start=1)
            ]
        )
        sim = simulate(ex.trace, ex.quantities, MISTAKES["W_not_transposed"])
        assert_backward_equal(sim, engine_backward(ex, flipped), net.n_layers)
        checked += 1
    assert checked >= 10


def test_wrong_sign_steps_up_the_gradient():
    for ex in random_exercises(5):
        sim = simulate(ex.trace, ex.quantities, MISTAKES["wrong_sign"])
        for k in range(1, ex.example.network.n_layers + 1):
            for p in (f"W{k}", f"b{k}"):
                old, new = np.asarray(ex.trace[p]), np.asarray(ex.trace[f"{p}_new"])
                expected = old if p in ex.example.network.frozen else 2 * old - new
                np.testing.assert_allclose(sim[f"{p}_new"], expected, rtol=1e-12, atol=1e-15)


def seed_by_hand() -> dict[str, np.ndarray]:
    """The seed notebook's step, derived in plain NumPy (no chainrule)."""
    x, y, lr = np.array([[0.5, 0.1]]), np.array([[0.9]]), 0.5
    W1, b1 = np.array([[0.15, 0.2], [0.24, 0.3]]), np.array([1.0, 1.0])
    W2, b2 = np.array([[-0.4], [0.5]]), np.array([1.0])

    def s(z):
        return 1 / (1 + np.exp(-z))

    v = {"inL1": x @ W1 + b1}
    v["outL1"] = s(v["inL1"])
    v["inL2"] = v["outL1"] @ W2 + b2
    v["outL2"] = s(v["inL2"])
    v["e"] = 0.5 * ((y - v["outL2"]) ** 2).sum(axis=1)
    v["dEdOutL2"] = v["outL2"] - y
    v["dEdInL2"] = v["dEdOutL2"] * v["outL2"] * (1 - v["outL2"])
    v["x"], v["W1"], v["b1"], v["W2"], v["b2"], v["lr"] = x, W1, b1, W2, b2, lr
    return v


def seed_chain_from(v: dict[str, np.ndarray], dEdInL2: np.ndarray) -> dict[str, np.ndarray]:
    """The seed's backward pass and update worked from a given dEdInL2, by hand."""
    lr, out = v["lr"], {"dEdInL2": dEdInL2}
    out["dEdW2"] = v["outL1"].T @ dEdInL2
    out["dEdB2"] = dEdInL2.sum(axis=0)
    out["dEdOutL1"] = dEdInL2 @ v["W2"].T
    out["dEdInL1"] = out["dEdOutL1"] * v["outL1"] * (1 - v["outL1"])
    out["dEdW1"] = v["x"].T @ out["dEdInL1"]
    out["dEdB1"] = out["dEdInL1"].sum(axis=0)
    for k in (1, 2):
        out[f"W{k}_new"] = v[f"W{k}"] - lr * out[f"dEdW{k}"]
        out[f"b{k}_new"] = v[f"b{k}"] - lr * out[f"dEdB{k}"]
    return out


def test_one_early_slip_is_graded_as_one_mistake():
    v = seed_by_hand()
    answers = {name: v[name] for name in ("inL1", "outL1", "inL2", "outL2", "e", "dEdOutL2")}
    chain = seed_chain_from(v, np.array([[-0.05]]))  # a slip: the exact value is -0.029155
    answers |= chain
    ex = Exercise.seed()
    report = ex.grade(answers)
    assert report.names("wrong") == ["dEdInL2"]
    assert report.mark("dEdInL2").mistakes == ()  # a slip, not a known mistake
    # Everything after it follows from it: carried, not counted again (or right, where the
    # slip moves a value by less than the tolerance, as it does W1 = W1 - 0.5 * 0.001...).
    off = [name for name in list(chain)[1:] if not ex.tolerance.close(chain[name], ex.trace[name])]
    assert off[:6] == ["dEdW2", "dEdB2", "dEdOutL1", "dEdInL1", "dEdW1", "dEdB1"]
    assert report.names("carried") == off
    assert set(report.names("right")) == set(ex.blanks) - {"dEdInL2", *off}
    assert "1 wrong" in report.summary() and report.summary().count("mistake") == 1


def test_seed_mistakes_by_hand_are_named_at_their_factor():
    v = seed_by_hand()
    ex = Exercise.seed(blank="deltas,gradients")
    # f' forgotten: dEdInL2 = dEdOutL2 (the notebook's -0.153905).
    mark = ex.check("dEdInL2", v["dEdOutL2"])
    assert [m.key for m in mark.mistakes] == ["fprime_forgotten"]
    assert "doutL2/dinL2 = f'(inL2) is missing" in mark.hint
    # f' taken at outL: sigmoid'(outL2) instead of sigmoid'(inL2).
    s_out = 1 / (1 + np.exp(-v["outL2"]))
    mark = ex.check("dEdInL2", v["dEdOutL2"] * s_out * (1 - s_out))
    assert [m.key for m in mark.mistakes] == ["fprime_at_out"]
    # The layer below used W2 after the update.
    W2_new = v["W2"] - v["lr"] * (v["outL1"].T @ v["dEdInL2"])
    mark = ex.check("dEdOutL1", v["dEdInL2"] @ W2_new.T)
    assert [m.key for m in mark.mistakes] == ["updated_weights"]
    assert "not W2_new" in mark.hint
    # dEdW1 transposed.
    exact_dW1 = seed_chain_from(v, v["dEdInL2"])["dEdW1"]
    mark = ex.check("dEdW1", exact_dW1.T)
    assert mark.status == "wrong" and [m.key for m in mark.mistakes] == ["dEdW_transposed"]


def test_batch_mistakes_by_hand():
    # A 2-2-1 sigmoid network on a batch of two, mean reduction.
    net = Network.from_weights([[[0.1, -0.2], [0.3, 0.4]], [[0.5], [-0.6]]], [[0.0, 0.1], [0.2]])
    X, y = np.array([[1.0, 0.5], [-0.5, 1.0]]), np.array([[1.0], [0.0]])
    ex = Exercise(net, X, y, lr=0.5, blank="error,deltas,gradients")

    def s(z):
        return 1 / (1 + np.exp(-z))

    A1 = s(X @ net.layers[0].W + net.layers[0].b)
    A2 = s(A1 @ net.layers[1].W + net.layers[1].b)
    e = 0.5 * ((y - A2) ** 2).sum(axis=1)
    dZ2 = (A2 - y) / 2 * A2 * (1 - A2)
    assert [m.key for m in ex.check("E", e.sum()).mistakes] == ["sum_for_mean"]
    assert [m.key for m in ex.check("dEdOutL2", A2 - y).mistakes] == ["mean_forgotten"]
    assert [m.key for m in ex.check("dEdW2", A1.T @ dZ2 / 2).mistakes] == ["mean_twice"]
    assert [m.key for m in ex.check("dEdB2", dZ2).mistakes] == ["bias_not_summed"]
    assert ex.check("dEdB2", dZ2.sum(axis=0)).status == "right"


def test_a_wrong_delta_points_at_the_factor_it_implies():
    ex = Exercise.seed(blank="deltas")
    mark = ex.grade({"dEdOutL2": [-0.153905], "dEdInL2": [-0.5]}).mark("dEdInL2")
    assert mark.status == "wrong" and mark.mistakes == ()
    # -0.5 / -0.153905 = 3.2488; sigmoid'(1.07789) = 0.189437.
    assert "doutL2/dinL2 = [3.2488]" in mark.hint and "f'(inL2) = [0.1894]" in mark.hint


# -- the worksheet ------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
def test_same_seed_same_worksheet(fmt):
    first = Exercise.random(11, 3).worksheet(fmt)
    assert first == Exercise.random(11, 3).worksheet(fmt)
    assert first != Exercise.random(12, 3).worksheet(fmt)
    assert Exercise.random(11, 3).answer_key(fmt) == Exercise.random(11, 3).answer_key(fmt)


def test_difficulty_sets_depth_batch_activations_and_losses():
    def shapes(d):
        exs = [Exercise.random(s, d) for s in range(40)]
        return (
            {e.example.network.n_layers for e in exs},
            {e.trace.n_samples for e in exs},
            {a.name for e in exs for a in e.trace.info["activations"]},
            {e.example.loss.name for e in exs},
            {e.example.reduction for e in exs},
        )

    assert shapes(1) == ({2}, {1}, {"sigmoid"}, {"half_squared_error"}, {"mean"})
    layers, batch, acts, losses, reductions = shapes(3)
    assert layers == {3} and batch == {2, 3} and reductions == {"mean", "sum"}
    assert {"softmax", "relu", "tanh", "leaky_relu", "softplus"} <= acts
    assert {"cross_entropy", "binary_cross_entropy", "mean_squared_error"} <= losses


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
def test_worksheet_holds_its_problem_and_hides_the_blanks(fmt, tmp_path):
    ex = Exercise.seed(blank="dEdW1,outL1")
    sheet = ex.worksheet(fmt)
    path = tmp_path / {"markdown": "w.md", "latex": "w.tex", "html": "w.html"}[fmt]
    path.write_text(sheet, encoding="utf-8")
    again = Exercise.load(path)
    assert again.blanks == ["outL1", "dEdW1"] and again.to_dict() == ex.to_dict()
    # Given values are shown; the blanks' are not.
    assert "1.099" in sheet and "-0.021869" in sheet
    assert "0.750073" not in sheet and "0.001093" not in sheet and "-0.001345" not in sheet


def test_worksheet_problem_survives_awkward_titles(tmp_path):
    net = Exercise.seed().example.network
    ex = Exercise(net, [0.5, 0.1], 0.9, lr=0.5, title="a --> b <!-- c -- % \\end{document}")
    for fmt, suffix in (("markdown", ".md"), ("html", ".html"), ("latex", ".tex")):
        path = tmp_path / f"w{suffix}"
        path.write_text(ex.worksheet(fmt), encoding="utf-8")
        assert Exercise.load(path).title == ex.title


def test_answer_key_is_the_explanation_of_the_step():
    key = Exercise.seed().answer_key("markdown")
    assert key.startswith("# One training step of the seed notebook's")
    assert "answer key" in key.splitlines()[0]
    for number in ("-0.153905", "-0.029155", "0.001093", "0.010953"):
        assert number in key


def test_notebook_display():
    ex = Exercise.seed(blank="gradients")
    assert "<svg" in ex._repr_html_() and "<math" in ex._repr_html_()
    assert ex._repr_markdown_().startswith("# Worksheet")
    report = ex.grade({"dEdW2": [[-0.021869], [-0.022037]], "dEdB2": [0.2]})
    assert "right" in report._repr_html_() and "dEdB2" in report._repr_markdown_()


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Exercise.seed(blank="gradients,dEdW9"), ValueError, "blank: 'dEdW9'"),
        (lambda: Exercise.seed(blank=""), ValueError, "blank"),
        (lambda: Exercise.random(0, 4), ValueError, "difficulty must be 1, 2 or 3, got 4"),
        (lambda: Exercise.random(-1), ValueError, "seed must be a whole number >= 0"),
        (lambda: Tolerance(rtol=-0.1), ValueError, "rtol must be in"),
        (lambda: Tolerance(rtol="0.1"), TypeError, "rtol must be a number"),
        (lambda: Exercise.seed().grade({"dEdW1": "small"}), TypeError, "answer for dEdW1"),
        (lambda: Exercise.seed().grade({"dEdW1": [[1, 2], [3]]}), ValueError, "answer for dEdW1"),
        (lambda: Exercise.seed(blank="deltas").grade({"dEdW1": 0}), ValueError, "not blanks"),
        (lambda: Exercise.seed(blank="deltas").check("x", 0), ValueError, "not a blank"),
        (
            lambda: Exercise.from_spec({**SEED_SPEC, "l2": 0.1}),
            ValueError,
            "field 'l2': a worksheet covers plain gradient descent",
        ),
    ],
)
def test_bad_input_is_refused_naming_it(make, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace("[", r"\[")):
        make()


def test_networks_a_spec_cannot_state_are_refused():
    net = Network.from_sizes([2, 3, 1], ["leaky_relu", "sigmoid"], random_state=0)
    net.layers[0].activation.alpha = 0.2
    with pytest.raises(ValueError, match="layer 1 activation must have its default settings"):
        Exercise(net, [0.5, 0.1], 0.9, lr=0.5)
    dropout = Network.from_sizes([2, 3, 1], random_state=0, dropout=0.5)
    with pytest.raises(ValueError, match="layer 1 must have no dropout"):
        Exercise(dropout, [0.5, 0.1], 0.9, lr=0.5)


def test_answers_toml_round_trips_through_the_check(tmp_path):
    ex = Exercise.random(3, 2)
    (tmp_path / "a.toml").write_text(answers_toml(ex.answers()), encoding="utf-8")
    (tmp_path / "a.json").write_text(
        json.dumps({k: np.asarray(v).tolist() for k, v in ex.answers().items()}), encoding="utf-8"
    )
    from chainrule.learn import read_answers

    assert ex.grade(read_answers(tmp_path / "a.toml")).passed
    assert ex.grade(read_answers(tmp_path / "a.json")).passed


def test_mistaken_answers_are_graded_with_that_mistake():
    ex = Exercise.seed()
    report = ex.grade(ex.mistaken_answers("wrong_sign"))
    # b1's step is 0.5 * 0.0022 on 1: the wrong sign moves it by less than the 0.5 % allowed.
    assert report.names("wrong") == ["W1_new", "W2_new", "b2_new"]
    # The notebook's W2 = [[-0.4], [0.5]] and dEdW2 = [[-0.021869], [-0.022037]], lr = 0.5.
    np.testing.assert_allclose(
        ex.mistaken_answers("wrong_sign")["W2_new"], [[-0.4109345], [0.4889815]], atol=1e-6
    )
    assert str(report.mark("W2_new")).startswith("W2_new: wrong. the wrong sign in the update")
    assert str(report.mark("dEdW2")) == "dEdW2: right"
    with pytest.raises(ValueError, match="mistake must be one of"):
        ex.mistaken_answers("typo")


def test_a_wrong_weight_gradient_points_at_the_input_it_implies():
    ex = Exercise.seed(blank="gradients")
    # dEdW2 = outL1.T @ dEdInL2 taken with x = [0.5, 0.1] in place of outL1.
    mark = ex.check("dEdW2", [[0.5 * -0.029155], [0.1 * -0.029155]])
    assert mark.status == "wrong" and mark.mistakes == ()
    assert "implies dinL2/dW2 = [0.5 0.1], but it is outL1 = [0.7501 0.7558]" in mark.hint
