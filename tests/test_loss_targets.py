"""The loss's conditions on the output and the targets, checked before any state changes.

Each refused case is one the review found silently wrong: a negative binary
cross-entropy (targets above 1), a softmax over one unit (always 1.0), a cross-entropy
over an output that is not its own (sigmoid for binary, softmax for categorical, unless
``from_logits=True``), cross-entropy targets that are not distributions (negative, or
rows that do not sum to 1 up to rounding).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import chainrule
from chainrule import Network
from chainrule.activations import Sigmoid, Softmax
from chainrule.losses import BinaryCrossEntropy, CrossEntropy, check_targets

X = np.array([[0.5, 0.1], [0.2, 0.7]])


def _params(net: Network) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in net.params.items()}


def _unchanged(net: Network, before: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(before[k], v) for k, v in net.params.items())


# (output activations, loss, y, the one line expected)
REFUSED = {
    "bce-above-1": (["sigmoid", "sigmoid"], "bce", [[0.0], [1.5]], r"\[0, 1\], got 1.5 in row 1"),
    "bce-negative": (["sigmoid", "sigmoid"], "bce", [[-0.5], [1]], r"\[0, 1\], got -0.5 in row 0"),
    "softmax-one-unit": (["sigmoid", "softmax"], "mse", [[1.0], [1.0]], "softmax output needs 2"),
    "ce-over-one-sigmoid": (["sigmoid", "sigmoid"], "ce", [[1.0], [0.0]], "needs a softmax output"),
    "ce-over-two-sigmoids": (
        ["tanh", "sigmoid"], "ce", [[1, 0], [0, 1]],
        "^cross_entropy needs a softmax output, got sigmoid",
    ),
    "ce-over-identity": (["relu", "identity"], "ce", [[1, 0], [0, 1]], "needs a softmax output"),
    "bce-over-identity": (["relu", "identity"], "bce", [[1], [0]], "needs a sigmoid output"),
    "bce-over-softmax": (
        ["tanh", "softmax"], "bce", [[1, 0], [0, 1]],
        "^binary_cross_entropy needs a sigmoid output, got softmax",
    ),
    "ce-one-logit": (
        ["tanh", "identity"], CrossEntropy(from_logits=True), [[1.0], [1.0]],
        "needs 2 or more outputs",
    ),
    "ce-row-summing-to-0.6": (
        ["tanh", "softmax"], "ce", [[1, 0], [0.3, 0.3]],
        r"^cross_entropy needs each row of y to be a distribution .*got row 1 summing to 0.6$",
    ),
    "ce-row-summing-to-2": (["tanh", "softmax"], "ce", [[1, 1], [0, 1]], "row 0 summing to 2$"),
    "ce-from-logits-not-summing": (
        ["tanh", "identity"], CrossEntropy(from_logits=True), [[0, 1], [0, 0]],
        "row 1 summing to 0$",
    ),
    "ce-negative": (
        ["tanh", "softmax"], "ce", [[0, 1], [1.5, -0.5]], "a negative target -0.5 in row 1$"
    ),
}  # fmt: skip


def _case(name: str) -> tuple[Network, object, np.ndarray, str]:
    acts, loss, y, message = REFUSED[name]
    y = np.array(y, dtype=float)
    return Network.from_sizes([2, 3, y.shape[1]], acts, random_state=0), loss, y, message


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_train_step_refuses_before_any_change(name):
    net, loss, y, message = _case(name)
    before = _params(net)
    with pytest.raises(ValueError, match=message) as info:
        chainrule.train_step(net, X, y, loss=loss, lr=0.5)
    assert "\n" not in str(info.value)
    assert _unchanged(net, before)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_fit_refuses_before_any_change(name):
    net, loss, y, message = _case(name)
    before = _params(net)
    with pytest.raises(ValueError, match=message):
        chainrule.fit(net, X, y, loss=loss, epochs=2, batch_size=1)
    assert _unchanged(net, before)


def test_fit_checks_the_validation_targets_too():
    net = Network.from_sizes([2, 3, 1], "sigmoid", random_state=0)
    before = _params(net)
    y = np.array([[1.0], [0.0]])
    with pytest.raises(ValueError, match=r"targets in \[0, 1\], got 3"):
        chainrule.fit(net, X, y, loss="bce", epochs=1, validation_data=(X, 3 * y))
    assert _unchanged(net, before)


def test_fit_checks_the_validation_cross_entropy_targets_too():
    net = Network.from_sizes([2, 3, 2], ["tanh", "softmax"], random_state=0)
    before = _params(net)
    y = np.eye(2)
    with pytest.raises(ValueError, match=r"row 0 summing to 0\.5$"):
        chainrule.fit(net, X, y, loss="ce", epochs=1, validation_data=(X, y / 2))
    assert _unchanged(net, before)


def test_negative_loss_of_the_review_is_refused():
    # What the review saw: with y = 1.5, BCE's y*log(p) + (1-y)*log(1-p) can go negative.
    p, y = 0.9, 1.5
    assert -(y * np.log(p) + (1 - y) * np.log(1 - p)) < 0  # the nonsense being prevented
    net = chainrule.seed_example().network
    with pytest.raises(ValueError, match="binary_cross_entropy needs targets"):
        chainrule.train_step(net, [0.5, 0.1], 1.5, loss="bce", lr=0.5)


@pytest.mark.parametrize(
    ("acts", "loss", "y"),
    [
        (["sigmoid", "sigmoid"], "bce", [[1.0], [0.0]]),
        (["sigmoid", "sigmoid"], "bce", [[0.25], [0.75]]),  # soft labels
        (["tanh", "softmax"], "ce", [[1, 0], [0.3, 0.7]]),
        (["tanh", "softmax"], "ce", [[0.06, 0.57, 0.37], [0.2, 0.3, 0.5]]),  # 1 - 1.1e-16
        (["tanh", "identity"], CrossEntropy(from_logits=True), [[1, 0], [0, 1]]),
        (["tanh", "identity"], BinaryCrossEntropy(from_logits=True), [[1], [0]]),
        (["tanh", "softmax"], "mse", [[3.0, -1.0], [0, 1]]),  # MSE: any targets
        (["sigmoid", "sigmoid"], "half_squared_error", [[0.9], [2.0]]),
    ],
)
def test_matching_pairs_are_accepted(acts, loss, y):
    y = np.array(y, dtype=float)
    net = Network.from_sizes([2, 3, y.shape[1]], acts, random_state=0)
    before = _params(net)
    chainrule.train_step(net, X, y, loss=loss, lr=0.1)
    assert not _unchanged(net, before)


def test_float32_one_hot_rows_pass():
    y = np.eye(300, dtype=np.float32)[np.arange(50) % 300] * np.float32(0.1)
    y = y + np.float32(0.9 / 300)  # label smoothing: each row sums to 1 in float32
    check_targets(CrossEntropy(), Softmax(), 300, y)


@pytest.mark.parametrize(
    ("dtype", "off", "accepted"),
    [
        # the tolerance is 8 * n_outputs * eps: 1.9e-6 in float32, 3.6e-15 in float64
        (np.float32, 1e-6, True),
        (np.float32, 1e-5, False),
        (np.float64, 1e-15, True),
        (np.float64, 1e-12, False),
    ],
)
def test_rows_must_sum_to_1_within_a_few_eps_of_the_dtype(dtype, off, accepted):
    tolerance = 8 * 2 * np.finfo(dtype).eps
    y = np.array([[0.25, 0.75], [0.5, 0.5 + off]], dtype=dtype)
    assert (abs(float(y[1].sum(dtype=np.float64)) - 1) <= tolerance) == accepted
    if accepted:
        check_targets(CrossEntropy(), Softmax(), 2, y)
    else:
        with pytest.raises(ValueError, match=r"within (1.9e-06|3.6e-15)\), got row 1 summing"):
            check_targets(CrossEntropy(), Softmax(), 2, y)


def test_a_row_one_ulp_off_shows_how_far_from_1():
    y = np.array([[0.5, 0.5 + 1e-9]])
    with pytest.raises(ValueError, match=r"got row 0 summing to 1 \(1 \+1e-09\)$"):
        check_targets(CrossEntropy(), Softmax(), 2, y)


def test_array_api_arrays_are_refused_with_the_same_line():
    xps = pytest.importorskip("array_api_strict", reason="array-api-strict (test extra)")
    for loss, output, y in [
        (CrossEntropy(), Softmax(), [[0.0, 1.0], [0.2, 0.2], [1.0, 1.0]]),
        (CrossEntropy(), Softmax(), [[0.0, 1.0], [1.5, -0.5]]),
        (BinaryCrossEntropy(), Sigmoid(), [[0.5, 0.0], [0.2, 1.25]]),
    ]:
        y = np.array(y)
        with pytest.raises(ValueError) as numpy_error:
            check_targets(loss, output, 2, y)
        with pytest.raises(ValueError) as strict_error:
            check_targets(loss, output, 2, xps.asarray(y))
        assert str(strict_error.value) == str(numpy_error.value)
        assert "row 1" in str(numpy_error.value)


def test_estimators_are_checked_through_fit():
    pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
    # The estimators pick matching pairs themselves: their fits pass the check.
    y = np.array([0, 1, 2, 1] * 5)
    Xe = np.random.default_rng(0).normal(size=(20, 2))
    clf = chainrule.MLPClassifier((3,), max_iter=2, random_state=0).fit(Xe, y)
    assert clf.network_.layers[-1].activation.name == "softmax"


def test_explain_refuses_a_bad_target():
    net = chainrule.seed_example().network
    with pytest.raises(ValueError, match="binary_cross_entropy needs targets"):
        chainrule.explain(net, [0.5, 0.1], 2.0, lr=0.5, loss="bce")


@pytest.mark.parametrize(
    ("acts", "y", "message"),
    [
        (["sigmoid", "softmax"], [0.3, 0.3], "got row 0 summing to 0.6"),
        (["sigmoid", "sigmoid"], [0.3, 0.7], "needs a softmax output, got sigmoid"),
    ],
)
def test_explain_refuses_cross_entropy_that_is_not_one(acts, y, message):
    net = Network.from_sizes([2, 2, 2], acts, random_state=1)
    before = _params(net)
    with pytest.raises(ValueError, match=message):
        chainrule.explain(net, [0.5, 0.1], y, lr=0.5, loss="cross_entropy")
    assert _unchanged(net, before)


def test_cli_spec_with_y_2_exits_2(tmp_path):
    spec = {
        "x": [0.5, 0.1],
        "y": 2,
        "lr": 0.5,
        "loss": "binary_cross_entropy",
        "layers": [
            {"W": [[0.15, 0.2], [0.24, 0.3]], "b": [1, 1], "activation": "sigmoid"},
            {"W": [[-0.4], [0.5]], "b": [1], "activation": "sigmoid"},
        ],
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--spec", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Error after" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs targets in [0, 1], got 2" in lines[0]


@pytest.mark.parametrize(
    ("output", "y", "message"),
    [
        ("softmax", [0.3, 0.3], "cross_entropy needs each row of y to be a distribution"),
        ("sigmoid", [0.0, 1.0], "cross_entropy needs a softmax output, got sigmoid"),
    ],
)
def test_cli_spec_with_cross_entropy_that_is_not_one_exits_2(tmp_path, output, y, message):
    spec = {
        "x": [0.5, 0.1],
        "y": y,
        "lr": 0.5,
        "loss": "cross_entropy",
        "layers": [
            {"W": [[0.15, 0.2], [0.24, 0.3]], "b": [1, 1], "activation": "sigmoid"},
            {"W": [[-0.4, 0.1], [0.5, 0.2]], "b": [1, 0], "activation": output},
        ],
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--spec", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
