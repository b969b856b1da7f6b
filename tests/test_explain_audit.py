"""The arithmetic audit: every equation with numbers, in every format, re-evaluated.

The audit (:mod:`tests.explain_audit`) reads the equations back from the rendered text
of each format and checks that every computed part equals its neighbours within the
printed rounding. It runs over the seed and over random networks of every activation
with every loss, both reductions, batches of 1 to 4, frozen parameters and L2; and it
must catch a false formula planted in the output.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from chainrule import Network, explain, seed_example
from chainrule.explain.expr import Op, Sym
from chainrule.explain.forward import ForwardBuilder
from chainrule.explain.notation import Call

from .explain_audit import (
    audit,
    html_equations,
    latex_equations,
    markdown_equations,
    text_equations,
)

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity", "softmax")
LOSSES = ("half_squared_error", "mean_squared_error", "binary_cross_entropy", "cross_entropy")
PRECISION = 6


def _equations(explanation, precision=PRECISION):
    return {
        "text": text_equations(explanation.render("text", precision, derive=True)),
        "markdown": markdown_equations(explanation.render("markdown", precision)),
        "latex": latex_equations(explanation.render("latex", precision)),
        "html": html_equations(explanation.render("html", precision)),
    }


def _assert_audit_passes(explanation, minimum=10, precision=PRECISION):
    for fmt, equations in _equations(explanation, precision).items():
        report = audit(equations, precision)
        assert not report.failures, f"{fmt}: " + "\n".join(report.failures[:5])
        assert report.checked >= minimum, f"{fmt}: only {report.checked} equations checked"


def _output_activation(act: str, loss: str) -> str:
    # Each cross-entropy over its own output (the others are refused by check_targets).
    return {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax"}.get(loss, act)


def _case(index: int, act: str, loss: str, reduction: str):
    rng = np.random.default_rng(index)
    n = 1 + index % 4  # batches of 1 to 4, each in turn
    out = _output_activation(act, loss)
    hidden = act if act != "softmax" else "tanh"
    net = Network.from_sizes([2, 3, 2], [hidden, out], random_state=index)
    X = rng.normal(size=(n, 2))
    if loss == "cross_entropy" and index % 2:
        y = rng.dirichlet([1.0, 1.0], size=n)  # soft targets, each row a distribution
    elif loss == "cross_entropy":
        y = np.eye(2)[rng.integers(0, 2, size=n)]
    elif loss == "binary_cross_entropy":
        y = rng.uniform(0, 1, size=(n, 2))
    else:
        y = rng.normal(size=(n, 2))
    if index % 3 == 0:
        net.freeze("b1", "W2")
    l2 = 0.01 if index % 3 == 1 else 0.0
    return net, X, y, dict(loss=loss, reduction=reduction, lr=0.1, l2=l2)


CASES = [
    (i, act, loss, reduction)
    for i, (act, loss, reduction) in enumerate(
        itertools.product(ACTIVATIONS, LOSSES, ("mean", "sum"))
    )
]


def test_the_seed_passes_the_audit():
    seed = seed_example()
    _assert_audit_passes(explain(seed.network, seed.x, seed.y, lr=seed.lr), minimum=40)


@pytest.mark.parametrize(("index", "act", "loss", "reduction"), CASES)
def test_random_networks_pass_the_audit(index, act, loss, reduction):
    net, X, y, kw = _case(index, act, loss, reduction)
    _assert_audit_passes(explain(net, X, y, **kw))


def test_the_matrix_covers_every_batch_size_frozen_and_l2():
    sizes, frozen, l2 = set(), 0, 0
    for index, act, loss, reduction in CASES:
        net, X, _y, kw = _case(index, act, loss, reduction)
        sizes.add(len(X))
        frozen += bool(net.frozen)
        l2 += kw["l2"] > 0
    assert sizes == {1, 2, 3, 4} and frozen > 5 and l2 > 5


def test_a_deeper_network_and_a_lower_precision_pass_the_audit():
    net = Network.from_sizes([3, 4, 3, 2], ["relu", "tanh", "softmax"], random_state=5)
    X = np.random.default_rng(5).normal(size=(3, 3))
    y = np.eye(2)[[0, 1, 1]]
    explanation = explain(net, X, y, lr=0.2, loss="cross_entropy", l2=0.001)
    _assert_audit_passes(explanation, minimum=30)
    _assert_audit_passes(explanation, minimum=30, precision=3)


# -- the audit catches false lines ----------------------------------------------------

OLD_SOFTMAX_LINE = "softmax(0.81386)"


def _softmax_explanation():
    net = Network.from_sizes([2, 2, 2], ["sigmoid", "softmax"], random_state=1)
    return explain(net, [0.5, 0.1], [0.3, 0.7], lr=0.5, loss="cross_entropy")


def test_the_audit_catches_softmax_shown_on_one_number():
    # The old false line: outL2[1] = softmax(inL2[1]) = softmax(0.81386) = 0.672231.
    text = _softmax_explanation().render("text", derive=True)
    line = next(li for li in text.splitlines() if li.startswith("#     outL2[1] = "))
    z = re.search(r"exp\((-?[\d.]+)\)", line).group(1)
    a = line.rsplit(" = ", 1)[1]
    planted = text.replace(line, f"#     outL2[1] = softmax(inL2[1]) = softmax({z}) = {a}")
    assert not audit(text_equations(text), PRECISION).failures
    failures = audit(text_equations(planted), PRECISION).failures
    assert len(failures) == 1 and "softmax(" in failures[0]


def test_the_audit_catches_a_fused_line_with_false_arithmetic():
    # An old false line, for targets [0.3 0.3] (refused now): [A] - [y] = [A*sum(y) - y].
    A = np.asarray(_softmax_explanation().trace["outL2"])[0]
    y = np.array([0.3, 0.3])
    dZ = A * y.sum() - y  # by hand, what the engine computed for those targets
    fmt = " ".join
    false = (f"#   with numbers: dEdInL2 = [{fmt(f'{v:.6f}' for v in A)}] - "
             f"[{fmt(f'{v:.6f}' for v in y)}] = [{fmt(f'{v:.6f}' for v in dZ)}]")  # fmt: skip
    failures = audit(text_equations(false), PRECISION).failures
    assert len(failures) == 1 and failures[0].startswith("false")


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
def test_the_audit_catches_a_changed_number_in_every_format(fmt):
    seed = seed_example()
    page = explain(seed.network, seed.x, seed.y, lr=seed.lr).render(fmt)
    get = {"markdown": markdown_equations, "latex": latex_equations, "html": html_equations}[fmt]
    assert not audit(get(page), PRECISION).failures
    # sigmoid'(inL2) = 0.189437 everywhere it is printed, changed in its 4th digit
    assert page.count("0.189437") >= 3
    failures = audit(get(page.replace("0.189437", "0.189537")), PRECISION).failures
    assert len(failures) >= 3 and all(f.startswith("false") for f in failures)


def test_the_audit_catches_the_old_dot_product_reading_of_an_outer_product():
    # [0.5 0.1].T @ [a b] is a dot product under NumPy's rules, not the outer product.
    line = "#   with numbers: dEdW1 = [0.5 0.1].T @ [0.002186 -0.00269] = [[0.001093 -0.001345] [0.000219 -0.000269]]"  # noqa: E501
    assert audit(text_equations(line), PRECISION).failures
    fixed = "#   with numbers: dEdW1 = [[0.5] [0.1]] @ [[0.002186 -0.00269]] = [[0.001093 -0.001345] [0.000219 -0.000269]]"  # noqa: E501
    report = audit(text_equations(fixed), PRECISION)
    assert not report.failures and report.checked == 1


def test_the_audit_flags_a_computation_with_nothing_to_check_it_against():
    report = audit(text_equations("#   with numbers: dEdInL2 = sigmoid(0.3)"), PRECISION)
    assert report.failures and report.failures[0].startswith("unchecked")


def test_the_audit_fails_in_every_format_when_the_old_softmax_line_is_planted(monkeypatch):
    # The renderer itself patched back to the old false line, softmax of one number:
    # outL2[j] = softmax(inL2[j]) = softmax(z) = a.
    def old_entry(self, k, s, j, Z, A):
        act, at = self.acts[k - 1].name, self.idx(s, j)
        return Op("=", [Sym(f"outL{k}", at), Call(act, Sym(f"inL{k}", at)),
                        Call(act, self.num(Z[s, j])), self.num(A[s, j])])  # fmt: skip

    explanation = _softmax_explanation()
    for fmt, equations in _equations(explanation).items():
        assert not audit(equations, PRECISION).failures, fmt
    monkeypatch.setattr(ForwardBuilder, "activation_entry", old_entry)
    for fmt, equations in _equations(explanation).items():
        failures = audit(equations, PRECISION).failures
        # both softmax entries are false; the sigmoid ones (element-wise) stay true
        assert len(failures) == 2, (fmt, failures)
        assert all(f.startswith("false") for f in failures), fmt
