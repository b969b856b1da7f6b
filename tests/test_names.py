"""One set of names: every registry accepts names the same way (any case, aliases) and
refuses an unknown one naming every known name and the near misses."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.activations import ACTIVATIONS, Sigmoid
from chainrule.datasets import catalog
from chainrule.initializers import INITIALIZERS, initialize
from chainrule.losses import ALIASES as LOSS_ALIASES
from chainrule.losses import LOSSES
from chainrule.optimizers import OPTIMIZERS, get_optimizer
from chainrule.schedules import SCHEDULES, get_schedule
from chainrule.training.logs import METRICS, get_metrics

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["sigmoid", "SIGMOID", "logistic", "Logistic", "LOGISTIC"])
def test_sigmoid_and_logistic_in_any_case_in_the_network(name):
    assert cr.get_activation(name) == Sigmoid()
    net = cr.Network.from_sizes([2, 3, 1], [name, name], random_state=0)
    assert [layer.activation.name for layer in net.layers] == ["sigmoid", "sigmoid"]


@pytest.mark.parametrize("name", ["sigmoid", "Sigmoid", "logistic", "LOGISTIC", "Tanh"])
def test_the_estimators_take_the_same_names(name):
    pytest.importorskip("sklearn", reason="the estimators need the [sklearn] extra")
    from sklearn.exceptions import ConvergenceWarning

    X = np.random.default_rng(0).normal(size=(20, 2))
    clf = cr.MLPClassifier((3,), name, max_iter=2, random_state=0)
    with warnings.catch_warnings():  # two epochs: converged or not is not the point here
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, X[:, 0] > 0)
    expected = "tanh" if name.lower() == "tanh" else "sigmoid"
    assert clf.network_.layers[0].activation.name == expected
    assert clf.get_params()["activation"] == name  # scikit-learn: parameters kept as given


@pytest.mark.parametrize("name", ["Logistic", "SIGMOID"])
def test_the_command_line_takes_the_same_names(capsys, name):
    pytest.importorskip("sklearn", reason="chainrule train needs the [sklearn] extra")
    from chainrule.cli import main

    argv = ["train", "--dataset", "xor", "--hidden", "3", "--epochs", "2", "--quiet"]
    assert main([*argv, "--activation", name]) == 0


def test_softmax_is_refused_for_hidden_layers_of_an_estimator():
    pytest.importorskip("sklearn", reason="the estimators need the [sklearn] extra")
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="activation 'Softmax' is an output activation"):
        cr.MLPClassifier((3,), "Softmax", max_iter=2).fit(X, X[:, 0] > 0)


def test_loss_aliases_are_listed_in_the_known_names():
    with pytest.raises(ValueError) as exc:
        cr.get_loss("hinge")
    message = str(exc.value)
    for alias, target in LOSS_ALIASES.items():
        assert re.search(rf"{target} \(or [^)]*\b{alias}\b", message), message
    assert set(re.findall(r"[a-z_]+(?= \(or|,|$)", message.split("known: ")[1])) >= set(LOSSES)


LOOKUPS = [
    ("activation", lambda n: cr.get_activation(n), "sigmod", "sigmoid"),
    ("loss", lambda n: cr.get_loss(n), "cross_entropi", "cross_entropy"),
    ("optimizer", lambda n: get_optimizer(n), "adamm", "adam"),
    ("schedule", lambda n: get_schedule(n), "cosin", "cosine"),
    (
        "initializer",
        lambda n: initialize(n, 2, 2, np.random.default_rng(0)),
        "he_normall",
        "he_normal",
    ),
    ("metric", lambda n: get_metrics([n]), "acuracy", "accuracy"),
    ("dataset", lambda n: catalog.load(n), "moon", "moons"),
]


@pytest.mark.parametrize(("kind", "find", "typo", "meant"), LOOKUPS, ids=[x[0] for x in LOOKUPS])
def test_a_near_miss_gets_a_did_you_mean(kind, find, typo, meant):
    with pytest.raises(
        ValueError,
        match=rf"unknown {kind} '{typo}'; known: .*; did you mean '{meant}'( or '\w+')?\?$",
    ):
        find(typo)
    with pytest.raises(ValueError) as exc:  # nothing near: no guess
        find("zzzzqqq")
    assert "did you mean" not in str(exc.value)


@pytest.mark.parametrize(
    ("table", "find"),
    [
        (ACTIVATIONS, cr.get_activation),
        (LOSSES, cr.get_loss),
        (OPTIMIZERS, get_optimizer),
        (SCHEDULES, get_schedule),
        (INITIALIZERS, lambda n: initialize(n, 2, 2, np.random.default_rng(0))),
        (METRICS, lambda n: get_metrics([n])),
    ],
)
def test_every_registered_name_in_any_case(table, find):
    for name in table:
        find(name.upper())


def test_metrics_as_one_string_is_one_metric():
    net = cr.Network.from_sizes([2, 1], ["sigmoid"], random_state=0)
    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    history = cr.fit(net, X, np.array([1.0, 0.0]), loss="bce", epochs=2, metrics="accuracy")
    assert list(get_metrics("accuracy")) == ["accuracy"]
    assert len(history["accuracy"]) == 2
    with pytest.raises(ValueError, match="unknown metric 'acc'; known: accuracy, mae, mse"):
        get_metrics("acc")
    with pytest.raises(TypeError, match="metrics must be a name, a sequence of names or a"):
        get_metrics(3)


def test_the_readme_names_the_schedules_the_code_knows():
    readme = (ROOT / "README.md").read_text()
    line = readme[readme.index("- `chainrule.schedules`:") :].split("\n- ")[0]
    named = re.findall(r"`([a-z_]+)`", line.split(":", 1)[1])
    assert named == list(SCHEDULES)
