"""Explanations a learner can trust: true lines, every factor visible, the why beside the what.

Each test holds one promise of the explanation (never a false line; every local
derivative shown; the notation legend; the notes where learners go wrong; the summary
level) against numbers from the seed, a hand derivation or NumPy.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from chainrule import Network, explain, seed_example
from chainrule.explain import build


def f6(value: float) -> str:
    """Six digits after the point, trailing zeros dropped (as the explanations print)."""
    return np.format_float_positional(float(value), 6, unique=False, trim="-")


def seed_explanation(**kw):
    seed = seed_example()
    return explain(seed.network, seed.x, seed.y, lr=seed.lr, title=seed.title, **kw)


def softmax_explanation(y=(0.3, 0.7), **kw):
    net = Network.from_sizes([2, 2, 2], ["sigmoid", "softmax"], random_state=1)
    return explain(net, [0.5, 0.1], list(y), lr=0.5, loss="cross_entropy", **kw)


def batch_explanation(reduction="mean", loss="half_squared_error", acts=("relu", "sigmoid")):
    net = Network.from_sizes([2, 3, 1], list(acts), random_state=4)
    X = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]])
    y = np.array([[0.2], [0.9], [0.4]])
    return explain(net, X, y, lr=0.1, loss=loss, reduction=reduction)


def lines(text: str, start: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(start)]


# -- 1. never a false line -------------------------------------------------------------


def test_softmax_is_shown_as_a_function_of_the_whole_vector_with_its_sum():
    ex = softmax_explanation()
    Z = np.asarray(ex.trace["inL2"])[0]
    A = np.asarray(ex.trace["outL2"])[0]
    text = ex.render("text", derive=True)
    (line,) = lines(text, "#     outL2[1] = ")
    assert "softmax(" not in line
    assert "= exp(inL2[1]) / (exp(inL2[1]) + exp(inL2[2])) = " in line
    # the numbers: exp of each input, their sum, the quotient (NumPy here, not the renderer)
    e = np.exp(Z)
    assert f"= {f6(e[0])} / {f6(e.sum())} = {f6(A[0])}" in line
    assert f"exp({f6(Z[0])}) / (exp({f6(Z[0])}) + exp({f6(Z[1])}))" in line
    assert any(
        "Softmax is not element-wise" in note for note in ex.derivation().step("outL2").notes
    )


def test_the_fused_gradient_of_soft_targets_is_outl_minus_y_with_its_condition():
    ex = softmax_explanation(y=(0.3, 0.7))
    A = np.asarray(ex.trace["outL2"])[0]
    dZ = np.asarray(ex.trace["dEdInL2"])[0]
    assert np.allclose(dZ, A - [0.3, 0.7])  # by hand: softmax' cancels -y/p when sum(y) = 1
    text = ex.render("text", derive=True)
    assert "# dEdInL2 = outL2 - y (softmax and cross_entropy combined; sum(y) = 1)" in text
    (numbers,) = [li for li in lines(text, "#   with numbers: dEdInL2")]
    assert f"[{f6(A[0])} {f6(A[1])}] - [0.3 0.7]" in numbers
    assert numbers.endswith(f"= [{f6(dZ[0])} {f6(dZ[1])}]")
    # one-hot targets: the same short form
    text = softmax_explanation(y=(0.0, 1.0)).render("text", derive=True)
    assert "# dEdInL2 = outL2 - y (softmax and cross_entropy combined; sum(y) = 1)" in text


def test_targets_summing_to_1_up_to_rounding_are_not_called_weighted():
    # 0.06 + 0.57 + 0.37 is 1 - 1.1e-16 in float64: a distribution, not a weighted row.
    y = [0.06, 0.57, 0.37]
    assert np.sum(y) != 1.0
    net = Network.from_sizes([2, 2, 3], ["sigmoid", "softmax"], random_state=1)
    ex = explain(net, [0.5, 0.1], y, lr=0.5, loss="cross_entropy")
    A, dZ = np.asarray(ex.trace["outL2"])[0], np.asarray(ex.trace["dEdInL2"])[0]
    assert np.allclose(dZ, A - y, rtol=0, atol=1e-15)
    text = ex.render("text", derive=True)
    assert "# dEdInL2 = outL2 - y (softmax and cross_entropy combined; sum(y) = 1)" in text
    assert "sum(y) - y" not in text and "do not sum to 1" not in text


def test_sigmoid_with_binary_cross_entropy_shows_both_routes_equal():
    net = Network.from_sizes([2, 2, 1], ["tanh", "sigmoid"], random_state=3)
    ex = explain(net, [0.2, -0.7], [0.25], lr=0.1, loss="binary_cross_entropy")
    A, y = float(ex.trace["outL2"][0, 0]), 0.25
    dZ = float(ex.trace["dEdInL2"][0, 0])
    assert dZ == pytest.approx(A - y)  # by hand: the sigmoid' cancels the loss's denominator
    step = ex.derivation().step("dEdInL2")
    local = [e.text() for e in step.local]
    # the long route: dEdOutL2 * sigmoid'(inL2) with the numbers, ending in the same value
    (long_route,) = [t for t in local if t.startswith("dEdInL2 = dEdOutL2 * sigmoid'(inL2)")]
    dA = (A - y) / (A * (1 - A))
    assert f"[{f6(dA)}] * [{f6(A * (1 - A))}]" in long_route
    assert long_route.endswith(f"= [{f6(dZ)}]")
    assert step.numbers.text().endswith(f"= [{f6(dZ)}]")


def test_the_softmax_jacobian_with_numbers_and_both_routes():
    ex = softmax_explanation(y=(0.0, 1.0))
    A = np.asarray(ex.trace["outL2"])[0]
    J = np.diag(A) - np.outer(A, A)  # by hand
    local = [e.text() for e in ex.derivation().step("dEdInL2").local]
    (jac,) = [t for t in local if t.startswith("J2 = diag(")]
    want = "[[" + "] [".join(" ".join(f6(v) for v in row) for row in J) + "]]"
    assert jac.endswith(want)
    (route,) = [t for t in local if t.startswith("dEdInL2 = dEdOutL2 @ J2")]
    dZ = np.asarray(ex.trace["dEdInL2"])[0]
    assert route.endswith(f"[{f6(dZ[0])} {f6(dZ[1])}]")
    assert np.allclose(np.asarray(ex.trace["dEdOutL2"])[0] @ J, dZ)


def test_every_headline_carries_the_mean_1_over_n():
    ex = batch_explanation("mean")
    text = ex.render("text", derive=True)
    assert "# dEdOutL2 = dE/doutL2 = 1/3 * (outL2 - y)" in text
    A, y = np.asarray(ex.trace["outL2"]), np.asarray(ex.trace["y"])
    assert np.allclose(ex.trace["dEdOutL2"], (A - y) / 3)  # the value the headline promises
    d = ex.derivation()
    assert d.step("dEdOutL2").general.text() == "dE/doutL2 = 1/3 * (outL2 - y)"
    assert any("1/3 of the mean enters here" in n for n in d.step("dEdOutL2").notes)
    # with a sum there is no 1/n to carry
    text = batch_explanation("sum").render("text", derive=True)
    assert "# dEdOutL2 = dE/doutL2 = outL2 - y\n" in text
    assert "1/3" not in text


def test_an_outer_product_is_written_with_unambiguous_shapes():
    text = seed_explanation().render("text", derive=True)
    assert "# dEdW1 = outer(x, dEdInL1)" in text
    assert "[0.5 0.1].T" not in text
    assert "dEdW1 = [[0.5] [0.1]] @ [[0.002186 -0.00269]] = " in text
    # a batch keeps its 2-D matrices, for which .T @ is the right product
    assert "# dEdW1 = x.T @ dEdInL1" in batch_explanation().render("text", derive=True)


def test_no_negative_zero_no_2_over_1_no_repeated_value():
    # A ReLU unit off on the instance: its masked gradients are -0.0 in float arithmetic.
    net = Network.from_weights(
        [[[1.0, -1.0]], [[-1.0], [0.5]]], [[0.0, 0.0], [0.0]], ["relu", "identity"]
    )
    ex = explain(net, [2.0], [3.0], lr=0.1, loss="mean_squared_error")
    trace = ex.trace
    assert np.signbit(np.asarray(trace["dEdInL1"])).any()  # a -0.0 is really there
    text = ex.render("text", derive=True)
    assert "-0." not in re.sub(r"-0\.\d*[1-9]", "", text)
    assert "2/1" not in text and "# dEdOutL2 = dE/doutL2 = 2 * (outL2 - y)" in text
    assert not re.search(r"dEdB\d = (\[[^\]]*\]) = \1", text)
    assert "dEdB2 = dEdInL2 = [" in text


def test_the_pre_activation_is_not_labelled_input_to_the_layer():
    ex = seed_explanation()
    for fmt in ("markdown", "latex", "html"):
        page = ex.render(fmt)
        assert "Input to layer" not in page
        assert "Pre-activation of layer 1, the input to its activation" in page
    # the text keeps the notebook's printed line, and says what it is
    text = ex.render("text")
    assert "Input to layer 1:  [1.099 1.13 ]" in text
    assert "# inL1 = x @ W1 + b1  (the pre-activation: the input to layer 1's activation)" in text


def test_a_relu_off_on_one_instance_is_not_called_dead_for_all_1_instance():
    net = Network.from_weights([[[5.0, -5.0]], [[1.0], [1.0]]], [[0, 0], [0]], ["relu", "sigmoid"])
    one = explain(net, [1.0], [1.0], lr=0.1).derivation().diagnostics.findings
    assert one and "for all 1 instance" not in one[0] and "inactive on this instance" in one[0]
    two = explain(net, [[1.0], [2.0]], [[1.0], [0.0]], lr=0.1).derivation().diagnostics.findings
    assert "dead ReLU (inL1 <= 0 for all 2 instances" in two[0]


# -- 2. show why ---------------------------------------------------------------------------


def test_every_local_derivative_at_first_use_with_numbers_on_the_seed():
    d = seed_explanation().derivation()
    local = [e.text() for e in d.step("dEdInL1").local]
    assert (
        "sigmoid'(inL1[1]) = outL1[1] * (1 - outL1[1]) = 0.750073 * (1 - 0.750073) = 0.187464"
        in (local)
    )
    assert "dinL2[1]/doutL1[2] = W2[2,1] = 0.5" in [e.text() for e in d.step("dEdOutL1").local]
    assert "dinL1[j]/dW1[2,j] = x[2] = 0.1" in [e.text() for e in d.step("dEdW1").local]
    assert "dinL1[j]/db1[j] = 1" in [e.text() for e in d.step("dEdB1").local]


@pytest.mark.parametrize(
    ("act", "formula"),
    [
        (
            "tanh",
            lambda z, a: (
                "tanh'(inL1[1]) = 1 - outL1[1]**2 = 1 - "
                + (f"{a:.6f}**2" if a >= 0 else f"({a:.6f})**2")
            ),
        ),
        ("relu", lambda z, a: f"relu'(inL1[1]) = relu'({z:.6f}) = {float(z > 0):g}"),
        (
            "leaky_relu",
            lambda z, a: (
                f"leaky_relu'(inL1[1]) = leaky_relu'({z:.6f}) = {1.0 if z > 0 else 0.01:g}"
            ),
        ),
        ("softplus", lambda z, a: f"softplus'(inL1[1]) = sigmoid(inL1[1]) = sigmoid({z:.6f})"),
    ],
)
def test_each_activation_derivative_is_written_out(act, formula):
    net = Network.from_sizes([2, 2, 1], [act, "identity"], random_state=7)
    ex = explain(net, [0.4, -0.9], [0.5], lr=0.1)
    z = float(ex.trace["inL1"][0, 0])
    a = float(ex.trace["outL1"][0, 0])
    local = [e.text() for e in ex.derivation().step("dEdInL1").local]
    want = formula(z, a).replace(f"{z:.6f}", f6(z)).replace(f"{a:.6f}", f6(a))
    assert any(line.startswith(want) for line in local), (want, local)


def test_the_notation_legend_in_every_format():
    ex = batch_explanation()
    for fmt in ("text", "markdown", "latex", "html"):
        page = ex.render(fmt, derive=True) if fmt == "text" else ex.render(fmt)
        if fmt == "text":
            continue  # the text keeps the notebook's look; its legend is the other formats'
        for words in ("Nielsen", "Mazur", "CS231n", "from unit i of the layer below",
                      "dEdInLk", "the error of one instance s"):  # fmt: skip
            assert words in page, (fmt, words)
    d = seed_explanation().derivation()
    rows = {name: (symbol.text(), words) for name, symbol, words in d.legend}
    assert rows["dEdInLk"][0] == "dE/dinLk" and "delta" in rows["dEdInLk"][1]
    assert "here E = e" in rows["e, E"][1]


def test_notes_where_learners_go_wrong_appear_where_they_apply():
    d = batch_explanation("mean").derivation()
    assert any("before this step's update" in n for n in d.step("dEdOutL1").notes)
    assert any("sum over the instances" in n for n in d.step("dEdB1").notes)
    assert any("1/3 of the mean" in n for n in d.step("dEdOutL2").notes)
    single = seed_explanation().derivation()
    assert not single.step("dEdB1").notes and not single.step("dEdOutL2").notes
    assert any("not element-wise" in n for n in softmax_explanation().derivation().step(
        "dEdInL2").notes)  # fmt: skip


def test_the_summary_level_leaves_out_the_entries():
    full = seed_explanation().render("markdown")
    summary = seed_explanation().render("markdown", level="summary")
    assert "Entry by entry" in full and "Entry by entry" not in summary
    assert "Local derivatives" not in summary and len(summary) < 0.7 * len(full)
    for value in ("0.746095", "-0.021869", "0.010953"):
        assert value in summary
    html = seed_explanation().render("html", level="summary")
    assert "<summary>Entry by entry</summary>" not in html
    assert "<details><summary>Entry by entry</summary>" in seed_explanation().render("html")
    text = seed_explanation().render("text", derive=True, level="summary")
    assert "#   entry by entry:" not in text and "#   with numbers:" in text
    with pytest.raises(ValueError, match="level must be one of full, summary; got 'brief'"):
        seed_explanation().render("markdown", level="brief")
    with pytest.raises(ValueError, match="level must be one of"):
        build(seed_explanation().trace, level="all")
